/*
 * test_json_reader.c: the strict zero-copy JSON reader (lib/json_reader.c,
 * "JSON reader" in lib/internal.h). Rejections first, one group per rule of
 * the grammar written above the parser; then the token layout, the string
 * accessors, and the exact number conversions.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "internal.h"

#define CAP 256

static tsr__jtok toks[CAP];

/* Parses a NUL-terminated document with the default limits. */
static tsr_err parse(const char *s, tsr__jdoc *doc)
{
    return tsr__json_parse(s, strlen(s), toks, CAP, TSR__JSON_MAX_DEPTH, doc);
}

static void expect(const char *s, tsr_err want)
{
    tsr__jdoc doc;
    tsr_err rc = parse(s, &doc);
    if (rc != want) {
        fail_msg("got %s, want %s for: %s", tsr_err_name(rc), tsr_err_name(want), s);
    }
    if (rc != TSR_OK) {
        assert_null(doc.buf);
        assert_int_equal(doc.ntoks, 0);
    }
}

static void rejects(const char *s)
{
    expect(s, TSR_ERR_MALFORMED);
}

static void accepts(const char *s)
{
    expect(s, TSR_OK);
}

/* Wraps a string body in {"k":"..."} and expects `want`. */
static void string_body(const char *body, tsr_err want)
{
    char doc[128];
    int n = snprintf(doc, sizeof doc, "{\"k\":\"%s\"}", body);
    assert_true(n > 0 && (size_t)n < sizeof doc);
    expect(doc, want);
}

/* ---------------------------------------------------------------- rejections */

static void test_rejects_empty_and_blank(void **state)
{
    (void)state;
    rejects("");
    rejects(" ");
    rejects("\n\t\r ");
}

static void test_rejects_bom(void **state)
{
    (void)state;
    rejects("\xEF\xBB\xBF{}");
    rejects("\xEF\xBB\xBF" "1");
    rejects(" \xEF\xBB\xBF{}");
}

static void test_rejects_trailing_data(void **state)
{
    (void)state;
    rejects("{} x");
    rejects("{}{}");
    rejects("[]]");
    rejects("{}}");
    rejects("1 2");
    rejects("\"a\" \"b\"");
    rejects("{},");
    tsr__jdoc doc;
    /* An embedded NUL after the value is trailing data too. */
    assert_int_equal(tsr__json_parse("{}\0", 3, toks, CAP, 32, &doc), TSR_ERR_MALFORMED);
}

static void test_rejects_bad_whitespace(void **state)
{
    (void)state;
    rejects("\f{}");          /* form feed is not JSON whitespace */
    rejects("{}\v");
    rejects("[1,\xC2\xA0" "2]"); /* no-break space */
    tsr__jdoc doc;
    assert_int_equal(tsr__json_parse("\0{}", 3, toks, CAP, 32, &doc), TSR_ERR_MALFORMED);
}

static void test_rejects_bad_structure(void **state)
{
    (void)state;
    static const char *bad[] = {
        "{", "[", "}", "]", ":", ",", "{]", "[}", "[1}", "{\"a\":1]",
        "{\"a\"}", "{\"a\":}", "{\"a\" 1}", "{\"a\"::1}", "{,}", "{,\"a\":1}",
        "[,1]", "[1,]", "[1,,2]", "[1 2]", "{\"a\":1,}", "{\"a\":1 \"b\":2}",
        "{1:2}", "{null:1}", "{'a':1}", "{a:1}", "['a']", "[[]", "[[]]]",
        "{\"a\":{}", "{\"a\":1;\"b\":2}", "[1:2]", "\"a\":1",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        rejects(bad[i]);
    }
}

static void test_rejects_bad_literals(void **state)
{
    (void)state;
    static const char *bad[] = {
        "tru", "True", "TRUE", "nul", "Null", "fals", "falsey", "nulll", "truefalse",
        "[true false]", "undefined", "[nan]", "NaN", "Infinity", "-Infinity", "t",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        rejects(bad[i]);
    }
}

static void test_rejects_bad_numbers(void **state)
{
    (void)state;
    static const char *bad[] = {
        "01", "-01", "00", "+1", ".5", "-.5", "1.", "1.e5", "-", "--1", "- 1", "1e",
        "1e+", "1E-", "1ee5", "1e5.5", "1.5.3", "0x10", "1_000", "[01]", "{\"a\":01}",
        "[1.]", "[-]", "0.e1", "1e+-1", "Infinity", "1 .5", "[.1]", "[0-1]", "1a",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        rejects(bad[i]);
    }
}

