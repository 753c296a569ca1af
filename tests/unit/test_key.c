/*
 * test_key.c: tsr_key (lib/key.c) against include/tessera/key.h and the
 * binding rules of issue 2. Every rule has a rejecting test first (weak
 * RSA, short oct, wrong curve for alg, unknown alg/kty/crv, use "enc",
 * key_ops without verify, malformed base64url members, duplicate members,
 * inconsistent private keys, leading zeros, PEM kinds that are refused);
 * then the positive side: RFC keys load, RFC 7638 / RFC 8037 / RFC 7520
 * thumbprints, PEM loads of every supported kind, export round trips in the
 * documented member order, generation, binding, usability, reference
 * counting and kids.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>

#include "internal.h"
#include "support.h"

/* ------------------------------------------------------------ helpers */

/* Asserts that json is refused with `code` and that *out is NULL. */
#define assert_refused(json, code) assert_refused_at(json, code, __LINE__)
static void assert_refused_at(const char *json, tsr_err code, int line)
{
    tsr_key *k;
    tsr_error e;
    tsr_err rc = tsr_key_load_jwk(json, strlen(json), &k, &e);
    if (rc != code) {
        fail_msg("line %d: expected %s, got %s (%s) for %s", line, tsr_err_name(code),
                 tsr_err_name(rc), rc ? e.detail : "", json);
    }
    assert_int_equal(e.code, code);
    assert_null(k);
}

static tsr_key *must_load(const char *json)
{
    tsr_key *k = NULL;
    tsr_error e;
    tsr_err rc = tsr_key_load_jwk(json, strlen(json), &k, &e);
    if (rc != TSR_OK) {
        fail_msg("refused (%s: %s): %s", tsr_err_name(rc), e.detail, json);
    }
    return k;
}

/* The "key" (or another member) of an RFC vector file, new reference. */
static json_t *rfc_key(const char *file, const char *member)
{
    char rel[128];
    snprintf(rel, sizeof rel, "rfc/%s", file);
    json_t *root = tst_load_vector_json(rel);
    json_t *k = json_deep_copy(json_object_get(root, member));
    assert_non_null(k);
    json_decref(root);
    return k;
}

/* Dumps a jansson object (caller frees with free()). */
static char *dump(const json_t *o)
{
    char *s = json_dumps(o, JSON_COMPACT);
    assert_non_null(s);
    return s;
}

/* `jwk` with member `name` set to the string `value` (NULL deletes). */
static char *with_member(const json_t *jwk, const char *name, const char *value)
{
    json_t *c = json_deep_copy(jwk);
    if (value == NULL) {
        json_object_del(c, name);
    } else {
        json_object_set_new(c, name, json_string(value));
    }
    char *s = dump(c);
    json_decref(c);
    return s;
}

static void refuse_with_member(const json_t *jwk, const char *name, const char *value,
                               tsr_err code, int line)
{
    char *s = with_member(jwk, name, value);
    assert_refused_at(s, code, line);
    free(s);
}
#define assert_member_refused(jwk, name, value, code) \
    refuse_with_member(jwk, name, value, code, __LINE__)

static void b64(const unsigned char *b, size_t n, char *out, size_t cap)
{
    assert_int_equal(tsr_b64url_encode(b, n, out, cap, NULL), TSR_OK);
}

/* An oct JWK of n bytes with an optional alg. */
static void oct_jwk(size_t n, const char *alg, char *out, size_t cap)
{
    unsigned char k[100];
    char enc[140];
    assert_true(n <= sizeof k);
    for (size_t i = 0; i < n; i++) {
        k[i] = (unsigned char)(0xA5 ^ i);
    }
    b64(k, n, enc, sizeof enc);
    if (alg != NULL) {
        snprintf(out, cap, "{\"kty\":\"oct\",\"alg\":\"%s\",\"k\":\"%s\"}", alg, enc);
    } else {
        snprintf(out, cap, "{\"kty\":\"oct\",\"k\":\"%s\"}", enc);
    }
}

static const char ED_PUB[] =
    "{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo\"}";
static const char ED_PRIV[] =
    "{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"d\":\"nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A\","
    "\"x\":\"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo\"}";

/* ------------------------------------------------------------ JSON-level rejections */

static void test_rejects_bad_json(void **state)
{
    (void)state;
    assert_refused("", TSR_ERR_MALFORMED);
    assert_refused("[]", TSR_ERR_MALFORMED);
    assert_refused("\"oct\"", TSR_ERR_MALFORMED);
    assert_refused("{\"kty\":\"oct\"", TSR_ERR_MALFORMED);
    assert_refused("{\"kty\":\"OKP\"} {}", TSR_ERR_MALFORMED);
    /* duplicate members, including a duplicate key member */
    assert_refused("{\"kty\":\"OKP\",\"kty\":\"OKP\",\"crv\":\"Ed25519\","
                   "\"x\":\"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo\"}",
                   TSR_ERR_MALFORMED);
    assert_refused("{\"kty\":\"OKP\",\"crv\":\"Ed25519\","
                   "\"x\":\"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo\","
                   "\"x\":\"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo\"}",
                   TSR_ERR_MALFORMED);
    /* too large */
    size_t big = TSR_KEY_JSON_MAX + 10;
    char *s = malloc(big + 1);
    memset(s, ' ', big);
    memcpy(s, ED_PUB, strlen(ED_PUB));
    s[big] = '\0';
    tsr_key *k;
    assert_int_equal(tsr_key_load_jwk(s, big, &k, NULL), TSR_ERR_TOO_LARGE);
    assert_null(k);
    free(s);
    assert_int_equal(tsr_key_load_jwk(NULL, 0, &k, NULL), TSR_ERR_INVALID_ARGUMENT);
}

