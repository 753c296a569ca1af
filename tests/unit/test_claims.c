/*
 * test_claims.c: registered-claim validation (lib/claims.c) at every time
 * boundary, with fractional dates on both sides of each edge, dates at the
 * int64 limits, type errors and the iss/sub/aud rules. The payload is parsed
 * by the real strict reader; the policy is the internal struct that
 * tsr_verifier_new copies. Negative cases first in each group.
 */
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "internal.h"

static struct tsr_policy base(void)
{
    struct tsr_policy p;
    memset(&p, 0, sizeof p);
    p.algs = TSR_ALG_BIT(TSR_ALG_HS256);
    p.max_token = TSR_DEFAULT_MAX_TOKEN_SIZE;
    return p;
}

static tsr_err check_p(const struct tsr_policy *p, const char *json, int64_t now)
{
    tsr__jtok toks[256];
    tsr__jdoc doc;
    assert_int_equal(tsr__json_parse(json, strlen(json), toks, 256, 32, &doc), TSR_OK);
    tsr_error e;
    memset(&e, 0, sizeof e);
    tsr_err rc = tsr__claims_check(&doc, p, now, &e);
    assert_int_equal(e.code, rc);
    return rc;
}

static tsr_err check(const char *json, int64_t now)
{
    struct tsr_policy p = base();
    return check_p(&p, json, now);
}

/* The payload {"exp":<exp>} checked at `now` with `leeway`. */
static tsr_err exp_at(const char *exp, int64_t now, int64_t leeway)
{
    struct tsr_policy p = base();
    p.leeway = leeway;
    char json[128];
    snprintf(json, sizeof json, "{\"exp\":%s}", exp);
    return check_p(&p, json, now);
}

static tsr_err nbf_at(const char *nbf, int64_t now, int64_t leeway)
{
    struct tsr_policy p = base();
    p.leeway = leeway;
    char json[128];
    snprintf(json, sizeof json, "{\"exp\":9223372036854775807,\"nbf\":%s}", nbf);
    return check_p(&p, json, now);
}

static tsr_err iat_at(const char *iat, int64_t now, int64_t leeway, int64_t max_age)
{
    struct tsr_policy p = base();
    p.leeway = leeway;
    p.max_age = max_age;
    char json[128];
    snprintf(json, sizeof json, "{\"exp\":9223372036854775807,\"iat\":%s}", iat);
    return check_p(&p, json, now);
}

/* ---- structure and types ---- */

static void payload_must_be_object(void **state)
{
    (void)state;
    assert_int_equal(check("[]", 0), TSR_ERR_MALFORMED);
    assert_int_equal(check("\"x\"", 0), TSR_ERR_MALFORMED);
    assert_int_equal(check("1700000000", 0), TSR_ERR_MALFORMED);
    assert_int_equal(check("null", 0), TSR_ERR_MALFORMED);
}

static void dates_must_be_numbers(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "{\"exp\":\"1700000000\"}",
        "{\"exp\":null}",
        "{\"exp\":true}",
        "{\"exp\":[1]}",
        "{\"exp\":{}}",
        "{\"exp\":2000000000,\"nbf\":\"0\"}",
        "{\"exp\":2000000000,\"iat\":false}",
        /* Out of the int64 range: refused, not clamped. */
        "{\"exp\":9223372036854775808}",
        "{\"exp\":1e19}",
        "{\"exp\":-9223372036854775809}",
        "{\"exp\":1e400}",
        "{\"exp\":2000000000,\"nbf\":-1e30}",
        "{\"exp\":2000000000,\"iat\":123456789012345678901234567890}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(check(bad[i], 0), TSR_ERR_MALFORMED);
    }
    /* Exponent forms are numbers too. */
    assert_int_equal(check("{\"exp\":2E9}", 1999999999), TSR_OK);
    assert_int_equal(check("{\"exp\":2E9}", 2000000000), TSR_ERR_EXPIRED);
    assert_int_equal(check("{\"exp\":2.0e9}", 1999999999), TSR_OK);
}

static void types_checked_even_when_not_asked(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "{\"exp\":2000000000,\"iss\":1}",       "{\"exp\":2000000000,\"iss\":null}",
        "{\"exp\":2000000000,\"sub\":[\"a\"]}", "{\"exp\":2000000000,\"aud\":1}",
        "{\"exp\":2000000000,\"aud\":{}}",      "{\"exp\":2000000000,\"aud\":[\"a\",1]}",
        "{\"exp\":2000000000,\"aud\":[null]}",  "{\"exp\":2000000000,\"\\u0069ss\":5}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(check(bad[i], 0), TSR_ERR_MALFORMED);
    }
    /* Type errors come before time errors. */
    assert_int_equal(check("{\"exp\":1,\"iss\":1}", 100), TSR_ERR_MALFORMED);
    assert_int_equal(check("{\"exp\":2000000000,\"iss\":\"a\",\"sub\":\"b\",\"jti\":1}", 0),
                     TSR_OK);
}