static void test_rejects_unterminated_strings(void **state)
{
    (void)state;
    rejects("\"abc");
    rejects("{\"a");
    rejects("{\"a\":\"b}");
    rejects("\"abc\\\"");
    rejects("\"\\");
    rejects("\"\\u00");
}

static void test_rejects_control_characters(void **state)
{
    (void)state;
    char body[2] = {0, 0};
    for (int c = 1; c < 0x20; c++) {
        body[0] = (char)c;
        string_body(body, TSR_ERR_MALFORMED);
    }
    /* A raw NUL inside a string (not the \u0000 escape). */
    tsr__jdoc doc;
    assert_int_equal(tsr__json_parse("\"a\0b\"", 5, toks, CAP, 32, &doc), TSR_ERR_MALFORMED);
    /* DEL (0x7F) is not a control character in JSON. */
    string_body("\x7f", TSR_OK);
}

static void test_rejects_bad_escapes(void **state)
{
    (void)state;
    static const char *bad[] = {
        "\\x41", "\\U0041", "\\u12", "\\u12G4", "\\u 123", "\\'", "\\0", "\\a", "\\v",
        "\\e", "\\u+123", "\\u-123", "\\ ", "\\\xC3\xA9", "\\N",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        string_body(bad[i], TSR_ERR_MALFORMED);
    }
}

static void test_rejects_bad_surrogate_escapes(void **state)
{
    (void)state;
    static const char *bad[] = {
        "\\uD800",           /* lone high */
        "\\uDBFF",           /* lone high, top of range */
        "\\uDC00",           /* lone low */
        "\\uDFFF",           /* lone low, top of range */
        "\\uD800x",          /* high followed by a character */
        "\\uD800\\u0041",    /* high followed by a non-surrogate escape */
        "\\uD800\\uD800",    /* high followed by high */
        "\\uDC00\\uD800",    /* mis-ordered pair */
        "\\uD800\\n",        /* high followed by another escape */
        "\\uD800\\uE000",    /* high followed by a BMP escape above the lows */
        "a\\udc00b",         /* lower-case hex, lone low */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        string_body(bad[i], TSR_ERR_MALFORMED);
    }
    rejects("\"\\uD800\\");
    rejects("\"\\uD800\\u");
}

static void test_rejects_invalid_utf8(void **state)
{
    (void)state;
    static const char *bad[] = {
        "\x80", "\xBF", "a\x80z",             /* lone continuation bytes */
        "\xC0\x80", "\xC1\xBF",               /* overlong 2-byte */
        "\xE0\x80\x80", "\xE0\x9F\xBF",       /* overlong 3-byte */
        "\xF0\x80\x80\x80", "\xF0\x8F\xBF\xBF", /* overlong 4-byte */
        "\xED\xA0\x80", "\xED\xBF\xBF",       /* UTF-16 surrogates in UTF-8 */
        "\xED\xA0\xBD\xED\xB8\x80",           /* CESU-8 style pair */
        "\xF4\x90\x80\x80",                   /* U+110000 */
        "\xF5\x80\x80\x80", "\xF7\xBF\xBF\xBF", "\xF8\x88\x80\x80\x80", "\xFE", "\xFF",
        "\xC3", "\xE2\x82", "\xF0\x9F\x98",   /* truncated */
        "\xC3\x28", "\xE2\x28\xA1", "\xE2\x82\x28", "\xF0\x9F\x28\x80", "\xF0\x9F\x98\x28",
        "\xC3\xA9\xA9",                       /* one continuation too many */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        string_body(bad[i], TSR_ERR_MALFORMED);
    }
    /* Non-ASCII outside strings. */
    rejects("[\xC3\xA9]");
    rejects("{\"a\":1}\xC3\xA9");
    /* Truncation exactly at the end of the input, not just inside quotes. */
    tsr__jdoc doc;
    assert_int_equal(tsr__json_parse("\"\xF0\x9F\x98", 4, toks, CAP, 32, &doc), TSR_ERR_MALFORMED);
}