static void test_rejects_bad_member_types(void **state)
{
    (void)state;
    json_t *ed = json_loads(ED_PUB, 0, NULL);
    assert_refused("{\"crv\":\"Ed25519\",\"x\":\"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo\"}",
                   TSR_ERR_MALFORMED); /* no kty */
    assert_refused("{\"kty\":1,\"crv\":\"Ed25519\",\"x\":\"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo\"}",
                   TSR_ERR_MALFORMED);
    assert_refused("{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":5}", TSR_ERR_MALFORMED);
    assert_refused("{\"kty\":\"OKP\",\"crv\":\"Ed25519\"}", TSR_ERR_MALFORMED); /* no x */
    assert_refused("{\"kty\":\"EC\",\"x\":\"AA\",\"y\":\"AA\"}", TSR_ERR_MALFORMED); /* no crv */
    assert_refused("{\"kty\":\"oct\"}", TSR_ERR_MALFORMED);                           /* no k */
    assert_refused("{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"use\":1,"
                   "\"x\":\"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo\"}",
                   TSR_ERR_MALFORMED);
    assert_refused("{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"kid\":7,"
                   "\"x\":\"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo\"}",
                   TSR_ERR_MALFORMED);
    assert_refused("{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"alg\":null,"
                   "\"x\":\"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo\"}",
                   TSR_ERR_MALFORMED);
    /* kid: embedded NUL, too long */
    assert_refused("{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"kid\":\"a\\u0000b\","
                   "\"x\":\"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo\"}",
                   TSR_ERR_MALFORMED);
    char longkid[TSR_KID_MAX + 2];
    memset(longkid, 'k', sizeof longkid - 1);
    longkid[sizeof longkid - 1] = '\0';
    assert_member_refused(ed, "kid", longkid, TSR_ERR_TOO_LARGE);
    longkid[TSR_KID_MAX] = '\0'; /* exactly the cap loads */
    char *s = with_member(ed, "kid", longkid);
    tsr_key *k = must_load(s);
    assert_string_equal(tsr_key_get0_kid(k), longkid);
    tsr_key_free(k);
    free(s);
    json_decref(ed);
}

static void test_rejects_malformed_base64url(void **state)
{
    (void)state;
    json_t *ed = json_loads(ED_PUB, 0, NULL);
    /* padding, standard alphabet, whitespace, non-canonical last char */
    assert_member_refused(ed, "x", "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo=", TSR_ERR_MALFORMED);
    assert_member_refused(ed, "x", "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo", TSR_ERR_MALFORMED);
    assert_member_refused(ed, "x", "11qYAYKxCrfVS+7TyWQHOg7hcvPapiMlrwIaaPcHURo", TSR_ERR_MALFORMED);
    assert_member_refused(ed, "x", "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHUR p", TSR_ERR_MALFORMED);
    assert_member_refused(ed, "x", "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURp", TSR_ERR_MALFORMED);
    assert_member_refused(ed, "x", "", TSR_ERR_MALFORMED);
    json_t *c = json_loads(ED_PRIV, 0, NULL);
    assert_member_refused(c, "d", "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A=", TSR_ERR_MALFORMED);
    json_decref(c);
    /* RSA n, oct k */
    json_t *rsa = rfc_key("rfc7638-3.1.json", "key");
    assert_member_refused(rsa, "e", "AQAB=", TSR_ERR_MALFORMED);
    assert_member_refused(rsa, "e", "AQB", TSR_ERR_MALFORMED); /* non-canonical bits */
    json_decref(rsa);
    assert_refused("{\"kty\":\"oct\",\"k\":\"AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75a"
                   "KtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow==\"}",
                   TSR_ERR_MALFORMED);
    json_decref(ed);
}

/* ------------------------------------------------------------ kty, crv, alg */

static void test_rejects_unknown_kty_crv_alg(void **state)
{
    (void)state;
    json_t *ed = json_loads(ED_PUB, 0, NULL);
    assert_member_refused(ed, "kty", "XYZ", TSR_ERR_UNSUPPORTED);
    assert_member_refused(ed, "kty", "okp", TSR_ERR_UNSUPPORTED); /* case-sensitive */
    assert_member_refused(ed, "crv", "X25519", TSR_ERR_UNSUPPORTED);
    assert_member_refused(ed, "crv", "Ed448", TSR_ERR_UNSUPPORTED);
    assert_member_refused(ed, "alg", "ES521", TSR_ERR_UNSUPPORTED);
    assert_member_refused(ed, "alg", "none", TSR_ERR_UNSUPPORTED);
    assert_member_refused(ed, "alg", "eddsa", TSR_ERR_UNSUPPORTED);
    assert_member_refused(ed, "alg", "", TSR_ERR_UNSUPPORTED);
    json_t *ec = rfc_key("rfc7515-A.3.json", "key");
    assert_member_refused(ec, "crv", "secp256k1", TSR_ERR_UNSUPPORTED);
    assert_member_refused(ec, "crv", "p-256", TSR_ERR_UNSUPPORTED);
    assert_member_refused(ec, "alg", "ES521", TSR_ERR_UNSUPPORTED); /* RFC 7520 3.2 spelling */
    assert_member_refused(ec, "alg", "ECDH-ES", TSR_ERR_UNSUPPORTED);
    json_t *rsa = rfc_key("rfc7638-3.1.json", "key");
    assert_member_refused(rsa, "alg", "RSA-OAEP", TSR_ERR_UNSUPPORTED);
    json_decref(rsa);
    json_decref(ec);
    json_decref(ed);
}

static void test_rejects_alg_inconsistent_with_key(void **state)
{
    (void)state;
    json_t *p256 = rfc_key("rfc7515-A.3.json", "key");
    json_t *p521 = rfc_key("rfc7515-A.4.json", "key");
    json_t *rsa = rfc_key("rfc7638-3.1.json", "key");
    json_t *ed = json_loads(ED_PUB, 0, NULL);
    assert_member_refused(p256, "alg", "ES384", TSR_ERR_KEY_MISMATCH);
    assert_member_refused(p256, "alg", "ES512", TSR_ERR_KEY_MISMATCH);
    assert_member_refused(p256, "alg", "RS256", TSR_ERR_KEY_MISMATCH);
    assert_member_refused(p256, "alg", "EdDSA", TSR_ERR_KEY_MISMATCH);
    assert_member_refused(p521, "alg", "ES256", TSR_ERR_KEY_MISMATCH);
    assert_member_refused(rsa, "alg", "HS256", TSR_ERR_KEY_MISMATCH);
    assert_member_refused(rsa, "alg", "ES256", TSR_ERR_KEY_MISMATCH);
    assert_member_refused(ed, "alg", "ES256", TSR_ERR_KEY_MISMATCH);
    assert_member_refused(ed, "alg", "HS256", TSR_ERR_KEY_MISMATCH);
    char oct[512];
    oct_jwk(64, "RS256", oct, sizeof oct);
    assert_refused(oct, TSR_ERR_KEY_MISMATCH);
    oct_jwk(64, "ES256", oct, sizeof oct);
    assert_refused(oct, TSR_ERR_KEY_MISMATCH);
    /* the fitting algorithm loads, and binds the key */
    char *s = with_member(p521, "alg", "ES512");
    tsr_key *k = must_load(s);
    assert_int_equal(tsr_key_get_alg(k), TSR_ALG_ES512);
    tsr_key_free(k);
    free(s);
    s = with_member(ed, "alg", "Ed25519"); /* fully specified name */
    k = must_load(s);
    assert_int_equal(tsr_key_get_alg(k), TSR_ALG_EDDSA);
    tsr_key_free(k);
    free(s);
    json_decref(p256);
    json_decref(p521);
    json_decref(rsa);
    json_decref(ed);
}

