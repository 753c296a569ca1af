/*
 * test_alloc_error_alg.c: the three small foundation modules: algorithm
 * names (lib/alg.c), error names and messages (lib/error.c), and the
 * allocation hook with its fault injection (lib/alloc.c).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

/* The test programs link libtessera_testing, built with the hook; this
 * makes its declarations visible here. */
#define TSR_FAULT_INJECTION 1
#include "internal.h"

/* ---------------------------------------------------------------- alg */

static tsr_err from(const char *name, tsr_alg *out)
{
    *out = (tsr_alg)99;
    return tsr_alg_from_name(name, strlen(name), out);
}

static void test_alg_none_in_every_spelling(void **state)
{
    (void)state;
    static const char *spellings[] = {"none", "NONE", "nOnE", "None", "NoNe", "nonE"};
    for (size_t i = 0; i < sizeof spellings / sizeof spellings[0]; i++) {
        tsr_alg a;
        assert_int_equal(from(spellings[i], &a), TSR_ERR_ALG_NOT_ALLOWED);
        assert_int_equal(a, TSR_ALG_UNSPECIFIED);
    }
    /* The length decides, not a NUL: "none" followed by more bytes. */
    tsr_alg a;
    assert_int_equal(tsr_alg_from_name("nonesuch", 4, &a), TSR_ERR_ALG_NOT_ALLOWED);
    assert_int_equal(from("nonesuch", &a), TSR_ERR_UNSUPPORTED);
    assert_int_equal(tsr_alg_from_name("none\0", 5, &a), TSR_ERR_UNSUPPORTED);
}

static void test_alg_unknown_and_wrong_case(void **state)
{
    (void)state;
    static const char *bad[] = {
        "hs256", "Hs256", "es256", "rs256", "ps256", "eddsa", "EDDSA", "ed25519", "ED25519",
        "HS256 ", " HS256", "HS25", "HS2560", "HS1", "RS1", "ES256K", "Ed448", "RSA-OAEP",
        "A128KW", "dir", "", "nonee", "non",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        tsr_alg a;
        if (from(bad[i], &a) != TSR_ERR_UNSUPPORTED) {
            fail_msg("\"%s\" not rejected as unsupported", bad[i]);
        }
        assert_int_equal(a, TSR_ALG_UNSPECIFIED);
    }
}

static void test_alg_invalid_arguments(void **state)
{
    (void)state;
    tsr_alg a = TSR_ALG_HS256;
    assert_int_equal(tsr_alg_from_name(NULL, 5, &a), TSR_ERR_INVALID_ARGUMENT);
    assert_int_equal(a, TSR_ALG_UNSPECIFIED);
    assert_int_equal(tsr_alg_from_name("HS256", 5, NULL), TSR_ERR_INVALID_ARGUMENT);
    assert_null(tsr_alg_name(TSR_ALG_UNSPECIFIED));
    assert_null(tsr_alg_name((tsr_alg)TSR_ALG__COUNT));
    assert_null(tsr_alg_name((tsr_alg)-1));
    assert_null(tsr__alg_get(TSR_ALG_UNSPECIFIED));
    assert_null(tsr__alg_get((tsr_alg)TSR_ALG__COUNT));
}

static void test_alg_every_name_round_trips(void **state)
{
    (void)state;
    static const char *names[TSR_ALG__COUNT] = {
        NULL,    "HS256", "HS384", "HS512", "RS256", "RS384", "RS512",
        "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA",
    };
    for (int i = TSR_ALG_HS256; i < TSR_ALG__COUNT; i++) {
        tsr_alg a;
        assert_string_equal(tsr_alg_name((tsr_alg)i), names[i]);
        assert_int_equal(from(names[i], &a), TSR_OK);
        assert_int_equal(a, i);
        assert_non_null(tsr__alg_get((tsr_alg)i));
    }
    /* RFC 9864's fully specified name is an alias; the name stays "EdDSA". */
    tsr_alg a;
    assert_int_equal(from("Ed25519", &a), TSR_OK);
    assert_int_equal(a, TSR_ALG_EDDSA);
    assert_string_equal(tsr_alg_name(a), "EdDSA");
    /* A name inside a longer buffer: the length decides. */
    assert_int_equal(tsr_alg_from_name("ES384,ES512", 5, &a), TSR_OK);
    assert_int_equal(a, TSR_ALG_ES384);
}

