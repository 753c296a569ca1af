/*
 * test_json_load.c: strict JSON through jansson (lib/json_load.c), the path
 * for keys, key sets and the claims builder. The same rules as the strict
 * reader: no BOM, no duplicates, depth 32, "\u0000" kept, nothing trailing,
 * plus the caller's size cap.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "internal.h"

#define MAX_LEN 65536

/* Loads a NUL-terminated document; checks the failure contract (NULL out,
 * error code and message filled) and returns the code. */
static tsr_err load(const char *s, json_t **out)
{
    tsr_error err;
    memset(&err, 0x5A, sizeof err);
    *out = (json_t *)(uintptr_t)1; /* must be overwritten */
    tsr_err rc = tsr__json_load(s, strlen(s), MAX_LEN, out, &err);
    if (rc != TSR_OK) {
        assert_null(*out);
        assert_int_equal(err.code, rc);
        assert_non_null(err.message);
        assert_string_equal(err.message, tsr_strerror(rc));
        assert_true(memchr(err.detail, '\0', sizeof err.detail) != NULL);
    } else {
        assert_non_null(*out);
    }
    return rc;
}

static void expect(const char *s, tsr_err want)
{
    json_t *j;
    tsr_err rc = load(s, &j);
    if (rc != want) {
        fail_msg("got %s, want %s for: %s", tsr_err_name(rc), tsr_err_name(want), s);
    }
    json_decref(j);
}

/* Builds depth levels of [ ... ] around "1" into a static buffer. */
static const char *nested(size_t depth)
{
    static char buf[256];
    assert_true(2 * depth + 2 <= sizeof buf);
    memset(buf, '[', depth);
    buf[depth] = '1';
    memset(buf + depth + 1, ']', depth);
    buf[2 * depth + 1] = '\0';
    return buf;
}

/* ---------------------------------------------------------------- rejections */

static void test_rejects_invalid_arguments(void **state)
{
    (void)state;
    json_t *j = NULL;
    tsr_error err;
    assert_int_equal(tsr__json_load("{}", 2, MAX_LEN, NULL, &err), TSR_ERR_INVALID_ARGUMENT);
    assert_int_equal(err.code, TSR_ERR_INVALID_ARGUMENT);
    assert_int_equal(tsr__json_load(NULL, 2, MAX_LEN, &j, NULL), TSR_ERR_INVALID_ARGUMENT);
    assert_null(j);
}

static void test_rejects_over_size_cap(void **state)
{
    (void)state;
    static const char s[] = "{\"a\":\"bcdef\"}"; /* 13 bytes */
    json_t *j = (json_t *)(uintptr_t)1;
    tsr_error err;
    assert_int_equal(tsr__json_load(s, 13, 12, &j, &err), TSR_ERR_TOO_LARGE);
    assert_null(j);
    assert_int_equal(err.code, TSR_ERR_TOO_LARGE);
    assert_int_equal(tsr__json_load(s, 13, 0, &j, NULL), TSR_ERR_TOO_LARGE);
    /* Exactly at the cap is fine. */
    assert_int_equal(tsr__json_load(s, 13, 13, &j, &err), TSR_OK);
    json_decref(j);
}

static void test_rejects_bom(void **state)
{
    (void)state;
    expect("\xEF\xBB\xBF{}", TSR_ERR_MALFORMED);
    expect("\xEF\xBB\xBF{\"a\":1}", TSR_ERR_MALFORMED);
    expect("\xEF\xBB{}", TSR_ERR_MALFORMED);
}

static void test_rejects_duplicates(void **state)
{
    (void)state;
    expect("{\"a\":1,\"a\":2}", TSR_ERR_MALFORMED);
    expect("{\"a\":1,\"\\u0061\":2}", TSR_ERR_MALFORMED);
    expect("{\"k\":{\"x\":1,\"x\":1}}", TSR_ERR_MALFORMED);
    expect("{\"a\":1,\"A\":2}", TSR_OK);
}

static void test_rejects_too_deep(void **state)
{
    (void)state;
    expect(nested(33), TSR_ERR_TOO_LARGE);
    expect(nested(100), TSR_ERR_TOO_LARGE);
    expect(nested(32), TSR_OK);
    expect(nested(1), TSR_OK);
    /* Objects count the same as arrays. */
    char buf[512];
    size_t n = 0;
    for (int i = 0; i < 33; i++) {
        n += (size_t)snprintf(buf + n, sizeof buf - n, "{\"a\":");
    }
    n += (size_t)snprintf(buf + n, sizeof buf - n, "1");
    for (int i = 0; i < 33; i++) {
        n += (size_t)snprintf(buf + n, sizeof buf - n, "}");
    }
    assert_true(n < sizeof buf);
    expect(buf, TSR_ERR_TOO_LARGE);
    expect(buf + 5, TSR_ERR_MALFORMED); /* 32 opened, 33 closed */
}

static void test_rejects_trailing_data(void **state)
{
    (void)state;
    expect("{} x", TSR_ERR_MALFORMED);
    expect("{}{}", TSR_ERR_MALFORMED);
    expect("[1]]", TSR_ERR_MALFORMED);
    expect("{\"a\":1},", TSR_ERR_MALFORMED);
    json_t *j;
    assert_int_equal(tsr__json_load("{}\0", 3, MAX_LEN, &j, NULL), TSR_ERR_MALFORMED);
    assert_null(j);
    expect("{} \n\t\r", TSR_OK);
}