static void test_rejects_duplicate_names(void **state)
{
    (void)state;
    rejects("{\"a\":1,\"a\":2}");
    rejects("{\"a\":1,\"b\":2,\"a\":3}");
    rejects("{\"a\":1,\"a\":1}");
    rejects("{\"a\":{},\"a\":[]}");
    rejects("{\"\":1,\"\":2}");
    /* Compared after unescaping, in either order. */
    rejects("{\"a\":1,\"\\u0061\":2}");
    rejects("{\"\\u0061\":1,\"a\":2}");
    rejects("{\"\\u0061\":1,\"\\u0061\":2}");
    rejects("{\"\\u0061\":1,\"\\u0041\":2,\"\\u0061\":3}");
    rejects("{\"\\/\":1,\"/\":2}");
    rejects("{\"\xC3\xA9\":1,\"\\u00e9\":2}");
    rejects("{\"\xF0\x9F\x98\x80\":1,\"\\ud83d\\ude00\":2}");
    rejects("{\"\\u0000\":1,\"\\u0000\":2}");
    /* In a nested object, and after a member whose value is a container. */
    rejects("{\"x\":{\"a\":1,\"a\":2}}");
    rejects("[{\"a\":[1,{\"b\":2}],\"c\":3,\"a\":4}]");
    /* Not duplicates. */
    accepts("{\"a\":1,\"A\":2}");
    accepts("{\"a\":1,\"b\":{\"a\":1}}");
    accepts("{\"a\":1,\"a\\u0000\":2}");
    accepts("{\"a\":1,\"\\u0061b\":2}");
    accepts("[{\"a\":1},{\"a\":2}]");
    accepts("{\"\\u00e9\":1,\"\\u00c9\":2}");
}

/* Writes open^depth inner close^depth into buf (1024 bytes). */
static void nest(char *buf, size_t depth, const char *open, const char *inner, const char *close)
{
    size_t n = 0;
    const size_t cap = 1024;
    for (size_t i = 0; i < depth; i++) {
        n += (size_t)snprintf(buf + n, cap - n, "%s", open);
    }
    n += (size_t)snprintf(buf + n, cap - n, "%s", inner);
    for (size_t i = 0; i < depth; i++) {
        n += (size_t)snprintf(buf + n, cap - n, "%s", close);
    }
    assert_true(n < cap);
}

static void test_depth_cap(void **state)
{
    (void)state;
    char buf[1024];
    nest(buf, 32, "[", "1", "]");
    accepts(buf);
    nest(buf, 33, "[", "1", "]");
    expect(buf, TSR_ERR_TOO_LARGE);
    nest(buf, 32, "{\"a\":", "{}", "}");
    expect(buf, TSR_ERR_TOO_LARGE); /* 32 objects plus the innermost {} */
    nest(buf, 31, "{\"a\":", "{}", "}");
    accepts(buf);
    nest(buf, 16, "[{\"k\":", "[]", "}]");
    expect(buf, TSR_ERR_TOO_LARGE);
    nest(buf, 15, "[{\"k\":", "[[]]", "}]");
    accepts(buf);
    /* The limit is the caller's. */
    tsr__jdoc doc;
    assert_int_equal(tsr__json_parse("[[1]]", 5, toks, CAP, 2, &doc), TSR_OK);
    assert_int_equal(tsr__json_parse("[[[1]]]", 7, toks, CAP, 2, &doc), TSR_ERR_TOO_LARGE);
    assert_int_equal(tsr__json_parse("1", 1, toks, CAP, 0, &doc), TSR_OK);
    assert_int_equal(tsr__json_parse("[]", 2, toks, CAP, 0, &doc), TSR_ERR_TOO_LARGE);
    /* Depth counts nesting, not containers in sequence. */
    assert_int_equal(tsr__json_parse("[[],[],{},[[]]]", 15, toks, CAP, 3, &doc), TSR_OK);
}

static void test_deep_hostile_nesting_does_not_recurse(void **state)
{
    (void)state;
    /* 100k brackets with a huge depth limit: the parser is iterative, so
     * this is bounded by the token cap, not by the stack. */
    static char buf[200001];
    static tsr__jtok big[100000];
    memset(buf, '[', 100000);
    memset(buf + 100000, ']', 100000);
    tsr__jdoc doc;
    assert_int_equal(tsr__json_parse(buf, 200000, big, 100000, 200000, &doc), TSR_OK);
    assert_int_equal(doc.ntoks, 100000);
    assert_int_equal(big[0].end, 100000);
    assert_int_equal(big[99999].end, 100000);
    assert_int_equal(tsr__json_parse(buf, 200000, big, 99999, 200000, &doc), TSR_ERR_TOO_LARGE);
    assert_int_equal(tsr__json_parse(buf, 199999, big, 100000, 200000, &doc), TSR_ERR_MALFORMED);
}