/* ---- presence ---- */

static void exp_is_required(void **state)
{
    (void)state;
    assert_int_equal(check("{}", 0), TSR_ERR_MISSING_CLAIM);
    assert_int_equal(check("{\"nbf\":0,\"iat\":0}", 10), TSR_ERR_MISSING_CLAIM);
    assert_int_equal(check("{\"EXP\":2000000000}", 0), TSR_ERR_MISSING_CLAIM);
    assert_int_equal(check("{\"\\u0065xp\":2000000000}", 0), TSR_OK);
}

static void required_claims(void **state)
{
    (void)state;
    struct tsr_policy p = base();
    char jti[] = "jti";
    char scope[] = "scope";
    p.req[0] = jti;
    p.req_len[0] = 3;
    p.req[1] = scope;
    p.req_len[1] = 5;
    p.nreq = 2;
    assert_int_equal(check_p(&p, "{\"exp\":2000000000,\"jti\":\"x\"}", 0), TSR_ERR_MISSING_CLAIM);
    assert_int_equal(check_p(&p, "{\"exp\":2000000000,\"scope\":\"x\"}", 0), TSR_ERR_MISSING_CLAIM);
    /* Present means present, whatever the value. */
    assert_int_equal(check_p(&p, "{\"exp\":2000000000,\"jti\":null,\"scope\":[]}", 0), TSR_OK);
    /* Presence comes before times. */
    assert_int_equal(check_p(&p, "{\"exp\":1,\"jti\":null}", 100), TSR_ERR_MISSING_CLAIM);
}

static void configured_identity_claims_are_required(void **state)
{
    (void)state;
    struct tsr_policy p = base();
    char iss[] = "https://issuer";
    p.iss = iss;
    p.iss_len = strlen(iss);
    assert_int_equal(check_p(&p, "{\"exp\":2000000000}", 0), TSR_ERR_MISSING_CLAIM);
    p = base();
    char sub[] = "alice";
    p.sub = sub;
    p.sub_len = 5;
    assert_int_equal(check_p(&p, "{\"exp\":2000000000}", 0), TSR_ERR_MISSING_CLAIM);
    p = base();
    char aud[] = "api";
    p.aud[0] = aud;
    p.aud_len[0] = 3;
    p.naud = 1;
    assert_int_equal(check_p(&p, "{\"exp\":2000000000}", 0), TSR_ERR_MISSING_CLAIM);
}

/* ---- exp ---- */

static void exp_boundaries(void **state)
{
    (void)state;
    /* Reject when now >= exp + leeway. */
    assert_int_equal(exp_at("1000", 1000, 0), TSR_ERR_EXPIRED);
    assert_int_equal(exp_at("1000", 1001, 0), TSR_ERR_EXPIRED);
    assert_int_equal(exp_at("1000", 999, 0), TSR_OK);
    assert_int_equal(exp_at("1000", 1060, 60), TSR_ERR_EXPIRED);
    assert_int_equal(exp_at("1000", 1059, 60), TSR_OK);
    assert_int_equal(exp_at("1000", 87400, 86400), TSR_ERR_EXPIRED);
    assert_int_equal(exp_at("1000", 87399, 86400), TSR_OK);
}

static void exp_fractional(void **state)
{
    (void)state;
    /* exp = 1000.5: now 1000 < 1000.5 is fine, 1001 >= 1000.5 expires. */
    assert_int_equal(exp_at("1000.5", 1001, 0), TSR_ERR_EXPIRED);
    assert_int_equal(exp_at("1000.5", 1000, 0), TSR_OK);
    assert_int_equal(exp_at("1000.000001", 1000, 0), TSR_OK);
    assert_int_equal(exp_at("999.999999", 1000, 0), TSR_ERR_EXPIRED);
    assert_int_equal(exp_at("999.999999", 999, 0), TSR_OK);
    assert_int_equal(exp_at("1000.5", 1010, 10), TSR_OK);
    assert_int_equal(exp_at("1000.5", 1011, 10), TSR_ERR_EXPIRED);
    /* Fractions written with exponents are exact as well. */
    assert_int_equal(exp_at("10005e-1", 1000, 0), TSR_OK);
    assert_int_equal(exp_at("10005e-1", 1001, 0), TSR_ERR_EXPIRED);
    /* 1000.0 is not a fraction. */
    assert_int_equal(exp_at("1000.0", 1000, 0), TSR_ERR_EXPIRED);
    assert_int_equal(exp_at("1000.0", 999, 0), TSR_OK);
}

