/*
 * test_key_binding.c: a key verifies only what it is bound to.
 *
 * Curve to algorithm (P-256 only ES256 ...), a JWK "alg" to that algorithm,
 * "use"/"key_ops" to the operation, minimum sizes, and the kid rules of key
 * selection: a kid selects exactly the keys with that kid, a token without
 * kid considers all keys, and exactly one usable candidate must remain;
 * keys are never tried one after another.
 */
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "hostile.h"

static char *es_token(const tsr_key *k, tsr_alg alg, const char *kid)
{
    char hdr[96];
    if (kid != NULL) {
        (void)snprintf(hdr, sizeof hdr, "{\"alg\":\"%s\",\"kid\":\"%s\"}", tsr_alg_name(alg), kid);
    } else {
        (void)snprintf(hdr, sizeof hdr, "{\"alg\":\"%s\"}", tsr_alg_name(alg));
    }
    return ht_token(k, alg, hdr, HT_CLAIMS);
}

static void test_curve_binds_algorithm(void **state)
{
    (void)state;
    tsr_key *p256 = ht_generate(TSR_ALG_ES256, NULL);
    tsr_key *p384 = ht_generate(TSR_ALG_ES384, NULL);
    tsr_key *p521 = ht_generate(TSR_ALG_ES512, NULL);
    tsr_key *keys[] = {p256};
    tsr_verifier *v = ht_verifier(keys, 1, "ES256,ES384,ES512", 0);
    char *tok = es_token(p384, TSR_ALG_ES384, NULL);
    ht_expect(v, tok, TSR_ERR_KEY_NOT_FOUND, "ES384 token, P-256 key");
    free(tok);
    tok = es_token(p521, TSR_ALG_ES512, NULL);
    ht_expect(v, tok, TSR_ERR_KEY_NOT_FOUND, "ES512 token, P-256 key");
    free(tok);
    tok = es_token(p256, TSR_ALG_ES256, NULL);
    ht_expect(v, tok, TSR_OK, "positive control");
    free(tok);
    assert_false(tsr_key_usable(p256, TSR_ALG_ES384, TSR_OP_VERIFY));
    assert_false(tsr_key_usable(p384, TSR_ALG_ES256, TSR_OP_VERIFY));
    assert_false(tsr_key_usable(p521, TSR_ALG_ES384, TSR_OP_VERIFY));
    tsr_verifier_free(v);
    tsr_key_free(p256);
    tsr_key_free(p384);
    tsr_key_free(p521);
}

static void test_jwk_alg_binds(void **state)
{
    (void)state;
    /* The same RSA key, once unbound (to forge with) and once bound by its
     * JWK to RS256. */
    tsr_key *unbound = ht_generate(TSR_ALG_RS256, NULL);
    char *jwk = NULL;
    assert_int_equal(tsr_key_export_jwk(unbound, false, &jwk, NULL), TSR_OK);
    json_t *j = json_loads(jwk, 0, NULL);
    assert_non_null(j);
    assert_int_equal(json_object_set_new(j, "alg", json_string("RS256")), 0);
    char *bound_text = json_dumps(j, JSON_COMPACT);
    tsr_key *bound = ht_load_jwk(bound_text);
    assert_int_equal(tsr_key_get_alg(bound), TSR_ALG_RS256);
    tsr_key *keys[] = {bound};
    tsr_verifier *v = ht_verifier(keys, 1, "RS256,RS384,PS256", 0);
    char *tok = es_token(unbound, TSR_ALG_PS256, NULL);
    ht_expect(v, tok, TSR_ERR_KEY_NOT_FOUND, "PS256 token, key bound to RS256");
    free(tok);
    tok = es_token(unbound, TSR_ALG_RS384, NULL);
    ht_expect(v, tok, TSR_ERR_KEY_NOT_FOUND, "RS384 token, key bound to RS256");
    free(tok);
    tok = es_token(unbound, TSR_ALG_RS256, NULL);
    ht_expect(v, tok, TSR_OK, "positive control");
    free(tok);
    /* Binding an already bound key to something else fails. */
    assert_int_equal(tsr_key_bind_alg(bound, TSR_ALG_PS256, NULL), TSR_ERR_KEY_MISMATCH);
    tsr_verifier_free(v);
    tsr_key_free(bound);
    free(bound_text);
    json_decref(j);
    tsr_free(jwk);
    tsr_key_free(unbound);

    /* An HMAC key bound to HS384 refuses HS256 and HS512 tokens. */
    tsr_key *hs = ht_load_jwk("{\"kty\":\"oct\",\"alg\":\"HS384\",\"k\":\"AyM1SysPpbyDfgZld3umj1qzKObwVM"
                              "koqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow\"}");
    tsr_key *hk[] = {hs};
    v = ht_verifier(hk, 1, "HS256,HS384,HS512", 0);
    tok = es_token(hs, TSR_ALG_HS256, NULL);
    ht_expect(v, tok, TSR_ERR_KEY_NOT_FOUND, "HS256 token, key bound to HS384");
    free(tok);
    tok = es_token(hs, TSR_ALG_HS512, NULL);
    ht_expect(v, tok, TSR_ERR_KEY_NOT_FOUND, "HS512 token, key bound to HS384");
    free(tok);
    tok = es_token(hs, TSR_ALG_HS384, NULL);
    ht_expect(v, tok, TSR_OK, "positive control");
    free(tok);
    tsr_verifier_free(v);
    tsr_key_free(hs);
}

