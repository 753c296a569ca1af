/*
 * test_verifier.c: tsr_policy, tsr_verifier and tsr_jwt end to end: the
 * policy builder's refusals, key selection by kid and alg, the pipeline's
 * order (a forged token never learns about its claims), every policy check
 * through the real entry point, getters, and the "no allocation in the
 * steady state" promise (counted with the test library's allocation hook).
 * Tokens are minted by tests/support/mint.c. Negative tests first.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

/* The unit tests link the test library, built with the allocation hook;
 * this makes internal.h declare it. */
#define TSR_FAULT_INJECTION 1
#include "internal.h"
#include "mint.h"

#define NOW 1700000000
#define CLAIMS                                                                                     \
    "{\"iss\":\"https://issuer.example\",\"sub\":\"alice\",\"aud\":\"api\","                       \
    "\"iat\":1699999990,\"nbf\":1699999990,\"exp\":1700000600,\"jti\":\"j1\","                     \
    "\"scope\":\"read write\",\"n\":42}"

static const unsigned char secret1[32] = "0123456789abcdef0123456789abcdef";
static const unsigned char secret2[32] = "fedcba9876543210fedcba9876543210";

static tsr_key *hs_key(const unsigned char *secret, const char *kid)
{
    tsr_key *k = NULL;
    assert_int_equal(tsr_key_from_secret(secret, 32, TSR_ALG_HS256, &k, NULL), TSR_OK);
    if (kid != NULL) {
        assert_int_equal(tsr_key_set1_kid(k, kid, NULL), TSR_OK);
    }
    return k;
}

static tsr_keyset *set_of(tsr_key *a, tsr_key *b, tsr_key *c)
{
    tsr_keyset *s = NULL;
    assert_int_equal(tsr_keyset_new(&s, NULL), TSR_OK);
    tsr_key *keys[] = {a, b, c};
    for (size_t i = 0; i < 3; i++) {
        if (keys[i] != NULL) {
            assert_int_equal(tsr_keyset_add1_key(s, keys[i], NULL), TSR_OK);
        }
    }
    return s;
}

static tsr_policy *policy_for(const char *algs)
{
    tsr_policy *p = NULL;
    assert_int_equal(tsr_policy_new(&p, NULL), TSR_OK);
    assert_int_equal(tsr_policy_allow_algs(p, algs, NULL), TSR_OK);
    return p;
}

static tsr_verifier *make_verifier(tsr_policy *p, tsr_keyset *s)
{
    tsr_verifier *v = NULL;
    tsr_error e;
    assert_int_equal(tsr_verifier_new(p, s, &v, &e), TSR_OK);
    return v;
}

/* A verifier over one HS256 key with kid "k1" and the policy `p` (freed). */
static tsr_verifier *hs_verifier(tsr_policy *p)
{
    tsr_key *k = hs_key(secret1, "k1");
    tsr_keyset *s = set_of(k, NULL, NULL);
    tsr_verifier *v = make_verifier(p, s);
    tsr_keyset_free(s);
    tsr_key_free(k);
    tsr_policy_free(p);
    return v;
}

static tsr_err verify(const tsr_verifier *v, const char *token, tsr_jwt *jwt)
{
    tsr_error e;
    memset(&e, 0, sizeof e);
    tsr_err rc = tsr_verifier_verify(v, token, strlen(token), NOW, jwt, &e);
    assert_int_equal(e.code, rc);
    return rc;
}

/* Mints with key k1 and checks the verdict of `v`. */
static tsr_err mint_verify(const tsr_verifier *v, const char *hdr, const char *claims)
{
    tsr_key *k = hs_key(secret1, "k1");
    char *t = tst_mint(k, TSR_ALG_HS256, hdr, claims);
    tsr_err rc = verify(v, t, NULL);
    free(t);
    tsr_key_free(k);
    return rc;
}

/* ---- policy builder ---- */

static void policy_refusals(void **state)
{
    (void)state;
    tsr_policy *p = NULL;
    assert_int_equal(tsr_policy_new(NULL, NULL), TSR_ERR_INVALID_ARGUMENT);
    assert_int_equal(tsr_policy_new(&p, NULL), TSR_OK);
    assert_int_equal(tsr_policy_allow_alg(p, TSR_ALG_UNSPECIFIED, NULL), TSR_ERR_INVALID_ARGUMENT);
    assert_int_equal(tsr_policy_allow_alg(p, (tsr_alg)TSR_ALG__COUNT, NULL),
                     TSR_ERR_INVALID_ARGUMENT);
    assert_int_equal(tsr_policy_allow_alg(p, (tsr_alg)-1, NULL), TSR_ERR_INVALID_ARGUMENT);
    assert_int_equal(tsr_policy_allow_alg(NULL, TSR_ALG_HS256, NULL), TSR_ERR_INVALID_ARGUMENT);
    tsr_error e;
    assert_int_equal(tsr_policy_allow_algs(p, "HS256,none", &e), TSR_ERR_ALG_NOT_ALLOWED);
    assert_int_equal(tsr_policy_allow_algs(p, "NoNe", NULL), TSR_ERR_ALG_NOT_ALLOWED);
    assert_int_equal(tsr_policy_allow_algs(p, "HS256,hs384", NULL), TSR_ERR_UNSUPPORTED);
    assert_int_equal(tsr_policy_allow_algs(p, "", NULL), TSR_ERR_UNSUPPORTED);
    assert_int_equal(tsr_policy_allow_algs(p, "HS256,", NULL), TSR_ERR_UNSUPPORTED);
    assert_int_equal(tsr_policy_allow_algs(p, "HS256,,ES256", NULL), TSR_ERR_UNSUPPORTED);
    assert_int_equal(tsr_policy_allow_algs(p, " HS256", NULL), TSR_ERR_UNSUPPORTED);
    assert_int_equal(tsr_policy_allow_algs(p, NULL, NULL), TSR_ERR_INVALID_ARGUMENT);
    assert_int_equal(tsr_policy_set_leeway(p, -1, NULL), TSR_ERR_INVALID_ARGUMENT);
    assert_int_equal(tsr_policy_set_leeway(p, 86401, NULL), TSR_ERR_INVALID_ARGUMENT);
    assert_int_equal(tsr_policy_set_leeway(p, 86400, NULL), TSR_OK);
    assert_int_equal(tsr_policy_set_max_age(p, -1, NULL), TSR_ERR_INVALID_ARGUMENT);
    assert_int_equal(tsr_policy_set_max_token_size(p, 0, NULL), TSR_ERR_INVALID_ARGUMENT);
    assert_int_equal(tsr_policy_set_max_token_size(p, TSR_MAX_TOKEN_SIZE_LIMIT + 1, NULL),
                     TSR_ERR_INVALID_ARGUMENT);
    assert_int_equal(tsr_policy_add_audience(p, NULL, NULL), TSR_ERR_INVALID_ARGUMENT);
    assert_int_equal(tsr_policy_require_claim(p, NULL, NULL), TSR_ERR_INVALID_ARGUMENT);
    for (unsigned i = 0; i < TSR_POLICY_MAX_AUDIENCES; i++) {
        assert_int_equal(tsr_policy_add_audience(p, "a", NULL), TSR_OK);
        assert_int_equal(tsr_policy_require_claim(p, "c", NULL), TSR_OK);
    }
    assert_int_equal(tsr_policy_add_audience(p, "a", NULL), TSR_ERR_TOO_LARGE);
    assert_int_equal(tsr_policy_require_claim(p, "c", NULL), TSR_ERR_TOO_LARGE);
    /* Every failed allow_algs left the allowlist empty. */
    tsr_key *k = hs_key(secret1, NULL);
    tsr_keyset *s = set_of(k, NULL, NULL);
    tsr_verifier *v = NULL;
    assert_int_equal(tsr_verifier_new(p, s, &v, &e), TSR_ERR_INVALID_ARGUMENT);
    assert_null(v);
    tsr_keyset_free(s);
    tsr_key_free(k);
    tsr_policy_free(p);
    tsr_policy_free(NULL);
}

