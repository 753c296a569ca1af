/*
 * test_jws.c: compact splitting (size cap, newline stripping, exactly three
 * segments) and the JOSE header rules of lib/jws.c, driven through the
 * internal interface with headers parsed by the real strict reader.
 * Negative cases first.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "internal.h"

#define ALL_ALGS 0xFFFEu

static tsr_err split(const char *t, size_t max, tsr__jws_parts *p)
{
    return tsr__jws_split(t, strlen(t), max, p, NULL);
}

/* ---- splitting ---- */

static void split_rejects_wrong_segment_counts(void **state)
{
    (void)state;
    tsr__jws_parts p;
    static const char *const bad[] = {
        "",    "abc",  "a.b",  "a.b.c.d", "a.b.c.d.e", "...",
        ".b.c", "..c",     "a.b.c.",    ".a.b.c",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(split(bad[i], 100, &p), TSR_ERR_MALFORMED);
        assert_null(p.header.ptr);
        assert_int_equal(p.signing_input_len, 0);
    }
    /* An empty signature (the unsecured alg:none shape) splits: the
     * verifier rejects it after the header rules have named the alg. */
    assert_int_equal(split("a.b.", 100, &p), TSR_OK);
    assert_int_equal(p.sig.len, 0);
    assert_int_equal(split("a..", 100, &p), TSR_OK);
    assert_int_equal(p.payload.len, 0);
}

static void split_size_cap_comes_first(void **state)
{
    (void)state;
    tsr__jws_parts p;
    /* Too long and not a JWS either: too_large wins, nothing is decoded. */
    assert_int_equal(split("aaaaaa", 5, &p), TSR_ERR_TOO_LARGE);
    assert_int_equal(split("aa.b.c", 5, &p), TSR_ERR_TOO_LARGE);
    assert_int_equal(split("a.b.c", 5, &p), TSR_OK);
    /* The stripped newline does not count. */
    assert_int_equal(split("a.b.c\n", 5, &p), TSR_OK);
    assert_int_equal(split("a.b.c\r\n", 5, &p), TSR_OK);
    /* Only one newline is stripped; the second one counts. */
    assert_int_equal(split("a.b.c\n\n", 5, &p), TSR_ERR_TOO_LARGE);
    tsr_error e;
    assert_int_equal(tsr__jws_split("aaaaaa", 6, 5, &p, &e), TSR_ERR_TOO_LARGE);
    assert_int_equal(e.code, TSR_ERR_TOO_LARGE);
    assert_null(strstr(e.detail, "aaaaaa"));
}

static void split_strips_one_newline_only(void **state)
{
    (void)state;
    tsr__jws_parts p;
    assert_int_equal(split("h.p.s\r\n", 100, &p), TSR_OK);
    assert_int_equal(p.sig.len, 1);
    assert_int_equal(split("h.p.s\n\n", 100, &p), TSR_OK);
    /* The extra newline stays in the signature segment, where the strict
     * base64url decoder will refuse it. */
    assert_int_equal(p.sig.len, 2);
    assert_int_equal(split("h.p.s\r", 100, &p), TSR_OK);
    assert_int_equal(p.sig.len, 2);
}

static void split_gives_slices_of_the_token(void **state)
{
    (void)state;
    tsr__jws_parts p;
    const char *t = "hdr.payload.sig";
    assert_int_equal(split(t, 100, &p), TSR_OK);
    assert_ptr_equal(p.header.ptr, t);
    assert_int_equal(p.header.len, 3);
    assert_ptr_equal(p.payload.ptr, t + 4);
    assert_int_equal(p.payload.len, 7);
    assert_ptr_equal(p.sig.ptr, t + 12);
    assert_int_equal(p.sig.len, 3);
    assert_int_equal(p.signing_input_len, 11);
    /* An empty payload is allowed by the grammar (the claims check then
     * refuses it). */
    assert_int_equal(split("h..s", 100, &p), TSR_OK);
    assert_int_equal(p.payload.len, 0);
    assert_int_equal(p.signing_input_len, 2);
}

/* ---- header rules ---- */

typedef struct parsed {
    tsr__jtok toks[128];
    tsr__jdoc doc;
} parsed;

static tsr_err header(parsed *ps, const char *json, uint32_t allowed, tsr__jws_header *hd)
{
    assert_int_equal(tsr__json_parse(json, strlen(json), ps->toks, 128, 32, &ps->doc), TSR_OK);
    return tsr__jws_check_header(&ps->doc, allowed, hd, NULL);
}