/* ------------------------------------------------------------ strength */

/* An RSA public JWK of `bits` made by OpenSSL. */
static char *rsa_jwk_of_bits(size_t bits)
{
    EVP_PKEY *pk = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", bits);
    assert_non_null(pk);
    BIGNUM *n = NULL;
    assert_true(EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_RSA_N, &n) == 1);
    unsigned char nb[1024];
    int len = BN_bn2bin(n, nb);
    char enc[2048];
    b64(nb, (size_t)len, enc, sizeof enc);
    size_t cap = strlen(enc) + 64;
    char *s = malloc(cap);
    snprintf(s, cap, "{\"kty\":\"RSA\",\"n\":\"%s\",\"e\":\"AQAB\"}", enc);
    BN_free(n);
    EVP_PKEY_free(pk);
    return s;
}

static void test_rejects_weak_keys(void **state)
{
    (void)state;
    char *s = rsa_jwk_of_bits(1024);
    assert_refused(s, TSR_ERR_KEY_WEAK);
    free(s);
    s = rsa_jwk_of_bits(2040);
    assert_refused(s, TSR_ERR_KEY_WEAK);
    free(s);
    char oct[512];
    oct_jwk(31, NULL, oct, sizeof oct); /* unbound: at least 32 bytes */
    assert_refused(oct, TSR_ERR_KEY_WEAK);
    oct_jwk(31, "HS256", oct, sizeof oct);
    assert_refused(oct, TSR_ERR_KEY_WEAK);
    oct_jwk(47, "HS384", oct, sizeof oct);
    assert_refused(oct, TSR_ERR_KEY_WEAK);
    oct_jwk(63, "HS512", oct, sizeof oct);
    assert_refused(oct, TSR_ERR_KEY_WEAK);
    oct_jwk(16, "HS256", oct, sizeof oct); /* RFC 7517 A.3's A128KW length */
    assert_refused(oct, TSR_ERR_KEY_WEAK);
    /* unbound oct: each HS alg only from its own hash length up */
    oct_jwk(32, NULL, oct, sizeof oct);
    tsr_key *k = must_load(oct);
    assert_true(tsr_key_usable(k, TSR_ALG_HS256, TSR_OP_VERIFY));
    assert_false(tsr_key_usable(k, TSR_ALG_HS384, TSR_OP_VERIFY));
    assert_false(tsr_key_usable(k, TSR_ALG_HS512, TSR_OP_VERIFY));
    assert_int_equal(tsr_key_default_alg(k), TSR_ALG_HS256);
    tsr_key_free(k);
    oct_jwk(48, NULL, oct, sizeof oct);
    k = must_load(oct);
    assert_true(tsr_key_usable(k, TSR_ALG_HS384, TSR_OP_SIGN));
    assert_false(tsr_key_usable(k, TSR_ALG_HS512, TSR_OP_VERIFY));
    assert_int_equal(tsr_key_default_alg(k), TSR_ALG_HS384);
    tsr_key_free(k);
    oct_jwk(64, NULL, oct, sizeof oct);
    k = must_load(oct);
    assert_true(tsr_key_usable(k, TSR_ALG_HS256, TSR_OP_VERIFY));
    assert_true(tsr_key_usable(k, TSR_ALG_HS512, TSR_OP_VERIFY));
    assert_int_equal(tsr_key_default_alg(k), TSR_ALG_HS512);
    tsr_key_free(k);
    /* a bound 64-byte key is usable for its alg only */
    oct_jwk(64, "HS256", oct, sizeof oct);
    k = must_load(oct);
    assert_true(tsr_key_usable(k, TSR_ALG_HS256, TSR_OP_VERIFY));
    assert_false(tsr_key_usable(k, TSR_ALG_HS512, TSR_OP_VERIFY));
    tsr_key_free(k);
}

static char *pem_of(EVP_PKEY *pk, bool priv, size_t *len);

/* Wycheproof's ROCA-vulnerable RSA key (json_web_key_test.json). */
static json_t *roca_jwk(void)
{
    json_t *root = tst_load_vector_json("wycheproof/testvectors_v1/json_web_key_test.json");
    json_t *found = NULL;
    size_t gi;
    json_t *g;
    json_array_foreach(json_object_get(root, "testGroups"), gi, g) {
        json_t *keys = json_object_get(json_object_get(g, "public"), "keys");
        size_t i;
        json_t *k;
        json_array_foreach(keys, i, k) {
            const char *kid = json_string_value(json_object_get(k, "kid"));
            if (found == NULL && kid != NULL && strcmp(kid, "kid-rsa-roca-sign") == 0) {
                found = json_deep_copy(k);
            }
        }
    }
    json_decref(root);
    assert_non_null(found);
    return found;
}

static void test_rejects_roca_key(void **state)
{
    (void)state;
    json_t *k = roca_jwk();
    char *s = dump(k);
    assert_refused(s, TSR_ERR_KEY_WEAK);
    free(s);
    /* the same key without its alg, and the RFC keys, are told apart */
    json_object_del(k, "alg");
    s = dump(k);
    assert_refused(s, TSR_ERR_KEY_WEAK);
    free(s);
    json_decref(k);
    json_t *rsa = rfc_key("rfc7638-3.1.json", "key");
    s = dump(rsa);
    tsr_key_free(must_load(s));
    free(s);
    json_decref(rsa);
    /* the same modulus as an SPKI PEM */
    k = roca_jwk();
    const char *n64 = json_string_value(json_object_get(k, "n"));
    unsigned char n[512];
    size_t nlen = 0;
    assert_int_equal(tsr_b64url_decode(n64, strlen(n64), n, sizeof n, &nlen), TSR_OK);
    json_decref(k);
    BIGNUM *bn = BN_bin2bn(n, (int)nlen, NULL);
    BIGNUM *be = BN_new();
    assert_true(BN_set_word(be, 65537) == 1);
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    assert_true(OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn) == 1);
    assert_true(OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, be) == 1);
    OSSL_PARAM *prm = OSSL_PARAM_BLD_to_param(bld);
    EVP_PKEY_CTX *pc = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
    EVP_PKEY *pk = NULL;
    assert_true(EVP_PKEY_fromdata_init(pc) == 1);
    assert_true(EVP_PKEY_fromdata(pc, &pk, EVP_PKEY_PUBLIC_KEY, prm) == 1);
    size_t plen;
    char *pem = pem_of(pk, false, &plen);
    tsr_key *kp = NULL;
    assert_int_equal(tsr_key_load_pem(pem, plen, &kp, NULL), TSR_ERR_KEY_WEAK);
    assert_null(kp);
    free(pem);
    EVP_PKEY_free(pk);
    EVP_PKEY_CTX_free(pc);
    OSSL_PARAM_free(prm);
    OSSL_PARAM_BLD_free(bld);
    BN_free(bn);
    BN_free(be);
}