static void verifier_new_refusals(void **state)
{
    (void)state;
    tsr_key *k = hs_key(secret1, NULL);
    tsr_keyset *s = set_of(k, NULL, NULL);
    tsr_keyset *empty = set_of(NULL, NULL, NULL);
    tsr_policy *p = policy_for("ES256,RS256");
    tsr_verifier *v = NULL;
    /* The only key cannot verify any allowed algorithm. */
    assert_int_equal(tsr_verifier_new(p, s, &v, NULL), TSR_ERR_KEY_NOT_FOUND);
    assert_null(v);
    assert_int_equal(tsr_verifier_new(p, empty, &v, NULL), TSR_ERR_KEY_NOT_FOUND);
    assert_int_equal(tsr_verifier_new(NULL, s, &v, NULL), TSR_ERR_INVALID_ARGUMENT);
    assert_int_equal(tsr_verifier_new(p, NULL, &v, NULL), TSR_ERR_INVALID_ARGUMENT);
    assert_int_equal(tsr_verifier_new(p, s, NULL, NULL), TSR_ERR_INVALID_ARGUMENT);
    tsr_verifier_free(NULL);
    tsr_jwt_free(NULL);
    assert_int_equal(tsr_jwt_new(NULL, NULL), TSR_ERR_INVALID_ARGUMENT);
    tsr_policy_free(p);
    tsr_keyset_free(s);
    tsr_keyset_free(empty);
    tsr_key_free(k);
}

static void verifier_copies_policy_and_keys(void **state)
{
    (void)state;
    tsr_key *k = hs_key(secret1, "k1");
    tsr_keyset *s = set_of(k, NULL, NULL);
    tsr_policy *p = policy_for("HS256");
    assert_int_equal(tsr_policy_set_issuer(p, "https://issuer.example", NULL), TSR_OK);
    tsr_verifier *v = make_verifier(p, s);
    /* Changing or freeing the inputs afterwards changes nothing. */
    assert_int_equal(tsr_policy_set_issuer(p, "https://other", NULL), TSR_OK);
    tsr_policy_free(p);
    tsr_keyset_free(s);
    char *t = tst_mint(k, TSR_ALG_HS256, "{\"alg\":\"HS256\",\"kid\":\"k1\"}",
                       "{\"iss\":\"https://issuer.example\",\"exp\":1700000600}");
    tsr_key_free(k);
    assert_int_equal(verify(v, t, NULL), TSR_OK);
    free(t);
    tsr_verifier_free(v);
}

/* ---- the pipeline ---- */

static void rejects_structure(void **state)
{
    (void)state;
    tsr_verifier *v = hs_verifier(policy_for("HS256"));
    assert_int_equal(verify(v, "", NULL), TSR_ERR_MALFORMED);
    assert_int_equal(verify(v, "abc", NULL), TSR_ERR_MALFORMED);
    assert_int_equal(verify(v, "a.b", NULL), TSR_ERR_MALFORMED);
    assert_int_equal(verify(v, "a.b.c.d.e", NULL), TSR_ERR_MALFORMED);
    assert_int_equal(verify(v, "eyJhbGciOiJIUzI1NiJ9.e30.", NULL), TSR_ERR_MALFORMED);
    /* Padding, '+' and '/' in the header. */
    assert_int_equal(verify(v, "eyJhbGciOiJIUzI1NiJ9=.e30.AAAA", NULL), TSR_ERR_MALFORMED);
    assert_int_equal(verify(v, "eyJhbGciOiJIUzI1NiJ+.e30.AAAA", NULL), TSR_ERR_MALFORMED);
    assert_int_equal(verify(v, "eyJhbGciOiJIUzI1NiJ9 .e30.AAAA", NULL), TSR_ERR_MALFORMED);
    /* Header that is not JSON, or JSON with a duplicate member. */
    char *h = tst_b64("{\"alg\":\"HS256\",\"alg\":\"HS256\"}", 29);
    char *t = tst_join3(h, "e30", "AAAA");
    assert_int_equal(verify(v, t, NULL), TSR_ERR_MALFORMED);
    free(t);
    free(h);
    h = tst_b64("\xef\xbb\xbf{\"alg\":\"HS256\"}", 18);
    t = tst_join3(h, "e30", "AAAA");
    assert_int_equal(verify(v, t, NULL), TSR_ERR_MALFORMED);
    free(t);
    free(h);
    /* A signature with bad base64url (after the header passed). */
    assert_int_equal(mint_verify(v, "{\"alg\":\"HS256\"}", "{\"exp\":1800000000}"), TSR_OK);
    assert_int_equal(verify(v, "eyJhbGciOiJIUzI1NiJ9.e30.AA+A", NULL), TSR_ERR_MALFORMED);
    assert_int_equal(verify(v, "eyJhbGciOiJIUzI1NiJ9.e30.AAA=", NULL), TSR_ERR_MALFORMED);
    tsr_verifier_free(v);
}

static void size_cap(void **state)
{
    (void)state;
    tsr_key *k = hs_key(secret1, "k1");
    char *t = tst_mint(k, TSR_ALG_HS256, "{\"alg\":\"HS256\"}", CLAIMS);
    size_t n = strlen(t);
    tsr_policy *p = policy_for("HS256");
    assert_int_equal(tsr_policy_set_max_token_size(p, n, NULL), TSR_OK);
    assert_int_equal(tsr_policy_add_audience(p, "api", NULL), TSR_OK);
    tsr_verifier *v = hs_verifier(p);
    assert_int_equal(verify(v, t, NULL), TSR_OK);
    char *nl = malloc(n + 3);
    snprintf(nl, n + 3, "%s\r\n", t);
    assert_int_equal(verify(v, nl, NULL), TSR_OK);
    nl[n] = '\n';
    nl[n + 1] = '\0';
    assert_int_equal(verify(v, nl, NULL), TSR_OK);
    nl[n + 1] = '\n';
    nl[n + 2] = '\0';
    assert_int_equal(verify(v, nl, NULL), TSR_ERR_TOO_LARGE);
    nl[n] = 'A';
    nl[n + 1] = '\0';
    assert_int_equal(verify(v, nl, NULL), TSR_ERR_TOO_LARGE);
    /* A huge token: too_large before anything is decoded. */
    size_t big = 20000;
    char *huge = malloc(big + 1);
    memset(huge, '!', big);
    huge[big] = '\0';
    assert_int_equal(verify(v, huge, NULL), TSR_ERR_TOO_LARGE);
    free(huge);
    free(nl);
    free(t);
    tsr_key_free(k);
    tsr_verifier_free(v);
}

static void default_size_cap_is_16k(void **state)
{
    (void)state;
    tsr_verifier *v = hs_verifier(policy_for("HS256"));
    size_t n = TSR_DEFAULT_MAX_TOKEN_SIZE + 1;
    char *t = malloc(n + 1);
    memset(t, 'A', n);
    t[10] = '.';
    t[20] = '.';
    t[n] = '\0';
    assert_int_equal(verify(v, t, NULL), TSR_ERR_TOO_LARGE);
    t[n - 1] = '\0';
    assert_int_equal(verify(v, t, NULL), TSR_ERR_MALFORMED);
    free(t);
    tsr_verifier_free(v);
}