static void exp_negative_and_extreme(void **state)
{
    (void)state;
    /* -0.5 = -1 + 0.5: now -1 is before it, now 0 after it. */
    assert_int_equal(exp_at("-0.5", -1, 0), TSR_OK);
    assert_int_equal(exp_at("-0.5", 0, 0), TSR_ERR_EXPIRED);
    assert_int_equal(exp_at("0", 0, 0), TSR_ERR_EXPIRED);
    assert_int_equal(exp_at("-9223372036854775808", INT64_MIN, 0), TSR_ERR_EXPIRED);
    assert_int_equal(exp_at("-9223372036854775807", INT64_MIN, 0), TSR_OK);
    assert_int_equal(exp_at("9223372036854775807", INT64_MAX, 86400), TSR_OK);
    assert_int_equal(exp_at("9223372036854775807", INT64_MAX - 1, 0), TSR_OK);
    assert_int_equal(exp_at("9223372036854775807", INT64_MAX, 0), TSR_ERR_EXPIRED);
    assert_int_equal(exp_at("-9223372036854775808", INT64_MAX, 86400), TSR_ERR_EXPIRED);
    assert_int_equal(exp_at("9223372036854775807", INT64_MIN, 86400), TSR_OK);
    /* 18 digits (the direct conversion) and 19 (the reader's). */
    assert_int_equal(exp_at("999999999999999999", 999999999999999998, 0), TSR_OK);
    assert_int_equal(exp_at("999999999999999999", 999999999999999999, 0), TSR_ERR_EXPIRED);
    assert_int_equal(exp_at("1000000000000000000", 999999999999999999, 0), TSR_OK);
    assert_int_equal(exp_at("1000000000000000000", 1000000000000000000, 0), TSR_ERR_EXPIRED);
    assert_int_equal(exp_at("0", -1, 0), TSR_OK);
    /* Leeway pushing exp + leeway past INT64_MAX must not wrap around. */
    assert_int_equal(exp_at("9223372036854775000", INT64_MAX, 86400), TSR_OK);
}

/* ---- nbf ---- */

static void nbf_boundaries(void **state)
{
    (void)state;
    /* Reject when now < nbf - leeway. */
    assert_int_equal(nbf_at("1000", 999, 0), TSR_ERR_NOT_YET_VALID);
    assert_int_equal(nbf_at("1000", 1000, 0), TSR_OK);
    assert_int_equal(nbf_at("1000", 939, 60), TSR_ERR_NOT_YET_VALID);
    assert_int_equal(nbf_at("1000", 940, 60), TSR_OK);
    /* nbf = 1000.5: now 1000 is before, 1001 after. */
    assert_int_equal(nbf_at("1000.5", 1000, 0), TSR_ERR_NOT_YET_VALID);
    assert_int_equal(nbf_at("1000.5", 1001, 0), TSR_OK);
    assert_int_equal(nbf_at("1000.5", 940, 60), TSR_ERR_NOT_YET_VALID);
    assert_int_equal(nbf_at("1000.5", 941, 60), TSR_OK);
    assert_int_equal(nbf_at("-0.5", -1, 0), TSR_ERR_NOT_YET_VALID);
    assert_int_equal(nbf_at("-0.5", 0, 0), TSR_OK);
    assert_int_equal(nbf_at("9223372036854775806", INT64_MAX - 1, 0), TSR_OK);
    assert_int_equal(nbf_at("9223372036854775807", INT64_MIN, 86400), TSR_ERR_NOT_YET_VALID);
    assert_int_equal(nbf_at("-9223372036854775808", INT64_MIN, 86400), TSR_OK);
    /* nbf - leeway below INT64_MIN must not wrap. */
    assert_int_equal(nbf_at("-9223372036854775800", INT64_MIN, 86400), TSR_OK);
}

/* ---- iat and max age ---- */