/* ------------------------------------------------------------ material consistency */

static void test_rejects_inconsistent_material(void **state)
{
    (void)state;
    json_t *ec = rfc_key("rfc7515-A.3.json", "key");
    /* y of another point: not on the curve */
    assert_member_refused(ec, "y", "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU", TSR_ERR_KEY_INVALID);
    /* d that does not match x, y */
    assert_member_refused(ec, "d", "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0", TSR_ERR_KEY_INVALID);
    /* coordinates not exactly 32 bytes: shortened and zero-padded */
    assert_member_refused(ec, "x", "g83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVA", TSR_ERR_MALFORMED);
    assert_member_refused(ec, "x", "AH_NzidwAsRdQYPL7m_bS3tYBzM1e-nvE7rPbjx70VRF", TSR_ERR_MALFORMED);
    assert_member_refused(ec, "d", "AI6bEJ5xkJi_mASH3x9d-nLKWWBuvtImO19XwhPfhPSy", TSR_ERR_MALFORMED);
    json_decref(ec);
    /* Ed25519: d that does not give x, wrong lengths */
    json_t *ed = json_loads(ED_PRIV, 0, NULL);
    assert_member_refused(ed, "d", "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2B", TSR_ERR_MALFORMED);
    assert_member_refused(ed, "d", "oWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A", TSR_ERR_KEY_INVALID);
    assert_member_refused(ed, "x", "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHUQ", TSR_ERR_MALFORMED);
    json_decref(ed);
    /* RSA private: a changed d, swapped CRT values */
    json_t *rsa = rfc_key("rfc7515-A.2.json", "key");
    const char *dp = json_string_value(json_object_get(rsa, "dp"));
    const char *dq = json_string_value(json_object_get(rsa, "dq"));
    char *dp_copy = strdup(dp);
    assert_member_refused(rsa, "dp", dq, TSR_ERR_KEY_INVALID);
    assert_member_refused(rsa, "dq", dp_copy, TSR_ERR_KEY_INVALID);
    const char *p = json_string_value(json_object_get(rsa, "p"));
    assert_member_refused(rsa, "d", p, TSR_ERR_KEY_INVALID);
    free(dp_copy);
    /* partial CRT, d only, multi-prime */
    assert_member_refused(rsa, "qi", NULL, TSR_ERR_MALFORMED);
    json_t *donly = json_deep_copy(rsa);
    const char *crt[] = {"p", "q", "dp", "dq", "qi"};
    for (int i = 0; i < 5; i++) {
        json_object_del(donly, crt[i]);
    }
    char *s = dump(donly);
    assert_refused(s, TSR_ERR_UNSUPPORTED);
    free(s);
    json_object_del(donly, "d");
    json_object_set_new(donly, "p", json_string("AQAB"));
    s = dump(donly);
    assert_refused(s, TSR_ERR_MALFORMED); /* CRT members without d */
    free(s);
    json_decref(donly);
    json_t *oth = json_deep_copy(rsa);
    json_object_set_new(oth, "oth", json_array());
    s = dump(oth);
    assert_refused(s, TSR_ERR_UNSUPPORTED);
    free(s);
    json_decref(oth);
    json_decref(rsa);
}

static void test_rejects_rsa_leading_zero(void **state)
{
    (void)state;
    /* RFC 7518 6.3.1.1: n is minimal; a zero octet in front is refused
     * (it would also change the RFC 7638 thumbprint of the same key). */
    json_t *rsa = rfc_key("rfc7638-3.1.json", "key");
    const char *n = json_string_value(json_object_get(rsa, "n"));
    unsigned char raw[300];
    size_t len = 0;
    assert_int_equal(tsr_b64url_decode(n, strlen(n), raw + 1, sizeof raw - 1, &len), TSR_OK);
    raw[0] = 0;
    char enc[512];
    b64(raw, len + 1, enc, sizeof enc);
    assert_member_refused(rsa, "n", enc, TSR_ERR_MALFORMED);
    assert_member_refused(rsa, "e", "AAEAAQ", TSR_ERR_MALFORMED);
    /* e must be odd and > 1 */
    assert_member_refused(rsa, "e", "AQ", TSR_ERR_KEY_INVALID);
    assert_member_refused(rsa, "e", "AQAA", TSR_ERR_KEY_INVALID);
    json_decref(rsa);
}

/* ------------------------------------------------------------ use and key_ops */

static void test_use_and_key_ops(void **state)
{
    (void)state;
    json_t *ed = json_loads(ED_PRIV, 0, NULL);
    /* use other than "sig": loads (a set can skip it) but is unusable */
    char *s = with_member(ed, "use", "enc");
    tsr_key *k = must_load(s);
    assert_false(tsr_key_usable(k, TSR_ALG_EDDSA, TSR_OP_VERIFY));
    assert_false(tsr_key_usable(k, TSR_ALG_EDDSA, TSR_OP_SIGN));
    tsr_key_free(k);
    free(s);
    s = with_member(ed, "use", "Sig");
    k = must_load(s);
    assert_false(tsr_key_usable(k, TSR_ALG_EDDSA, TSR_OP_VERIFY));
    tsr_key_free(k);
    free(s);
    /* key_ops */
    const struct {
        const char *ops;
        tsr_err rc;
        bool sign, verify;
    } cases[] = {
        {"[\"sign\"]", TSR_OK, true, false},
        {"[\"encrypt\",\"decrypt\"]", TSR_OK, false, false},
        {"[]", TSR_OK, false, false},
        {"[\"verify\"]", TSR_OK, false, true},
        {"[\"sign\",\"verify\"]", TSR_OK, true, true},
        {"[\"Verify\"]", TSR_OK, false, false},
        {"[\"verify\",\"verify\"]", TSR_ERR_MALFORMED, false, false},
        {"[\"sign, verify\"]", TSR_OK, false, false}, /* RFC 7520 tcId 349 style */
        {"\"verify\"", TSR_ERR_MALFORMED, false, false},
        {"[1]", TSR_ERR_MALFORMED, false, false},
        {"{}", TSR_ERR_MALFORMED, false, false},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        json_t *c = json_deep_copy(ed);
        json_object_set_new(c, "key_ops", json_loads(cases[i].ops, JSON_DECODE_ANY, NULL));
        s = dump(c);
        if (cases[i].rc != TSR_OK) {
            assert_refused(s, cases[i].rc);
        } else {
            k = must_load(s);
            if (tsr_key_usable(k, TSR_ALG_EDDSA, TSR_OP_SIGN) != cases[i].sign ||
                tsr_key_usable(k, TSR_ALG_EDDSA, TSR_OP_VERIFY) != cases[i].verify) {
                fail_msg("key_ops %s: wrong usability", cases[i].ops);
            }
            tsr_key_free(k);
        }
        free(s);
        json_decref(c);
    }
    /* use "sig" with key_ops ["verify"]: verify only */
    json_t *c = json_deep_copy(ed);
    json_object_set_new(c, "use", json_string("sig"));
    json_object_set_new(c, "key_ops", json_loads("[\"verify\"]", 0, NULL));
    s = dump(c);
    k = must_load(s);
    assert_true(tsr_key_usable(k, TSR_ALG_EDDSA, TSR_OP_VERIFY));
    assert_false(tsr_key_usable(k, TSR_ALG_EDDSA, TSR_OP_SIGN));
    tsr_key_free(k);
    free(s);
    json_decref(c);
    json_decref(ed);
}

