/*
 * test_keyset.c: tsr_keyset (lib/keyset.c). Negative cases first: broken
 * set structure and malformed members reject the whole set, a set with no
 * usable member is key_not_found, caps on members and bytes; then the
 * skipping rules (weak, wrong use, unknown kty/crv/alg, inconsistent keys
 * are left out), the RFC 7517 A.1/A.2/A.3 sets, content detection of
 * tsr_keyset_load (JWK Set, JWK, PEM) and the public JWK Set export.
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
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "internal.h"
#include "support.h"

#define ED_X "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"
#define ED_KEY "{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"kid\":\"ed\",\"x\":\"" ED_X "\"}"
/* Wycheproof json_web_key_test.json kid-rsa-roca-sign: ROCA-vulnerable. */
#define ROCA_KEY \
    "{\"alg\":\"RS256\",\"use\":\"sig\",\"n\":\"AanFpofbj7KjD4Lf-N2hVMKR7yewSyXhhbirIMTGpfYEh" \
    "Z_lnt5UoK98DnKIgArXGTu3MaW_HhFw16HGaTDUHqPrId7fe4r11CqRw09yBFuW79V8sYIwHdzCaWflUI6auImYb" \
    "VfoN9_nD5n8N8SY9DwXw7mwZM9wREPXoDPgOoIWl6q_MPsp7n0zs3Z5ZaiQWOOzl1S9OhwAfSiiOwz6efnXEaxuT" \
    "EtPd7BjSx7NaFka8Dx9U7YqXy2RFj1O9PjyaDGuRh7YXsX3iMUSP_wSyHQg_c_qHRtKUsNSGCT7OZg0hzm2Kphtj" \
    "nayKJvC64vAbROBR4Ubg6Bxg9IQVZ-QYyE\",\"e\":\"AQAB\",\"kid\":\"kid-rsa-roca-sign\",\"kty\":\"RSA\"}"
#define WEAK_OCT "{\"kty\":\"oct\",\"kid\":\"weak\",\"k\":\"GawgguFyGrWKav7AX4VKUg\"}"

static tsr_err load_set(const char *json, tsr_keyset **out)
{
    *out = (tsr_keyset *)(uintptr_t)1; /* must be reset on failure */
    return tsr_keyset_load_jwks(json, strlen(json), out, NULL);
}

#define assert_set_refused(json, code) assert_set_refused_at(json, code, __LINE__)
static void assert_set_refused_at(const char *json, tsr_err code, int line)
{
    tsr_keyset *set;
    tsr_err rc = load_set(json, &set);
    if (rc != code) {
        fail_msg("line %d: expected %s, got %s", line, tsr_err_name(code), tsr_err_name(rc));
    }
    assert_null(set);
}

/* Loads a set that must succeed with `count` keys whose kids are `kids`
 * (comma-separated, in order). */
#define assert_set_kids(json, kids) assert_set_kids_at(json, kids, __LINE__)
static void assert_set_kids_at(const char *json, const char *kids, int line)
{
    tsr_keyset *set;
    tsr_error e;
    tsr_err rc = tsr_keyset_load_jwks(json, strlen(json), &set, &e);
    if (rc != TSR_OK) {
        fail_msg("line %d: refused (%s: %s)", line, tsr_err_name(rc), e.detail);
    }
    char got[512] = "";
    for (size_t i = 0; i < tsr_keyset_count(set); i++) {
        const char *kid = tsr_key_get0_kid(tsr_keyset_get0_key(set, i));
        size_t used = strlen(got);
        snprintf(got + used, sizeof got - used, "%s%s", i ? "," : "", kid ? kid : "(none)");
    }
    if (strcmp(got, kids) != 0) {
        fail_msg("line %d: kept [%s], expected [%s]", line, got, kids);
    }
    tsr_keyset_free(set);
}

/* The "key" member of an RFC vector file, dumped. */
static char *rfc_set(const char *file)
{
    char rel[128];
    snprintf(rel, sizeof rel, "rfc/%s", file);
    json_t *root = tst_load_vector_json(rel);
    char *s = json_dumps(json_object_get(root, "key"), JSON_COMPACT);
    json_decref(root);
    assert_non_null(s);
    return s;
}