static void iat_in_future(void **state)
{
    (void)state;
    /* Reject when iat > now + leeway. */
    assert_int_equal(iat_at("1001", 1000, 0, 0), TSR_ERR_ISSUED_IN_FUTURE);
    assert_int_equal(iat_at("1000", 1000, 0, 0), TSR_OK);
    assert_int_equal(iat_at("1061", 1000, 60, 0), TSR_ERR_ISSUED_IN_FUTURE);
    assert_int_equal(iat_at("1060", 1000, 60, 0), TSR_OK);
    /* iat = 1000.5 > 1000 rejects; 1000.5 <= 1001 is fine. */
    assert_int_equal(iat_at("1000.5", 1000, 0, 0), TSR_ERR_ISSUED_IN_FUTURE);
    assert_int_equal(iat_at("1000.5", 1001, 0, 0), TSR_OK);
    assert_int_equal(iat_at("999.5", 1000, 0, 0), TSR_OK);
    assert_int_equal(iat_at("1060.5", 1000, 60, 0), TSR_ERR_ISSUED_IN_FUTURE);
    assert_int_equal(iat_at("9223372036854775806", INT64_MAX - 1, 0, 0), TSR_OK);
    assert_int_equal(iat_at("9223372036854775807", INT64_MAX - 86400, 86400, 0), TSR_OK);
    assert_int_equal(iat_at("9223372036854775807", INT64_MAX - 86401, 86400, 0),
                     TSR_ERR_ISSUED_IN_FUTURE);
    assert_int_equal(iat_at("-9223372036854775808", INT64_MAX - 1, 0, 0), TSR_OK);
}

static void max_age_boundaries(void **state)
{
    (void)state;
    /* Max age makes iat required. */
    struct tsr_policy p = base();
    p.max_age = 300;
    assert_int_equal(check_p(&p, "{\"exp\":2000000000}", 1000), TSR_ERR_MISSING_CLAIM);
    /* Reject when now - iat > max_age + leeway. */
    assert_int_equal(iat_at("1000", 1301, 0, 300), TSR_ERR_TOO_OLD);
    assert_int_equal(iat_at("1000", 1300, 0, 300), TSR_OK);
    assert_int_equal(iat_at("1000", 1361, 60, 300), TSR_ERR_TOO_OLD);
    assert_int_equal(iat_at("1000", 1360, 60, 300), TSR_OK);
    /* iat = 1000.5: age at 1300 is 299.5, at 1301 it is 300.5 (> 300). */
    assert_int_equal(iat_at("1000.5", 1301, 0, 300), TSR_ERR_TOO_OLD);
    assert_int_equal(iat_at("1000.5", 1300, 0, 300), TSR_OK);
    /* iat = 999.5: age at 1300 is 300.5. */
    assert_int_equal(iat_at("999.5", 1300, 0, 300), TSR_ERR_TOO_OLD);
    assert_int_equal(iat_at("999.5", 1299, 0, 300), TSR_OK);
    /* Huge distances do not overflow. */
    assert_int_equal(iat_at("-9223372036854775808", INT64_MAX - 1, 86400, INT64_MAX),
                     TSR_ERR_TOO_OLD);
    assert_int_equal(iat_at("-1", INT64_MAX - 1, 0, INT64_MAX), TSR_OK);
    assert_int_equal(iat_at("-2", INT64_MAX - 1, 0, INT64_MAX), TSR_ERR_TOO_OLD);
}

static void time_check_order(void **state)
{
    (void)state;
    /* Expired and not yet valid at once: exp is checked first. */
    assert_int_equal(check("{\"exp\":10,\"nbf\":100}", 50), TSR_ERR_EXPIRED);
    assert_int_equal(check("{\"exp\":1000,\"nbf\":100,\"iat\":500}", 50), TSR_ERR_NOT_YET_VALID);
    assert_int_equal(check("{\"exp\":1000,\"nbf\":10,\"iat\":500}", 50), TSR_ERR_ISSUED_IN_FUTURE);
}

/* ---- iss, sub, aud ---- */

static void issuer(void **state)
{
    (void)state;
    struct tsr_policy p = base();
    char iss[] = "https://issuer.example";
    p.iss = iss;
    p.iss_len = strlen(iss);
    assert_int_equal(check_p(&p, "{\"exp\":2000000000,\"iss\":\"https://issuer.example/\"}", 0),
                     TSR_ERR_ISS_MISMATCH);
    assert_int_equal(check_p(&p, "{\"exp\":2000000000,\"iss\":\"HTTPS://issuer.example\"}", 0),
                     TSR_ERR_ISS_MISMATCH);
    assert_int_equal(check_p(&p, "{\"exp\":2000000000,\"iss\":\"\"}", 0), TSR_ERR_ISS_MISMATCH);
    assert_int_equal(
        check_p(&p, "{\"exp\":2000000000,\"iss\":\"https://issuer.example\\u0000\"}", 0),
        TSR_ERR_ISS_MISMATCH);
    assert_int_equal(check_p(&p, "{\"exp\":2000000000,\"iss\":\"https://issuer.example\"}", 0),
                     TSR_OK);
    /* Compared after unescaping. */
    assert_int_equal(
        check_p(&p, "{\"exp\":2000000000,\"iss\":\"https:\\/\\/issuer.ex\\u0061mple\"}", 0),
        TSR_OK);
}

