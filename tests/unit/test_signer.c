/*
 * test_signer.c: tsr_signer and tsr_claims.
 *
 * Negative cases first (keys that must not sign, payloads that are not
 * claim sets), then the exact bytes of the header, the defaults the claims
 * builder adds, and a sign-then-verify round trip for every algorithm
 * through a real tsr_verifier built from the exported public key.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "internal.h"
#include "support.h"

#define NOW 1700000000

/* ------------------------------------------------------------------ helpers */

/* Decodes segment `idx` (0 header, 1 payload, 2 signature) of a compact
 * token into a malloc'd NUL-terminated buffer. */
static char *segment(const char *tok, int idx, size_t *out_len)
{
    const char *start = tok;
    for (int i = 0; i < idx; i++) {
        start = strchr(start, '.');
        assert_non_null(start);
        start++;
    }
    const char *end = strchr(start, '.');
    size_t n = end != NULL ? (size_t)(end - start) : strlen(start);
    size_t cap = tsr_b64url_decoded_max(n) + 1;
    unsigned char *buf = malloc(cap);
    assert_non_null(buf);
    size_t got = 0;
    assert_int_equal(tsr_b64url_decode(start, n, buf, cap, &got), TSR_OK);
    buf[got] = '\0';
    if (out_len != NULL) {
        *out_len = got;
    }
    return (char *)buf;
}

static json_t *payload_json(const char *tok)
{
    char *p = segment(tok, 1, NULL);
    json_error_t jerr;
    json_t *j = json_loads(p, 0, &jerr);
    free(p);
    assert_non_null(j);
    return j;
}

static tsr_key *gen(tsr_alg alg)
{
    tsr_key *k = NULL;
    tsr_err rc = (alg >= TSR_ALG_RS256 && alg <= TSR_ALG_PS512)
                     ? tsr_key_generate_rsa(alg, 2048, &k, NULL)
                     : tsr_key_generate(alg, &k, NULL);
    assert_int_equal(rc, TSR_OK);
    return k;
}

static tsr_key *load_jwk(const char *jwk)
{
    tsr_key *k = NULL;
    tsr_error e;
    tsr_err rc = tsr_key_load_jwk(jwk, strlen(jwk), &k, &e);
    if (rc != TSR_OK) {
        fail_msg("JWK did not load: %s (%s)", tsr_err_name(rc), e.detail);
    }
    return k;
}

/* A verifier for `alg` holding the public part of `key` (the key itself for
 * HMAC), so the round trip also proves the export/load path. */
static tsr_verifier *verifier_for(const tsr_key *key, tsr_alg alg)
{
    tsr_key *vk = NULL;
    if (tsr_key_get_kty(key) == TSR_KTY_OCT) {
        vk = tsr_key_up_ref((tsr_key *)(uintptr_t)key);
    } else {
        char *pub = NULL;
        assert_int_equal(tsr_key_export_jwk(key, false, &pub, NULL), TSR_OK);
        vk = load_jwk(pub);
        assert_false(tsr_key_is_private(vk));
        tsr_free(pub);
    }
    tsr_keyset *set = NULL;
    tsr_policy *pol = NULL;
    tsr_verifier *v = NULL;
    assert_int_equal(tsr_keyset_new(&set, NULL), TSR_OK);
    assert_int_equal(tsr_keyset_add1_key(set, vk, NULL), TSR_OK);
    assert_int_equal(tsr_policy_new(&pol, NULL), TSR_OK);
    assert_int_equal(tsr_policy_allow_alg(pol, alg, NULL), TSR_OK);
    assert_int_equal(tsr_verifier_new(pol, set, &v, NULL), TSR_OK);
    tsr_policy_free(pol);
    tsr_keyset_free(set);
    tsr_key_free(vk);
    return v;
}

static char *sign_simple(const tsr_signer *s, int64_t now)
{
    tsr_claims *c = NULL;
    char *tok = NULL;
    size_t len = 0;
    assert_int_equal(tsr_claims_new(&c, NULL), TSR_OK);
    assert_int_equal(tsr_claims_set_string(c, "iss", "https://issuer.example", NULL), TSR_OK);
    assert_int_equal(tsr_claims_set_string(c, "sub", "alice", NULL), TSR_OK);
    assert_int_equal(tsr_signer_sign_claims(s, c, now, &tok, &len, NULL), TSR_OK);
    assert_int_equal(len, strlen(tok));
    tsr_claims_free(c);
    return tok;
}