static tsr_err rule(const char *json, uint32_t allowed)
{
    parsed ps;
    tsr__jws_header hd;
    tsr_err rc = header(&ps, json, allowed, &hd);
    if (rc != TSR_OK) {
        assert_int_equal(hd.alg, TSR_ALG_UNSPECIFIED);
    }
    return rc;
}

static void header_not_an_object(void **state)
{
    (void)state;
    assert_int_equal(rule("[]", ALL_ALGS), TSR_ERR_MALFORMED);
    assert_int_equal(rule("\"HS256\"", ALL_ALGS), TSR_ERR_MALFORMED);
    assert_int_equal(rule("null", ALL_ALGS), TSR_ERR_MALFORMED);
    assert_int_equal(rule("{}", ALL_ALGS), TSR_ERR_MALFORMED);
}

static void header_alg_type(void **state)
{
    (void)state;
    assert_int_equal(rule("{\"typ\":\"JWT\"}", ALL_ALGS), TSR_ERR_MALFORMED);
    assert_int_equal(rule("{\"alg\":1}", ALL_ALGS), TSR_ERR_MALFORMED);
    assert_int_equal(rule("{\"alg\":null}", ALL_ALGS), TSR_ERR_MALFORMED);
    assert_int_equal(rule("{\"alg\":[\"HS256\"]}", ALL_ALGS), TSR_ERR_MALFORMED);
}

static void header_alg_none_every_spelling(void **state)
{
    (void)state;
    static const char *const nones[] = {
        "{\"alg\":\"none\"}", "{\"alg\":\"None\"}",       "{\"alg\":\"NONE\"}",
        "{\"alg\":\"nOnE\"}", "{\"alg\":\"\\u006eone\"}", "{\"alg\":\"NoNe\"}",
    };
    for (size_t i = 0; i < sizeof nones / sizeof nones[0]; i++) {
        assert_int_equal(rule(nones[i], ALL_ALGS), TSR_ERR_ALG_NOT_ALLOWED);
    }
}

static void header_alg_unknown_or_not_allowed(void **state)
{
    (void)state;
    uint32_t es256 = TSR_ALG_BIT(TSR_ALG_ES256);
    assert_int_equal(rule("{\"alg\":\"HS256\"}", es256), TSR_ERR_ALG_NOT_ALLOWED);
    assert_int_equal(rule("{\"alg\":\"es256\"}", es256), TSR_ERR_ALG_NOT_ALLOWED);
    assert_int_equal(rule("{\"alg\":\"ES256 \"}", es256), TSR_ERR_ALG_NOT_ALLOWED);
    assert_int_equal(rule("{\"alg\":\"XX999\"}", ALL_ALGS), TSR_ERR_ALG_NOT_ALLOWED);
    assert_int_equal(rule("{\"alg\":\"\"}", ALL_ALGS), TSR_ERR_ALG_NOT_ALLOWED);
    assert_int_equal(rule("{\"alg\":\"ES256\\u0000\"}", ALL_ALGS), TSR_ERR_ALG_NOT_ALLOWED);
    assert_int_equal(rule("{\"alg\":\"HS256HS256HS256HS256HS256HS256\"}", ALL_ALGS),
                     TSR_ERR_ALG_NOT_ALLOWED);
    assert_int_equal(rule("{\"alg\":\"RSA-OAEP\"}", ALL_ALGS), TSR_ERR_ALG_NOT_ALLOWED);
}

static void header_alg_accepted(void **state)
{
    (void)state;
    parsed ps;
    tsr__jws_header hd;
    assert_int_equal(header(&ps, "{\"alg\":\"ES256\"}", TSR_ALG_BIT(TSR_ALG_ES256), &hd), TSR_OK);
    assert_int_equal(hd.alg, TSR_ALG_ES256);
    assert_int_equal(hd.kid, -1);
    assert_int_equal(hd.typ, -1);
    /* Escapes are resolved before the name is looked up. */
    assert_int_equal(header(&ps, "{\"alg\":\"HS\\u0032\\u00356\"}", ALL_ALGS, &hd), TSR_OK);
    assert_int_equal(hd.alg, TSR_ALG_HS256);
    /* The fully specified name of Ed25519 is EdDSA. */
    assert_int_equal(header(&ps, "{\"alg\":\"Ed25519\"}", TSR_ALG_BIT(TSR_ALG_EDDSA), &hd), TSR_OK);
    assert_int_equal(hd.alg, TSR_ALG_EDDSA);
}