static void subject(void **state)
{
    (void)state;
    struct tsr_policy p = base();
    char sub[] = "alice";
    p.sub = sub;
    p.sub_len = 5;
    assert_int_equal(check_p(&p, "{\"exp\":2000000000,\"sub\":\"bob\"}", 0), TSR_ERR_SUB_MISMATCH);
    assert_int_equal(check_p(&p, "{\"exp\":2000000000,\"sub\":\"Alice\"}", 0),
                     TSR_ERR_SUB_MISMATCH);
    assert_int_equal(check_p(&p, "{\"exp\":2000000000,\"sub\":\"alice\"}", 0), TSR_OK);
}

static void audience(void **state)
{
    (void)state;
    struct tsr_policy p = base();
    char a1[] = "api";
    char a2[] = "https://other";
    p.aud[0] = a1;
    p.aud_len[0] = 3;
    p.aud[1] = a2;
    p.aud_len[1] = strlen(a2);
    p.naud = 2;
    assert_int_equal(check_p(&p, "{\"exp\":2000000000,\"aud\":\"API\"}", 0), TSR_ERR_AUD_MISMATCH);
    assert_int_equal(check_p(&p, "{\"exp\":2000000000,\"aud\":[]}", 0), TSR_ERR_AUD_MISMATCH);
    assert_int_equal(check_p(&p, "{\"exp\":2000000000,\"aud\":[\"x\",\"y\"]}", 0),
                     TSR_ERR_AUD_MISMATCH);
    assert_int_equal(check_p(&p, "{\"exp\":2000000000,\"aud\":\"api\"}", 0), TSR_OK);
    assert_int_equal(check_p(&p, "{\"exp\":2000000000,\"aud\":[\"x\",\"https://other\"]}", 0),
                     TSR_OK);
    assert_int_equal(check_p(&p, "{\"exp\":2000000000,\"aud\":[\"api\"]}", 0), TSR_OK);
}

static void audience_present_but_not_configured(void **state)
{
    (void)state;
    /* RFC 7519 4.1.3: a verifier that does not identify itself with the
     * audience must reject. */
    assert_int_equal(check("{\"exp\":2000000000,\"aud\":\"api\"}", 0), TSR_ERR_AUD_MISMATCH);
    assert_int_equal(check("{\"exp\":2000000000,\"aud\":[]}", 0), TSR_ERR_AUD_MISMATCH);
    assert_int_equal(check("{\"exp\":2000000000}", 0), TSR_OK);
}

static void error_detail_never_repeats_content(void **state)
{
    (void)state;
    struct tsr_policy p = base();
    char iss[] = "good";
    p.iss = iss;
    p.iss_len = 4;
    const char *json = "{\"exp\":2000000000,\"iss\":\"SECRETVALUE\"}";
    tsr__jtok toks[32];
    tsr__jdoc doc;
    assert_int_equal(tsr__json_parse(json, strlen(json), toks, 32, 32, &doc), TSR_OK);
    tsr_error e;
    assert_int_equal(tsr__claims_check(&doc, &p, 0, &e), TSR_ERR_ISS_MISMATCH);
    assert_null(strstr(e.detail, "SECRETVALUE"));
    assert_non_null(strstr(e.detail, "iss"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(payload_must_be_object),
        cmocka_unit_test(dates_must_be_numbers),
        cmocka_unit_test(types_checked_even_when_not_asked),
        cmocka_unit_test(exp_is_required),
        cmocka_unit_test(required_claims),
        cmocka_unit_test(configured_identity_claims_are_required),
        cmocka_unit_test(exp_boundaries),
        cmocka_unit_test(exp_fractional),
        cmocka_unit_test(exp_negative_and_extreme),
        cmocka_unit_test(nbf_boundaries),
        cmocka_unit_test(iat_in_future),
        cmocka_unit_test(max_age_boundaries),
        cmocka_unit_test(time_check_order),
        cmocka_unit_test(issuer),
        cmocka_unit_test(subject),
        cmocka_unit_test(audience),
        cmocka_unit_test(audience_present_but_not_configured),
        cmocka_unit_test(error_detail_never_repeats_content),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