static void bad_signature_hides_claims(void **state)
{
    (void)state;
    tsr_policy *p = policy_for("HS256");
    assert_int_equal(tsr_policy_set_issuer(p, "https://issuer.example", NULL), TSR_OK);
    assert_int_equal(tsr_policy_set_typ(p, "JWT", NULL), TSR_OK);
    tsr_verifier *v = hs_verifier(p);
    tsr_key *other = hs_key(secret2, "k1");
    /* Expired, wrong issuer, wrong typ, payload not even JSON: with a bad
     * signature the only answer is bad_signature. */
    static const char *const payloads[] = {
        "{\"exp\":1}", "{\"iss\":\"evil\",\"exp\":1800000000}", "not json", "[]", "",
    };
    for (size_t i = 0; i < sizeof payloads / sizeof payloads[0]; i++) {
        char *t = tst_mint(other, TSR_ALG_HS256, "{\"alg\":\"HS256\",\"typ\":\"x\"}", payloads[i]);
        assert_int_equal(verify(v, t, NULL), TSR_ERR_BAD_SIGNATURE);
        free(t);
    }
    /* Payload segment that is not base64url at all. */
    char *h = tst_b64("{\"alg\":\"HS256\"}", 15);
    char *t = tst_mint_raw(other, TSR_ALG_HS256, h, "e30=");
    assert_int_equal(verify(v, t, NULL), TSR_ERR_BAD_SIGNATURE);
    free(t);
    /* With the right key the same defects surface. */
    tsr_key *k = hs_key(secret1, "k1");
    t = tst_mint_raw(k, TSR_ALG_HS256, h, "e30=");
    assert_int_equal(verify(v, t, NULL), TSR_ERR_MALFORMED);
    free(t);
    t = tst_mint(k, TSR_ALG_HS256, "{\"alg\":\"HS256\",\"typ\":\"x\"}", "{\"exp\":1}");
    assert_int_equal(verify(v, t, NULL), TSR_ERR_TYP_MISMATCH);
    free(t);
    free(h);
    tsr_key_free(k);
    tsr_key_free(other);
    tsr_verifier_free(v);
}

static void tampering(void **state)
{
    (void)state;
    tsr_policy *p = policy_for("HS256");
    assert_int_equal(tsr_policy_add_audience(p, "api", NULL), TSR_OK);
    tsr_verifier *v = hs_verifier(p);
    tsr_key *k = hs_key(secret1, "k1");
    char *t = tst_mint(k, TSR_ALG_HS256, "{\"alg\":\"HS256\"}", CLAIMS);
    assert_int_equal(verify(v, t, NULL), TSR_OK);
    char *dot = strrchr(t, '.');
    /* Flip a character in the signature. */
    char saved = dot[3];
    dot[3] = saved == 'A' ? 'B' : 'A';
    assert_int_equal(verify(v, t, NULL), TSR_ERR_BAD_SIGNATURE);
    dot[3] = saved;
    /* Truncate the signature to 40 characters (30 bytes, canonical). */
    assert_true(strlen(dot + 1) > 40);
    dot[41] = '\0';
    assert_int_equal(verify(v, t, NULL), TSR_ERR_BAD_SIGNATURE);
    free(t);
    tsr_key_free(k);
    tsr_verifier_free(v);
}

static void header_rules_end_to_end(void **state)
{
    (void)state;
    tsr_policy *p = policy_for("HS256,ES256");
    assert_int_equal(tsr_policy_add_audience(p, "api", NULL), TSR_OK);
    tsr_verifier *v = hs_verifier(p);
    assert_int_equal(mint_verify(v, "{\"alg\":\"HS384\"}", CLAIMS), TSR_ERR_ALG_NOT_ALLOWED);
    assert_int_equal(mint_verify(v, "{\"alg\":\"none\"}", CLAIMS), TSR_ERR_ALG_NOT_ALLOWED);
    assert_int_equal(mint_verify(v, "{\"alg\":\"nOnE\"}", CLAIMS), TSR_ERR_ALG_NOT_ALLOWED);
    assert_int_equal(mint_verify(v, "{\"alg\":\"HS256\",\"crit\":[\"exp\"]}", CLAIMS),
                     TSR_ERR_CRIT_UNSUPPORTED);
    assert_int_equal(mint_verify(v, "{\"alg\":\"HS256\",\"crit\":[]}", CLAIMS),
                     TSR_ERR_CRIT_UNSUPPORTED);
    assert_int_equal(mint_verify(v, "{\"alg\":\"HS256\",\"b64\":false}", CLAIMS),
                     TSR_ERR_UNSUPPORTED);
    assert_int_equal(mint_verify(v, "{\"alg\":\"HS256\",\"cty\":\"JWT\"}", CLAIMS),
                     TSR_ERR_UNSUPPORTED);
    assert_int_equal(mint_verify(v, "{\"alg\":\"HS256\",\"enc\":\"A128GCM\"}", CLAIMS),
                     TSR_ERR_UNSUPPORTED);
    assert_int_equal(mint_verify(v, "{\"alg\":\"HS256\",\"kid\":7}", CLAIMS), TSR_ERR_MALFORMED);
    /* ES256 is allowed but no key can verify it. */
    assert_int_equal(mint_verify(v, "{\"alg\":\"ES256\"}", CLAIMS), TSR_ERR_KEY_NOT_FOUND);
    assert_int_equal(
        mint_verify(v, "{\"alg\":\"HS256\",\"b64\":true,\"x5u\":\"https://x\"}", CLAIMS), TSR_OK);
    tsr_verifier_free(v);
}

static void embedded_jwk_is_ignored(void **state)
{
    (void)state;
    tsr_verifier *v = hs_verifier(policy_for("HS256"));
    /* The attacker signs with his own secret and announces it in the header. */
    tsr_key *evil = hs_key(secret2, "k1");
    char *t = tst_mint(evil, TSR_ALG_HS256,
                       "{\"alg\":\"HS256\",\"kid\":\"k1\",\"jwk\":{\"kty\":\"oct\",\"k\":"
                       "\"ZmVkY2JhOTg3NjU0MzIxMGZlZGNiYTk4NzY1NDMyMTA\"},"
                       "\"jku\":\"https://evil.example/jwks.json\"}",
                       "{\"exp\":1800000000}");
    assert_int_equal(verify(v, t, NULL), TSR_ERR_BAD_SIGNATURE);
    free(t);
    tsr_key_free(evil);
    tsr_verifier_free(v);
}