static const char *const hs256_jwk =
    "{\"kty\":\"oct\",\"kid\":\"k1\",\"k\":\"AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH"
    "75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow\"}";

/* ------------------------------------------------------------------ negative */

static void test_rejects_public_key(void **state)
{
    (void)state;
    static const tsr_alg algs[] = {TSR_ALG_RS256, TSR_ALG_PS256, TSR_ALG_ES256, TSR_ALG_EDDSA};
    for (size_t i = 0; i < sizeof algs / sizeof algs[0]; i++) {
        tsr_key *priv = gen(algs[i]);
        char *pub = NULL;
        assert_int_equal(tsr_key_export_jwk(priv, false, &pub, NULL), TSR_OK);
        tsr_key *k = load_jwk(pub);
        tsr_signer *s = (tsr_signer *)0x1;
        tsr_error e;
        assert_int_equal(tsr_signer_new(k, algs[i], NULL, NULL, &s, &e), TSR_ERR_KEY_MISMATCH);
        assert_int_equal(e.code, TSR_ERR_KEY_MISMATCH);
        assert_null(s);
        /* The default algorithm does not make a public key usable either. */
        assert_int_equal(tsr_signer_new(k, TSR_ALG_UNSPECIFIED, NULL, NULL, &s, NULL),
                         TSR_ERR_KEY_MISMATCH);
        tsr_free(pub);
        tsr_key_free(k);
        tsr_key_free(priv);
    }
}

static void test_rejects_wrong_family_or_curve(void **state)
{
    (void)state;
    tsr_key *ec = gen(TSR_ALG_ES256);
    tsr_key *hs = load_jwk(hs256_jwk);
    tsr_key *ed = gen(TSR_ALG_EDDSA);
    tsr_signer *s = NULL;
    assert_int_equal(tsr_signer_new(ec, TSR_ALG_ES384, NULL, NULL, &s, NULL), TSR_ERR_KEY_MISMATCH);
    assert_int_equal(tsr_signer_new(ec, TSR_ALG_HS256, NULL, NULL, &s, NULL), TSR_ERR_KEY_MISMATCH);
    assert_int_equal(tsr_signer_new(ec, TSR_ALG_RS256, NULL, NULL, &s, NULL), TSR_ERR_KEY_MISMATCH);
    assert_int_equal(tsr_signer_new(hs, TSR_ALG_RS256, NULL, NULL, &s, NULL), TSR_ERR_KEY_MISMATCH);
    assert_int_equal(tsr_signer_new(hs, TSR_ALG_ES256, NULL, NULL, &s, NULL), TSR_ERR_KEY_MISMATCH);
    assert_int_equal(tsr_signer_new(ed, TSR_ALG_ES256, NULL, NULL, &s, NULL), TSR_ERR_KEY_MISMATCH);
    assert_null(s);
    tsr_key_free(ec);
    tsr_key_free(hs);
    tsr_key_free(ed);
}

static void test_rejects_use_enc_and_key_ops(void **state)
{
    (void)state;
    /* RFC 7515 A.3's private key, with "use":"enc", then key_ops without sign. */
    static const char *const jwks[] = {
        "{\"kty\":\"EC\",\"crv\":\"P-256\",\"use\":\"enc\","
        "\"x\":\"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU\","
        "\"y\":\"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0\","
        "\"d\":\"jpsQnnGQmL-YBIffH1136cspYG6-0iY7X1fCE9-E9LI\"}",
        "{\"kty\":\"EC\",\"crv\":\"P-256\",\"key_ops\":[\"verify\"],"
        "\"x\":\"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU\","
        "\"y\":\"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0\","
        "\"d\":\"jpsQnnGQmL-YBIffH1136cspYG6-0iY7X1fCE9-E9LI\"}",
        "{\"kty\":\"oct\",\"use\":\"enc\","
        "\"k\":\"hJtXIZ2uSN5kbQfbtTNWbpdmhkV8FJG-Onbc6mxCcYg\"}",
        "{\"kty\":\"oct\",\"alg\":\"HS384\","
        "\"k\":\"AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow\"}",
    };
    static const tsr_alg algs[] = {TSR_ALG_ES256, TSR_ALG_ES256, TSR_ALG_HS256, TSR_ALG_HS256};
    for (size_t i = 0; i < sizeof jwks / sizeof jwks[0]; i++) {
        tsr_key *k = load_jwk(jwks[i]);
        tsr_signer *s = NULL;
        assert_int_equal(tsr_signer_new(k, algs[i], NULL, NULL, &s, NULL), TSR_ERR_KEY_MISMATCH);
        assert_null(s);
        tsr_key_free(k);
    }
}