static void test_rejects_bad_text(void **state)
{
    (void)state;
    static const char *bad[] = {
        "", " ", "{", "{\"a\"}", "{\"a\":01}", "{\"a\":+1}", "{\"a\":.5}", "{'a':1}",
        "{\"a\":\"\\uD800\"}", "{\"a\":\"\\uDC00\\uD800\"}", "{\"a\":\"\xC0\x80\"}",
        "{\"a\":\"\xED\xA0\x80\"}", "{\"a\":\"\xF4\x90\x80\x80\"}", "{\"a\":\"\x01\"}",
        "{\"a\":\"\\x41\"}", "[1,]", "{\"a\":1,}", "[NaN]", "{\"a\":tru}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        expect(bad[i], TSR_ERR_MALFORMED);
    }
}

/* A raw NUL byte is never valid JSON (not whitespace, not allowed raw in
 * strings). jansson silently skips one right after a number or literal, so
 * "[1\0,2]" would load as [1,2]; found by fuzz/fuzz_json (corpus file
 * nul_after_number.json). json_load must reject it like the strict reader. */
static void test_rejects_raw_nul_bytes(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        size_t len;
    } bad[] = {
        {"[1\0,2]", 6}, {"{\"a\":0\0}", 8}, {"[true\0]", 7}, {"[0\0]", 4},
        {"{\"a\":null\0\n}", 12}, {"{\"a\":1}\0", 8}, {"[\"a\0\"]", 6},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        json_t *j = (json_t *)(uintptr_t)1;
        tsr_err rc = tsr__json_load(bad[i].text, bad[i].len, MAX_LEN, &j, NULL);
        if (rc != TSR_ERR_MALFORMED) {
            json_decref(rc == TSR_OK ? j : NULL);
            fail_msg("case %zu: raw NUL byte accepted (%s)", i, tsr_err_name(rc));
        }
        assert_null(j);
    }
}

static void test_error_detail_never_echoes_input(void **state)
{
    (void)state;
    json_t *j;
    tsr_error err;
    static const char s[] = "{\"k\":\"SECRETVALUE\" \"SECRETVALUE\"}";
    assert_int_equal(tsr__json_load(s, strlen(s), MAX_LEN, &j, &err), TSR_ERR_MALFORMED);
    assert_null(strstr(err.detail, "SECRET"));
    static const char d[] = "{\"SECRETNAME\":1,\"SECRETNAME\":2}";
    assert_int_equal(tsr__json_load(d, strlen(d), MAX_LEN, &j, &err), TSR_ERR_MALFORMED);
    assert_null(strstr(err.detail, "SECRET"));
}

/* ---------------------------------------------------------------- acceptance */

static void test_nul_escape_kept(void **state)
{
    (void)state;
    json_t *j;
    assert_int_equal(load("{\"a\":\"x\\u0000y\"}", &j), TSR_OK);
    json_t *a = json_object_get(j, "a");
    assert_non_null(a);
    assert_int_equal(json_string_length(a), 3);
    assert_memory_equal(json_string_value(a), "x\0y", 3);
    json_decref(j);
}

static void test_loads_values(void **state)
{
    (void)state;
    json_t *j;
    assert_int_equal(load(" {\"kty\":\"oct\",\"k\":\"AQAB\",\"n\":[1,2.5,true,null],\"e\":{}} ",
                          &j),
                     TSR_OK);
    assert_string_equal(json_string_value(json_object_get(j, "kty")), "oct");
    assert_int_equal(json_array_size(json_object_get(j, "n")), 4);
    assert_true(json_is_object(json_object_get(j, "e")));
    json_decref(j);
    /* Valid UTF-8 and a surrogate-pair escape. */
    assert_int_equal(load("[\"\xC3\xA9\xF0\x9F\x98\x80\",\"\\ud83d\\ude00\"]", &j), TSR_OK);
    assert_string_equal(json_string_value(json_array_get(j, 1)), "\xF0\x9F\x98\x80");
    json_decref(j);
}

/* json_load reads documents (keys, sets, claims): jansson is called without
 * JSON_DECODE_ANY, so a bare scalar is not a document. This is one of the
 * documented differences from the strict reader, which accepts any value. */
static void test_top_level_scalar_rejected(void **state)
{
    (void)state;
    expect("1", TSR_ERR_MALFORMED);
    expect("\"s\"", TSR_ERR_MALFORMED);
    expect("null", TSR_ERR_MALFORMED);
    expect("[]", TSR_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rejects_invalid_arguments),
        cmocka_unit_test(test_rejects_over_size_cap),
        cmocka_unit_test(test_rejects_bom),
        cmocka_unit_test(test_rejects_duplicates),
        cmocka_unit_test(test_rejects_too_deep),
        cmocka_unit_test(test_rejects_trailing_data),
        cmocka_unit_test(test_rejects_bad_text),
        cmocka_unit_test(test_rejects_raw_nul_bytes),
        cmocka_unit_test(test_error_detail_never_echoes_input),
        cmocka_unit_test(test_nul_escape_kept),
        cmocka_unit_test(test_loads_values),
        cmocka_unit_test(test_top_level_scalar_rejected),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