static void alg_confusion_public_key_as_hmac_secret(void **state)
{
    (void)state;
    tsr_key *ec = NULL;
    assert_int_equal(tsr_key_generate(TSR_ALG_ES256, &ec, NULL), TSR_OK);
    char *pub = NULL;
    assert_int_equal(tsr_key_export_jwk(ec, false, &pub, NULL), TSR_OK);
    tsr_key *pubkey = NULL;
    assert_int_equal(tsr_key_load_jwk(pub, strlen(pub), &pubkey, NULL), TSR_OK);
    tsr_keyset *s = set_of(pubkey, NULL, NULL);
    /* Even with HS256 allowed, an EC key can never verify an HMAC. */
    tsr_policy *p = policy_for("ES256,HS256");
    tsr_verifier *v = make_verifier(p, s);
    tsr_key *hmac = NULL;
    assert_int_equal(
        tsr_key_from_secret((const unsigned char *)pub, strlen(pub), TSR_ALG_HS256, &hmac, NULL),
        TSR_OK);
    char *t = tst_mint(hmac, TSR_ALG_HS256, "{\"alg\":\"HS256\"}", "{\"exp\":1800000000}");
    assert_int_equal(verify(v, t, NULL), TSR_ERR_KEY_NOT_FOUND);
    free(t);
    /* The genuine ES256 token verifies. */
    t = tst_mint(ec, TSR_ALG_ES256, "{\"alg\":\"ES256\"}", "{\"exp\":1800000000}");
    assert_int_equal(verify(v, t, NULL), TSR_OK);
    free(t);
    tsr_key_free(hmac);
    tsr_verifier_free(v);
    tsr_policy_free(p);
    tsr_keyset_free(s);
    tsr_key_free(pubkey);
    tsr_free(pub);
    tsr_key_free(ec);
}

/* ---- key selection ---- */

static void key_selection_by_kid(void **state)
{
    (void)state;
    tsr_key *k1 = hs_key(secret1, "k1");
    tsr_key *k2 = hs_key(secret2, "k2");
    tsr_keyset *s = set_of(k1, k2, NULL);
    tsr_policy *p = policy_for("HS256");
    tsr_verifier *v = make_verifier(p, s);
    tsr_jwt *jwt = NULL;
    assert_int_equal(tsr_jwt_new(&jwt, NULL), TSR_OK);
    const char *c = "{\"exp\":1800000000}";
    char *t = tst_mint(k2, TSR_ALG_HS256, "{\"alg\":\"HS256\",\"kid\":\"k3\"}", c);
    assert_int_equal(verify(v, t, jwt), TSR_ERR_KEY_NOT_FOUND);
    free(t);
    /* No kid and two candidates: never try them one after another. */
    t = tst_mint(k2, TSR_ALG_HS256, "{\"alg\":\"HS256\"}", c);
    assert_int_equal(verify(v, t, jwt), TSR_ERR_KEY_NOT_FOUND);
    free(t);
    /* kid names k1 but k2 signed: only k1 is tried. */
    t = tst_mint(k2, TSR_ALG_HS256, "{\"alg\":\"HS256\",\"kid\":\"k1\"}", c);
    assert_int_equal(verify(v, t, jwt), TSR_ERR_BAD_SIGNATURE);
    free(t);
    /* kid is compared exactly. */
    t = tst_mint(k2, TSR_ALG_HS256, "{\"alg\":\"HS256\",\"kid\":\"K2\"}", c);
    assert_int_equal(verify(v, t, jwt), TSR_ERR_KEY_NOT_FOUND);
    free(t);
    t = tst_mint(k2, TSR_ALG_HS256, "{\"alg\":\"HS256\",\"kid\":\"k2\\u0000\"}", c);
    assert_int_equal(verify(v, t, jwt), TSR_ERR_KEY_NOT_FOUND);
    free(t);
    t = tst_mint(k2, TSR_ALG_HS256, "{\"alg\":\"HS256\",\"kid\":\"k2\"}", c);
    assert_int_equal(verify(v, t, jwt), TSR_OK);
    assert_string_equal(tsr_jwt_get0_kid(jwt), "k2");
    free(t);
    t = tst_mint(k1, TSR_ALG_HS256, "{\"alg\":\"HS256\",\"kid\":\"\\u006b1\"}", c);
    assert_int_equal(verify(v, t, jwt), TSR_OK);
    assert_string_equal(tsr_jwt_get0_kid(jwt), "k1");
    free(t);
    tsr_jwt_free(jwt);
    tsr_verifier_free(v);
    tsr_policy_free(p);
    tsr_keyset_free(s);
    tsr_key_free(k1);
    tsr_key_free(k2);
}

static void key_selection_kid_too_long(void **state)
{
    (void)state;
    tsr_verifier *v = hs_verifier(policy_for("HS256"));
    char hdr[600];
    char kid[TSR_KID_MAX + 2];
    memset(kid, 'a', sizeof kid - 1);
    kid[sizeof kid - 1] = '\0';
    snprintf(hdr, sizeof hdr, "{\"alg\":\"HS256\",\"kid\":\"%s\"}", kid);
    assert_int_equal(mint_verify(v, hdr, "{\"exp\":1800000000}"), TSR_ERR_TOO_LARGE);
    /* The same length spelled with escapes. */
    snprintf(hdr, sizeof hdr, "{\"alg\":\"HS256\",\"kid\":\"\\u0061%s\"}", kid + 1);
    assert_int_equal(mint_verify(v, hdr, "{\"exp\":1800000000}"), TSR_ERR_TOO_LARGE);
    kid[TSR_KID_MAX] = '\0';
    snprintf(hdr, sizeof hdr, "{\"alg\":\"HS256\",\"kid\":\"%s\"}", kid);
    assert_int_equal(mint_verify(v, hdr, "{\"exp\":1800000000}"), TSR_ERR_KEY_NOT_FOUND);
    tsr_verifier_free(v);
}

static void key_selection_lone_kidless_key(void **state)
{
    (void)state;
    tsr_key *k = hs_key(secret1, NULL);
    tsr_keyset *s = set_of(k, NULL, NULL);
    tsr_policy *p = policy_for("HS256");
    tsr_verifier *v = make_verifier(p, s);
    /* A lone kid-less key is used whatever kid the token names. */
    char *t = tst_mint(k, TSR_ALG_HS256, "{\"alg\":\"HS256\",\"kid\":\"anything\"}",
                       "{\"exp\":1800000000}");
    tsr_jwt *jwt = NULL;
    assert_int_equal(tsr_jwt_new(&jwt, NULL), TSR_OK);
    assert_int_equal(verify(v, t, jwt), TSR_OK);
    assert_null(tsr_jwt_get0_kid(jwt));
    free(t);
    t = tst_mint(k, TSR_ALG_HS256, "{\"alg\":\"HS256\"}", "{\"exp\":1800000000}");
    assert_int_equal(verify(v, t, jwt), TSR_OK);
    free(t);
    tsr_jwt_free(jwt);
    tsr_verifier_free(v);
    tsr_keyset_free(s);

    /* In a set of two, a kid-less key does not match a token's kid. */
    tsr_key *k2 = hs_key(secret2, "k2");
    s = set_of(k, k2, NULL);
    v = make_verifier(p, s);
    t = tst_mint(k, TSR_ALG_HS256, "{\"alg\":\"HS256\",\"kid\":\"anything\"}",
                 "{\"exp\":1800000000}");
    assert_int_equal(verify(v, t, NULL), TSR_ERR_KEY_NOT_FOUND);
    free(t);
    tsr_verifier_free(v);
    tsr_keyset_free(s);
    tsr_key_free(k2);
    tsr_policy_free(p);
    tsr_key_free(k);
}

static void key_selection_lone_key_with_kid(void **state)
{
    (void)state;
    tsr_verifier *v = hs_verifier(policy_for("HS256"));
    assert_int_equal(mint_verify(v, "{\"alg\":\"HS256\",\"kid\":\"k2\"}", "{\"exp\":1800000000}"),
                     TSR_ERR_KEY_NOT_FOUND);
    /* Without a kid every key is a candidate: the single one. */
    assert_int_equal(mint_verify(v, "{\"alg\":\"HS256\"}", "{\"exp\":1800000000}"), TSR_OK);
    tsr_verifier_free(v);
}