static void test_usable_rules(void **state)
{
    (void)state;
    tsr_key *pub = must_load(ED_PUB);
    assert_true(tsr_key_usable(pub, TSR_ALG_EDDSA, TSR_OP_VERIFY));
    assert_false(tsr_key_usable(pub, TSR_ALG_EDDSA, TSR_OP_SIGN)); /* not private */
    assert_false(tsr_key_usable(pub, TSR_ALG_ES256, TSR_OP_VERIFY));
    assert_false(tsr_key_usable(pub, TSR_ALG_UNSPECIFIED, TSR_OP_VERIFY));
    assert_false(tsr_key_usable(pub, (tsr_alg)99, TSR_OP_VERIFY));
    assert_false(tsr_key_usable(pub, TSR_ALG_EDDSA, (tsr_key_op)7));
    assert_false(tsr_key_usable(NULL, TSR_ALG_EDDSA, TSR_OP_VERIFY));
    assert_false(tsr_key_is_private(pub));
    tsr_key_free(pub);
    json_t *rsa = rfc_key("rfc7638-3.1.json", "key"); /* alg RS256 */
    char *s = dump(rsa);
    tsr_key *k = must_load(s);
    assert_true(tsr_key_usable(k, TSR_ALG_RS256, TSR_OP_VERIFY));
    assert_false(tsr_key_usable(k, TSR_ALG_RS384, TSR_OP_VERIFY));
    assert_false(tsr_key_usable(k, TSR_ALG_PS256, TSR_OP_VERIFY));
    assert_false(tsr_key_usable(k, TSR_ALG_HS256, TSR_OP_VERIFY));
    tsr_key_free(k);
    free(s);
    json_object_del(rsa, "alg");
    s = dump(rsa);
    k = must_load(s);
    for (tsr_alg a = TSR_ALG_RS256; a <= TSR_ALG_PS512; a++) {
        assert_true(tsr_key_usable(k, a, TSR_OP_VERIFY));
    }
    assert_int_equal(tsr_key_default_alg(k), TSR_ALG_RS256);
    tsr_key_free(k);
    free(s);
    json_decref(rsa);
}

/* ------------------------------------------------------------ PEM */

static char *pem_of(EVP_PKEY *pk, bool priv, size_t *len)
{
    BIO *b = BIO_new(BIO_s_mem());
    int ok = priv ? PEM_write_bio_PrivateKey(b, pk, NULL, NULL, 0, NULL, NULL)
                  : PEM_write_bio_PUBKEY(b, pk);
    assert_true(ok == 1);
    char *data = NULL;
    long n = BIO_get_mem_data(b, &data);
    char *copy = malloc((size_t)n + 1);
    memcpy(copy, data, (size_t)n);
    copy[n] = '\0';
    *len = (size_t)n;
    BIO_free(b);
    return copy;
}

static void test_pem_refusals(void **state)
{
    (void)state;
    tsr_key *k;
    size_t len;
    /* traditional "RSA PRIVATE KEY" / "EC PRIVATE KEY" are not PKCS#8 */
    EVP_PKEY *ec = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    BIO *b = BIO_new(BIO_s_mem());
    assert_true(PEM_write_bio_PrivateKey_traditional(b, ec, NULL, NULL, 0, NULL, NULL) == 1);
    char *data = NULL;
    long n = BIO_get_mem_data(b, &data);
    assert_int_equal(tsr_key_load_pem(data, (size_t)n, &k, NULL), TSR_ERR_MALFORMED);
    assert_null(k);
    BIO_free(b);
    /* encrypted PKCS#8 */
    b = BIO_new(BIO_s_mem());
    EVP_CIPHER *aes = EVP_CIPHER_fetch(NULL, "AES-128-CBC", NULL);
    assert_true(PEM_write_bio_PKCS8PrivateKey(b, ec, aes, "pw", 2, NULL, NULL) == 1);
    EVP_CIPHER_free(aes);
    n = BIO_get_mem_data(b, &data);
    assert_int_equal(tsr_key_load_pem(data, (size_t)n, &k, NULL), TSR_ERR_MALFORMED);
    BIO_free(b);
    /* a corrupted body, garbage, an empty input */
    char *pem = pem_of(ec, false, &len);
    pem[40] = pem[40] == 'A' ? 'B' : 'A';
    assert_int_not_equal(tsr_key_load_pem(pem, len, &k, NULL), TSR_OK);
    assert_null(k);
    free(pem);
    assert_int_equal(tsr_key_load_pem("hello", 5, &k, NULL), TSR_ERR_MALFORMED);
    assert_int_equal(tsr_key_load_pem("", 0, &k, NULL), TSR_ERR_MALFORMED);
    EVP_PKEY_free(ec);
    /* unsupported kinds: secp256k1, X25519, Ed448; weak RSA */
    const char *kinds[][2] = {{"EC", "secp256k1"}, {"X25519", NULL}, {"ED448", NULL}};
    for (int i = 0; i < 3; i++) {
        EVP_PKEY *pk = kinds[i][1] ? EVP_PKEY_Q_keygen(NULL, NULL, kinds[i][0], kinds[i][1])
                                   : EVP_PKEY_Q_keygen(NULL, NULL, kinds[i][0]);
        assert_non_null(pk);
        for (int priv = 0; priv < 2; priv++) {
            pem = pem_of(pk, priv, &len);
            assert_int_equal(tsr_key_load_pem(pem, len, &k, NULL), TSR_ERR_UNSUPPORTED);
            free(pem);
        }
        EVP_PKEY_free(pk);
    }
    /* two blocks: only one key per PEM input */
    EVP_PKEY *e1 = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    pem = pem_of(e1, false, &len);
    char *two = malloc(2 * len + 1);
    memcpy(two, pem, len);
    memcpy(two + len, pem, len + 1);
    assert_int_equal(tsr_key_load_pem(two, 2 * len, &k, NULL), TSR_ERR_MALFORMED);
    memcpy(two + len, "\n \n", 4); /* trailing blanks are fine */
    assert_int_equal(tsr_key_load_pem(two, len + 3, &k, NULL), TSR_OK);
    tsr_key_free(k);
    free(two);
    free(pem);
    EVP_PKEY_free(e1);
    EVP_PKEY *weak = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
    pem = pem_of(weak, false, &len);
    assert_int_equal(tsr_key_load_pem(pem, len, &k, NULL), TSR_ERR_KEY_WEAK);
    free(pem);
    EVP_PKEY_free(weak);
}

