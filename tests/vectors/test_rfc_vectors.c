/*
 * test_rfc_vectors.c: every example of RFC 7515, 7517, 7520, 7638 and 8037
 * in ../shared/vectors/rfc (README sections 3 and 4).
 *
 * Signature files: the token verifies at the JWS level with the published
 * public key and an allowlist of exactly [alg]; full JWT validation at the
 * file's `now` gives `expect_jwt` and every `claims_checks` entry; for
 * deterministic algorithms re-signing the exact signing input with the
 * private key reproduces the signature byte for byte (randomized ones sign
 * a fresh signature that verifies); flipping any single bit of the
 * signature rejects. Key files: every key loads (sets through the set
 * loader) and thumbprints equal the recorded ones. The alg:none file is
 * rejected. A missing file fails the test (tst_load_vector_json aborts).
 *
 * Deviations (each printed when it applies):
 *  - RFC 7517 A.3 keys[0] ("alg":"A128KW", 16 bytes) and RFC 7520 3.6
 *    ("alg":"A256GCM", "use":"enc") are encryption keys. tessera loads JWS
 *    keys only: a lone JWK with an algorithm it does not implement is
 *    refused (unsupported) and a key set skips it. 3.6's thumbprint is still
 *    checked on the same key material without "alg"/"use" (RFC 7638 hashes
 *    only k and kty); A.3 keys[0] has no recorded thumbprint, and without
 *    its alg it is a 16-byte secret, below tessera's 32-byte HMAC minimum.
 *  - Non-JWT payloads ("Payload", the RFC 7520 quotation, "Example of
 *    Ed25519 signing") fail JWT validation as malformed: the claims set is
 *    not a JSON object.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <dirent.h>

#include "internal.h"
#include "support.h"

static const char *const rfc_files[] = {
    "rfc7515-A.1.json", "rfc7515-A.2.json", "rfc7515-A.3.json", "rfc7515-A.4.json",
    "rfc7515-A.5.json", "rfc7517-A.1.json", "rfc7517-A.2.json", "rfc7517-A.3.json",
    "rfc7517-B.json",   "rfc7520-3.json",   "rfc7520-4.1.json", "rfc7520-4.2.json",
    "rfc7520-4.3.json", "rfc7520-4.4.json", "rfc7638-3.1.json", "rfc8037-A.3.json",
    "rfc8037-A.4.json",
};

/* ------------------------------------------------------------------ helpers */

static json_t *load_rfc(const char *name)
{
    char rel[128];
    (void)snprintf(rel, sizeof rel, "rfc/%s", name);
    return tst_load_vector_json(rel);
}

static const char *str_member(const json_t *o, const char *name)
{
    const char *s = json_string_value(json_object_get(o, name));
    if (s == NULL) {
        fail_msg("vector lacks string member '%s'", name);
    }
    return s;
}

/* Loads JWK `j` through the JWK parser; returns the error code. */
static tsr_err load_key(const json_t *j, tsr_key **out, tsr_error *e)
{
    char *text = json_dumps(j, JSON_COMPACT);
    assert_non_null(text);
    tsr_err rc = tsr_key_load_jwk(text, strlen(text), out, e);
    free(text);
    return rc;
}

static tsr_key *must_load_key(const json_t *j, const char *what)
{
    tsr_key *k = NULL;
    tsr_error e;
    tsr_err rc = load_key(j, &k, &e);
    if (rc != TSR_OK) {
        fail_msg("%s: key did not load: %s (%s)", what, tsr_err_name(rc), e.detail);
    }
    return k;
}

static void expect_thumbprint(const tsr_key *k, const char *want, const char *what)
{
    char tp[TSR_THUMBPRINT_LEN + 1];
    tsr_error e;
    tsr_err rc = tsr_key_thumbprint(k, tp, &e);
    if (rc != TSR_OK) {
        fail_msg("%s: thumbprint failed: %s (%s)", what, tsr_err_name(rc), e.detail);
    }
    if (strcmp(tp, want) != 0) {
        fail_msg("%s: thumbprint %s, want %s", what, tp, want);
    }
}