static void key_selection_filters_by_alg(void **state)
{
    (void)state;
    tsr_key *hk = hs_key(secret1, "same");
    tsr_key *ek = NULL;
    assert_int_equal(tsr_key_generate(TSR_ALG_ES256, &ek, NULL), TSR_OK);
    assert_int_equal(tsr_key_set1_kid(ek, "same", NULL), TSR_OK);
    tsr_keyset *s = set_of(hk, ek, NULL);
    tsr_policy *p = policy_for("HS256,ES256");
    tsr_verifier *v = make_verifier(p, s);
    /* Same kid, but only one key is usable for each alg. */
    char *t =
        tst_mint(ek, TSR_ALG_ES256, "{\"alg\":\"ES256\",\"kid\":\"same\"}", "{\"exp\":1800000000}");
    assert_int_equal(verify(v, t, NULL), TSR_OK);
    free(t);
    t = tst_mint(hk, TSR_ALG_HS256, "{\"alg\":\"HS256\"}", "{\"exp\":1800000000}");
    assert_int_equal(verify(v, t, NULL), TSR_OK);
    free(t);
    /* Two keys with the same kid usable for one alg: ambiguous. */
    tsr_key *hk2 = hs_key(secret2, "same");
    tsr_keyset *s2 = set_of(hk, ek, hk2);
    tsr_verifier *v2 = make_verifier(p, s2);
    t = tst_mint(hk, TSR_ALG_HS256, "{\"alg\":\"HS256\",\"kid\":\"same\"}", "{\"exp\":1800000000}");
    assert_int_equal(verify(v2, t, NULL), TSR_ERR_KEY_NOT_FOUND);
    free(t);
    tsr_verifier_free(v2);
    tsr_keyset_free(s2);
    tsr_key_free(hk2);
    tsr_verifier_free(v);
    tsr_policy_free(p);
    tsr_keyset_free(s);
    tsr_key_free(hk);
    tsr_key_free(ek);
}

static void many_keys(void **state)
{
    (void)state;
    tsr_keyset *s = set_of(NULL, NULL, NULL);
    tsr_key *keys[40];
    unsigned char secret[32];
    char kid[16];
    for (int i = 0; i < 40; i++) {
        memset(secret, 'a' + (i % 26), sizeof secret);
        secret[0] = (unsigned char)i;
        snprintf(kid, sizeof kid, "key-%d", i);
        keys[i] = hs_key(secret, kid);
        assert_int_equal(tsr_keyset_add1_key(s, keys[i], NULL), TSR_OK);
    }
    tsr_policy *p = policy_for("HS256");
    tsr_verifier *v = make_verifier(p, s);
    for (int i = 0; i < 40; i++) {
        char hdr[64];
        snprintf(hdr, sizeof hdr, "{\"alg\":\"HS256\",\"kid\":\"key-%d\"}", i);
        char *t = tst_mint(keys[i], TSR_ALG_HS256, hdr, "{\"exp\":1800000000}");
        assert_int_equal(verify(v, t, NULL), TSR_OK);
        free(t);
        /* Signed by the neighbour: bad signature, not a second try. */
        t = tst_mint(keys[(i + 1) % 40], TSR_ALG_HS256, hdr, "{\"exp\":1800000000}");
        assert_int_equal(verify(v, t, NULL), TSR_ERR_BAD_SIGNATURE);
        free(t);
    }
    for (int i = 0; i < 40; i++) {
        tsr_key_free(keys[i]);
    }
    tsr_verifier_free(v);
    tsr_policy_free(p);
    tsr_keyset_free(s);
}

/* ---- policy checks through the real entry point ---- */

static void policy_checks(void **state)
{
    (void)state;
    tsr_policy *p = policy_for("HS256");
    assert_int_equal(tsr_policy_set_issuer(p, "https://issuer.example", NULL), TSR_OK);
    assert_int_equal(tsr_policy_set_subject(p, "alice", NULL), TSR_OK);
    assert_int_equal(tsr_policy_add_audience(p, "other", NULL), TSR_OK);
    assert_int_equal(tsr_policy_add_audience(p, "api", NULL), TSR_OK);
    assert_int_equal(tsr_policy_set_typ(p, "application/JWT", NULL), TSR_OK);
    assert_int_equal(tsr_policy_require_claim(p, "scope", NULL), TSR_OK);
    assert_int_equal(tsr_policy_set_max_age(p, 60, NULL), TSR_OK);
    assert_int_equal(tsr_policy_set_leeway(p, 5, NULL), TSR_OK);
    tsr_verifier *v = hs_verifier(p);
    const char *h = "{\"alg\":\"HS256\",\"typ\":\"jwt\"}";
    assert_int_equal(mint_verify(v, "{\"alg\":\"HS256\"}", CLAIMS), TSR_ERR_TYP_MISMATCH);
    assert_int_equal(mint_verify(v, "{\"alg\":\"HS256\",\"typ\":\"at+jwt\"}", CLAIMS),
                     TSR_ERR_TYP_MISMATCH);
    assert_int_equal(mint_verify(v, h,
                                 "{\"iss\":\"https://issuer.example\",\"sub\":\"alice\","
                                 "\"aud\":\"api\",\"iat\":1699999990,\"exp\":1700000600}"),
                     TSR_ERR_MISSING_CLAIM);
    assert_int_equal(mint_verify(v, h,
                                 "{\"iss\":\"https://issuer.example\",\"sub\":\"alice\","
                                 "\"aud\":\"api\",\"scope\":\"x\",\"exp\":1700000600}"),
                     TSR_ERR_MISSING_CLAIM);
    assert_int_equal(mint_verify(v, h,
                                 "{\"iss\":\"https://issuer.example\",\"sub\":\"alice\","
                                 "\"aud\":\"api\",\"scope\":\"x\",\"iat\":1699999934,"
                                 "\"exp\":1700000600}"),
                     TSR_ERR_TOO_OLD);
    assert_int_equal(mint_verify(v, h,
                                 "{\"iss\":\"https://issuer.example\",\"sub\":\"alice\","
                                 "\"aud\":\"api\",\"scope\":\"x\",\"iat\":1699999935,"
                                 "\"exp\":1700000600}"),
                     TSR_OK);
    assert_int_equal(mint_verify(v, h,
                                 "{\"iss\":\"https://issuer.example\",\"sub\":\"alice\","
                                 "\"aud\":\"api\",\"scope\":\"x\",\"iat\":1699999990,"
                                 "\"exp\":1699999995}"),
                     TSR_ERR_EXPIRED);
    assert_int_equal(mint_verify(v, h,
                                 "{\"iss\":\"https://issuer.example\",\"sub\":\"alice\","
                                 "\"aud\":\"api\",\"scope\":\"x\",\"iat\":1699999990,"
                                 "\"exp\":1699999996}"),
                     TSR_OK);
    assert_int_equal(mint_verify(v, h,
                                 "{\"iss\":\"https://issuer.example\",\"sub\":\"alice\","
                                 "\"aud\":\"api\",\"scope\":\"x\",\"iat\":1699999990,"
                                 "\"nbf\":1700000006,\"exp\":1700000600}"),
                     TSR_ERR_NOT_YET_VALID);
    assert_int_equal(mint_verify(v, h,
                                 "{\"iss\":\"https://issuer.example\",\"sub\":\"alice\","
                                 "\"aud\":\"api\",\"scope\":\"x\",\"iat\":1700000006,"
                                 "\"exp\":1700000600}"),
                     TSR_ERR_ISSUED_IN_FUTURE);
    assert_int_equal(mint_verify(v, h,
                                 "{\"iss\":\"https://evil\",\"sub\":\"alice\","
                                 "\"aud\":\"api\",\"scope\":\"x\",\"iat\":1699999990,"
                                 "\"exp\":1700000600}"),
                     TSR_ERR_ISS_MISMATCH);
    assert_int_equal(mint_verify(v, h,
                                 "{\"iss\":\"https://issuer.example\",\"sub\":\"bob\","
                                 "\"aud\":\"api\",\"scope\":\"x\",\"iat\":1699999990,"
                                 "\"exp\":1700000600}"),
                     TSR_ERR_SUB_MISMATCH);
    assert_int_equal(mint_verify(v, h,
                                 "{\"iss\":\"https://issuer.example\",\"sub\":\"alice\","
                                 "\"aud\":[\"x\",\"y\"],\"scope\":\"x\","
                                 "\"iat\":1699999990,\"exp\":1700000600}"),
                     TSR_ERR_AUD_MISMATCH);
    assert_int_equal(mint_verify(v, h,
                                 "{\"iss\":\"https://issuer.example\",\"sub\":\"alice\","
                                 "\"aud\":[\"x\",\"api\"],\"scope\":\"x\","
                                 "\"iat\":1699999990,\"exp\":1700000600}"),
                     TSR_OK);
    assert_int_equal(mint_verify(v, "{\"alg\":\"HS256\",\"typ\":\"application/jwt\"}", CLAIMS),
                     TSR_OK);
    tsr_verifier_free(v);
}