static void test_rejects_bad_arguments(void **state)
{
    (void)state;
    tsr_key *hs = load_jwk(hs256_jwk);
    tsr_signer *s = NULL;
    assert_int_equal(tsr_signer_new(NULL, TSR_ALG_HS256, NULL, NULL, &s, NULL),
                     TSR_ERR_INVALID_ARGUMENT);
    assert_int_equal(tsr_signer_new(hs, TSR_ALG_HS256, NULL, NULL, NULL, NULL),
                     TSR_ERR_INVALID_ARGUMENT);
    assert_int_equal(tsr_signer_new(hs, (tsr_alg)99, NULL, NULL, &s, NULL),
                     TSR_ERR_INVALID_ARGUMENT);
    assert_int_equal(tsr_signer_new(hs, TSR_ALG_HS256, "\xff\xfe", NULL, &s, NULL),
                     TSR_ERR_INVALID_ARGUMENT);
    char longkid[TSR_KID_MAX + 2];
    memset(longkid, 'a', sizeof longkid - 1);
    longkid[sizeof longkid - 1] = '\0';
    assert_int_equal(tsr_signer_new(hs, TSR_ALG_HS256, longkid, NULL, &s, NULL),
                     TSR_ERR_INVALID_ARGUMENT);
    assert_null(s);
    tsr_claims *c = NULL;
    assert_int_equal(tsr_claims_new(&c, NULL), TSR_OK);
    assert_int_equal(tsr_claims_set_ttl(c, 0, NULL), TSR_ERR_INVALID_ARGUMENT);
    assert_int_equal(tsr_claims_set_ttl(c, -5, NULL), TSR_ERR_INVALID_ARGUMENT);
    assert_int_equal(tsr_claims_set_string(c, "iss", "\xc0\xaf", NULL), TSR_ERR_INVALID_ARGUMENT);
    assert_int_equal(tsr_claims_set_string(c, NULL, "x", NULL), TSR_ERR_INVALID_ARGUMENT);
    assert_int_equal(tsr_claims_merge_json(c, "[1]", 3, NULL), TSR_ERR_MALFORMED);
    assert_int_equal(tsr_claims_merge_json(c, "{\"a\":1,\"a\":2}", 13, NULL), TSR_ERR_MALFORMED);
    assert_int_equal(tsr_signer_new(hs, TSR_ALG_HS256, NULL, NULL, &s, NULL), TSR_OK);
    char *tok = (char *)0x1;
    size_t len = 7;
    assert_int_equal(tsr_signer_sign_claims(s, NULL, NOW, &tok, &len, NULL),
                     TSR_ERR_INVALID_ARGUMENT);
    assert_null(tok);
    assert_int_equal(len, 0);
    /* exp = now + ttl must not overflow. */
    assert_int_equal(tsr_signer_sign_claims(s, c, INT64_MAX - 10, &tok, &len, NULL),
                     TSR_ERR_INVALID_ARGUMENT);
    assert_null(tok);
    tsr_claims_free(c);
    tsr_signer_free(s);
    tsr_key_free(hs);
}