/* A verifier over one JWK must not be buildable when the key may not verify. */
static void expect_unusable(const char *jwk, const char *algs, const char *what)
{
    tsr_key *k = ht_load_jwk(jwk);
    tsr_keyset *set = NULL;
    tsr_policy *pol = NULL;
    tsr_verifier *v = NULL;
    assert_int_equal(tsr_keyset_new(&set, NULL), TSR_OK);
    assert_int_equal(tsr_keyset_add1_key(set, k, NULL), TSR_OK);
    assert_int_equal(tsr_policy_new(&pol, NULL), TSR_OK);
    assert_int_equal(tsr_policy_allow_algs(pol, algs, NULL), TSR_OK);
    tsr_err rc = tsr_verifier_new(pol, set, &v, NULL);
    if (rc != TSR_ERR_KEY_NOT_FOUND) {
        fail_msg("%s: verifier_new gave %s, want key_not_found", what, tsr_err_name(rc));
    }
    assert_null(v);
    tsr_policy_free(pol);
    tsr_keyset_free(set);
    tsr_key_free(k);
}

#define EC_PUB_MEMBERS                                                                             \
    "\"crv\":\"P-256\",\"x\":\"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU\","                     \
    "\"y\":\"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0\""

static void test_use_and_key_ops(void **state)
{
    (void)state;
    expect_unusable("{\"kty\":\"EC\",\"use\":\"enc\"," EC_PUB_MEMBERS "}", "ES256", "use enc");
    expect_unusable("{\"kty\":\"EC\",\"use\":\"SIG\"," EC_PUB_MEMBERS "}", "ES256", "use SIG");
    expect_unusable("{\"kty\":\"EC\",\"key_ops\":[\"sign\"]," EC_PUB_MEMBERS "}", "ES256",
                    "key_ops sign only");
    expect_unusable("{\"kty\":\"EC\",\"key_ops\":[\"encrypt\",\"wrapKey\"]," EC_PUB_MEMBERS "}",
                    "ES256", "key_ops encrypt");
    expect_unusable("{\"kty\":\"EC\",\"key_ops\":[]," EC_PUB_MEMBERS "}", "ES256",
                    "key_ops empty");
    expect_unusable("{\"kty\":\"EC\"," EC_PUB_MEMBERS "}", "ES384,ES512,RS256,HS256,EdDSA",
                    "P-256 key, ES256 not allowed");
    /* The usable variants do build. */
    tsr_key *ok = ht_load_jwk("{\"kty\":\"EC\",\"use\":\"sig\",\"key_ops\":[\"verify\"]," EC_PUB_MEMBERS "}");
    assert_true(tsr_key_usable(ok, TSR_ALG_ES256, TSR_OP_VERIFY));
    assert_false(tsr_key_usable(ok, TSR_ALG_ES256, TSR_OP_SIGN));
    tsr_key_free(ok);
}

