/*
 * test_wycheproof_primitives.c: every test of every Wycheproof primitive
 * file the JOSE algorithms use (ECDSA P1363, RSA PKCS#1 v1.5, RSA-PSS,
 * Ed25519, HMAC), run through the crypto layer (tsr__crypto_verify) with
 * keys loaded through the JWK parser, per the vectors README section 4.
 *
 * Expected outcomes: "valid" must verify, "invalid" must be rejected,
 * "acceptable" may go either way (it must only not crash; ASan/UBSan builds
 * check that). Where tessera's JOSE rules are stricter than the primitive,
 * the rule is applied and counted, never skipped silently:
 *  - HMAC: JOSE never truncates tags, so the groups with tagSize < hash
 *    size must be REJECTED by HS* (the length check); groups whose key is
 *    shorter than the hash (RFC 7518 3.2) must be refused at key load with
 *    TSR_ERR_KEY_WEAK, and are counted as refused keys.
 *  - rsa_pss_misc: only groups with sha == mgfSha and sLen == hash length
 *    of SHA-256/384/512 run as PS256/384/512 with their labels; every test
 *    of every other group must be REJECTED by PS* verification.
 *  - A group key that fails to load is allowed only if every test of the
 *    group is "invalid" (none occurs in the current files).
 * Deviation list: none. libsodium's Ed25519 verification agrees with every
 * ed25519_test.json label (checked below), so no OpenSSL fallback is needed.
 * Output: per-file counts. Any mismatch prints file, tcId, comment, flags
 * and fails the test.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "internal.h"
#include "support.h"

#define DIR "wycheproof/testvectors_v1/"

typedef struct counts {
    unsigned valid;       /* valid and verified */
    unsigned invalid;     /* invalid and rejected */
    unsigned acceptable;  /* acceptable, either outcome */
    unsigned jose_reject; /* rejected by a JOSE rule stricter than the primitive */
    unsigned weak_keys;   /* tests of groups whose key was refused as weak */
    unsigned mismatches;
} counts;

/* ------------------------------------------------------------ helpers */

static unsigned char *hex_field(const json_t *o, const char *name, size_t *len)
{
    const char *s = json_string_value(json_object_get(o, name));
    if (s == NULL) {
        fail_msg("missing hex field %s", name);
    }
    unsigned char *b = tst_hex_decode(s, len);
    if (b == NULL) {
        fail_msg("bad hex in %s", name);
    }
    return b;
}

/* Appends "name":"b64url(b)" to a JSON text being built in out. */
static void add_b64(char *out, size_t cap, const char *name, const unsigned char *b, size_t n)
{
    char enc[2048];
    assert_int_equal(tsr_b64url_encode(b, n, enc, sizeof enc, NULL), TSR_OK);
    size_t used = strlen(out);
    int w = snprintf(out + used, cap - used, "%s\"%s\":\"%s\"", used > 1 ? "," : "", name, enc);
    assert_true(w > 0 && (size_t)w < cap - used);
}

/* Strips leading zero octets (Wycheproof integers carry a sign byte). */
static void strip_zeros(const unsigned char **b, size_t *n)
{
    while (*n > 1 && (*b)[0] == 0) {
        (*b)++;
        (*n)--;
    }
}

static tsr_key *load_jwk_obj(const json_t *jwk, tsr_err *rc)
{
    char *s = json_dumps(jwk, JSON_COMPACT);
    assert_non_null(s);
    tsr_key *k = NULL;
    *rc = tsr_key_load_jwk(s, strlen(s), &k, NULL);
    free(s);
    return k;
}

static tsr_key *load_jwk_text(const char *s, tsr_err *rc)
{
    tsr_key *k = NULL;
    *rc = tsr_key_load_jwk(s, strlen(s), &k, NULL);
    return k;
}

/* Verifies like the verifier does: usability first, then the signature.
 * Every seventh call runs without a scratch to cover that path too. */