static void test_sign_rejects_non_object_payload(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "", "[]", "\"x\"", "1", "null", "{", "{\"a\":1}x", "{\"a\":1,\"a\":2}",
        "\xEF\xBB\xBF{}", "{\"a\":\"\\ud800\"}", "{\"a\":\"\xff\"}",
    };
    tsr_key *hs = load_jwk(hs256_jwk);
    tsr_signer *s = NULL;
    assert_int_equal(tsr_signer_new(hs, TSR_ALG_HS256, NULL, NULL, &s, NULL), TSR_OK);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char *tok = (char *)0x1;
        tsr_err rc = tsr_signer_sign(s, bad[i], strlen(bad[i]), &tok, NULL, NULL);
        if (rc != TSR_ERR_MALFORMED) {
            fail_msg("payload #%zu: got %s, want malformed", i, tsr_err_name(rc));
        }
        assert_null(tok);
    }
    /* A raw NUL byte inside a string is a control character: refused, so
     * that nothing is signed that a tessera verifier would refuse. */
    static const char raw_nul[] = "{\"a\":\"x\0y\"}";
    char *t0 = (char *)0x1;
    assert_int_equal(tsr_signer_sign(s, raw_nul, sizeof raw_nul - 1, &t0, NULL, NULL),
                     TSR_ERR_MALFORMED);
    assert_null(t0);
    /* 33 levels of nesting exceed the depth cap. */
    char deep[80];
    size_t n = 0;
    deep[n++] = '{';
    memcpy(deep + n, "\"a\":", 4);
    n += 4;
    for (int i = 1; i < 33; i++) {
        deep[n++] = '[';
    }
    deep[n++] = '1';
    for (int i = 1; i < 33; i++) {
        deep[n++] = ']';
    }
    deep[n++] = '}';
    deep[n] = '\0';
    char *tok = NULL;
    assert_int_equal(tsr_signer_sign(s, deep, strlen(deep), &tok, NULL, NULL), TSR_ERR_TOO_LARGE);
    tsr_signer_free(s);
    tsr_key_free(hs);
}

/* ------------------------------------------------------------------ header */

static void expect_header(tsr_key *k, tsr_alg alg, const char *kid, const char *typ,
                          const char *want)
{
    tsr_signer *s = NULL;
    char *tok = NULL;
    assert_int_equal(tsr_signer_new(k, alg, kid, typ, &s, NULL), TSR_OK);
    assert_int_equal(tsr_signer_sign(s, "{}", 2, &tok, NULL, NULL), TSR_OK);
    char *h = segment(tok, 0, NULL);
    assert_string_equal(h, want);
    free(h);
    tsr_free(tok);
    tsr_signer_free(s);
}

static void test_header_bytes_and_order(void **state)
{
    (void)state;
    tsr_key *hs = load_jwk(hs256_jwk); /* kid "k1" */
    expect_header(hs, TSR_ALG_HS256, NULL, NULL, "{\"alg\":\"HS256\",\"kid\":\"k1\",\"typ\":\"JWT\"}");
    expect_header(hs, TSR_ALG_HS512, "other", "at+jwt",
                  "{\"alg\":\"HS512\",\"kid\":\"other\",\"typ\":\"at+jwt\"}");
    expect_header(hs, TSR_ALG_HS256, "", NULL, "{\"alg\":\"HS256\",\"typ\":\"JWT\"}");
    expect_header(hs, TSR_ALG_HS256, "", "", "{\"alg\":\"HS256\"}");
    expect_header(hs, TSR_ALG_HS256, "a\"b\\c", "", "{\"alg\":\"HS256\",\"kid\":\"a\\\"b\\\\c\"}");
    /* The default algorithm of a 64-byte secret is HS512. */
    expect_header(hs, TSR_ALG_UNSPECIFIED, "", "", "{\"alg\":\"HS512\"}");
    tsr_key_free(hs);

    tsr_key *ed = gen(TSR_ALG_EDDSA);
    expect_header(ed, TSR_ALG_EDDSA, NULL, NULL, "{\"alg\":\"EdDSA\",\"typ\":\"JWT\"}");
    expect_header(ed, TSR_ALG_UNSPECIFIED, "", "", "{\"alg\":\"EdDSA\"}");
    tsr_key_free(ed);
}

/* The signature is HMAC-SHA256 over exactly "header.payload", recomputed
 * here with OpenSSL directly, and the payload is signed byte for byte. */
static void test_sign_payload_as_is_matches_openssl_hmac(void **state)
{
    (void)state;
    static const char payload[] = "{ \"sub\" : \"x\",\r\n \"n\":1.50 }";
    tsr_key *hs = load_jwk(hs256_jwk);
    tsr_signer *s = NULL;
    char *tok = NULL;
    size_t tok_len = 0;
    assert_int_equal(tsr_signer_new(hs, TSR_ALG_HS256, NULL, NULL, &s, NULL), TSR_OK);
    assert_int_equal(tsr_signer_get_alg(s), TSR_ALG_HS256);
    assert_int_equal(tsr_signer_sign(s, payload, strlen(payload), &tok, &tok_len, NULL), TSR_OK);
    assert_int_equal(tok_len, strlen(tok));
    size_t plen = 0;
    char *p = segment(tok, 1, &plen);
    assert_int_equal(plen, strlen(payload));
    assert_memory_equal(p, payload, plen);
    free(p);

    size_t klen = 0;
    char *secret = segment("x.AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcg"
                           "UuTwjAzZr1Z9CAow", 1, &klen);
    const char *dot2 = strrchr(tok, '.');
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned maclen = 0;
    assert_non_null(HMAC(EVP_sha256(), secret, (int)klen, (const unsigned char *)tok,
                         (size_t)(dot2 - tok), mac, &maclen));
    size_t slen = 0;
    char *sig = segment(tok, 2, &slen);
    assert_int_equal(slen, maclen);
    assert_memory_equal(sig, mac, maclen);
    free(sig);
    free(secret);
    tsr_free(tok);
    tsr_signer_free(s);
    tsr_key_free(hs);
}