static void test_weak_keys_refused(void **state)
{
    (void)state;
    tsr_key *k = (tsr_key *)0x1;
    unsigned char secret[64] = {1};
    assert_int_equal(tsr_key_from_secret(secret, 31, TSR_ALG_HS256, &k, NULL), TSR_ERR_KEY_WEAK);
    assert_null(k);
    assert_int_equal(tsr_key_from_secret(secret, 47, TSR_ALG_HS384, &k, NULL), TSR_ERR_KEY_WEAK);
    assert_int_equal(tsr_key_from_secret(secret, 63, TSR_ALG_HS512, &k, NULL), TSR_ERR_KEY_WEAK);
    assert_int_equal(tsr_key_from_secret(secret, 0, TSR_ALG_HS256, &k, NULL), TSR_ERR_KEY_WEAK);
    assert_int_equal(tsr_key_from_secret(secret, 64, TSR_ALG_RS256, &k, NULL), TSR_ERR_KEY_MISMATCH);
    static const char short_oct[] = "{\"kty\":\"oct\",\"alg\":\"HS256\","
                                    "\"k\":\"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHg\"}";
    assert_int_equal(tsr_key_load_jwk(short_oct, strlen(short_oct), &k, NULL), TSR_ERR_KEY_WEAK);
    /* A 32-byte secret without alg is fine for HS256 but not for HS384. */
    assert_int_equal(tsr_key_from_secret(secret, 32, TSR_ALG_HS256, &k, NULL), TSR_OK);
    assert_false(tsr_key_usable(k, TSR_ALG_HS384, TSR_OP_VERIFY));
    tsr_key_free(k);
    /* RSA below 2048 bits, as a PEM made by OpenSSL. */
    EVP_PKEY *pk = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
    assert_non_null(pk);
    BIO *b = BIO_new(BIO_s_mem());
    assert_true(PEM_write_bio_PUBKEY(b, pk) == 1);
    char *pem = NULL;
    long n = BIO_get_mem_data(b, &pem);
    k = (tsr_key *)0x1;
    assert_int_equal(tsr_key_load_pem(pem, (size_t)n, &k, NULL), TSR_ERR_KEY_WEAK);
    assert_null(k);
    BIO_free(b);
    EVP_PKEY_free(pk);
}

static void test_kid_selection(void **state)
{
    (void)state;
    unsigned char sa[32], sb[32];
    memset(sa, 0xa, sizeof sa);
    memset(sb, 0xb, sizeof sb);
    tsr_key *a = NULL;
    tsr_key *b = NULL;
    assert_int_equal(tsr_key_from_secret(sa, 32, TSR_ALG_HS256, &a, NULL), TSR_OK);
    assert_int_equal(tsr_key_from_secret(sb, 32, TSR_ALG_HS256, &b, NULL), TSR_OK);
    assert_int_equal(tsr_key_set1_kid(a, "a", NULL), TSR_OK);
    assert_int_equal(tsr_key_set1_kid(b, "b", NULL), TSR_OK);
    tsr_key *keys[] = {a, b};
    tsr_verifier *v = ht_verifier(keys, 2, "HS256", 0);

    char *tok = es_token(a, TSR_ALG_HS256, "a");
    ht_expect(v, tok, TSR_OK, "kid a signed by a");
    free(tok);
    tok = es_token(b, TSR_ALG_HS256, "a");
    ht_expect(v, tok, TSR_ERR_BAD_SIGNATURE, "kid a signed by b: b is never tried");
    free(tok);
    tok = es_token(a, TSR_ALG_HS256, NULL);
    ht_expect(v, tok, TSR_ERR_KEY_NOT_FOUND, "no kid, two candidates");
    free(tok);
    tok = es_token(a, TSR_ALG_HS256, "c");
    ht_expect(v, tok, TSR_ERR_KEY_NOT_FOUND, "kid matching nothing");
    free(tok);
    tsr_verifier_free(v);

    /* Two keys with the same kid: ambiguous, never tried in turn. */
    assert_int_equal(tsr_key_set1_kid(b, "a", NULL), TSR_OK);
    v = ht_verifier(keys, 2, "HS256", 0);
    tok = es_token(a, TSR_ALG_HS256, "a");
    ht_expect(v, tok, TSR_ERR_KEY_NOT_FOUND, "duplicate kid");
    free(tok);
    tsr_verifier_free(v);

    /* A lone kid-less key is used whatever kid the token carries. */
    tsr_key *lone = NULL;
    assert_int_equal(tsr_key_from_secret(sa, 32, TSR_ALG_HS256, &lone, NULL), TSR_OK);
    tsr_key *lk[] = {lone};
    v = ht_verifier(lk, 1, "HS256", 0);
    tok = es_token(lone, TSR_ALG_HS256, "whatever");
    ht_expect(v, tok, TSR_OK, "kid-less key, token with kid");
    free(tok);
    tok = es_token(lone, TSR_ALG_HS256, NULL);
    ht_expect(v, tok, TSR_OK, "kid-less key, token without kid");
    free(tok);
    tsr_verifier_free(v);
    tsr_key_free(lone);
    tsr_key_free(a);
    tsr_key_free(b);
}