static bool verify(const tsr_key *key, tsr_alg alg, const json_t *t, tsr__scratch *s)
{
    static unsigned calls;
    size_t mlen, slen;
    unsigned char *msg = hex_field(t, "msg", &mlen);
    unsigned char *sig = hex_field(t, "sig", &slen);
    bool ok = false;
    if (tsr_key_usable(key, alg, TSR_OP_VERIFY)) {
        tsr_err rc = tsr__crypto_verify(key, alg, msg, mlen, sig, slen,
                                        (++calls % 7 == 0) ? NULL : s);
        assert_true(rc == TSR_OK || rc == TSR_ERR_BAD_SIGNATURE);
        ok = rc == TSR_OK;
    }
    free(msg);
    free(sig);
    return ok;
}

static void report_mismatch(const char *file, const json_t *t, bool accepted, counts *c)
{
    char *flags = json_dumps(json_object_get(t, "flags"), JSON_COMPACT);
    printf("MISMATCH %s tcId %lld (%s): expected %s, got %s; comment '%s' flags %s\n", file,
           (long long)json_integer_value(json_object_get(t, "tcId")),
           json_string_value(json_object_get(t, "result")),
           json_string_value(json_object_get(t, "result")), accepted ? "accepted" : "rejected",
           json_string_value(json_object_get(t, "comment")), flags ? flags : "?");
    free(flags);
    c->mismatches++;
}

/* Records the outcome of one labelled test. */
static void judge(const char *file, const json_t *t, bool accepted, counts *c)
{
    const char *result = json_string_value(json_object_get(t, "result"));
    assert_non_null(result);
    if (strcmp(result, "acceptable") == 0) {
        c->acceptable++;
    } else if (strcmp(result, "valid") == 0 && accepted) {
        c->valid++;
    } else if (strcmp(result, "invalid") == 0 && !accepted) {
        c->invalid++;
    } else {
        report_mismatch(file, t, accepted, c);
    }
}

/* A group whose key did not load: every test must be "invalid". */
static void judge_unloadable(const char *file, const json_t *tests, counts *c)
{
    size_t i;
    const json_t *t;
    json_array_foreach(tests, i, t) {
        judge(file, t, false, c);
    }
}

static void print_counts(const char *file, const json_t *root, const counts *c)
{
    unsigned total = c->valid + c->invalid + c->acceptable + c->jose_reject + c->weak_keys +
                     c->mismatches;
    printf("%-44s tests %u/%lld: valid %u, invalid %u, acceptable %u, jose-rejected %u, "
           "weak-key %u, MISMATCH %u\n",
           file, total, (long long)json_integer_value(json_object_get(root, "numberOfTests")),
           c->valid, c->invalid, c->acceptable, c->jose_reject, c->weak_keys, c->mismatches);
    /* Every test of the file was looked at: nothing skipped. */
    assert_int_equal(total, json_integer_value(json_object_get(root, "numberOfTests")));
    assert_int_equal(c->mismatches, 0);
}

static json_t *load_file(const char *file, const char *schema)
{
    char rel[256];
    snprintf(rel, sizeof rel, DIR "%s", file);
    json_t *root = tst_load_vector_json(rel);
    assert_string_equal(json_string_value(json_object_get(root, "schema")), schema);
    return root;
}

static tsr_alg alg_for_sha(const char *prefix, const char *sha)
{
    char name[8];
    const char *bits = strcmp(sha, "SHA-256") == 0   ? "256"
                       : strcmp(sha, "SHA-384") == 0 ? "384"
                       : strcmp(sha, "SHA-512") == 0 ? "512"
                                                     : NULL;
    if (bits == NULL) {
        return TSR_ALG_UNSPECIFIED;
    }
    snprintf(name, sizeof name, "%s%s", prefix, bits);
    tsr_alg a = TSR_ALG_UNSPECIFIED;
    assert_int_equal(tsr_alg_from_name(name, strlen(name), &a), TSR_OK);
    return a;
}

/* ------------------------------------------------------------ ECDSA */