/* ------------------------------------------------------------ rejections */

static void test_rejects_broken_structure(void **state)
{
    (void)state;
    assert_set_refused("", TSR_ERR_MALFORMED);
    assert_set_refused("[]", TSR_ERR_MALFORMED);
    assert_set_refused("{}", TSR_ERR_MALFORMED);
    assert_set_refused("{\"keys\":{}}", TSR_ERR_MALFORMED);
    assert_set_refused("{\"keys\":\"" ED_X "\"}", TSR_ERR_MALFORMED);
    assert_set_refused("{\"keys\":[" ED_KEY ",7]}", TSR_ERR_MALFORMED);
    assert_set_refused("{\"keys\":[" ED_KEY ",[]]}", TSR_ERR_MALFORMED);
    assert_set_refused("{\"keys\":[" ED_KEY "],\"keys\":[]}", TSR_ERR_MALFORMED);
    assert_set_refused("{\"keys\":[" ED_KEY "]} x", TSR_ERR_MALFORMED);
    /* a malformed member (bad base64url, wrong type, duplicate) rejects the set */
    assert_set_refused("{\"keys\":[" ED_KEY ",{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"" ED_X
                       "=\"}]}",
                       TSR_ERR_MALFORMED);
    assert_set_refused("{\"keys\":[" ED_KEY ",{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":1}]}",
                       TSR_ERR_MALFORMED);
    assert_set_refused("{\"keys\":[" ED_KEY ",{\"kty\":\"OKP\",\"kty\":\"OKP\",\"crv\":\"Ed25519\","
                       "\"x\":\"" ED_X "\"}]}",
                       TSR_ERR_MALFORMED);
    assert_set_refused("{\"keys\":[{\"crv\":\"Ed25519\",\"x\":\"" ED_X "\"}," ED_KEY "]}",
                       TSR_ERR_MALFORMED); /* member without kty */
}

static void test_rejects_none_usable(void **state)
{
    (void)state;
    assert_set_refused("{\"keys\":[]}", TSR_ERR_KEY_NOT_FOUND);
    assert_set_refused("{\"keys\":[" WEAK_OCT "]}", TSR_ERR_KEY_NOT_FOUND);
    assert_set_refused("{\"keys\":[{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"use\":\"enc\",\"x\":\"" ED_X
                       "\"},{\"kty\":\"XYZ\"}," WEAK_OCT "]}",
                       TSR_ERR_KEY_NOT_FOUND);
    assert_set_refused("{\"keys\":[{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"key_ops\":[\"encrypt\"],"
                       "\"x\":\"" ED_X "\"}]}",
                       TSR_ERR_KEY_NOT_FOUND);
}

static void test_rejects_mixed_private_public(void **state)
{
    (void)state;
    /* Wycheproof MixedKeySet: an HMAC secret beside a public key */
    char *priv = rfc_set("rfc7515-A.3.json"); /* EC P-256 private */
    char buf[4096];
    assert_set_refused("{\"keys\":[{\"kty\":\"oct\",\"kid\":\"h\",\"k\":"
                       "\"AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow\"},"
                       ED_KEY "]}",
                       TSR_ERR_KEY_INVALID);
    /* a private asymmetric key beside a public one */
    snprintf(buf, sizeof buf, "{\"keys\":[%s," ED_KEY "]}", priv);
    assert_set_refused(buf, TSR_ERR_KEY_INVALID);
    /* skipped members do not count: the weak secret is left out first */
    assert_set_kids("{\"keys\":[" WEAK_OCT "," ED_KEY "]}", "ed");
    free(priv);
}