static void check_pem_kind(EVP_PKEY *pk, tsr_kty kty, tsr_alg alg)
{
    size_t plen, slen;
    char *pub = pem_of(pk, false, &plen);
    char *priv = pem_of(pk, true, &slen);
    tsr_key *kp = NULL, *ks = NULL;
    assert_int_equal(tsr_key_load_pem(pub, plen, &kp, NULL), TSR_OK);
    assert_int_equal(tsr_key_load_pem(priv, slen, &ks, NULL), TSR_OK);
    assert_int_equal(tsr_key_get_kty(kp), kty);
    assert_false(tsr_key_is_private(kp));
    assert_true(tsr_key_is_private(ks));
    assert_null(tsr_key_get0_kid(kp));
    assert_int_equal(tsr_key_get_alg(kp), TSR_ALG_UNSPECIFIED);
    assert_int_equal(tsr_key_default_alg(ks), alg);
    /* same key: same thumbprint; a signature by one verifies with the other */
    char t1[TSR_THUMBPRINT_LEN + 1], t2[TSR_THUMBPRINT_LEN + 1];
    assert_int_equal(tsr_key_thumbprint(kp, t1, NULL), TSR_OK);
    assert_int_equal(tsr_key_thumbprint(ks, t2, NULL), TSR_OK);
    assert_string_equal(t1, t2);
    unsigned char sig[1024];
    size_t n = sizeof sig;
    assert_int_equal(tsr__crypto_sign(ks, alg, (const unsigned char *)"m", 1, sig, &n, NULL),
                     TSR_OK);
    assert_int_equal(tsr__crypto_verify(kp, alg, (const unsigned char *)"m", 1, sig, n, NULL),
                     TSR_OK);
    /* leading blank lines are fine */
    char *padded = malloc(plen + 3);
    memcpy(padded, "\n\n", 2);
    memcpy(padded + 2, pub, plen + 1);
    tsr_key *k3 = NULL;
    assert_int_equal(tsr_key_load_pem(padded, plen + 2, &k3, NULL), TSR_OK);
    tsr_key_free(k3);
    free(padded);
    tsr_key_free(kp);
    tsr_key_free(ks);
    free(pub);
    free(priv);
}

static void test_pem_loads(void **state)
{
    (void)state;
    EVP_PKEY *pk = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
    check_pem_kind(pk, TSR_KTY_RSA, TSR_ALG_RS256);
    EVP_PKEY_free(pk);
    const char *curves[3] = {"P-256", "P-384", "P-521"};
    const tsr_alg algs[3] = {TSR_ALG_ES256, TSR_ALG_ES384, TSR_ALG_ES512};
    for (int i = 0; i < 3; i++) {
        pk = EVP_PKEY_Q_keygen(NULL, NULL, "EC", curves[i]);
        check_pem_kind(pk, TSR_KTY_EC, algs[i]);
        EVP_PKEY_free(pk);
    }
    pk = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    check_pem_kind(pk, TSR_KTY_OKP, TSR_ALG_EDDSA);
    EVP_PKEY_free(pk);
}

/* ------------------------------------------------------------ RFC keys and thumbprints */

static void expect_thumbprint(const char *json, const char *want)
{
    tsr_key *k = must_load(json);
    char t[TSR_THUMBPRINT_LEN + 1];
    assert_int_equal(tsr_key_thumbprint(k, t, NULL), TSR_OK);
    assert_string_equal(t, want);
    tsr_key_free(k);
}