/* The group's JWK, or one built from wx/wy (9 groups per file lack it). */
static tsr_key *ecdsa_key(const json_t *g, size_t fl, const char *crv, tsr_err *rc)
{
    const json_t *jwk = json_object_get(g, "publicKeyJwk");
    if (jwk != NULL) {
        return load_jwk_obj(jwk, rc);
    }
    const json_t *pk = json_object_get(g, "publicKey");
    size_t xl, yl;
    unsigned char *x = hex_field(pk, "wx", &xl);
    unsigned char *y = hex_field(pk, "wy", &yl);
    const unsigned char *xp = x, *yp = y;
    strip_zeros(&xp, &xl);
    strip_zeros(&yp, &yl);
    unsigned char xb[66] = {0}, yb[66] = {0};
    tsr_key *k = NULL;
    *rc = TSR_ERR_KEY_INVALID;
    if (xl <= fl && yl <= fl) {
        memcpy(xb + fl - xl, xp, xl);
        memcpy(yb + fl - yl, yp, yl);
        char json[1024];
        snprintf(json, sizeof json, "{\"kty\":\"EC\",\"crv\":\"%s\"", crv);
        add_b64(json, sizeof json, "x", xb, fl);
        add_b64(json, sizeof json, "y", yb, fl);
        strncat(json, "}", sizeof json - strlen(json) - 1);
        k = load_jwk_text(json, rc);
    }
    free(x);
    free(y);
    return k;
}

static void run_ecdsa_file(const char *file, tsr_alg alg, size_t fl, const char *crv)
{
    json_t *root = load_file(file, "ecdsa_p1363_verify_schema_v1.json");
    counts c = {0};
    tsr__scratch *s = NULL;
    assert_int_equal(tsr__scratch_new(&s), TSR_OK);
    size_t gi;
    const json_t *g;
    json_array_foreach(json_object_get(root, "testGroups"), gi, g) {
        tsr_err rc;
        tsr_key *k = ecdsa_key(g, fl, crv, &rc);
        const json_t *tests = json_object_get(g, "tests");
        if (k == NULL) {
            printf("%s group %zu: key refused (%s)\n", file, gi, tsr_err_name(rc));
            judge_unloadable(file, tests, &c);
            continue;
        }
        size_t i;
        const json_t *t;
        json_array_foreach(tests, i, t) {
            judge(file, t, verify(k, alg, t, s), &c);
        }
        tsr_key_free(k);
    }
    tsr__scratch_free(s);
    print_counts(file, root, &c);
    json_decref(root);
}

static void test_ecdsa(void **state)
{
    (void)state;
    run_ecdsa_file("ecdsa_secp256r1_sha256_p1363_test.json", TSR_ALG_ES256, 32, "P-256");
    run_ecdsa_file("ecdsa_secp384r1_sha384_p1363_test.json", TSR_ALG_ES384, 48, "P-384");
    run_ecdsa_file("ecdsa_secp521r1_sha512_p1363_test.json", TSR_ALG_ES512, 66, "P-521");
}

/* ------------------------------------------------------------ RSA */

static void run_rsa_file(const char *file, const char *schema, const char *jwk_member,
                         const char *prefix)
{
    json_t *root = load_file(file, schema);
    counts c = {0};
    tsr__scratch *s = NULL;
    assert_int_equal(tsr__scratch_new(&s), TSR_OK);
    size_t gi;
    const json_t *g;
    json_array_foreach(json_object_get(root, "testGroups"), gi, g) {
        tsr_alg alg = alg_for_sha(prefix, json_string_value(json_object_get(g, "sha")));
        assert_int_not_equal(alg, TSR_ALG_UNSPECIFIED);
        tsr_err rc;
        tsr_key *k = load_jwk_obj(json_object_get(g, jwk_member), &rc);
        const json_t *tests = json_object_get(g, "tests");
        if (k == NULL) {
            printf("%s group %zu: key refused (%s)\n", file, gi, tsr_err_name(rc));
            judge_unloadable(file, tests, &c);
            continue;
        }
        size_t i;
        const json_t *t;
        json_array_foreach(tests, i, t) {
            judge(file, t, verify(k, alg, t, s), &c);
        }
        tsr_key_free(k);
    }
    tsr__scratch_free(s);
    print_counts(file, root, &c);
    json_decref(root);
}

static void test_rsa_pkcs1(void **state)
{
    (void)state;
    static const char *const files[] = {
        "rsa_signature_2048_sha256_test.json", "rsa_signature_2048_sha384_test.json",
        "rsa_signature_2048_sha512_test.json", "rsa_signature_3072_sha256_test.json",
        "rsa_signature_3072_sha384_test.json", "rsa_signature_3072_sha512_test.json",
        "rsa_signature_4096_sha256_test.json", "rsa_signature_4096_sha384_test.json",
        "rsa_signature_4096_sha512_test.json",
    };
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        run_rsa_file(files[i], "rsassa_pkcs1_verify_schema_v1.json", "keyJwk", "RS");
    }
}