static void test_alg_properties(void **state)
{
    (void)state;
    static const struct {
        tsr_alg alg;
        tsr__family fam;
        tsr__hash hash;
        size_t hash_len;
        tsr__curve crv;
        size_t sig_len;
    } want[] = {
        {TSR_ALG_HS256, TSR__FAM_HMAC, TSR__HASH_SHA256, 32, TSR__CRV_NONE, 32},
        {TSR_ALG_HS384, TSR__FAM_HMAC, TSR__HASH_SHA384, 48, TSR__CRV_NONE, 48},
        {TSR_ALG_HS512, TSR__FAM_HMAC, TSR__HASH_SHA512, 64, TSR__CRV_NONE, 64},
        {TSR_ALG_RS256, TSR__FAM_RSA_PKCS1, TSR__HASH_SHA256, 32, TSR__CRV_NONE, 0},
        {TSR_ALG_RS384, TSR__FAM_RSA_PKCS1, TSR__HASH_SHA384, 48, TSR__CRV_NONE, 0},
        {TSR_ALG_RS512, TSR__FAM_RSA_PKCS1, TSR__HASH_SHA512, 64, TSR__CRV_NONE, 0},
        {TSR_ALG_PS256, TSR__FAM_RSA_PSS, TSR__HASH_SHA256, 32, TSR__CRV_NONE, 0},
        {TSR_ALG_PS384, TSR__FAM_RSA_PSS, TSR__HASH_SHA384, 48, TSR__CRV_NONE, 0},
        {TSR_ALG_PS512, TSR__FAM_RSA_PSS, TSR__HASH_SHA512, 64, TSR__CRV_NONE, 0},
        {TSR_ALG_ES256, TSR__FAM_ECDSA, TSR__HASH_SHA256, 32, TSR__CRV_P256, 64},
        {TSR_ALG_ES384, TSR__FAM_ECDSA, TSR__HASH_SHA384, 48, TSR__CRV_P384, 96},
        {TSR_ALG_ES512, TSR__FAM_ECDSA, TSR__HASH_SHA512, 64, TSR__CRV_P521, 132},
        {TSR_ALG_EDDSA, TSR__FAM_EDDSA, TSR__HASH_NONE, 0, TSR__CRV_ED25519, 64},
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        const tsr__alg_info *info = tsr__alg_get(want[i].alg);
        assert_non_null(info);
        assert_int_equal(info->family, want[i].fam);
        assert_int_equal(info->hash, want[i].hash);
        assert_int_equal(info->hash_len, want[i].hash_len);
        assert_int_equal(info->curve, want[i].crv);
        assert_int_equal(info->sig_len, want[i].sig_len);
    }
    assert_int_equal(tsr__curve_field_len(TSR__CRV_P256), 32);
    assert_int_equal(tsr__curve_field_len(TSR__CRV_P384), 48);
    assert_int_equal(tsr__curve_field_len(TSR__CRV_P521), 66);
    assert_int_equal(tsr__curve_field_len(TSR__CRV_ED25519), 32);
    assert_int_equal(tsr__curve_field_len(TSR__CRV_NONE), 0);
    /* Allowlist bits are distinct. */
    for (int i = 0; i < TSR_ALG__COUNT; i++) {
        for (int j = i + 1; j < TSR_ALG__COUNT; j++) {
            assert_int_equal(TSR_ALG_BIT(i) & TSR_ALG_BIT(j), 0);
        }
    }
}

/* ---------------------------------------------------------------- errors */

static void test_error_unknown_codes(void **state)
{
    (void)state;
    assert_string_equal(tsr_err_name((tsr_err)TSR_ERR__COUNT), "unknown");
    assert_string_equal(tsr_err_name((tsr_err)-1), "unknown");
    assert_string_equal(tsr_strerror((tsr_err)TSR_ERR__COUNT), "unknown error");
    assert_string_equal(tsr_strerror((tsr_err)1000), "unknown error");
}

static void test_error_every_code_named(void **state)
{
    (void)state;
    for (int i = 0; i < TSR_ERR__COUNT; i++) {
        const char *name = tsr_err_name((tsr_err)i);
        const char *msg = tsr_strerror((tsr_err)i);
        assert_non_null(name);
        assert_non_null(msg);
        if (strcmp(name, "unknown") == 0 || strcmp(msg, "unknown error") == 0) {
            fail_msg("code %d has no name or message", i);
        }
        /* Stable machine names: lower-case snake case, as the CLI prints them. */
        assert_true(name[0] != '\0');
        assert_int_equal(strspn(name, "abcdefghijklmnopqrstuvwxyz_"), strlen(name));
        assert_true(strlen(msg) > 2);
        assert_null(strchr(msg, '\n'));
        for (int j = 0; j < i; j++) {
            if (strcmp(name, tsr_err_name((tsr_err)j)) == 0) {
                fail_msg("codes %d and %d share the name %s", j, i, name);
            }
            if (strcmp(msg, tsr_strerror((tsr_err)j)) == 0) {
                fail_msg("codes %d and %d share a message", j, i);
            }
        }
    }
    /* The names the CLI and service contract spells out. */
    assert_string_equal(tsr_err_name(TSR_OK), "ok");
    assert_string_equal(tsr_err_name(TSR_ERR_ALG_NOT_ALLOWED), "alg_not_allowed");
    assert_string_equal(tsr_err_name(TSR_ERR_BAD_SIGNATURE), "bad_signature");
    assert_string_equal(tsr_err_name(TSR_ERR_KEY_NOT_FOUND), "key_not_found");
}