static void test_caps(void **state)
{
    (void)state;
    /* TSR_KEYSET_MAX_KEYS members load; one more is too_large */
    size_t cap = 128 + (TSR_KEYSET_MAX_KEYS + 1) * (sizeof ED_KEY + 16);
    char *s = malloc(cap);
    for (unsigned n = TSR_KEYSET_MAX_KEYS; n <= TSR_KEYSET_MAX_KEYS + 1; n++) {
        size_t w = (size_t)snprintf(s, cap, "{\"keys\":[");
        for (unsigned i = 0; i < n; i++) {
            w += (size_t)snprintf(s + w, cap - w,
                                  "%s{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"kid\":\"k%u\",\"x\":\"" ED_X
                                  "\"}",
                                  i ? "," : "", i);
        }
        snprintf(s + w, cap - w, "]}");
        tsr_keyset *set = NULL;
        tsr_err rc = tsr_keyset_load_jwks(s, strlen(s), &set, NULL);
        if (n == TSR_KEYSET_MAX_KEYS) {
            assert_int_equal(rc, TSR_OK);
            assert_int_equal(tsr_keyset_count(set), TSR_KEYSET_MAX_KEYS);
            /* add1 past the cap */
            tsr_key *k = NULL;
            assert_int_equal(tsr_key_load_jwk(ED_KEY, strlen(ED_KEY), &k, NULL), TSR_OK);
            assert_int_equal(tsr_keyset_add1_key(set, k, NULL), TSR_ERR_TOO_LARGE);
            tsr_key_free(k);
            tsr_keyset_free(set);
        } else {
            assert_int_equal(rc, TSR_ERR_TOO_LARGE);
            assert_null(set);
        }
    }
    free(s);
    /* byte cap */
    size_t big = TSR_KEYSET_JSON_MAX + 1;
    s = malloc(big + 1);
    memset(s, ' ', big);
    memcpy(s, "{\"keys\":[" ED_KEY "]}", sizeof("{\"keys\":[" ED_KEY "]}") - 1);
    s[big] = '\0';
    tsr_keyset *set = (tsr_keyset *)(uintptr_t)1;
    assert_int_equal(tsr_keyset_load_jwks(s, big, &set, NULL), TSR_ERR_TOO_LARGE);
    assert_null(set);
    assert_int_equal(tsr_keyset_load(s, big, &set, NULL), TSR_ERR_TOO_LARGE);
    /* a single JWK is capped at TSR_KEY_JSON_MAX even through tsr_keyset_load */
    memset(s, ' ', big);
    memcpy(s, ED_KEY, sizeof ED_KEY - 1);
    assert_int_equal(tsr_keyset_load(s, TSR_KEY_JSON_MAX, &set, NULL), TSR_OK);
    tsr_keyset_free(set);
    assert_int_equal(tsr_keyset_load(s, TSR_KEY_JSON_MAX + 1, &set, NULL), TSR_ERR_TOO_LARGE);
    assert_null(set);
    free(s);
}

/* ------------------------------------------------------------ skipping */

static void test_skipping_rules(void **state)
{
    (void)state;
    char *rsa_pub = rfc_set("rfc7638-3.1.json"); /* RSA, alg RS256, kid 2011-04-29 */
    char buf[4096];
    const char *skipped[] = {
        WEAK_OCT,
        "{\"kty\":\"XYZ\",\"kid\":\"x\"}",
        "{\"kty\":\"EC\",\"crv\":\"secp256k1\",\"kid\":\"k1\",\"x\":\"AA\",\"y\":\"AA\"}",
        "{\"kty\":\"OKP\",\"crv\":\"X25519\",\"kid\":\"x25519\",\"x\":\"" ED_X "\"}",
        "{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"kid\":\"enc\",\"use\":\"enc\",\"x\":\"" ED_X "\"}",
        "{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"kid\":\"es521\",\"alg\":\"ES521\",\"x\":\"" ED_X "\"}",
        "{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"kid\":\"mismatch\",\"alg\":\"ES256\",\"x\":\"" ED_X "\"}",
        "{\"kty\":\"oct\",\"kid\":\"a128kw\",\"alg\":\"A128KW\",\"k\":\"GawgguFyGrWKav7AX4VKUg\"}",
        ROCA_KEY,
        /* not on the curve */
        ("{\"kty\":\"EC\",\"crv\":\"P-256\",\"kid\":\"offcurve\","
         "\"x\":\"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU\","
         "\"y\":\"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU\"}"),
        ("{\"kty\":\"RSA\",\"kid\":\"multi\",\"n\":\"AQAB\",\"e\":\"AQAB\",\"d\":\"AQAB\","
         "\"oth\":[]}"),
    };
    for (size_t i = 0; i < sizeof skipped / sizeof skipped[0]; i++) {
        snprintf(buf, sizeof buf, "{\"keys\":[%s,%s," ED_KEY "]}", skipped[i], rsa_pub);
        assert_set_kids(buf, "2011-04-29,ed");
    }
    free(rsa_pub);
    /* unknown members of the set object and of the keys are ignored */
    assert_set_kids("{\"x\":1,\"keys\":[{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"kid\":\"a\",\"foo\":[],"
                    "\"x\":\"" ED_X "\"}]}",
                    "a");
    /* sign-only keys stay (they are usable for signatures) */
    assert_set_kids("{\"keys\":[{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"kid\":\"s\",\"key_ops\":[\"sign\"],"
                    "\"x\":\"" ED_X "\"}]}",
                    "s");
}