static tsr_verifier *verifier_for(tsr_key *k, tsr_alg alg)
{
    tsr_keyset *set = NULL;
    tsr_policy *pol = NULL;
    tsr_verifier *v = NULL;
    tsr_error e;
    assert_int_equal(tsr_keyset_new(&set, NULL), TSR_OK);
    assert_int_equal(tsr_keyset_add1_key(set, k, NULL), TSR_OK);
    assert_int_equal(tsr_policy_new(&pol, NULL), TSR_OK);
    assert_int_equal(tsr_policy_allow_alg(pol, alg, NULL), TSR_OK);
    tsr_err rc = tsr_verifier_new(pol, set, &v, &e);
    if (rc != TSR_OK) {
        fail_msg("verifier_new: %s (%s)", tsr_err_name(rc), e.detail);
    }
    tsr_policy_free(pol);
    tsr_keyset_free(set);
    return v;
}

/* JWS-level verification (signature and header rules, no claim rules). */
static tsr_err jws_verify(const tsr_verifier *v, const char *tok, size_t len, tsr_jwt *jwt,
                          tsr_error *e)
{
    return tsr__verifier_verify_jws(v, tok, len, jwt, e);
}

/* Decodes base64url text[0..n) into a malloc'd buffer. */
static unsigned char *b64_decode(const char *text, size_t n, size_t *out_len)
{
    size_t cap = tsr_b64url_decoded_max(n) + 1;
    unsigned char *buf = malloc(cap);
    assert_non_null(buf);
    assert_int_equal(tsr_b64url_decode(text, n, buf, cap, out_len), TSR_OK);
    return buf;
}

/* ------------------------------------------------------------------ signature files */

/* The decoded header and payload are the published strings, byte-exact. */
static void check_segments(const json_t *root, const char *tok, const char *name)
{
    const char *d1 = strchr(tok, '.');
    const char *d2 = strrchr(tok, '.');
    size_t hl = 0, pl = 0;
    unsigned char *h = b64_decode(tok, (size_t)(d1 - tok), &hl);
    unsigned char *p = b64_decode(d1 + 1, (size_t)(d2 - d1 - 1), &pl);
    const char *want_h = str_member(root, "protected_header");
    const char *want_p = str_member(root, "payload");
    if (hl != strlen(want_h) || memcmp(h, want_h, hl) != 0) {
        fail_msg("%s: decoded header differs from protected_header", name);
    }
    if (pl != strlen(want_p) || memcmp(p, want_p, pl) != 0) {
        fail_msg("%s: decoded payload differs from payload", name);
    }
    free(h);
    free(p);
}

static void check_jwt_level(const json_t *root, const tsr_verifier *v, const char *tok,
                            const char *name)
{
    int64_t now = (int64_t)json_integer_value(json_object_get(root, "now"));
    bool is_jwt = json_is_true(json_object_get(root, "payload_is_jwt_claims"));
    const char *expect_jwt = str_member(root, "expect_jwt");
    tsr_error e;
    tsr_err rc = tsr_verifier_verify(v, tok, strlen(tok), now, NULL, &e);
    tsr_err want = strcmp(expect_jwt, "valid") == 0 ? TSR_OK : TSR_ERR_MALFORMED;
    if (!is_jwt) {
        assert_string_equal(expect_jwt, "invalid");
        printf("  %s: payload is not a JWT claims set: JWT validation must say malformed\n", name);
    }
    if (rc != want) {
        fail_msg("%s: JWT validation at %lld: %s (%s), want %s", name, (long long)now,
                 tsr_err_name(rc), e.detail, tsr_err_name(want));
    }
    const json_t *checks = json_object_get(root, "claims_checks");
    size_t i;
    const json_t *c;
    json_array_foreach(checks, i, c) {
        int64_t t = (int64_t)json_integer_value(json_object_get(c, "now"));
        /* Every recorded failing check is about exp (RFC 7519 4.1.4). */
        want = strcmp(str_member(c, "expect"), "valid") == 0 ? TSR_OK : TSR_ERR_EXPIRED;
        rc = tsr_verifier_verify(v, tok, strlen(tok), t, NULL, &e);
        if (rc != want) {
            fail_msg("%s: claims check at %lld (%s): %s, want %s", name, (long long)t,
                     str_member(c, "why"), tsr_err_name(rc), tsr_err_name(want));
        }
    }
}