static void payload_json_rules(void **state)
{
    (void)state;
    tsr_verifier *v = hs_verifier(policy_for("HS256"));
    const char *h = "{\"alg\":\"HS256\"}";
    assert_int_equal(mint_verify(v, h, "{\"exp\":1800000000,\"exp\":1800000000}"),
                     TSR_ERR_MALFORMED);
    assert_int_equal(mint_verify(v, h, "{\"exp\":1800000000} x"), TSR_ERR_MALFORMED);
    assert_int_equal(mint_verify(v, h, "{\"exp\":1800000000,\"s\":\"\\ud800\"}"),
                     TSR_ERR_MALFORMED);
    assert_int_equal(mint_verify(v, h, "{\"exp\":\"1800000000\"}"), TSR_ERR_MALFORMED);
    assert_int_equal(mint_verify(v, h, "{\"exp\":1800000000,\"aud\":\"api\"}"),
                     TSR_ERR_AUD_MISMATCH);
    assert_int_equal(mint_verify(v, h, "{}"), TSR_ERR_MISSING_CLAIM);
    assert_int_equal(mint_verify(v, h, ""), TSR_ERR_MALFORMED);
    char deep[200];
    size_t n = 0;
    n += (size_t)snprintf(deep, sizeof deep, "{\"exp\":1800000000,\"d\":");
    for (int i = 0; i < 40; i++) {
        deep[n++] = '[';
    }
    for (int i = 0; i < 40; i++) {
        deep[n++] = ']';
    }
    deep[n++] = '}';
    deep[n] = '\0';
    assert_int_equal(mint_verify(v, h, deep), TSR_ERR_TOO_LARGE);
    /* 32 levels in all is the limit. */
    n = (size_t)snprintf(deep, sizeof deep, "{\"exp\":1800000000,\"d\":");
    for (int i = 0; i < 31; i++) {
        deep[n++] = '[';
    }
    for (int i = 0; i < 31; i++) {
        deep[n++] = ']';
    }
    deep[n++] = '}';
    deep[n] = '\0';
    assert_int_equal(mint_verify(v, h, deep), TSR_OK);
    tsr_verifier_free(v);
}

static void header_member_cap(void **state)
{
    (void)state;
    tsr_verifier *v = hs_verifier(policy_for("HS256"));
    /* A header of a thousand members is refused before any crypto. */
    size_t cap = 16000;
    char *hdr = malloc(cap);
    size_t n = (size_t)snprintf(hdr, cap, "{\"alg\":\"HS256\"");
    for (int i = 0; i < 1000; i++) {
        n += (size_t)snprintf(hdr + n, cap - n, ",\"m%d\":0", i);
    }
    snprintf(hdr + n, cap - n, "}");
    assert_int_equal(mint_verify(v, hdr, "{\"exp\":1800000000}"), TSR_ERR_TOO_LARGE);
    free(hdr);
    tsr_verifier_free(v);
}

/* ---- results ---- */

static void getters(void **state)
{
    (void)state;
    tsr_policy *p = policy_for("HS256");
    assert_int_equal(tsr_policy_add_audience(p, "api", NULL), TSR_OK);
    tsr_verifier *v = hs_verifier(p);
    tsr_key *k = hs_key(secret1, "k1");
    const char *hdr = "{\"alg\":\"HS256\",\"kid\":\"k1\",\"typ\":\"JWT\"}";
    const char *claims = "{\"aud\":\"api\",\"exp\":1800000000,\"name\":\"a\\u0000b\\n\","
                         "\"n\":-42,\"f\":1.5,\"big\":1e300,\"obj\":{\"x\":[1,2]}}";
    char *t = tst_mint(k, TSR_ALG_HS256, hdr, claims);
    tsr_jwt *jwt = NULL;
    assert_int_equal(tsr_jwt_new(&jwt, NULL), TSR_OK);
    assert_int_equal(verify(v, t, jwt), TSR_OK);
    assert_int_equal(tsr_jwt_get_alg(jwt), TSR_ALG_HS256);
    tsr_str s = tsr_jwt_get0_header(jwt);
    assert_int_equal(s.len, strlen(hdr));
    assert_memory_equal(s.ptr, hdr, s.len);
    s = tsr_jwt_get0_payload(jwt);
    assert_int_equal(s.len, strlen(claims));
    assert_memory_equal(s.ptr, claims, s.len);
    assert_string_equal(tsr_jwt_get0_kid(jwt), "k1");

    char buf[16];
    size_t len = 99;
    assert_int_equal(tsr_jwt_get_string(jwt, "name", buf, sizeof buf, &len), TSR_OK);
    assert_int_equal(len, 4);
    assert_memory_equal(buf, "a\0b\n", 5);
    assert_int_equal(tsr_jwt_get_string(jwt, "name", buf, 4, &len), TSR_ERR_TOO_LARGE);
    assert_int_equal(len, 0);
    assert_int_equal(tsr_jwt_get_string(jwt, "n", buf, sizeof buf, &len), TSR_ERR_MALFORMED);
    assert_int_equal(tsr_jwt_get_string(jwt, "nope", buf, sizeof buf, &len), TSR_ERR_NOT_FOUND);
    int64_t i = 7;
    assert_int_equal(tsr_jwt_get_int(jwt, "n", &i), TSR_OK);
    assert_int_equal(i, -42);
    assert_int_equal(tsr_jwt_get_int(jwt, "exp", &i), TSR_OK);
    assert_int_equal(i, 1800000000);
    assert_int_equal(tsr_jwt_get_int(jwt, "f", &i), TSR_ERR_MALFORMED);
    assert_int_equal(i, 0);
    assert_int_equal(tsr_jwt_get_int(jwt, "big", &i), TSR_ERR_MALFORMED);
    assert_int_equal(tsr_jwt_get_int(jwt, "name", &i), TSR_ERR_MALFORMED);
    assert_int_equal(tsr_jwt_get_int(jwt, "nope", &i), TSR_ERR_NOT_FOUND);
    assert_int_equal(tsr_jwt_get0_claim(jwt, "obj", &s), TSR_OK);
    assert_int_equal(s.len, 11);
    assert_memory_equal(s.ptr, "{\"x\":[1,2]}", 11);
    assert_int_equal(tsr_jwt_get0_claim(jwt, "aud", &s), TSR_OK);
    assert_int_equal(s.len, 5);
    assert_memory_equal(s.ptr, "\"api\"", 5);
    assert_int_equal(tsr_jwt_get0_claim(jwt, "f", &s), TSR_OK);
    assert_memory_equal(s.ptr, "1.5", 3);
    assert_int_equal(s.len, 3);
    assert_int_equal(tsr_jwt_get0_claim(jwt, "nope", &s), TSR_ERR_NOT_FOUND);
    assert_null(s.ptr);

    /* After a failed verify everything is empty. */
    t[strlen(t) - 2] = t[strlen(t) - 2] == 'A' ? 'B' : 'A';
    assert_int_equal(verify(v, t, jwt), TSR_ERR_BAD_SIGNATURE);
    assert_int_equal(tsr_jwt_get_alg(jwt), TSR_ALG_UNSPECIFIED);
    assert_null(tsr_jwt_get0_header(jwt).ptr);
    assert_int_equal(tsr_jwt_get0_payload(jwt).len, 0);
    assert_null(tsr_jwt_get0_kid(jwt));
    assert_int_equal(tsr_jwt_get_string(jwt, "name", buf, sizeof buf, &len), TSR_ERR_NOT_FOUND);
    assert_int_equal(tsr_jwt_get_int(jwt, "n", &i), TSR_ERR_NOT_FOUND);
    assert_int_equal(tsr_jwt_get0_claim(jwt, "obj", &s), TSR_ERR_NOT_FOUND);
    assert_int_equal(tsr_jwt_get_alg(NULL), TSR_ALG_UNSPECIFIED);
    assert_null(tsr_jwt_get0_kid(NULL));
    free(t);
    tsr_jwt_free(jwt);
    tsr_key_free(k);
    tsr_verifier_free(v);
}