static void test_error_fail_and_ok(void **state)
{
    (void)state;
    tsr_error err;
    assert_int_equal(tsr__fail(NULL, TSR_ERR_EXPIRED, "x"), TSR_ERR_EXPIRED);
    assert_int_equal(tsr__fail(&err, TSR_ERR_EXPIRED, "claim '%s' at %d", "exp", 7),
                     TSR_ERR_EXPIRED);
    assert_int_equal(err.code, TSR_ERR_EXPIRED);
    assert_string_equal(err.message, tsr_strerror(TSR_ERR_EXPIRED));
    assert_string_equal(err.detail, "claim 'exp' at 7");
    /* A long detail is truncated and terminated, never overflowing. */
    char big[300];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    assert_int_equal(tsr__fail(&err, TSR_ERR_MALFORMED, "%s", big), TSR_ERR_MALFORMED);
    assert_int_equal(strlen(err.detail), TSR_ERROR_DETAIL_MAX - 1);
    assert_int_equal(tsr__fail(&err, TSR_ERR_IO, NULL), TSR_ERR_IO);
    assert_string_equal(err.detail, "");
    tsr__ok(&err);
    assert_int_equal(err.code, TSR_OK);
    assert_string_equal(err.message, tsr_strerror(TSR_OK));
    assert_string_equal(err.detail, "");
    tsr__ok(NULL);
}

static void test_version(void **state)
{
    (void)state;
    const char *v = tsr_version();
    assert_non_null(v);
    unsigned a, b, c;
    char tail;
    assert_int_equal(sscanf(v, "%u.%u.%u%c", &a, &b, &c, &tail), 3);
}

/* ---------------------------------------------------------------- alloc */

static void test_alloc_fault_injection(void **state)
{
    (void)state;
    /* Fail immediately: every allocator reports failure. */
    tsr_test_fail_alloc_after(0);
    assert_null(tsr__malloc(16));
    assert_null(tsr__calloc(2, 8));
    assert_null(tsr__strndup("abc", 3));
    void *keep = malloc(8);
    assert_non_null(keep);
    assert_null(tsr__realloc(NULL, 8));
    free(keep);
    assert_int_equal(tsr_test_alloc_count(), 4);

    /* Two succeed, then every later one fails. */
    tsr_test_fail_alloc_after(2);
    void *a = tsr__malloc(8);
    void *b = tsr__calloc(1, 8);
    void *c = tsr__malloc(8);
    assert_non_null(a);
    assert_non_null(b);
    assert_null(c);
    assert_null(tsr__malloc(8));
    assert_int_equal(tsr_test_alloc_count(), 4);
    tsr__free(a);
    tsr__free(b);

    /* A failed realloc leaves the old block alone. */
    tsr_test_fail_alloc_after(1);
    char *p = tsr__malloc(4);
    assert_non_null(p);
    memcpy(p, "abc", 4);
    assert_null(tsr__realloc(p, 64));
    assert_string_equal(p, "abc");
    tsr__free(p);

    /* -1: never fail; the count still runs. */
    tsr_test_fail_alloc_after(-1);
    for (int i = 0; i < 100; i++) {
        void *q = tsr__malloc((size_t)i);
        assert_non_null(q);
        tsr__free(q);
    }
    assert_int_equal(tsr_test_alloc_count(), 100);
}

static void test_alloc_helpers(void **state)
{
    (void)state;
    tsr_test_fail_alloc_after(-1);
    /* Zero-size requests still give a freeable, non-NULL pointer. */
    void *z = tsr__malloc(0);
    assert_non_null(z);
    tsr__free(z);
    z = tsr__calloc(0, 0);
    assert_non_null(z);
    tsr__free(z);
    unsigned char *cz = tsr__calloc(4, 4);
    for (int i = 0; i < 16; i++) {
        assert_int_equal(cz[i], 0);
    }
    tsr__free(cz);
    /* strndup copies exactly n bytes and terminates. */
    char *s = tsr__strndup("abcdef", 3);
    assert_string_equal(s, "abc");
    tsr__free(s);
    s = tsr__strndup("a\0b", 3);
    assert_memory_equal(s, "a\0b\0", 4);
    tsr__free(s);
    /* Wipe really zeroes. */
    unsigned char secret[32];
    memset(secret, 0xA5, sizeof secret);
    tsr__wipe(secret, sizeof secret);
    for (size_t i = 0; i < sizeof secret; i++) {
        assert_int_equal(secret[i], 0);
    }
    tsr__wipe(NULL, 10);
    char *sec = tsr__malloc(32);
    memset(sec, 0x5A, 32);
    tsr__free_secret(sec, 32);
    tsr__free_secret(NULL, 0);
    /* The public frees accept NULL. */
    tsr_free(NULL);
    tsr_free_secret(NULL, 0);
    tsr_free(tsr__malloc(3));
    tsr_free_secret(tsr__malloc(3), 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_alg_none_in_every_spelling),
        cmocka_unit_test(test_alg_unknown_and_wrong_case),
        cmocka_unit_test(test_alg_invalid_arguments),
        cmocka_unit_test(test_alg_every_name_round_trips),
        cmocka_unit_test(test_alg_properties),
        cmocka_unit_test(test_error_unknown_codes),
        cmocka_unit_test(test_error_every_code_named),
        cmocka_unit_test(test_error_fail_and_ok),
        cmocka_unit_test(test_version),
        cmocka_unit_test(test_alloc_fault_injection),
        cmocka_unit_test(test_alloc_helpers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