/* Signs the token's signing input with the private key: deterministic
 * algorithms must reproduce the published signature; randomized ones must
 * give another signature that verifies. */
static void check_resign(const json_t *root, const tsr_verifier *v, tsr_jwt *jwt,
                         const tsr_key *priv, tsr_alg alg, const char *tok, const char *name)
{
    const char *d2 = strrchr(tok, '.');
    size_t in_len = (size_t)(d2 - tok);
    unsigned char sig[1024];
    size_t sig_len = tsr__crypto_sig_max(priv, alg);
    assert_true(sig_len > 0 && sig_len <= sizeof sig);
    tsr_error e;
    tsr_err rc = tsr__crypto_sign(priv, alg, (const unsigned char *)tok, in_len, sig, &sig_len, &e);
    if (rc != TSR_OK) {
        fail_msg("%s: re-signing failed: %s (%s)", name, tsr_err_name(rc), e.detail);
    }
    char enc[1400];
    assert_int_equal(tsr_b64url_encode(sig, sig_len, enc, sizeof enc, NULL), TSR_OK);
    if (json_is_true(json_object_get(root, "deterministic"))) {
        if (strcmp(enc, d2 + 1) != 0) {
            fail_msg("%s: re-signing did not reproduce the published signature", name);
        }
        return;
    }
    char *fresh = malloc(in_len + 2 + strlen(enc));
    assert_non_null(fresh);
    memcpy(fresh, tok, in_len + 1);
    memcpy(fresh + in_len + 1, enc, strlen(enc) + 1);
    rc = jws_verify(v, fresh, strlen(fresh), jwt, &e);
    if (rc != TSR_OK) {
        fail_msg("%s: a fresh signature does not verify: %s (%s)", name, tsr_err_name(rc),
                 e.detail);
    }
    free(fresh);
}

/* Every single-bit change of the signature is a bad signature. */
static void check_bit_flips(const tsr_verifier *v, tsr_jwt *jwt, const char *tok,
                            const char *name)
{
    const char *d2 = strrchr(tok, '.');
    size_t in_len = (size_t)(d2 - tok);
    size_t sig_len = 0;
    unsigned char *sig = b64_decode(d2 + 1, strlen(d2 + 1), &sig_len);
    size_t cap = in_len + 1 + tsr_b64url_encoded_len(sig_len) + 1;
    char *buf = malloc(cap);
    assert_non_null(buf);
    memcpy(buf, tok, in_len + 1);
    for (size_t bit = 0; bit < sig_len * 8; bit++) {
        sig[bit / 8] ^= (unsigned char)(1u << (bit % 8));
        assert_int_equal(tsr_b64url_encode(sig, sig_len, buf + in_len + 1, cap - in_len - 1, NULL),
                         TSR_OK);
        sig[bit / 8] ^= (unsigned char)(1u << (bit % 8));
        tsr_error e;
        tsr_err rc = jws_verify(v, buf, strlen(buf), jwt, &e);
        if (rc != TSR_ERR_BAD_SIGNATURE) {
            fail_msg("%s: signature bit %zu flipped: %s (%s), want bad_signature", name, bit,
                     tsr_err_name(rc), e.detail);
        }
    }
    printf("  %s: %zu single-bit signature changes rejected\n", name, sig_len * 8);
    free(buf);
    free(sig);
}