static void test_rfc7517_sets(void **state)
{
    (void)state;
    /* A.1: the EC key is "use":"enc" and skipped; the RSA key stays */
    char *s = rfc_set("rfc7517-A.1.json");
    assert_set_kids(s, "2011-04-29");
    free(s);
    /* A.2: the private set; same outcome, and the RSA key is private */
    s = rfc_set("rfc7517-A.2.json");
    tsr_keyset *set = NULL;
    assert_int_equal(tsr_keyset_load_jwks(s, strlen(s), &set, NULL), TSR_OK);
    assert_int_equal(tsr_keyset_count(set), 1);
    const tsr_key *k = tsr_keyset_get0_key(set, 0);
    assert_true(tsr_key_is_private(k));
    assert_int_equal(tsr_key_get_kty(k), TSR_KTY_RSA);
    assert_true(tsr_key_usable(k, TSR_ALG_RS256, TSR_OP_SIGN));
    tsr_keyset_free(set);
    free(s);
    /* A.3: the A128KW key is skipped; the HMAC key of RFC 7515 A.1 stays */
    s = rfc_set("rfc7517-A.3.json");
    assert_set_kids(s, "HMAC key used in JWS spec Appendix A.1 example");
    free(s);
}

/* ------------------------------------------------------------ tsr_keyset_load */

static void test_load_detects_content(void **state)
{
    (void)state;
    tsr_keyset *set = NULL;
    /* a single JWK (with leading whitespace) */
    const char *jwk = "\n  " ED_KEY "\n";
    assert_int_equal(tsr_keyset_load(jwk, strlen(jwk), &set, NULL), TSR_OK);
    assert_int_equal(tsr_keyset_count(set), 1);
    assert_string_equal(tsr_key_get0_kid(tsr_keyset_get0_key(set, 0)), "ed");
    tsr_keyset_free(set);
    /* a single key that fails is an error: no skipping */
    assert_int_equal(tsr_keyset_load(WEAK_OCT, strlen(WEAK_OCT), &set, NULL), TSR_ERR_KEY_WEAK);
    assert_null(set);
    const char *unk = "{\"kty\":\"XYZ\"}";
    assert_int_equal(tsr_keyset_load(unk, strlen(unk), &set, NULL), TSR_ERR_UNSUPPORTED);
    /* a set follows the set rules */
    const char *js = "{\"keys\":[" WEAK_OCT "," ED_KEY "]}";
    assert_int_equal(tsr_keyset_load(js, strlen(js), &set, NULL), TSR_OK);
    assert_int_equal(tsr_keyset_count(set), 1);
    tsr_keyset_free(set);
    /* PEM */
    EVP_PKEY *pk = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
    BIO *b = BIO_new(BIO_s_mem());
    assert_true(PEM_write_bio_PUBKEY(b, pk) == 1);
    char *pem = NULL;
    long n = BIO_get_mem_data(b, &pem);
    assert_int_equal(tsr_keyset_load(pem, (size_t)n, &set, NULL), TSR_OK);
    assert_int_equal(tsr_keyset_count(set), 1);
    assert_true(tsr_key_usable(tsr_keyset_get0_key(set, 0), TSR_ALG_ES384, TSR_OP_VERIFY));
    tsr_keyset_free(set);
    BIO_free(b);
    EVP_PKEY_free(pk);
    /* anything else */
    const char *bad[] = {"", "   ", "[]", "hello", "-----BEGIN NOTHING-----\n"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(tsr_keyset_load(bad[i], strlen(bad[i]), &set, NULL), TSR_ERR_MALFORMED);
        assert_null(set);
    }
}