static void header_string_members(void **state)
{
    (void)state;
    assert_int_equal(rule("{\"alg\":\"HS256\",\"kid\":1}", ALL_ALGS), TSR_ERR_MALFORMED);
    assert_int_equal(rule("{\"alg\":\"HS256\",\"kid\":null}", ALL_ALGS), TSR_ERR_MALFORMED);
    assert_int_equal(rule("{\"alg\":\"HS256\",\"typ\":{}}", ALL_ALGS), TSR_ERR_MALFORMED);
    assert_int_equal(rule("{\"alg\":\"HS256\",\"cty\":[\"JWT\"]}", ALL_ALGS), TSR_ERR_MALFORMED);
    assert_int_equal(rule("{\"alg\":\"HS256\",\"k\\u0069d\":true}", ALL_ALGS), TSR_ERR_MALFORMED);
    parsed ps;
    tsr__jws_header hd;
    assert_int_equal(
        header(&ps, "{\"typ\":\"JWT\",\"alg\":\"HS256\",\"kid\":\"k1\"}", ALL_ALGS, &hd), TSR_OK);
    assert_true(hd.kid > 0);
    assert_true(tsr__json_str_eq(&ps.doc, (size_t)hd.kid, "k1", 2));
    assert_true(tsr__json_str_eq(&ps.doc, (size_t)hd.typ, "JWT", 3));
}

static void header_enc_is_jwe(void **state)
{
    (void)state;
    assert_int_equal(rule("{\"alg\":\"HS256\",\"enc\":\"A128GCM\"}", ALL_ALGS),
                     TSR_ERR_UNSUPPORTED);
}

static void header_crit_always_rejects(void **state)
{
    (void)state;
    assert_int_equal(rule("{\"alg\":\"HS256\",\"crit\":[]}", ALL_ALGS), TSR_ERR_CRIT_UNSUPPORTED);
    assert_int_equal(rule("{\"alg\":\"HS256\",\"crit\":[\"exp\"],\"exp\":1}", ALL_ALGS),
                     TSR_ERR_CRIT_UNSUPPORTED);
    assert_int_equal(rule("{\"alg\":\"HS256\",\"crit\":[\"b64\"],\"b64\":true}", ALL_ALGS),
                     TSR_ERR_CRIT_UNSUPPORTED);
    assert_int_equal(rule("{\"alg\":\"HS256\",\"crit\":[\"b64\"],\"b64\":false}", ALL_ALGS),
                     TSR_ERR_CRIT_UNSUPPORTED);
    assert_int_equal(rule("{\"alg\":\"HS256\",\"crit\":[\"kid\"],\"kid\":\"a\"}", ALL_ALGS),
                     TSR_ERR_CRIT_UNSUPPORTED);
    assert_int_equal(rule("{\"alg\":\"HS256\",\"crit\":[\"nothere\"]}", ALL_ALGS),
                     TSR_ERR_CRIT_UNSUPPORTED);
    assert_int_equal(rule("{\"alg\":\"HS256\",\"crit\":\"b64\"}", ALL_ALGS), TSR_ERR_MALFORMED);
    assert_int_equal(rule("{\"alg\":\"HS256\",\"crit\":[1]}", ALL_ALGS), TSR_ERR_MALFORMED);
    assert_int_equal(rule("{\"alg\":\"HS256\",\"crit\":null}", ALL_ALGS), TSR_ERR_MALFORMED);
    assert_int_equal(rule("{\"alg\":\"HS256\",\"cr\\u0069t\":[\"x\"],\"x\":1}", ALL_ALGS),
                     TSR_ERR_CRIT_UNSUPPORTED);
}

static void header_b64(void **state)
{
    (void)state;
    assert_int_equal(rule("{\"alg\":\"HS256\",\"b64\":false}", ALL_ALGS), TSR_ERR_UNSUPPORTED);
    assert_int_equal(rule("{\"alg\":\"HS256\",\"b64\":\"false\"}", ALL_ALGS), TSR_ERR_MALFORMED);
    assert_int_equal(rule("{\"alg\":\"HS256\",\"b64\":0}", ALL_ALGS), TSR_ERR_MALFORMED);
    /* Documented decision: b64:true is the ordinary meaning of a JWS. */
    assert_int_equal(rule("{\"alg\":\"HS256\",\"b64\":true}", ALL_ALGS), TSR_OK);
}