/* ------------------------------------------------------------------ claims */

static void test_defaults_present_and_correct(void **state)
{
    (void)state;
    tsr_key *hs = load_jwk(hs256_jwk);
    tsr_signer *s = NULL;
    assert_int_equal(tsr_signer_new(hs, TSR_ALG_HS256, NULL, NULL, &s, NULL), TSR_OK);
    char *t1 = sign_simple(s, NOW);
    char *t2 = sign_simple(s, NOW);
    json_t *p1 = payload_json(t1);
    json_t *p2 = payload_json(t2);
    assert_int_equal(json_integer_value(json_object_get(p1, "iat")), NOW);
    assert_int_equal(json_integer_value(json_object_get(p1, "nbf")), NOW);
    assert_int_equal(json_integer_value(json_object_get(p1, "exp")), NOW + TSR_DEFAULT_TTL);
    assert_string_equal(json_string_value(json_object_get(p1, "iss")), "https://issuer.example");
    const char *jti1 = json_string_value(json_object_get(p1, "jti"));
    const char *jti2 = json_string_value(json_object_get(p2, "jti"));
    assert_non_null(jti1);
    assert_non_null(jti2);
    /* 128 random bits: 22 base64url characters that decode to 16 bytes. */
    assert_int_equal(strlen(jti1), 22);
    unsigned char raw[32];
    size_t rawlen = 0;
    assert_int_equal(tsr_b64url_decode(jti1, 22, raw, sizeof raw, &rawlen), TSR_OK);
    assert_int_equal(rawlen, 16);
    assert_string_not_equal(jti1, jti2);
    /* Claims keep insertion order; defaults follow in a fixed order. */
    char *text = segment(t1, 1, NULL);
    static const char want[] = "{\"iss\":\"https://issuer.example\",\"sub\":\"alice\","
                               "\"iat\":1700000000,\"nbf\":1700000000,\"exp\":1700000900,\"jti\":\"";
    assert_memory_equal(text, want, sizeof want - 1);
    free(text);
    json_decref(p1);
    json_decref(p2);
    tsr_free(t1);
    tsr_free(t2);
    tsr_signer_free(s);
    tsr_key_free(hs);
}

static void test_explicit_values_win_and_claims_unchanged(void **state)
{
    (void)state;
    tsr_key *hs = load_jwk(hs256_jwk);
    tsr_signer *s = NULL;
    tsr_claims *c = NULL;
    char *tok = NULL;
    assert_int_equal(tsr_signer_new(hs, TSR_ALG_HS256, NULL, NULL, &s, NULL), TSR_OK);
    assert_int_equal(tsr_claims_new(&c, NULL), TSR_OK);
    assert_int_equal(tsr_claims_set_int(c, "exp", 42, NULL), TSR_OK);
    assert_int_equal(tsr_claims_set_int(c, "iat", 41, NULL), TSR_OK);
    assert_int_equal(tsr_claims_set_string(c, "jti", "fixed", NULL), TSR_OK);
    static const char extra[] = "{\"nbf\":40,\"scope\":[\"a\",\"b\"]}";
    assert_int_equal(tsr_claims_merge_json(c, extra, sizeof extra - 1, NULL), TSR_OK);
    assert_int_equal(tsr_signer_sign_claims(s, c, NOW, &tok, NULL, NULL), TSR_OK);
    json_t *p = payload_json(tok);
    assert_int_equal(json_integer_value(json_object_get(p, "exp")), 42);
    assert_int_equal(json_integer_value(json_object_get(p, "iat")), 41);
    assert_int_equal(json_integer_value(json_object_get(p, "nbf")), 40);
    assert_string_equal(json_string_value(json_object_get(p, "jti")), "fixed");
    assert_int_equal(json_array_size(json_object_get(p, "scope")), 2);
    json_decref(p);
    tsr_free(tok);
    tsr_claims_free(c);

    /* Signing twice at different times: had the first call written its
     * defaults into the claim set, the second would repeat them. */
    assert_int_equal(tsr_claims_new(&c, NULL), TSR_OK);
    assert_int_equal(tsr_signer_sign_claims(s, c, NOW, &tok, NULL, NULL), TSR_OK);
    tsr_free(tok);
    assert_int_equal(tsr_signer_sign_claims(s, c, NOW + 100, &tok, NULL, NULL), TSR_OK);
    p = payload_json(tok);
    assert_int_equal(json_integer_value(json_object_get(p, "iat")), NOW + 100);
    assert_int_equal(json_integer_value(json_object_get(p, "exp")), NOW + 100 + TSR_DEFAULT_TTL);
    json_decref(p);
    tsr_free(tok);
    tsr_claims_free(c);
    tsr_signer_free(s);
    tsr_key_free(hs);
}