static void check_signature_file(const json_t *root, const char *name)
{
    tsr_alg alg = TSR_ALG_UNSPECIFIED;
    const char *alg_name = str_member(root, "alg");
    assert_int_equal(tsr_alg_from_name(alg_name, strlen(alg_name), &alg), TSR_OK);
    const json_t *pub = json_object_get(root, "public_key");
    const json_t *key = json_object_get(root, "key");
    tsr_key *vk = must_load_key(json_is_object(pub) ? pub : key, name);
    tsr_key *priv = must_load_key(key, name);
    assert_true(tsr_key_is_private(priv));
    tsr_verifier *v = verifier_for(vk, alg);
    tsr_jwt *jwt = NULL;
    assert_int_equal(tsr_jwt_new(&jwt, NULL), TSR_OK);
    const char *tok = str_member(root, "token");

    assert_string_equal(str_member(root, "expect"), "valid");
    tsr_error e;
    tsr_err rc = jws_verify(v, tok, strlen(tok), jwt, &e);
    if (rc != TSR_OK) {
        fail_msg("%s: JWS verification: %s (%s)", name, tsr_err_name(rc), e.detail);
    }
    check_segments(root, tok, name);
    check_jwt_level(root, v, tok, name);
    check_resign(root, v, jwt, priv, alg, tok, name);
    check_bit_flips(v, jwt, tok, name);

    tsr_jwt_free(jwt);
    tsr_verifier_free(v);
    tsr_key_free(priv);
    tsr_key_free(vk);
}

/* RFC 7515 A.5, the unsecured JWS: rejected by every verifier, even one
 * that allows every algorithm and holds the RFC's HMAC key. */
static void check_alg_none_file(const json_t *root, const char *name)
{
    assert_string_equal(str_member(root, "expect"), "invalid");
    assert_string_equal(str_member(root, "expect_jwt"), "invalid");
    const char *none = str_member(root, "alg");
    tsr_alg alg = TSR_ALG_HS256;
    assert_int_equal(tsr_alg_from_name(none, strlen(none), &alg), TSR_ERR_ALG_NOT_ALLOWED);
    assert_int_equal(alg, TSR_ALG_UNSPECIFIED);
    json_t *a1 = load_rfc("rfc7515-A.1.json");
    tsr_key *k = must_load_key(json_object_get(a1, "key"), name);
    tsr_keyset *set = NULL;
    tsr_policy *pol = NULL;
    tsr_verifier *v = NULL;
    assert_int_equal(tsr_keyset_new(&set, NULL), TSR_OK);
    assert_int_equal(tsr_keyset_add1_key(set, k, NULL), TSR_OK);
    assert_int_equal(tsr_policy_new(&pol, NULL), TSR_OK);
    assert_int_equal(tsr_policy_allow_algs(pol, "HS256,HS384,HS512", NULL), TSR_OK);
    assert_int_equal(tsr_verifier_new(pol, set, &v, NULL), TSR_OK);
    const char *tok = str_member(root, "token");
    int64_t now = (int64_t)json_integer_value(json_object_get(root, "now"));
    tsr_jwt *jwt = NULL;
    assert_int_equal(tsr_jwt_new(&jwt, NULL), TSR_OK);
    /* The unsecured token as published: its alg is what rejects it. */
    assert_int_equal(tsr_verifier_verify(v, tok, strlen(tok), now, jwt, NULL),
                     TSR_ERR_ALG_NOT_ALLOWED);
    assert_int_equal(jws_verify(v, tok, strlen(tok), jwt, NULL), TSR_ERR_ALG_NOT_ALLOWED);
    /* Given any signature at all, alg "none" itself is what rejects it. */
    char buf[512];
    (void)snprintf(buf, sizeof buf, "%sAAAA", tok);
    assert_int_equal(tsr_verifier_verify(v, buf, strlen(buf), now, jwt, NULL),
                     TSR_ERR_ALG_NOT_ALLOWED);
    assert_int_equal(jws_verify(v, buf, strlen(buf), jwt, NULL), TSR_ERR_ALG_NOT_ALLOWED);
    tsr_jwt_free(jwt);
    tsr_verifier_free(v);
    tsr_policy_free(pol);
    tsr_keyset_free(set);
    tsr_key_free(k);
    json_decref(a1);
}