static void test_token_cap(void **state)
{
    (void)state;
    static const char s[] = "{\"a\":[1,2],\"b\":\"c\"}"; /* 7 tokens */
    tsr__jdoc doc;
    assert_int_equal(tsr__json_parse(s, strlen(s), toks, 7, 32, &doc), TSR_OK);
    assert_int_equal(doc.ntoks, 7);
    for (size_t cap = 0; cap < 7; cap++) {
        assert_int_equal(tsr__json_parse(s, strlen(s), toks, cap, 32, &doc), TSR_ERR_TOO_LARGE);
        assert_int_equal(doc.ntoks, 0);
    }
}

static void test_invalid_arguments(void **state)
{
    (void)state;
    tsr__jdoc doc;
    assert_int_equal(tsr__json_parse("{}", 2, toks, CAP, 32, NULL), TSR_ERR_INVALID_ARGUMENT);
    assert_int_equal(tsr__json_parse(NULL, 2, toks, CAP, 32, &doc), TSR_ERR_INVALID_ARGUMENT);
    assert_int_equal(tsr__json_parse("{}", 2, NULL, 4, 32, &doc), TSR_ERR_INVALID_ARGUMENT);
    assert_int_equal(tsr__json_parse(NULL, 0, toks, CAP, 32, &doc), TSR_ERR_MALFORMED);
}

/* ---------------------------------------------------------------- acceptance */

static void test_accepts_valid_documents(void **state)
{
    (void)state;
    static const char *good[] = {
        "{}", "[]", "1", "-0", "0", "\"\"", "true", "false", "null", " \t\r\n{ \t\r\n} \t\r\n",
        "[1, 2 ,3\n]", "{\"a\" : 1 , \"b\":[ ] }", "[[[]],{}]", "-0.0e-0", "1E+5", "1e-5",
        "0.5", "123456789012345678901234567890", "1e400", "-1.5E308",
        "\"\\\"\\\\\\/\\b\\f\\n\\r\\t\\u0000\\uFFFF\\uD83D\\uDE00\\udbff\\udfff\"",
        "\"\xC2\x80\xDF\xBF\xE0\xA0\x80\xED\x9F\xBF\xEE\x80\x80\xEF\xBF\xBF\"",
        "\"\xF0\x90\x80\x80\xF4\x8F\xBF\xBF\xF3\xBF\xBF\xBF\"",
        "{\"\\u0000\":\"\\u0000\"}",
    };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        accepts(good[i]);
    }
}

static void test_token_layout(void **state)
{
    (void)state;
    static const char s[] = " {\"a\":[1,{\"b\":null}],\"c\":\"x\\ny\"} ";
    static const struct {
        uint8_t type;
        const char *text;
        uint32_t count, end;
    } want[] = {
        {TSR__J_OBJECT, "{\"a\":[1,{\"b\":null}],\"c\":\"x\\ny\"}", 2, 9},
        {TSR__J_STRING, "a", 0, 2},
        {TSR__J_ARRAY, "[1,{\"b\":null}]", 2, 7},
        {TSR__J_NUMBER, "1", 0, 4},
        {TSR__J_OBJECT, "{\"b\":null}", 1, 7},
        {TSR__J_STRING, "b", 0, 6},
        {TSR__J_NULL, "null", 0, 7},
        {TSR__J_STRING, "c", 0, 8},
        {TSR__J_STRING, "x\\ny", 0, 9},
    };
    tsr__jdoc doc;
    assert_int_equal(parse(s, &doc), TSR_OK);
    assert_ptr_equal(doc.buf, s);
    assert_int_equal(doc.len, strlen(s));
    assert_int_equal(doc.ntoks, 9);
    for (size_t i = 0; i < 9; i++) {
        const tsr__jtok *t = &doc.toks[i];
        assert_int_equal(t->type, want[i].type);
        assert_int_equal(t->len, strlen(want[i].text));
        assert_memory_equal(s + t->start, want[i].text, t->len);
        assert_int_equal(t->count, want[i].count);
        assert_int_equal(t->end, want[i].end);
        assert_int_equal(t->escaped, i == 8);
    }
}