static void test_thumbprints_rfc(void **state)
{
    (void)state;
    /* RFC 7638 3.1 */
    json_t *k = rfc_key("rfc7638-3.1.json", "key");
    char *s = dump(k);
    expect_thumbprint(s, "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
    free(s);
    json_decref(k);
    /* RFC 8037 A.3: public and private key alike */
    json_t *tp = rfc_key("rfc8037-A.3.json", "thumbprint");
    const char *want = json_string_value(json_object_get(tp, "sha256_b64url"));
    assert_string_equal(want, "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k");
    const char *members[2] = {"key", "private_key"};
    for (int i = 0; i < 2; i++) {
        k = rfc_key("rfc8037-A.3.json", members[i]);
        s = dump(k);
        expect_thumbprint(s, want);
        free(s);
        json_decref(k);
    }
    json_decref(tp);
    /* RFC 7520 section 3 keys, recorded thumbprints */
    json_t *keys = rfc_key("rfc7520-3.json", "key");
    json_t *tps = rfc_key("rfc7520-3.json", "thumbprints_sha256_b64url");
    const char *sec;
    json_t *jwk;
    json_object_foreach(keys, sec, jwk) {
        if (strcmp(sec, "3.6") == 0) {
            /* "alg":"A256GCM" is not a JWS algorithm: the key is refused
             * as unsupported; without alg it loads (unusable, use enc). */
            s = dump(jwk);
            assert_refused(s, TSR_ERR_UNSUPPORTED);
            free(s);
            json_object_del(jwk, "alg");
        }
        s = dump(jwk);
        expect_thumbprint(s, json_string_value(json_object_get(tps, sec)));
        free(s);
    }
    json_decref(keys);
    json_decref(tps);
    /* RFC 7517 A.1 thumbprints by kid (one key has use "enc": still loads) */
    keys = rfc_key("rfc7517-A.1.json", "key");
    tps = rfc_key("rfc7517-A.1.json", "thumbprints_sha256_b64url");
    size_t i;
    json_array_foreach(json_object_get(keys, "keys"), i, jwk) {
        s = dump(jwk);
        const char *kid = json_string_value(json_object_get(jwk, "kid"));
        expect_thumbprint(s, json_string_value(json_object_get(tps, kid)));
        free(s);
    }
    json_decref(keys);
    json_decref(tps);
}

static void test_rfc_private_keys_load(void **state)
{
    (void)state;
    const char *files[] = {"rfc7515-A.1.json", "rfc7515-A.2.json", "rfc7515-A.3.json",
                           "rfc7515-A.4.json", "rfc7517-B.json"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        json_t *k = rfc_key(files[i], "key");
        char *s = dump(k);
        tsr_key *key = must_load(s);
        bool has_d = json_object_get(k, "d") != NULL || json_object_get(k, "k") != NULL;
        assert_int_equal(tsr_key_is_private(key), has_d);
        tsr_key_free(key);
        free(s);
        json_decref(k);
    }
}

/* ------------------------------------------------------------ export */

static void test_export_member_order(void **state)
{
    (void)state;
    tsr_key *k = must_load(ED_PRIV);
    char *out = NULL;
    assert_int_equal(tsr_key_export_jwk(k, true, &out, NULL), TSR_OK);
    assert_string_equal(out,
                        "{\"kty\":\"OKP\",\"crv\":\"Ed25519\","
                        "\"x\":\"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo\","
                        "\"d\":\"nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A\",\"use\":\"sig\"}");
    tsr_free_secret(out, strlen(out));
    assert_int_equal(tsr_key_bind_alg(k, TSR_ALG_EDDSA, NULL), TSR_OK);
    assert_int_equal(tsr_key_set1_kid(k, "a\"b\\c\n\xc3\xa9", NULL), TSR_OK);
    assert_int_equal(tsr_key_export_jwk(k, false, &out, NULL), TSR_OK);
    assert_string_equal(out, "{\"kty\":\"OKP\",\"crv\":\"Ed25519\","
                             "\"x\":\"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo\","
                             "\"alg\":\"EdDSA\",\"kid\":\"a\\\"b\\\\c\\u000a\xc3\xa9\","
                             "\"use\":\"sig\"}");
    /* the exported kid reads back identically */
    tsr_key *k2 = must_load(out);
    assert_string_equal(tsr_key_get0_kid(k2), "a\"b\\c\n\xc3\xa9");
    tsr_key_free(k2);
    tsr_free(out);
    tsr_key_free(k);
    /* verify-only keys keep their key_ops; "enc" keys stay unusable */
    k = must_load("{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"key_ops\":[\"verify\"],"
                  "\"x\":\"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo\"}");
    assert_int_equal(tsr_key_export_jwk(k, false, &out, NULL), TSR_OK);
    assert_non_null(strstr(out, ",\"key_ops\":[\"verify\"]}"));
    tsr_free(out);
    tsr_key_free(k);
    /* an oct key has no public part */
    char oct[512];
    oct_jwk(32, NULL, oct, sizeof oct);
    k = must_load(oct);
    out = (char *)(uintptr_t)1;
    assert_int_equal(tsr_key_export_jwk(k, false, &out, NULL), TSR_ERR_KEY_MISMATCH);
    assert_null(out);
    tsr_key_free(k);
}

static void test_export_round_trips(void **state)
{
    (void)state;
    for (tsr_alg a = TSR_ALG_HS256; a <= TSR_ALG_EDDSA; a++) {
        if (a == TSR_ALG_RS384 || a == TSR_ALG_RS512 || a == TSR_ALG_PS384 ||
            a == TSR_ALG_PS512) {
            continue; /* RSA once per padding is enough (generation is slow) */
        }
        tsr_key *k = NULL;
        if (a == TSR_ALG_RS256 || a == TSR_ALG_PS256) {
            assert_int_equal(tsr_key_generate_rsa(a, 2048, &k, NULL), TSR_OK);
        } else {
            assert_int_equal(tsr_key_generate(a, &k, NULL), TSR_OK);
        }
        assert_int_equal(tsr_key_get_alg(k), a);
        assert_true(tsr_key_is_private(k));
        assert_true(tsr_key_usable(k, a, TSR_OP_SIGN));
        assert_int_equal(tsr_key_set1_kid(k, "kid-1", NULL), TSR_OK);
        char *priv = NULL, *priv2 = NULL;
        assert_int_equal(tsr_key_export_jwk(k, true, &priv, NULL), TSR_OK);
        tsr_key *k2 = must_load(priv);
        assert_int_equal(tsr_key_export_jwk(k2, true, &priv2, NULL), TSR_OK);
        assert_string_equal(priv, priv2); /* private round trip is exact */
        char t1[TSR_THUMBPRINT_LEN + 1], t2[TSR_THUMBPRINT_LEN + 1];
        assert_int_equal(tsr_key_thumbprint(k, t1, NULL), TSR_OK);
        assert_int_equal(strlen(t1), TSR_THUMBPRINT_LEN);
        if (a != TSR_ALG_HS256 && a != TSR_ALG_HS384 && a != TSR_ALG_HS512) {
            char *pub = NULL;
            assert_int_equal(tsr_key_export_jwk(k, false, &pub, NULL), TSR_OK);
            assert_null(strstr(pub, "\"d\""));
            tsr_key *kp = must_load(pub);
            assert_false(tsr_key_is_private(kp));
            assert_int_equal(tsr_key_thumbprint(kp, t2, NULL), TSR_OK);
            assert_string_equal(t1, t2);
            /* a signature by the original verifies with the exported public key */
            unsigned char sig[1024];
            size_t n = sizeof sig;
            assert_int_equal(tsr__crypto_sign(k, a, (const unsigned char *)"x", 1, sig, &n, NULL),
                             TSR_OK);
            assert_int_equal(tsr__crypto_verify(kp, a, (const unsigned char *)"x", 1, sig, n, NULL),
                             TSR_OK);
            tsr_key_free(kp);
            tsr_free(pub);
        }
        tsr_free_secret(priv, strlen(priv));
        tsr_free_secret(priv2, strlen(priv2));
        tsr_key_free(k2);
        tsr_key_free(k);
    }
}

/* ------------------------------------------------------------ other constructors, bindings */

static void test_from_secret_and_generate_rules(void **state)
{
    (void)state;
    unsigned char sec[64] = {1, 2, 3};
    tsr_key *k = (tsr_key *)(uintptr_t)1;
    assert_int_equal(tsr_key_from_secret(sec, 31, TSR_ALG_HS256, &k, NULL), TSR_ERR_KEY_WEAK);
    assert_null(k);
    assert_int_equal(tsr_key_from_secret(sec, 47, TSR_ALG_HS384, &k, NULL), TSR_ERR_KEY_WEAK);
    assert_int_equal(tsr_key_from_secret(sec, 64, TSR_ALG_RS256, &k, NULL), TSR_ERR_KEY_MISMATCH);
    assert_int_equal(tsr_key_from_secret(NULL, 64, TSR_ALG_HS256, &k, NULL),
                     TSR_ERR_INVALID_ARGUMENT);
    assert_int_equal(tsr_key_from_secret(sec, 48, TSR_ALG_HS384, &k, NULL), TSR_OK);
    assert_int_equal(tsr_key_get_alg(k), TSR_ALG_HS384);
    assert_true(tsr_key_is_private(k));
    assert_false(tsr_key_usable(k, TSR_ALG_HS256, TSR_OP_VERIFY)); /* bound */
    tsr_key_free(k);
    assert_int_equal(tsr_key_generate_rsa(TSR_ALG_RS256, 1024, &k, NULL), TSR_ERR_KEY_WEAK);
    assert_null(k);
    assert_int_equal(tsr_key_generate_rsa(TSR_ALG_RS256, 2049, &k, NULL),
                     TSR_ERR_INVALID_ARGUMENT);
    assert_int_equal(tsr_key_generate_rsa(TSR_ALG_RS256, 16384, &k, NULL),
                     TSR_ERR_INVALID_ARGUMENT);
    assert_int_equal(tsr_key_generate_rsa(TSR_ALG_ES256, 2048, &k, NULL), TSR_ERR_KEY_MISMATCH);
    assert_int_equal(tsr_key_generate(TSR_ALG_UNSPECIFIED, &k, NULL), TSR_ERR_INVALID_ARGUMENT);
    assert_null(k);
    /* generated EC keys of each curve are bound and usable only for their alg */
    assert_int_equal(tsr_key_generate(TSR_ALG_ES384, &k, NULL), TSR_OK);
    assert_int_equal(tsr_key_get_kty(k), TSR_KTY_EC);
    assert_true(tsr_key_usable(k, TSR_ALG_ES384, TSR_OP_VERIFY));
    assert_false(tsr_key_usable(k, TSR_ALG_ES256, TSR_OP_VERIFY));
    tsr_key_free(k);
}

static void test_bind_alg(void **state)
{
    (void)state;
    json_t *rsa = rfc_key("rfc7638-3.1.json", "key");
    json_object_del(rsa, "alg");
    char *s = dump(rsa);
    tsr_key *k = must_load(s);
    tsr_error e;
    assert_int_equal(tsr_key_bind_alg(k, TSR_ALG_ES256, &e), TSR_ERR_KEY_MISMATCH);
    assert_int_equal(tsr_key_bind_alg(k, TSR_ALG_HS256, &e), TSR_ERR_KEY_MISMATCH);
    assert_int_equal(tsr_key_bind_alg(k, TSR_ALG_PS256, &e), TSR_OK);
    assert_int_equal(tsr_key_bind_alg(k, TSR_ALG_PS256, &e), TSR_OK); /* idempotent */
    assert_int_equal(tsr_key_bind_alg(k, TSR_ALG_RS256, &e), TSR_ERR_KEY_MISMATCH);
    assert_false(tsr_key_usable(k, TSR_ALG_RS256, TSR_OP_VERIFY));
    assert_int_equal(tsr_key_default_alg(k), TSR_ALG_PS256);
    tsr_key_free(k);
    free(s);
    json_decref(rsa);
    char oct[512];
    oct_jwk(32, NULL, oct, sizeof oct);
    k = must_load(oct);
    assert_int_equal(tsr_key_bind_alg(k, TSR_ALG_HS384, &e), TSR_ERR_KEY_MISMATCH);
    assert_int_equal(tsr_key_bind_alg(k, TSR_ALG_UNSPECIFIED, &e), TSR_ERR_INVALID_ARGUMENT);
    assert_int_equal(tsr_key_bind_alg(k, TSR_ALG_HS256, &e), TSR_OK);
    tsr_key_free(k);
}

static void test_refcount_and_kid(void **state)
{
    (void)state;
    tsr_key *k = must_load(ED_PUB);
    assert_ptr_equal(tsr_key_up_ref(k), k);
    tsr_key_free(k); /* one reference left */
    assert_int_equal(tsr_key_get_kty(k), TSR_KTY_OKP);
    assert_null(tsr_key_get0_kid(k));
    char big[TSR_KID_MAX + 2];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    assert_int_equal(tsr_key_set1_kid(k, big, NULL), TSR_ERR_TOO_LARGE);
    assert_int_equal(tsr_key_set1_kid(k, "\xff\xfe", NULL), TSR_ERR_MALFORMED);
    assert_int_equal(tsr_key_set1_kid(k, "\xed\xa0\x80", NULL), TSR_ERR_MALFORMED); /* surrogate */
    assert_int_equal(tsr_key_set1_kid(k, "\xc0\xaf", NULL), TSR_ERR_MALFORMED);     /* overlong */
    assert_int_equal(tsr_key_set1_kid(k, "\xe2\x82", NULL), TSR_ERR_MALFORMED);     /* truncated */
    assert_null(tsr_key_get0_kid(k));
    assert_int_equal(tsr_key_set1_kid(k, "2011-04-29", NULL), TSR_OK);
    assert_string_equal(tsr_key_get0_kid(k), "2011-04-29");
    assert_int_equal(tsr_key_set1_kid(k, NULL, NULL), TSR_OK);
    assert_null(tsr_key_get0_kid(k));
    tsr_key_free(k);
    tsr_key_free(NULL);
    assert_null(tsr_key_up_ref(NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rejects_bad_json),
        cmocka_unit_test(test_rejects_bad_member_types),
        cmocka_unit_test(test_rejects_malformed_base64url),
        cmocka_unit_test(test_rejects_unknown_kty_crv_alg),
        cmocka_unit_test(test_rejects_alg_inconsistent_with_key),
        cmocka_unit_test(test_rejects_weak_keys),
        cmocka_unit_test(test_rejects_roca_key),
        cmocka_unit_test(test_rejects_inconsistent_material),
        cmocka_unit_test(test_rejects_rsa_leading_zero),
        cmocka_unit_test(test_use_and_key_ops),
        cmocka_unit_test(test_usable_rules),
        cmocka_unit_test(test_pem_refusals),
        cmocka_unit_test(test_pem_loads),
        cmocka_unit_test(test_thumbprints_rfc),
        cmocka_unit_test(test_rfc_private_keys_load),
        cmocka_unit_test(test_export_member_order),
        cmocka_unit_test(test_export_round_trips),
        cmocka_unit_test(test_from_secret_and_generate_rules),
        cmocka_unit_test(test_bind_alg),
        cmocka_unit_test(test_refcount_and_kid),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