/* ------------------------------------------------------------------ key files */

/* A JWK whose "alg" tessera does not implement: refused alone (printed as a
 * deviation); returns true when that was the case. */
static bool is_encryption_key(const json_t *jwk, const char *what)
{
    const char *alg = json_string_value(json_object_get(jwk, "alg"));
    tsr_alg a = TSR_ALG_UNSPECIFIED;
    if (alg == NULL || tsr_alg_from_name(alg, strlen(alg), &a) == TSR_OK) {
        return false;
    }
    tsr_key *k = NULL;
    tsr_err rc = load_key(jwk, &k, NULL);
    if (rc != TSR_ERR_UNSUPPORTED) {
        fail_msg("%s: JWK with alg %s: %s, want unsupported", what, alg, tsr_err_name(rc));
    }
    printf("  DEVIATION %s: alg %s is not a JWS algorithm; the key is refused (unsupported)\n",
           what, alg);
    return true;
}

/* The same key material without "alg" and "use", for its thumbprint. */
static tsr_key *strip_and_load(const json_t *jwk, const char *what)
{
    json_t *copy = json_copy((json_t *)(uintptr_t)jwk);
    assert_non_null(copy);
    (void)json_object_del(copy, "alg");
    (void)json_object_del(copy, "use");
    tsr_key *k = NULL;
    tsr_err rc = load_key(copy, &k, NULL);
    json_decref(copy);
    if (rc == TSR_ERR_KEY_WEAK) {
        printf("  DEVIATION %s: without its alg it is a secret below 32 bytes (key_weak)\n", what);
        return NULL;
    }
    if (rc != TSR_OK) {
        fail_msg("%s: stripped key did not load: %s", what, tsr_err_name(rc));
    }
    return k;
}

/* Loads one JWK and checks its thumbprint when `want` is given. */
static void check_one_key(const json_t *jwk, const char *want, const char *what)
{
    tsr_key *k = NULL;
    if (is_encryption_key(jwk, what)) {
        k = strip_and_load(jwk, what);
    } else {
        k = must_load_key(jwk, what);
    }
    if (k != NULL && want != NULL) {
        expect_thumbprint(k, want, what);
    }
    tsr_key_free(k);
}

/* A JWK Set: the set loader takes it (skipping what cannot verify), and
 * every member is also loaded alone. `tps` maps kid -> thumbprint. */
static void check_key_set(const json_t *set_json, const json_t *tps, const char *name)
{
    char *text = json_dumps(set_json, JSON_COMPACT);
    assert_non_null(text);
    tsr_keyset *set = NULL;
    tsr_error e;
    tsr_err rc = tsr_keyset_load_jwks(text, strlen(text), &set, &e);
    if (rc != TSR_OK) {
        fail_msg("%s: set did not load: %s (%s)", name, tsr_err_name(rc), e.detail);
    }
    assert_true(tsr_keyset_count(set) >= 1);
    for (size_t i = 0; i < tsr_keyset_count(set); i++) {
        const tsr_key *k = tsr_keyset_get0_key(set, i);
        const char *kid = tsr_key_get0_kid(k);
        const char *want = kid != NULL ? json_string_value(json_object_get(tps, kid)) : NULL;
        if (want != NULL) {
            expect_thumbprint(k, want, name);
        }
    }
    size_t i;
    const json_t *m;
    json_array_foreach(json_object_get(set_json, "keys"), i, m) {
        char what[96];
        (void)snprintf(what, sizeof what, "%s keys[%zu]", name, i);
        const char *kid = json_string_value(json_object_get(m, "kid"));
        check_one_key(m, kid != NULL ? json_string_value(json_object_get(tps, kid)) : NULL, what);
    }
    tsr_keyset_free(set);
    free(text);
}