static void invalid_arguments(void **state)
{
    (void)state;
    tsr_verifier *v = hs_verifier(policy_for("HS256"));
    assert_int_equal(tsr_verifier_verify(NULL, "a.b.c", 5, NOW, NULL, NULL),
                     TSR_ERR_INVALID_ARGUMENT);
    assert_int_equal(tsr_verifier_verify(v, NULL, 5, NOW, NULL, NULL), TSR_ERR_INVALID_ARGUMENT);
    assert_int_equal(tsr_verifier_verify(v, NULL, 0, NOW, NULL, NULL), TSR_ERR_MALFORMED);
    tsr_verifier_free(v);
}

static void jws_level_verify(void **state)
{
    (void)state;
    tsr_policy *p = policy_for("HS256");
    assert_int_equal(tsr_policy_set_typ(p, "JWT", NULL), TSR_OK);
    tsr_verifier *v = hs_verifier(p);
    tsr_key *k = hs_key(secret1, "k1");
    tsr_key *other = hs_key(secret2, "k1");
    tsr_jwt *jwt = NULL;
    assert_int_equal(tsr_jwt_new(&jwt, NULL), TSR_OK);
    /* Header rules, key selection and signature still apply. */
    char *t = tst_mint(k, TSR_ALG_HS256, "{\"alg\":\"HS256\",\"typ\":\"JWT\",\"crit\":[\"x\"]}",
                       "Payload");
    assert_int_equal(tsr__verifier_verify_jws(v, t, strlen(t), jwt, NULL),
                     TSR_ERR_CRIT_UNSUPPORTED);
    free(t);
    t = tst_mint(other, TSR_ALG_HS256, "{\"alg\":\"HS256\",\"typ\":\"JWT\"}", "Payload");
    assert_int_equal(tsr__verifier_verify_jws(v, t, strlen(t), jwt, NULL), TSR_ERR_BAD_SIGNATURE);
    free(t);
    t = tst_mint(k, TSR_ALG_HS256, "{\"alg\":\"HS256\"}", "Payload");
    assert_int_equal(tsr__verifier_verify_jws(v, t, strlen(t), jwt, NULL), TSR_ERR_TYP_MISMATCH);
    free(t);
    char *h = tst_b64("{\"alg\":\"HS256\",\"typ\":\"JWT\"}", 27);
    t = tst_mint_raw(k, TSR_ALG_HS256, h, "UGF5bG9hZA=");
    assert_int_equal(tsr__verifier_verify_jws(v, t, strlen(t), jwt, NULL), TSR_ERR_MALFORMED);
    free(t);
    free(h);
    /* A payload that is no claim set (and has no exp) passes at this level
     * only; the full verify refuses it. */
    t = tst_mint(k, TSR_ALG_HS256, "{\"alg\":\"HS256\",\"typ\":\"JWT\"}", "Payload");
    assert_int_equal(tsr_verifier_verify(v, t, strlen(t), NOW, jwt, NULL), TSR_ERR_MALFORMED);
    assert_int_equal(tsr__verifier_verify_jws(v, t, strlen(t), jwt, NULL), TSR_OK);
    tsr_str pl = tsr_jwt_get0_payload(jwt);
    assert_int_equal(pl.len, 7);
    assert_memory_equal(pl.ptr, "Payload", 7);
    assert_int_equal(tsr_jwt_get_alg(jwt), TSR_ALG_HS256);
    tsr_str c;
    assert_int_equal(tsr_jwt_get0_claim(jwt, "exp", &c), TSR_ERR_NOT_FOUND);
    free(t);
    t = tst_mint(k, TSR_ALG_HS256, "{\"alg\":\"HS256\",\"typ\":\"JWT\"}", "{\"exp\":1}");
    assert_int_equal(tsr__verifier_verify_jws(v, t, strlen(t), NULL, NULL), TSR_OK);
    assert_int_equal(tsr__verifier_verify_jws(NULL, t, strlen(t), NULL, NULL),
                     TSR_ERR_INVALID_ARGUMENT);
    free(t);
    tsr_jwt_free(jwt);
    tsr_key_free(k);
    tsr_key_free(other);
    tsr_verifier_free(v);
}