static void test_find(void **state)
{
    (void)state;
    static const char s[] =
        "{\"iss\":\"me\",\"nested\":{\"sub\":\"inner\",\"x\":[1,[2,{\"sub\":3}]]},"
        "\"\\u0073ub\":\"outer\",\"aud\":[\"a\",\"b\"]}";
    tsr__jdoc doc;
    assert_int_equal(parse(s, &doc), TSR_OK);
    long i = tsr__json_find(&doc, 0, "iss", 3);
    assert_true(i > 0);
    assert_true(tsr__json_str_eq(&doc, (size_t)i, "me", 2));
    /* The nested "sub" members are skipped; the escaped top-level one found. */
    i = tsr__json_find(&doc, 0, "sub", 3);
    assert_true(i > 0);
    assert_true(tsr__json_str_eq(&doc, (size_t)i, "outer", 5));
    i = tsr__json_find(&doc, 0, "aud", 3);
    assert_true(i > 0);
    assert_int_equal(doc.toks[i].type, TSR__J_ARRAY);
    assert_int_equal(doc.toks[i].count, 2);
    long nested = tsr__json_find(&doc, 0, "nested", 6);
    assert_true(nested > 0);
    i = tsr__json_find(&doc, (size_t)nested, "sub", 3);
    assert_true(tsr__json_str_eq(&doc, (size_t)i, "inner", 5));
    /* Absent names, prefixes, wrong case, non-objects, bad indexes. */
    assert_int_equal(tsr__json_find(&doc, 0, "exp", 3), -1);
    assert_int_equal(tsr__json_find(&doc, 0, "is", 2), -1);
    assert_int_equal(tsr__json_find(&doc, 0, "isss", 4), -1);
    assert_int_equal(tsr__json_find(&doc, 0, "ISS", 3), -1);
    assert_int_equal(tsr__json_find(&doc, 0, "", 0), -1);
    assert_int_equal(tsr__json_find(&doc, 1, "iss", 3), -1);
    assert_int_equal(tsr__json_find(&doc, doc.ntoks, "iss", 3), -1);
    assert_int_equal(tsr__json_find(NULL, 0, "iss", 3), -1);
    assert_int_equal(parse("{}", &doc), TSR_OK);
    assert_int_equal(tsr__json_find(&doc, 0, "iss", 3), -1);
    assert_int_equal(parse("[\"iss\",1]", &doc), TSR_OK);
    assert_int_equal(tsr__json_find(&doc, 0, "iss", 3), -1);
    assert_int_equal(parse("{\"\":7}", &doc), TSR_OK);
    assert_int_equal(tsr__json_find(&doc, 0, "", 0), 2);
}

static void test_string_escapes_decode(void **state)
{
    (void)state;
    static const char s[] =
        "[\"\\\"\\\\\\/\\b\\f\\n\\r\\t\",\"\\u00e9\\u20AC\\ud83d\\ude00\",\"a\\u0000b\"]";
    tsr__jdoc doc;
    assert_int_equal(parse(s, &doc), TSR_OK);
    assert_true(tsr__json_str_eq(&doc, 1, "\"\\/\b\f\n\r\t", 8));
    assert_false(tsr__json_str_eq(&doc, 1, "\"\\/\b\f\n\r", 7));
    assert_false(tsr__json_str_eq(&doc, 1, "\"\\/\b\f\n\r\t\t", 9));
    assert_true(tsr__json_str_eq(&doc, 2, "\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80", 9));
    assert_true(tsr__json_str_eq(&doc, 3, "a\0b", 3));
    assert_false(tsr__json_str_eq(&doc, 3, "a", 1));
    char out[16];
    size_t n = 99;
    assert_int_equal(tsr__json_str_copy(&doc, 3, out, sizeof out, &n), TSR_OK);
    assert_int_equal(n, 3);
    assert_memory_equal(out, "a\0b\0", 4); /* \u0000 kept faithfully, NUL added */
    assert_int_equal(tsr__json_str_copy(&doc, 2, out, sizeof out, &n), TSR_OK);
    assert_int_equal(n, 9);
    assert_string_equal(out, "\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80");
}

static void test_str_eq(void **state)
{
    (void)state;
    tsr__jdoc doc;
    assert_int_equal(parse("[\"abc\",\"\",1,\"a\\u0062c\"]", &doc), TSR_OK);
    assert_true(tsr__json_str_eq(&doc, 1, "abc", 3));
    assert_false(tsr__json_str_eq(&doc, 1, "abd", 3));
    assert_false(tsr__json_str_eq(&doc, 1, "ab", 2));
    assert_false(tsr__json_str_eq(&doc, 1, "abcd", 4));
    assert_false(tsr__json_str_eq(&doc, 1, "ABC", 3));
    assert_true(tsr__json_str_eq(&doc, 2, "", 0));
    assert_true(tsr__json_str_eq(&doc, 2, NULL, 0));
    assert_false(tsr__json_str_eq(&doc, 2, "a", 1));
    assert_false(tsr__json_str_eq(&doc, 3, "1", 1)); /* a number is not a string */
    assert_false(tsr__json_str_eq(&doc, 0, "abc", 3));
    assert_false(tsr__json_str_eq(&doc, 5, "abc", 3));
    assert_true(tsr__json_str_eq(&doc, 4, "abc", 3));
    assert_false(tsr__json_str_eq(&doc, 4, "a\\u0062c", 8)); /* compares unescaped */
}