/* ------------------------------------------------------------ building and export */

static void test_export_jwks(void **state)
{
    (void)state;
    tsr_keyset *set = NULL;
    char *out = NULL;
    assert_int_equal(tsr_keyset_new(&set, NULL), TSR_OK);
    assert_int_equal(tsr_keyset_count(set), 0);
    assert_null(tsr_keyset_get0_key(set, 0));
    assert_int_equal(tsr_keyset_export_jwks(set, &out, NULL), TSR_OK);
    assert_string_equal(out, "{\"keys\":[]}");
    tsr_free(out);
    const tsr_alg algs[] = {TSR_ALG_ES256, TSR_ALG_HS256, TSR_ALG_EDDSA, TSR_ALG_ES512};
    char tps[4][TSR_THUMBPRINT_LEN + 1];
    for (size_t i = 0; i < 4; i++) {
        tsr_key *k = NULL;
        assert_int_equal(tsr_key_generate(algs[i], &k, NULL), TSR_OK);
        assert_int_equal(tsr_key_thumbprint(k, tps[i], NULL), TSR_OK);
        assert_int_equal(tsr_key_set1_kid(k, tps[i], NULL), TSR_OK);
        assert_int_equal(tsr_keyset_add1_key(set, k, NULL), TSR_OK);
        tsr_key_free(k); /* the set holds its own reference */
    }
    assert_int_equal(tsr_keyset_count(set), 4);
    assert_int_equal(tsr_keyset_export_jwks(set, &out, NULL), TSR_OK);
    /* public only; the HMAC secret is left out entirely */
    assert_null(strstr(out, "\"d\""));
    assert_null(strstr(out, "\"k\""));
    assert_null(strstr(out, tps[1]));
    tsr_keyset *back = NULL;
    assert_int_equal(tsr_keyset_load_jwks(out, strlen(out), &back, NULL), TSR_OK);
    assert_int_equal(tsr_keyset_count(back), 3);
    const size_t want[3] = {0, 2, 3};
    for (size_t i = 0; i < 3; i++) {
        const tsr_key *k = tsr_keyset_get0_key(back, i);
        char t[TSR_THUMBPRINT_LEN + 1];
        assert_int_equal(tsr_key_thumbprint(k, t, NULL), TSR_OK);
        assert_string_equal(t, tps[want[i]]);
        assert_string_equal(tsr_key_get0_kid(k), tps[want[i]]);
        assert_false(tsr_key_is_private(k));
        assert_int_equal(tsr_key_get_alg(k), algs[want[i]]);
    }
    tsr_keyset_free(back);
    tsr_free(out);
    tsr_keyset_free(set);
    /* argument contract */
    assert_int_equal(tsr_keyset_add1_key(NULL, NULL, NULL), TSR_ERR_INVALID_ARGUMENT);
    assert_int_equal(tsr_keyset_count(NULL), 0);
    assert_null(tsr_keyset_get0_key(NULL, 0));
    tsr_keyset_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rejects_broken_structure),
        cmocka_unit_test(test_rejects_none_usable),
        cmocka_unit_test(test_rejects_mixed_private_public),
        cmocka_unit_test(test_caps),
        cmocka_unit_test(test_skipping_rules),
        cmocka_unit_test(test_rfc7517_sets),
        cmocka_unit_test(test_load_detects_content),
        cmocka_unit_test(test_export_jwks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