static void test_rsa_pss(void **state)
{
    (void)state;
    static const char *const files[] = {
        "rsa_pss_2048_sha256_mgf1_32_test.json", "rsa_pss_2048_sha384_mgf1_48_test.json",
        "rsa_pss_3072_sha256_mgf1_32_test.json", "rsa_pss_4096_sha256_mgf1_32_test.json",
        "rsa_pss_4096_sha384_mgf1_48_test.json", "rsa_pss_4096_sha512_mgf1_64_test.json",
    };
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        run_rsa_file(files[i], "rsassa_pss_verify_schema_v1.json", "publicKeyJwk", "PS");
    }
}

/* rsa_pss_misc has no JWK: built from the modulus and exponent. */
static tsr_key *rsa_key_from_hex(const json_t *g)
{
    const json_t *pk = json_object_get(g, "publicKey");
    size_t nl, el;
    unsigned char *n = hex_field(pk, "modulus", &nl);
    unsigned char *e = hex_field(pk, "publicExponent", &el);
    const unsigned char *np = n, *ep = e;
    strip_zeros(&np, &nl);
    strip_zeros(&ep, &el);
    char json[4096] = "{\"kty\":\"RSA\"";
    add_b64(json, sizeof json, "n", np, nl);
    add_b64(json, sizeof json, "e", ep, el);
    strncat(json, "}", sizeof json - strlen(json) - 1);
    tsr_err rc;
    tsr_key *k = load_jwk_text(json, &rc);
    assert_int_equal(rc, TSR_OK);
    free(n);
    free(e);
    return k;
}

static void test_rsa_pss_misc(void **state)
{
    (void)state;
    const char *file = "rsa_pss_misc_test.json";
    json_t *root = load_file(file, "rsassa_pss_verify_schema_v1.json");
    counts c = {0};
    unsigned jose_groups = 0;
    size_t gi;
    const json_t *g;
    json_array_foreach(json_object_get(root, "testGroups"), gi, g) {
        const char *sha = json_string_value(json_object_get(g, "sha"));
        const char *mgf_sha = json_string_value(json_object_get(g, "mgfSha"));
        tsr_alg alg = alg_for_sha("PS", sha);
        const tsr__alg_info *ai = tsr__alg_get(alg);
        long long slen = json_integer_value(json_object_get(g, "sLen"));
        bool jose = ai != NULL && strcmp(sha, mgf_sha) == 0 && (size_t)slen == ai->hash_len;
        if (alg == TSR_ALG_UNSPECIFIED) {
            alg = alg_for_sha("PS", mgf_sha); /* the closest PS* for SHA-1/224 */
        }
        if (alg == TSR_ALG_UNSPECIFIED) {
            alg = TSR_ALG_PS256;
        }
        tsr_key *k = rsa_key_from_hex(g);
        jose_groups += jose;
        size_t i;
        const json_t *t;
        json_array_foreach(json_object_get(g, "tests"), i, t) {
            bool accepted = verify(k, alg, t, NULL);
            if (jose) {
                judge(file, t, accepted, &c);
            } else if (!accepted) {
                c.jose_reject++;
            } else {
                report_mismatch(file, t, true, &c);
            }
        }
        tsr_key_free(k);
    }
    printf("%s: %u groups with JOSE parameters run as PS*\n", file, jose_groups);
    assert_int_equal(jose_groups, 3);
    print_counts(file, root, &c);
    json_decref(root);
}

/* ------------------------------------------------------------ Ed25519 */