static void header_cache_is_per_verifier(void **state)
{
    (void)state;
    tsr_key *k1 = hs_key(secret1, "k1");
    tsr_key *k1b = hs_key(secret2, "k1");
    tsr_key *ek = NULL;
    assert_int_equal(tsr_key_generate(TSR_ALG_ES256, &ek, NULL), TSR_OK);
    tsr_keyset *s1 = set_of(k1, NULL, NULL);
    tsr_keyset *s2 = set_of(k1b, NULL, NULL);
    tsr_keyset *se = set_of(k1, ek, NULL);
    tsr_policy *hs = policy_for("HS256");
    tsr_policy *es = policy_for("ES256");
    tsr_jwt *jwt = NULL;
    assert_int_equal(tsr_jwt_new(&jwt, NULL), TSR_OK);
    const char *hdr = "{\"alg\":\"HS256\",\"kid\":\"k1\"}";
    char *t = tst_mint(k1, TSR_ALG_HS256, hdr, "{\"exp\":1800000000}");
    char *t2 = tst_mint(k1, TSR_ALG_HS256, hdr, "{\"exp\":1800000001}");

    /* Same header, other verifier whose allowlist lacks HS256. */
    tsr_verifier *v1 = make_verifier(hs, s1);
    tsr_verifier *ve = make_verifier(es, se);
    assert_int_equal(verify(v1, t, jwt), TSR_OK);
    assert_int_equal(verify(v1, t2, jwt), TSR_OK);
    assert_int_equal(verify(ve, t, jwt), TSR_ERR_ALG_NOT_ALLOWED);
    assert_int_equal(verify(v1, t, jwt), TSR_OK);

    /* A new verifier (perhaps at the same address) with another key under
     * the same kid: the old selection must not be reused. */
    tsr_verifier_free(v1);
    tsr_verifier *v2 = make_verifier(hs, s2);
    assert_int_equal(verify(v2, t, jwt), TSR_ERR_BAD_SIGNATURE);
    tsr_verifier_free(v2);
    v1 = make_verifier(hs, s1);
    assert_int_equal(verify(v1, t, jwt), TSR_OK);

    /* A header that fails in between, then the cached one again: the
     * header read back is the token's. */
    assert_int_equal(verify(v1, "eyJhbGciOiJub25lIn0.e30.AAAA", jwt), TSR_ERR_ALG_NOT_ALLOWED);
    assert_int_equal(verify(v1, t2, jwt), TSR_OK);
    tsr_str h = tsr_jwt_get0_header(jwt);
    assert_int_equal(h.len, strlen(hdr));
    assert_memory_equal(h.ptr, hdr, h.len);
    assert_string_equal(tsr_jwt_get0_kid(jwt), "k1");
    int64_t exp = 0;
    assert_int_equal(tsr_jwt_get_int(jwt, "exp", &exp), TSR_OK);
    assert_int_equal(exp, 1800000001);

    free(t);
    free(t2);
    tsr_jwt_free(jwt);
    tsr_verifier_free(v1);
    tsr_verifier_free(ve);
    tsr_policy_free(hs);
    tsr_policy_free(es);
    tsr_keyset_free(s1);
    tsr_keyset_free(s2);
    tsr_keyset_free(se);
    tsr_key_free(k1);
    tsr_key_free(k1b);
    tsr_key_free(ek);
}

/* ---- memory ---- */

static void steady_state_does_not_allocate(void **state)
{
    (void)state;
    tsr_policy *p = policy_for("HS256,ES256");
    assert_int_equal(tsr_policy_add_audience(p, "api", NULL), TSR_OK);
    tsr_key *hk = hs_key(secret1, "k1");
    tsr_key *ek = NULL;
    assert_int_equal(tsr_key_generate(TSR_ALG_ES256, &ek, NULL), TSR_OK);
    assert_int_equal(tsr_key_set1_kid(ek, "e1", NULL), TSR_OK);
    tsr_keyset *s = set_of(hk, ek, NULL);
    tsr_verifier *v = make_verifier(p, s);
    char *good_h = tst_mint(hk, TSR_ALG_HS256, "{\"alg\":\"HS256\",\"kid\":\"k1\"}", CLAIMS);
    char *good_e = tst_mint(ek, TSR_ALG_ES256, "{\"alg\":\"ES256\",\"kid\":\"e1\"}", CLAIMS);
    char *expired = tst_mint(hk, TSR_ALG_HS256, "{\"alg\":\"HS256\",\"kid\":\"k1\"}",
                             "{\"aud\":\"api\",\"exp\":1}");
    tsr_jwt *jwt = NULL;
    assert_int_equal(tsr_jwt_new(&jwt, NULL), TSR_OK);
    /* Warm-up: the OpenSSL side may set up per-thread state once. */
    assert_int_equal(verify(v, good_h, jwt), TSR_OK);
    assert_int_equal(verify(v, good_e, jwt), TSR_OK);
    tsr_test_fail_alloc_after(-1);
    for (int i = 0; i < 50; i++) {
        assert_int_equal(verify(v, good_h, jwt), TSR_OK);
        assert_int_equal(verify(v, good_e, jwt), TSR_OK);
        assert_int_equal(verify(v, expired, jwt), TSR_ERR_EXPIRED);
        assert_int_equal(verify(v, "x.y.z", jwt), TSR_ERR_MALFORMED);
    }
    assert_int_equal(tsr_test_alloc_count(), 0);
    free(good_h);
    free(good_e);
    free(expired);
    tsr_jwt_free(jwt);
    tsr_verifier_free(v);
    tsr_policy_free(p);
    tsr_keyset_free(s);
    tsr_key_free(hk);
    tsr_key_free(ek);
}

static void allocation_failures(void **state)
{
    (void)state;
    tsr_key *k = hs_key(secret1, "k1");
    tsr_keyset *s = set_of(k, NULL, NULL);
    char *t = tst_mint(k, TSR_ALG_HS256, "{\"alg\":\"HS256\"}", CLAIMS);
    int succeeded = 0;
    for (long n = 0; n < 200 && !succeeded; n++) {
        tsr_test_fail_alloc_after(n);
        tsr_policy *p = NULL;
        tsr_verifier *v = NULL;
        tsr_jwt *jwt = NULL;
        tsr_err rc = tsr_policy_new(&p, NULL);
        if (rc == TSR_OK) {
            rc = tsr_policy_allow_algs(p, "HS256", NULL);
        }
        if (rc == TSR_OK) {
            rc = tsr_policy_set_issuer(p, "https://issuer.example", NULL);
        }
        if (rc == TSR_OK) {
            rc = tsr_policy_add_audience(p, "api", NULL);
        }
        if (rc == TSR_OK) {
            rc = tsr_policy_set_typ(p, "JWT", NULL);
        }
        if (rc == TSR_OK) {
            rc = tsr_verifier_new(p, s, &v, NULL);
        }
        if (rc == TSR_OK) {
            rc = tsr_jwt_new(&jwt, NULL);
        }
        if (rc == TSR_OK) {
            rc = tsr_verifier_verify(v, t, strlen(t), NOW, NULL, NULL);
            /* The token has no typ, so the policy says typ_mismatch. */
            if (rc == TSR_ERR_TYP_MISMATCH) {
                succeeded = 1;
            }
        }
        if (!succeeded) {
            assert_int_equal(rc, TSR_ERR_NOMEM);
        }
        tsr_jwt_free(jwt);
        tsr_verifier_free(v);
        tsr_policy_free(p);
    }
    tsr_test_fail_alloc_after(-1);
    assert_true(succeeded);
    free(t);
    tsr_keyset_free(s);
    tsr_key_free(k);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(policy_refusals),
        cmocka_unit_test(verifier_new_refusals),
        cmocka_unit_test(verifier_copies_policy_and_keys),
        cmocka_unit_test(rejects_structure),
        cmocka_unit_test(size_cap),
        cmocka_unit_test(default_size_cap_is_16k),
        cmocka_unit_test(bad_signature_hides_claims),
        cmocka_unit_test(tampering),
        cmocka_unit_test(header_rules_end_to_end),
        cmocka_unit_test(embedded_jwk_is_ignored),
        cmocka_unit_test(alg_confusion_public_key_as_hmac_secret),
        cmocka_unit_test(key_selection_by_kid),
        cmocka_unit_test(key_selection_kid_too_long),
        cmocka_unit_test(key_selection_lone_kidless_key),
        cmocka_unit_test(key_selection_lone_key_with_kid),
        cmocka_unit_test(key_selection_filters_by_alg),
        cmocka_unit_test(many_keys),
        cmocka_unit_test(policy_checks),
        cmocka_unit_test(payload_json_rules),
        cmocka_unit_test(header_member_cap),
        cmocka_unit_test(getters),
        cmocka_unit_test(invalid_arguments),
        cmocka_unit_test(jws_level_verify),
        cmocka_unit_test(header_cache_is_per_verifier),
        cmocka_unit_test(steady_state_does_not_allocate),
        cmocka_unit_test(allocation_failures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