/* A set mixing one good key with weak, wrong-use and unknown members keeps
 * only the good one; a set with nothing usable does not load. */
static void test_jwks_skips_unusable_members(void **state)
{
    (void)state;
    static const char mixed[] =
        "{\"keys\":["
        "{\"kty\":\"oct\",\"kid\":\"weak\",\"k\":\"AAECAwQFBgcICQoLDA0ODw\"},"
        "{\"kty\":\"EC\",\"kid\":\"enc\",\"use\":\"enc\"," EC_PUB_MEMBERS "},"
        "{\"kty\":\"XYZ\",\"kid\":\"unknown\"},"
        "{\"kty\":\"oct\",\"kid\":\"aes\",\"alg\":\"A256GCM\","
        "\"k\":\"hJtXIZ2uSN5kbQfbtTNWbpdmhkV8FJG-Onbc6mxCcYg\"},"
        "{\"kty\":\"EC\",\"kid\":\"good\"," EC_PUB_MEMBERS "}]}";
    tsr_keyset *set = NULL;
    tsr_error e;
    tsr_err rc = tsr_keyset_load_jwks(mixed, strlen(mixed), &set, &e);
    if (rc != TSR_OK) {
        fail_msg("mixed set: %s (%s)", tsr_err_name(rc), e.detail);
    }
    assert_int_equal(tsr_keyset_count(set), 1);
    assert_string_equal(tsr_key_get0_kid(tsr_keyset_get0_key(set, 0)), "good");
    tsr_keyset_free(set);
    static const char none_usable[] =
        "{\"keys\":[{\"kty\":\"EC\",\"kid\":\"enc\",\"use\":\"enc\"," EC_PUB_MEMBERS "}]}";
    set = (tsr_keyset *)0x1;
    assert_int_equal(tsr_keyset_load_jwks(none_usable, strlen(none_usable), &set, NULL),
                     TSR_ERR_KEY_NOT_FOUND);
    assert_null(set);
}

static void test_ed25519_binding_and_alias(void **state)
{
    (void)state;
    tsr_key *ed = ht_generate(TSR_ALG_EDDSA, NULL);
    tsr_key *keys[] = {ed};
    tsr_verifier *v = ht_verifier(keys, 1, "EdDSA,ES256", 0);
    char *tok = ht_token(ed, TSR_ALG_EDDSA, "{\"alg\":\"Ed25519\"}", HT_CLAIMS);
    ht_expect(v, tok, TSR_OK, "fully specified name Ed25519");
    free(tok);
    tok = ht_token(ed, TSR_ALG_EDDSA, "{\"alg\":\"ed25519\"}", HT_CLAIMS);
    ht_expect(v, tok, TSR_ERR_ALG_NOT_ALLOWED, "names are case-sensitive");
    free(tok);
    tok = ht_token(ed, TSR_ALG_EDDSA, "{\"alg\":\"Ed448\"}", HT_CLAIMS);
    ht_expect(v, tok, TSR_ERR_ALG_NOT_ALLOWED, "Ed448 is not implemented");
    free(tok);
    tsr_key *ec = ht_generate(TSR_ALG_ES256, NULL);
    tok = ht_token(ec, TSR_ALG_ES256, "{\"alg\":\"ES256\"}", HT_CLAIMS);
    ht_expect(v, tok, TSR_ERR_KEY_NOT_FOUND, "ES256 token, Ed25519 key");
    free(tok);
    tsr_key_free(ec);
    tsr_verifier_free(v);
    tsr_key_free(ed);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_curve_binds_algorithm),
        cmocka_unit_test(test_jwk_alg_binds),
        cmocka_unit_test(test_use_and_key_ops),
        cmocka_unit_test(test_weak_keys_refused),
        cmocka_unit_test(test_kid_selection),
        cmocka_unit_test(test_jwks_skips_unusable_members),
        cmocka_unit_test(test_ed25519_binding_and_alias),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