static void header_nested_jwt(void **state)
{
    (void)state;
    static const char *const nested[] = {
        "{\"alg\":\"HS256\",\"cty\":\"JWT\"}",
        "{\"alg\":\"HS256\",\"cty\":\"jwt\"}",
        "{\"alg\":\"HS256\",\"cty\":\"application/jwt\"}",
        "{\"alg\":\"HS256\",\"cty\":\"Application/JWT\"}",
        "{\"alg\":\"HS256\",\"cty\":\"\\u004aWT\"}",
    };
    for (size_t i = 0; i < sizeof nested / sizeof nested[0]; i++) {
        assert_int_equal(rule(nested[i], ALL_ALGS), TSR_ERR_UNSUPPORTED);
    }
    assert_int_equal(rule("{\"alg\":\"HS256\",\"cty\":\"json\"}", ALL_ALGS), TSR_OK);
    assert_int_equal(rule("{\"alg\":\"HS256\",\"cty\":\"JWTX\"}", ALL_ALGS), TSR_OK);
}

static void header_key_parameters_ignored(void **state)
{
    (void)state;
    /* Never used to find a key: they are just ignored members. */
    assert_int_equal(rule("{\"alg\":\"HS256\",\"jwk\":{\"kty\":\"oct\",\"k\":\"AAAA\"},"
                          "\"jku\":\"https://evil.example/jwks\",\"x5u\":\"https://x\","
                          "\"x5c\":[\"MIIB\"],\"x5t\":\"abc\",\"x5t#S256\":\"abc\","
                          "\"zzz\":{\"deep\":[1,2,3]}}",
                          ALL_ALGS),
                     TSR_OK);
}

static void header_order_of_rules(void **state)
{
    (void)state;
    /* alg problems are reported before member-type problems and crit. */
    assert_int_equal(rule("{\"alg\":\"none\",\"kid\":1,\"crit\":[\"x\"]}", ALL_ALGS),
                     TSR_ERR_ALG_NOT_ALLOWED);
    assert_int_equal(rule("{\"alg\":\"HS256\",\"kid\":1,\"crit\":[\"x\"]}", ALL_ALGS),
                     TSR_ERR_MALFORMED);
}

static void typ_matching(void **state)
{
    (void)state;
    parsed ps;
    tsr__jws_header hd;
    static const char *const good[] = {"JWT", "jwt", "application/jwt", "APPLICATION/JWT",
                                       "Application/Jwt"};
    static const char *const bad[] = {"at+jwt",       "application/at+jwt", "JWT ",
                                      "application/", "applicationjwt",     ""};
    char json[128];
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        snprintf(json, sizeof json, "{\"alg\":\"HS256\",\"typ\":\"%s\"}", good[i]);
        assert_int_equal(header(&ps, json, ALL_ALGS, &hd), TSR_OK);
        assert_true(tsr__jws_typ_matches(&ps.doc, hd.typ, "JWT", 3, "application/JWT", 15));
    }
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snprintf(json, sizeof json, "{\"alg\":\"HS256\",\"typ\":\"%s\"}", bad[i]);
        assert_int_equal(header(&ps, json, ALL_ALGS, &hd), TSR_OK);
        assert_false(tsr__jws_typ_matches(&ps.doc, hd.typ, "JWT", 3, "application/JWT", 15));
    }
    assert_int_equal(header(&ps, "{\"alg\":\"HS256\"}", ALL_ALGS, &hd), TSR_OK);
    assert_false(tsr__jws_typ_matches(&ps.doc, hd.typ, "JWT", 3, "application/JWT", 15));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(split_rejects_wrong_segment_counts),
        cmocka_unit_test(split_size_cap_comes_first),
        cmocka_unit_test(split_strips_one_newline_only),
        cmocka_unit_test(split_gives_slices_of_the_token),
        cmocka_unit_test(header_not_an_object),
        cmocka_unit_test(header_alg_type),
        cmocka_unit_test(header_alg_none_every_spelling),
        cmocka_unit_test(header_alg_unknown_or_not_allowed),
        cmocka_unit_test(header_alg_accepted),
        cmocka_unit_test(header_string_members),
        cmocka_unit_test(header_enc_is_jwe),
        cmocka_unit_test(header_crit_always_rejects),
        cmocka_unit_test(header_b64),
        cmocka_unit_test(header_nested_jwt),
        cmocka_unit_test(header_key_parameters_ignored),
        cmocka_unit_test(header_order_of_rules),
        cmocka_unit_test(typ_matching),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