static void test_ed25519(void **state)
{
    (void)state;
    const char *file = "ed25519_test.json";
    json_t *root = load_file(file, "eddsa_verify_schema_v1.json");
    counts c = {0};
    size_t gi;
    const json_t *g;
    json_array_foreach(json_object_get(root, "testGroups"), gi, g) {
        tsr_err rc;
        tsr_key *k = load_jwk_obj(json_object_get(g, "publicKeyJwk"), &rc);
        const json_t *tests = json_object_get(g, "tests");
        if (k == NULL) {
            printf("%s group %zu: key refused (%s)\n", file, gi, tsr_err_name(rc));
            judge_unloadable(file, tests, &c);
            continue;
        }
        size_t i;
        const json_t *t;
        json_array_foreach(tests, i, t) {
            judge(file, t, verify(k, TSR_ALG_EDDSA, t, NULL), &c);
        }
        tsr_key_free(k);
    }
    print_counts(file, root, &c);
    json_decref(root);
}

/* ------------------------------------------------------------ HMAC */

static bool verify_mac(const tsr_key *k, tsr_alg alg, const json_t *t, tsr__scratch *s)
{
    size_t mlen, tlen;
    unsigned char *msg = hex_field(t, "msg", &mlen);
    unsigned char *tag = hex_field(t, "tag", &tlen);
    bool ok = false;
    if (tsr_key_usable(k, alg, TSR_OP_VERIFY)) {
        tsr_err rc = tsr__crypto_verify(k, alg, msg, mlen, tag, tlen, s);
        assert_true(rc == TSR_OK || rc == TSR_ERR_BAD_SIGNATURE);
        ok = rc == TSR_OK;
    }
    free(msg);
    free(tag);
    return ok;
}

/* The test's key as an oct JWK bound to alg. */
static tsr_key *mac_key(const json_t *t, tsr_alg alg, tsr_err *rc)
{
    size_t kl;
    unsigned char *kb = hex_field(t, "key", &kl);
    char json[1024] = "{\"kty\":\"oct\",\"alg\":\"";
    strncat(json, tsr_alg_name(alg), sizeof json - strlen(json) - 1);
    strncat(json, "\"", sizeof json - strlen(json) - 1);
    add_b64(json, sizeof json, "k", kb, kl);
    strncat(json, "}", sizeof json - strlen(json) - 1);
    free(kb);
    return load_jwk_text(json, rc);
}

static void run_hmac_file(const char *file, tsr_alg alg)
{
    json_t *root = load_file(file, "mac_test_schema_v1.json");
    const tsr__alg_info *ai = tsr__alg_get(alg);
    counts c = {0};
    tsr__scratch *s = NULL;
    assert_int_equal(tsr__scratch_new(&s), TSR_OK);
    size_t gi;
    const json_t *g;
    json_array_foreach(json_object_get(root, "testGroups"), gi, g) {
        size_t key_bits = (size_t)json_integer_value(json_object_get(g, "keySize"));
        size_t tag_bits = (size_t)json_integer_value(json_object_get(g, "tagSize"));
        bool weak = key_bits < 8 * ai->hash_len;
        bool truncated = tag_bits != 8 * ai->hash_len;
        size_t i;
        const json_t *t;
        json_array_foreach(json_object_get(g, "tests"), i, t) {
            tsr_err rc;
            tsr_key *k = mac_key(t, alg, &rc);
            if (weak) {
                /* RFC 7518 3.2: the key must be refused before any MAC. */
                assert_int_equal(rc, TSR_ERR_KEY_WEAK);
                c.weak_keys++;
                continue;
            }
            assert_int_equal(rc, TSR_OK);
            bool accepted = verify_mac(k, alg, t, (i % 5 == 0) ? NULL : s);
            if (!truncated) {
                judge(file, t, accepted, &c);
            } else if (!accepted) {
                c.jose_reject++; /* truncated tags never verify as HS* */
            } else {
                report_mismatch(file, t, true, &c);
            }
            tsr_key_free(k);
        }
    }
    tsr__scratch_free(s);
    print_counts(file, root, &c);
    json_decref(root);
}

static void test_hmac(void **state)
{
    (void)state;
    run_hmac_file("hmac_sha256_test.json", TSR_ALG_HS256);
    run_hmac_file("hmac_sha384_test.json", TSR_ALG_HS384);
    run_hmac_file("hmac_sha512_test.json", TSR_ALG_HS512);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ecdsa),    cmocka_unit_test(test_rsa_pkcs1),
        cmocka_unit_test(test_rsa_pss),  cmocka_unit_test(test_rsa_pss_misc),
        cmocka_unit_test(test_ed25519),  cmocka_unit_test(test_hmac),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