/* Signs `json` merged into a claim set and returns the result code. */
static tsr_err sign_merged(const tsr_signer *s, const char *json)
{
    tsr_claims *c = NULL;
    assert_int_equal(tsr_claims_new(&c, NULL), TSR_OK);
    assert_int_equal(tsr_claims_merge_json(c, json, strlen(json), NULL), TSR_OK);
    char *tok = (char *)(uintptr_t)1; /* must be reset to NULL on failure */
    tsr_err rc = tsr_signer_sign_claims(s, c, NOW, &tok, NULL, NULL);
    if (rc != TSR_OK) {
        assert_null(tok);
    }
    tsr_free(tok);
    tsr_claims_free(c);
    return rc;
}

static void test_registered_claims_must_have_verifiable_types(void **state)
{
    (void)state;
    tsr_key *hs = load_jwk(hs256_jwk);
    tsr_signer *s = NULL;
    assert_int_equal(tsr_signer_new(hs, TSR_ALG_HS256, NULL, NULL, &s, NULL), TSR_OK);
    static const char *const bad[] = {
        "{\"exp\":\"soon\"}", "{\"nbf\":true}",     "{\"iat\":null}",
        "{\"exp\":1e300}",     "{\"iss\":42}",       "{\"sub\":[\"a\"]}",
        "{\"jti\":{}}",        "{\"aud\":{\"a\":1}}", "{\"aud\":[\"a\",1]}",
        "{\"aud\":[]}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (sign_merged(s, bad[i]) != TSR_ERR_MALFORMED) {
            fail_msg("signed claims no verifier accepts: %s", bad[i]);
        }
    }
    /* The controls: the same claims with the right types sign. */
    assert_int_equal(sign_merged(s, "{\"exp\":1700000100.5,\"iss\":\"x\",\"aud\":[\"a\",\"b\"]}"),
                     TSR_OK);
    assert_int_equal(sign_merged(s, "{\"aud\":\"a\",\"sub\":\"s\",\"jti\":\"j\"}"), TSR_OK);
    tsr_signer_free(s);
    tsr_key_free(hs);
}

static void test_ttl_and_defaults_mask(void **state)
{
    (void)state;
    tsr_key *hs = load_jwk(hs256_jwk);
    tsr_signer *s = NULL;
    tsr_claims *c = NULL;
    char *tok = NULL;
    assert_int_equal(tsr_signer_new(hs, TSR_ALG_HS256, NULL, NULL, &s, NULL), TSR_OK);
    assert_int_equal(tsr_claims_new(&c, NULL), TSR_OK);
    assert_int_equal(tsr_claims_set_ttl(c, 60, NULL), TSR_OK);
    assert_int_equal(tsr_signer_sign_claims(s, c, NOW, &tok, NULL, NULL), TSR_OK);
    json_t *p = payload_json(tok);
    assert_int_equal(json_integer_value(json_object_get(p, "exp")), NOW + 60);
    json_decref(p);
    tsr_free(tok);

    tsr_claims_set_defaults(c, TSR_CLAIMS_DEFAULT_EXP);
    assert_int_equal(tsr_signer_sign_claims(s, c, NOW, &tok, NULL, NULL), TSR_OK);
    p = payload_json(tok);
    assert_int_equal(json_object_size(p), 1);
    assert_int_equal(json_integer_value(json_object_get(p, "exp")), NOW + 60);
    json_decref(p);
    tsr_free(tok);

    tsr_claims_set_defaults(c, 0);
    assert_int_equal(tsr_signer_sign_claims(s, c, NOW, &tok, NULL, NULL), TSR_OK);
    char *text = segment(tok, 1, NULL);
    assert_string_equal(text, "{}");
    free(text);
    tsr_free(tok);
    tsr_claims_free(c);
    tsr_signer_free(s);
    tsr_key_free(hs);
}