static void check_key_file(const json_t *root, const char *name)
{
    assert_string_equal(str_member(root, "expect"), "valid");
    const json_t *key = json_object_get(root, "key");
    const json_t *tps = json_object_get(root, "thumbprints_sha256_b64url");
    const json_t *tp = json_object_get(root, "thumbprint");
    const char *want = json_string_value(json_object_get(tp, "sha256_b64url"));
    json_t *a1 = NULL;
    if (strcmp(name, "rfc7517-A.2.json") == 0) {
        /* The private keys of A.1: same thumbprints (private members are
         * not hashed). */
        a1 = load_rfc("rfc7517-A.1.json");
        tps = json_object_get(a1, "thumbprints_sha256_b64url");
    }
    if (json_object_get(key, "keys") != NULL) {
        check_key_set(key, tps, name);
    } else if (json_object_get(key, "kty") != NULL) {
        check_one_key(key, want, name);
        const json_t *priv = json_object_get(root, "private_key");
        if (priv != NULL) {
            check_one_key(priv, want, name);
        }
    } else {
        /* rfc7520-3: section -> JWK. */
        const char *sec;
        const json_t *jwk;
        json_object_foreach((json_t *)(uintptr_t)key, sec, jwk) {
            char what[64];
            (void)snprintf(what, sizeof what, "%s section %s", name, sec);
            check_one_key(jwk, json_string_value(json_object_get(tps, sec)), what);
        }
    }
    json_decref(a1);
}

/* ------------------------------------------------------------------ driver */

static void test_file(void **state)
{
    const char *name = *state;
    json_t *root = load_rfc(name);
    const json_t *tok = json_object_get(root, "token");
    printf("%s: %s\n", name, str_member(root, "source"));
    if (json_is_null(tok)) {
        check_key_file(root, name);
    } else if (strcmp(str_member(root, "alg"), "none") == 0) {
        check_alg_none_file(root, name);
    } else {
        check_signature_file(root, name);
    }
    json_decref(root);
}

/* The directory holds exactly the files listed here, so a vector added
 * later cannot be silently ignored. */
static void test_file_list_complete(void **state)
{
    (void)state;
    DIR *d = opendir(tst_vector_path("rfc"));
    if (d == NULL) {
        fail_msg("cannot open %s", tst_vector_path("rfc"));
    }
    size_t count = 0;
    const struct dirent *ent;
    while ((ent = readdir(d)) != NULL) {
        size_t len = strlen(ent->d_name);
        if (len < 5 || strcmp(ent->d_name + len - 5, ".json") != 0) {
            continue;
        }
        bool listed = false;
        for (size_t i = 0; i < sizeof rfc_files / sizeof rfc_files[0]; i++) {
            listed = listed || strcmp(ent->d_name, rfc_files[i]) == 0;
        }
        if (!listed) {
            fail_msg("rfc/%s is not in this test's file list", ent->d_name);
        }
        count++;
    }
    closedir(d);
    assert_int_equal(count, sizeof rfc_files / sizeof rfc_files[0]);
}

int main(void)
{
    struct CMUnitTest tests[sizeof rfc_files / sizeof rfc_files[0] + 1];
    size_t n = 0;
    for (size_t i = 0; i < sizeof rfc_files / sizeof rfc_files[0]; i++) {
        tests[n++] = (struct CMUnitTest){rfc_files[i], test_file, NULL, NULL,
                                         (void *)(uintptr_t)rfc_files[i]};
    }
    tests[n++] = (struct CMUnitTest){"file_list_complete", test_file_list_complete, NULL, NULL,
                                     NULL};
    return _cmocka_run_group_tests("rfc_vectors", tests, n, NULL, NULL);
}