static void test_str_eq_nocase(void **state)
{
    (void)state;
    tsr__jdoc doc;
    assert_int_equal(parse("[\"JWT\",\"\\u006aw\\u0054\",\"at+jwt\",\"\xC3\xA9\",1]", &doc), TSR_OK);
    assert_true(tsr__json_str_eq_nocase(&doc, 1, "jwt", 3));
    assert_true(tsr__json_str_eq_nocase(&doc, 1, "JwT", 3));
    assert_true(tsr__json_str_eq_nocase(&doc, 2, "JWT", 3));
    assert_true(tsr__json_str_eq_nocase(&doc, 3, "AT+JWT", 6));
    assert_false(tsr__json_str_eq_nocase(&doc, 1, "jw", 2));
    assert_false(tsr__json_str_eq_nocase(&doc, 1, "jwtx", 4));
    assert_false(tsr__json_str_eq_nocase(&doc, 1, "jwu", 3));
    /* ASCII folding only: no Unicode case mapping, and '@' is not '`'. */
    assert_false(tsr__json_str_eq_nocase(&doc, 4, "\xC3\x89", 2));
    assert_true(tsr__json_str_eq_nocase(&doc, 4, "\xC3\xA9", 2));
    assert_int_equal(parse("[\"@\"]", &doc), TSR_OK);
    assert_false(tsr__json_str_eq_nocase(&doc, 1, "`", 1));
    assert_int_equal(parse("[1]", &doc), TSR_OK);
    assert_false(tsr__json_str_eq_nocase(&doc, 1, "1", 1));
}

static void test_str_copy(void **state)
{
    (void)state;
    tsr__jdoc doc;
    assert_int_equal(parse("[\"hello\",\"h\\u00e9\",\"\",true]", &doc), TSR_OK);
    char out[8];
    size_t n = 99;
    /* Too small: TOO_LARGE, length 0, buffer left as an empty string. */
    assert_int_equal(tsr__json_str_copy(&doc, 1, out, 5, &n), TSR_ERR_TOO_LARGE);
    assert_int_equal(n, 0);
    assert_int_equal(out[0], '\0');
    assert_int_equal(tsr__json_str_copy(&doc, 1, out, 0, &n), TSR_ERR_TOO_LARGE);
    assert_int_equal(tsr__json_str_copy(&doc, 3, out, 0, &n), TSR_ERR_TOO_LARGE);
    /* Not a string, bad index, bad buffer. */
    n = 99;
    assert_int_equal(tsr__json_str_copy(&doc, 4, out, sizeof out, &n), TSR_ERR_MALFORMED);
    assert_int_equal(n, 0);
    assert_int_equal(tsr__json_str_copy(&doc, 0, out, sizeof out, &n), TSR_ERR_MALFORMED);
    assert_int_equal(tsr__json_str_copy(&doc, 9, out, sizeof out, &n), TSR_ERR_MALFORMED);
    assert_int_equal(tsr__json_str_copy(&doc, 1, NULL, 8, &n), TSR_ERR_INVALID_ARGUMENT);
    /* Exact fit; the escaped string is shorter than its raw form. */
    assert_int_equal(tsr__json_str_copy(&doc, 1, out, 6, &n), TSR_OK);
    assert_string_equal(out, "hello");
    assert_int_equal(n, 5);
    assert_int_equal(tsr__json_str_copy(&doc, 2, out, 3, &n), TSR_ERR_TOO_LARGE);
    assert_int_equal(tsr__json_str_copy(&doc, 2, out, 4, &n), TSR_OK);
    assert_string_equal(out, "h\xC3\xA9");
    assert_int_equal(tsr__json_str_copy(&doc, 3, out, 1, &n), TSR_OK);
    assert_int_equal(n, 0);
    assert_string_equal(out, "");
    assert_int_equal(tsr__json_str_copy(&doc, 1, out, sizeof out, NULL), TSR_OK);
}

/* ---------------------------------------------------------------- numbers */

/* Parses `text` as a one-number document and converts it. */
static tsr_err numdate(const char *text, tsr__numdate *nd)
{
    tsr__jdoc doc;
    tsr_err rc = parse(text, &doc);
    if (rc != TSR_OK) {
        fail_msg("not a JSON number: %s", text);
    }
    return tsr__json_numdate(&doc, 0, nd);
}