static void test_audience_string_then_array(void **state)
{
    (void)state;
    tsr_key *hs = load_jwk(hs256_jwk);
    tsr_signer *s = NULL;
    tsr_claims *c = NULL;
    char *tok = NULL;
    assert_int_equal(tsr_signer_new(hs, TSR_ALG_HS256, NULL, NULL, &s, NULL), TSR_OK);
    assert_int_equal(tsr_claims_new(&c, NULL), TSR_OK);
    tsr_claims_set_defaults(c, 0);
    assert_int_equal(tsr_claims_add_audience(c, "a", NULL), TSR_OK);
    assert_int_equal(tsr_signer_sign_claims(s, c, NOW, &tok, NULL, NULL), TSR_OK);
    char *text = segment(tok, 1, NULL);
    assert_string_equal(text, "{\"aud\":\"a\"}");
    free(text);
    tsr_free(tok);
    assert_int_equal(tsr_claims_add_audience(c, "b", NULL), TSR_OK);
    assert_int_equal(tsr_claims_add_audience(c, "c", NULL), TSR_OK);
    assert_int_equal(tsr_signer_sign_claims(s, c, NOW, &tok, NULL, NULL), TSR_OK);
    text = segment(tok, 1, NULL);
    assert_string_equal(text, "{\"aud\":[\"a\",\"b\",\"c\"]}");
    free(text);
    tsr_free(tok);
    tsr_claims_free(c);
    tsr_signer_free(s);
    tsr_key_free(hs);
}

/* ------------------------------------------------------------------ round trips */

static void round_trip(tsr_alg alg)
{
    tsr_key *k = gen(alg);
    tsr_signer *s = NULL;
    assert_int_equal(tsr_signer_new(k, alg, "rt", NULL, &s, NULL), TSR_OK);
    char *tok = sign_simple(s, NOW);
    tsr_verifier *v = verifier_for(k, alg);
    tsr_jwt *jwt = NULL;
    tsr_error e;
    assert_int_equal(tsr_jwt_new(&jwt, NULL), TSR_OK);
    tsr_err rc = tsr_verifier_verify(v, tok, strlen(tok), NOW, jwt, &e);
    if (rc != TSR_OK) {
        fail_msg("%s round trip: %s (%s)", tsr_alg_name(alg), tsr_err_name(rc), e.detail);
    }
    assert_int_equal(tsr_jwt_get_alg(jwt), alg);
    char sub[16];
    assert_int_equal(tsr_jwt_get_string(jwt, "sub", sub, sizeof sub, NULL), TSR_OK);
    assert_string_equal(sub, "alice");
    /* Expired one second after the default lifetime. */
    assert_int_equal(tsr_verifier_verify(v, tok, strlen(tok), NOW + TSR_DEFAULT_TTL, jwt, NULL),
                     TSR_ERR_EXPIRED);
    /* A flipped bit in the last signature character breaks it. */
    size_t n = strlen(tok);
    tok[n - 2] = tok[n - 2] == 'A' ? 'B' : 'A';
    assert_int_equal(tsr_verifier_verify(v, tok, n, NOW, jwt, NULL), TSR_ERR_BAD_SIGNATURE);
    tsr_jwt_free(jwt);
    tsr_verifier_free(v);
    tsr_free(tok);
    tsr_signer_free(s);
    tsr_key_free(k);
}

static void test_round_trip_every_alg(void **state)
{
    (void)state;
    for (int a = TSR_ALG_HS256; a < TSR_ALG__COUNT; a++) {
        round_trip((tsr_alg)a);
    }
}

/* A signer holds its own key reference and is usable after the caller
 * drops theirs. */
static void test_signer_keeps_key_alive(void **state)
{
    (void)state;
    tsr_key *k = gen(TSR_ALG_ES256);
    tsr_signer *s = NULL;
    assert_int_equal(tsr_signer_new(k, TSR_ALG_UNSPECIFIED, NULL, NULL, &s, NULL), TSR_OK);
    assert_int_equal(tsr_signer_get_alg(s), TSR_ALG_ES256);
    tsr_verifier *v = verifier_for(k, TSR_ALG_ES256);
    tsr_key_free(k);
    char *tok = sign_simple(s, NOW);
    assert_int_equal(tsr_verifier_verify(v, tok, strlen(tok), NOW, NULL, NULL), TSR_OK);
    tsr_free(tok);
    tsr_verifier_free(v);
    tsr_signer_free(s);
    tsr_signer_free(NULL);
    tsr_claims_free(NULL);
}

/* One signer and one verifier shared by several threads, each with its own
 * claim set and tsr_jwt (the documented threading contract). Run under the
 * sanitizer builds this also catches data races on shared state that
 * corrupt memory. */
#define SHARED_THREADS 4
#define SHARED_ROUNDS 100

typedef struct shared {
    const tsr_signer *s;
    const tsr_verifier *v;
    int failures;
} shared;

static void *sign_verify_worker(void *arg)
{
    shared *sh = arg;
    tsr_jwt *jwt = NULL;
    tsr_claims *c = NULL;
    if (tsr_jwt_new(&jwt, NULL) != TSR_OK || tsr_claims_new(&c, NULL) != TSR_OK) {
        __atomic_add_fetch(&sh->failures, 1, __ATOMIC_SEQ_CST);
        goto out;
    }
    for (int i = 0; i < SHARED_ROUNDS; i++) {
        char *tok = NULL;
        if (tsr_claims_set_int(c, "round", i, NULL) != TSR_OK ||
            tsr_signer_sign_claims(sh->s, c, NOW, &tok, NULL, NULL) != TSR_OK ||
            tsr_verifier_verify(sh->v, tok, strlen(tok), NOW, jwt, NULL) != TSR_OK) {
            __atomic_add_fetch(&sh->failures, 1, __ATOMIC_SEQ_CST);
        }
        int64_t round = -1;
        if (tsr_jwt_get_int(jwt, "round", &round) != TSR_OK || round != i) {
            __atomic_add_fetch(&sh->failures, 1, __ATOMIC_SEQ_CST);
        }
        tsr_free(tok);
    }
out:
    tsr_claims_free(c);
    tsr_jwt_free(jwt);
    return NULL;
}

static void test_shared_signer_between_threads(void **state)
{
    (void)state;
    tsr_key *k = gen(TSR_ALG_ES256);
    tsr_signer *s = NULL;
    assert_int_equal(tsr_signer_new(k, TSR_ALG_ES256, NULL, NULL, &s, NULL), TSR_OK);
    tsr_verifier *v = verifier_for(k, TSR_ALG_ES256);
    shared sh = {s, v, 0};
    pthread_t th[SHARED_THREADS];
    for (int i = 0; i < SHARED_THREADS; i++) {
        assert_int_equal(pthread_create(&th[i], NULL, sign_verify_worker, &sh), 0);
    }
    for (int i = 0; i < SHARED_THREADS; i++) {
        assert_int_equal(pthread_join(th[i], NULL), 0);
    }
    assert_int_equal(sh.failures, 0);
    tsr_verifier_free(v);
    tsr_signer_free(s);
    tsr_key_free(k);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rejects_public_key),
        cmocka_unit_test(test_rejects_wrong_family_or_curve),
        cmocka_unit_test(test_rejects_use_enc_and_key_ops),
        cmocka_unit_test(test_rejects_bad_arguments),
        cmocka_unit_test(test_sign_rejects_non_object_payload),
        cmocka_unit_test(test_header_bytes_and_order),
        cmocka_unit_test(test_sign_payload_as_is_matches_openssl_hmac),
        cmocka_unit_test(test_defaults_present_and_correct),
        cmocka_unit_test(test_explicit_values_win_and_claims_unchanged),
        cmocka_unit_test(test_registered_claims_must_have_verifiable_types),
        cmocka_unit_test(test_ttl_and_defaults_mask),
        cmocka_unit_test(test_audience_string_then_array),
        cmocka_unit_test(test_round_trip_every_alg),
        cmocka_unit_test(test_signer_keeps_key_alive),
        cmocka_unit_test(test_shared_signer_between_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