static void test_numdate_rejects_out_of_range(void **state)
{
    (void)state;
    static const char *bad[] = {
        "1e400", "-1e400", "1e19", "-1e19", "9223372036854775808", "-9223372036854775809",
        "9223372036854775807.5", "9223372036854775807.0000000000000000001",
        "-9223372036854775808.5", "-9223372036854775808.0000000001", "0.1e20",
        "99999999999999999999", "1e99999999999999999999999", "18446744073709551616",
        "18446744073709551615", "92233720368547758080e-1",
        "100000000000000000000000000000000000000000000000000000000000e-40",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        tsr__numdate nd = {42, true};
        if (numdate(bad[i], &nd) != TSR_ERR_MALFORMED) {
            fail_msg("accepted %s", bad[i]);
        }
        assert_int_equal(nd.sec, 0);
        assert_false(nd.frac);
    }
}

static void test_numdate_rejects_non_numbers(void **state)
{
    (void)state;
    tsr__jdoc doc;
    tsr__numdate nd;
    assert_int_equal(parse("[\"1300819380\",true,null,{},[]]", &doc), TSR_OK);
    for (size_t i = 0; i < doc.ntoks; i++) {
        assert_int_equal(tsr__json_numdate(&doc, i, &nd), TSR_ERR_MALFORMED);
    }
    assert_int_equal(tsr__json_numdate(&doc, 99, &nd), TSR_ERR_MALFORMED);
    assert_int_equal(tsr__json_numdate(NULL, 0, &nd), TSR_ERR_MALFORMED);
    assert_int_equal(tsr__json_numdate(&doc, 0, NULL), TSR_ERR_INVALID_ARGUMENT);
}

static void test_numdate_exact(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        int64_t sec;
        bool frac;
    } v[] = {
        {"1300819380", 1300819380, false},
        {"1300819380.0", 1300819380, false},
        {"1300819380.000", 1300819380, false},
        {"1300819380.5", 1300819380, true},
        {"1300819380.0000000000000000000001", 1300819380, true},
        {"1.3008193805e9", 1300819380, true},
        {"13008193805e-1", 1300819380, true},
        {"1.30081938e9", 1300819380, false},
        {"130081938E1", 1300819380, false},
        {"0.1300819380E+10", 1300819380, false},
        {"13008193800000e-4", 1300819380, false},
        {"-0.5", -1, true},
        {"-0", 0, false},
        {"-0.0", 0, false},
        {"0", 0, false},
        {"0e99999999999999999999", 0, false},
        {"0.000e5", 0, false},
        {"1e-99999999999999999999", 0, true},
        {"-1e-99999999999999999999", -1, true},
        {"0.000001", 0, true},
        {"-2.5", -3, true},
        {"-2", -2, false},
        {"-2.0e0", -2, false},
        {"100e-2", 1, false},
        {"12.34e1", 123, true},
        {"1234e-2", 12, true},
        {"1E3", 1000, false},
        {"1e18", 1000000000000000000, false},
        {"10e17", 1000000000000000000, false},
        {"999999999999999999", 999999999999999999, false},   /* 18 digits: fast path */
        {"-999999999999999999", -999999999999999999, false},
        {"1000000000000000000", 1000000000000000000, false}, /* 19 digits: exact path */
        {"-1000000000000000000", -1000000000000000000, false},
        {"9223372036854775807", INT64_MAX, false},
        {"9223372036854775806.5", INT64_MAX - 1, true},
        {"922337203685477580.7e1", INT64_MAX, false},
        {"-9223372036854775808", INT64_MIN, false},
        {"-9223372036854775807.5", INT64_MIN, true},
        {"-92233720368547758.08e2", INT64_MIN, false},
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        tsr__numdate nd = {42, false};
        if (numdate(v[i].text, &nd) != TSR_OK) {
            fail_msg("rejected %s", v[i].text);
        }
        if (nd.sec != v[i].sec || nd.frac != v[i].frac) {
            fail_msg("%s gave %lld frac %d", v[i].text, (long long)nd.sec, (int)nd.frac);
        }
    }
    /* Leading zeros only occur in fractions and exponents in valid JSON. */
    tsr__numdate nd;
    assert_int_equal(numdate("0.00000000000000000000000000001e29", &nd), TSR_OK);
    assert_int_equal(nd.sec, 1);
    assert_false(nd.frac);
    assert_int_equal(numdate("1e0000000000000000000000000000000000001", &nd), TSR_OK);
    assert_int_equal(nd.sec, 10);
}

static void test_int(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        tsr_err rc;
        int64_t v;
    } v[] = {
        {"1.5", TSR_ERR_MALFORMED, 0},
        {"1e-1", TSR_ERR_MALFORMED, 0},
        {"-0.5", TSR_ERR_MALFORMED, 0},
        {"9223372036854775808", TSR_ERR_MALFORMED, 0},
        {"-9223372036854775809", TSR_ERR_MALFORMED, 0},
        {"1e400", TSR_ERR_MALFORMED, 0},
        {"\"1\"", TSR_ERR_MALFORMED, 0},
        {"true", TSR_ERR_MALFORMED, 0},
        {"0", TSR_OK, 0},
        {"-0", TSR_OK, 0},
        {"42", TSR_OK, 42},
        {"-42", TSR_OK, -42},
        {"1.0", TSR_OK, 1},
        {"1e3", TSR_OK, 1000},
        {"2.50e1", TSR_OK, 25},
        {"9223372036854775807", TSR_OK, INT64_MAX},
        {"-9223372036854775808", TSR_OK, INT64_MIN},
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        tsr__jdoc doc;
        int64_t out = 77;
        assert_int_equal(parse(v[i].text, &doc), TSR_OK);
        if (tsr__json_int(&doc, 0, &out) != v[i].rc || out != v[i].v) {
            fail_msg("%s gave %lld", v[i].text, (long long)out);
        }
    }
}

/* A realistic claims object, as verification sees it. */
static void test_realistic_claims(void **state)
{
    (void)state;
    static const char s[] =
        "{\"iss\":\"https://issuer.example.com\",\"aud\":[\"api\",\"billing\"],"
        "\"sub\":\"user-1234567890\",\"iat\":1764000000,\"nbf\":1764000000,"
        "\"exp\":1764003600,\"jti\":\"9f1c6a2e-4b7d-4e8a-9c3f-2d5b8e7a1f60\","
        "\"scope\":\"read:orders write:orders read:profile\"}";
    tsr__jdoc doc;
    assert_int_equal(parse(s, &doc), TSR_OK);
    assert_int_equal(doc.toks[0].count, 8);
    long exp = tsr__json_find(&doc, 0, "exp", 3);
    tsr__numdate nd;
    assert_int_equal(tsr__json_numdate(&doc, (size_t)exp, &nd), TSR_OK);
    assert_int_equal(nd.sec, 1764003600);
    long aud = tsr__json_find(&doc, 0, "aud", 3);
    assert_true(tsr__json_str_eq(&doc, (size_t)aud + 2, "billing", 7));
    long scope = tsr__json_find(&doc, 0, "scope", 5);
    assert_int_equal(scope, (long)doc.ntoks - 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rejects_empty_and_blank),
        cmocka_unit_test(test_rejects_bom),
        cmocka_unit_test(test_rejects_trailing_data),
        cmocka_unit_test(test_rejects_bad_whitespace),
        cmocka_unit_test(test_rejects_bad_structure),
        cmocka_unit_test(test_rejects_bad_literals),
        cmocka_unit_test(test_rejects_bad_numbers),
        cmocka_unit_test(test_rejects_unterminated_strings),
        cmocka_unit_test(test_rejects_control_characters),
        cmocka_unit_test(test_rejects_bad_escapes),
        cmocka_unit_test(test_rejects_bad_surrogate_escapes),
        cmocka_unit_test(test_rejects_invalid_utf8),
        cmocka_unit_test(test_rejects_duplicate_names),
        cmocka_unit_test(test_depth_cap),
        cmocka_unit_test(test_deep_hostile_nesting_does_not_recurse),
        cmocka_unit_test(test_token_cap),
        cmocka_unit_test(test_invalid_arguments),
        cmocka_unit_test(test_accepts_valid_documents),
        cmocka_unit_test(test_token_layout),
        cmocka_unit_test(test_find),
        cmocka_unit_test(test_string_escapes_decode),
        cmocka_unit_test(test_str_eq),
        cmocka_unit_test(test_str_eq_nocase),
        cmocka_unit_test(test_str_copy),
        cmocka_unit_test(test_numdate_rejects_out_of_range),
        cmocka_unit_test(test_numdate_rejects_non_numbers),
        cmocka_unit_test(test_numdate_exact),
        cmocka_unit_test(test_int),
        cmocka_unit_test(test_realistic_claims),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
