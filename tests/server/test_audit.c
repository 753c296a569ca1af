/*
 * test_audit.c: the audit writer (server/audit.c) and the metrics it feeds
 * (server/metrics.c), without a running service: every line is one valid
 * JSON object whatever the values hold, credential-shaped values are
 * redacted, long values are cut, the "k=v" compatibility call maps its
 * keys, events move their counters, and the exposition stays well formed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audit.h"
#include "metrics.h"
#include "tesserad.h"

static char path[64];

static int setup(void **state)
{
    (void)state;
    char err[256];
    snprintf(path, sizeof(path), "/tmp/tesserad-audit-XXXXXX");
    int fd = mkstemp(path);
    if (fd < 0) {
        return -1;
    }
    close(fd);
    return audit_open(path, err, sizeof(err));
}

static int teardown(void **state)
{
    (void)state;
    audit_close();
    unlink(path);
    return 0;
}

/* The last line of the audit file, parsed; fails the test if it is not
 * exactly one JSON object followed by a newline. */
static json_t *last_line(void)
{
    size_t len = 0;
    char *text = read_file(path, 1 << 20, &len);
    assert_non_null(text);
    assert_true(len > 0 && text[len - 1] == '\n');
    text[len - 1] = '\0';
    char *start = strrchr(text, '\n');
    start = start != NULL ? start + 1 : text;
    json_error_t jerr;
    json_t *o = json_loads(start, JSON_REJECT_DUPLICATES, &jerr);
    free(text);
    assert_non_null(o);
    assert_true(json_is_object(o));
    return o;
}

static const char *field(json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

static void test_refuses_unwritable_path(void **state)
{
    (void)state;
    char err[256] = "";
    assert_int_equal(audit_open("/nonexistent-dir/a.log", err, sizeof(err)), -1);
    assert_non_null(strstr(err, "cannot open audit log"));
    assert_int_equal(audit_open(path, err, sizeof(err)), 0);
}

static void test_fields_and_escaping(void **state)
{
    (void)state;
    audit_rec r = {.event = AUDIT_LOGIN, .user = "u\"1\\x", .client = "10.0.0.1",
                   .session_id = "s\n\x01", .detail = "caf\xc3\xa9"};
    audit_event(&r);
    json_t *o = last_line();
    assert_string_equal(field(o, "event"), "login");
    assert_string_equal(field(o, "outcome"), "ok"); /* the event's default */
    assert_string_equal(field(o, "user"), "u\"1\\x");
    assert_string_equal(field(o, "client"), "10.0.0.1");
    assert_string_equal(field(o, "session_id"), "s\n\x01");
    assert_non_null(field(o, "ts"));
    assert_null(json_object_get(o, "kid")); /* absent when empty */
    json_decref(o);
}

static void test_credentials_are_redacted(void **state)
{
    (void)state;
    const char *jws = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl";
    const char *refresh = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"; /* 43 */
    audit_rec r = {.event = AUDIT_TOKEN_REJECTED, .reason = refresh, .detail = jws,
                   .kid = jws, .alg = refresh};
    audit_event(&r);
    json_t *o = last_line();
    assert_string_equal(field(o, "reason"), "[redacted]");
    assert_string_equal(field(o, "detail"), "[redacted]");
    assert_string_equal(field(o, "kid"), "[redacted]");
    assert_string_equal(field(o, "alg"), "[redacted]");
    json_decref(o);
    /* A 43-character kid (an RFC 7638 thumbprint) is an id, not a secret. */
    audit_rec k = {.event = AUDIT_KEY_CREATED, .kid = refresh};
    audit_event(&k);
    o = last_line();
    assert_string_equal(field(o, "kid"), refresh);
    json_decref(o);
}

static void test_long_values_are_cut_and_lines_stay_valid(void **state)
{
    (void)state;
    char big[4000];
    memset(big, '"', sizeof(big) - 1); /* each escapes to two bytes */
    big[sizeof(big) - 1] = '\0';
    char ctl[4000];
    memset(ctl, 0x01, sizeof(ctl) - 1); /* each escapes to six bytes */
    ctl[sizeof(ctl) - 1] = '\0';
    audit_rec r = {.event = AUDIT_LOGIN_FAILED, .reason = big, .user = ctl, .client = ctl,
                   .session_id = ctl, .kid = ctl, .alg = ctl, .jti = ctl, .detail = ctl};
    audit_event(&r);
    json_t *o = last_line();
    assert_string_equal(field(o, "event"), "login_failed");
    const char *reason = field(o, "reason");
    assert_non_null(reason);
    assert_int_equal(strlen(reason), 128 + 3); /* cut, with "..." */
    json_decref(o);
}

static void test_token_rejected_logs_header_only(void **state)
{
    (void)state;
    /* {"alg":"HS256","kid":"k1","typ":"at+jwt"} */
    const char *tok = "eyJhbGciOiJIUzI1NiIsImtpZCI6ImsxIiwidHlwIjoiYXQrand0In0.e30.c2ln";
    audit_token_rejected(tok, strlen(tok), "alg_not_allowed");
    json_t *o = last_line();
    assert_string_equal(field(o, "event"), "token_rejected");
    assert_string_equal(field(o, "outcome"), "rejected");
    assert_string_equal(field(o, "reason"), "alg_not_allowed");
    assert_string_equal(field(o, "alg"), "HS256");
    assert_string_equal(field(o, "kid"), "k1");
    char *dump = json_dumps(o, 0);
    assert_null(strstr(dump, "eyJ"));
    assert_null(strstr(dump, "c2ln"));
    free(dump);
    json_decref(o);
    /* Garbage is logged without alg or kid. */
    audit_token_rejected("%%%.x.y", 7, "malformed");
    o = last_line();
    assert_null(json_object_get(o, "alg"));
    json_decref(o);
}

static void test_legacy_pairs(void **state)
{
    (void)state;
    log_audit("refresh_reuse", "sid=%s user_id=%d action=%s addr=%s", "S1", 7, "family_revoked",
              "192.0.2.1");
    json_t *o = last_line();
    assert_string_equal(field(o, "event"), "refresh_reuse");
    assert_string_equal(field(o, "outcome"), "detected");
    assert_string_equal(field(o, "session_id"), "S1");
    assert_string_equal(field(o, "client"), "192.0.2.1");
    assert_string_equal(field(o, "detail"), "user_id=7 action=family_revoked");
    json_decref(o);
}

static void addr_fn(void *ctx, char *out, size_t cap)
{
    snprintf(out, cap, "%s", (const char *)ctx);
}

static void test_client_from_request_context(void **state)
{
    (void)state;
    static char v6[] = "2001:db8::1";
    audit_set_client(addr_fn, v6);
    audit_rec r = {.event = AUDIT_LOGOUT};
    audit_event(&r);
    audit_set_client(NULL, NULL);
    json_t *o = last_line();
    assert_string_equal(field(o, "client"), "2001:db8::1");
    json_decref(o);
    audit_event(&r);
    o = last_line();
    assert_null(json_object_get(o, "client"));
    json_decref(o);
}

static void test_verify_error_is_taken_once(void **state)
{
    (void)state;
    audit_note_verify_error("key_mismatch");
    assert_string_equal(audit_take_verify_error(), "key_mismatch");
    assert_null(audit_take_verify_error());
}

/* The value of one exposition line `name value`, or -1. */
static long long sample(const char *text, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = text; (p = strstr(p, name)) != NULL; p += n) {
        if ((p == text || p[-1] == '\n') && p[n] == ' ') {
            return strtoll(p + n + 1, NULL, 10);
        }
    }
    return -1;
}

static void test_events_move_counters(void **state)
{
    (void)state;
    size_t len = 0;
    char *before = metrics_render(&len);
    assert_non_null(before);
    audit_rec login = {.event = AUDIT_LOGIN};
    audit_rec lock = {.event = AUDIT_LOCKOUT};
    audit_rec rl = {.event = AUDIT_RATE_LIMITED, .reason = "account"};
    audit_event(&login);
    audit_event(&lock);
    audit_event(&rl);
    metrics_verify(false, "key_mismatch");
    metrics_verify(false, "no_such_reason");
    char *after = metrics_render(&len);
    assert_non_null(after);
    assert_int_equal(strlen(after), len);
    static const char *const names[] = {
        "tesserad_tokens_issued_total",
        "tesserad_logins_total{outcome=\"ok\"}",
        "tesserad_lockouts_total",
        "tesserad_rate_limited_total{scope=\"account\"}",
        "tesserad_verifications_total{result=\"rejected\",reason=\"key_mismatch\"}",
        "tesserad_verifications_total{result=\"rejected\",reason=\"other\"}",
    };
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        long long b = sample(before, names[i]);
        long long a = sample(after, names[i]);
        assert_true(b >= 0);
        assert_int_equal(a, b + 1);
    }
    assert_int_equal(sample(after, "tesserad_rate_limited_total{scope=\"address\"}"),
                     sample(before, "tesserad_rate_limited_total{scope=\"address\"}"));
    free(before);
    free(after);
}

static void test_histogram_is_cumulative(void **state)
{
    (void)state;
    static const char *const eps[] = {"/a", "/b"};
    metrics_set_endpoints(eps, 2);
    metrics_observe(0, 50000);        /* 50 us: first bucket */
    metrics_observe(0, 3000000);      /* 3 ms */
    metrics_observe(0, 9000000000u);  /* 9 s: only +Inf */
    metrics_observe(5, 1);            /* unknown endpoint: ignored */
    size_t len = 0;
    char *t = metrics_render(&len);
    assert_non_null(t);
    const char *h = "tesserad_http_request_duration_seconds";
    char name[160];
    snprintf(name, sizeof(name), "%s_bucket{endpoint=\"/a\",le=\"0.0001\"}", h);
    assert_int_equal(sample(t, name), 1);
    snprintf(name, sizeof(name), "%s_bucket{endpoint=\"/a\",le=\"0.005\"}", h);
    assert_int_equal(sample(t, name), 2);
    snprintf(name, sizeof(name), "%s_bucket{endpoint=\"/a\",le=\"2.5\"}", h);
    assert_int_equal(sample(t, name), 2);
    snprintf(name, sizeof(name), "%s_bucket{endpoint=\"/a\",le=\"+Inf\"}", h);
    assert_int_equal(sample(t, name), 3);
    snprintf(name, sizeof(name), "%s_count{endpoint=\"/a\"}", h);
    assert_int_equal(sample(t, name), 3);
    snprintf(name, sizeof(name), "%s_count{endpoint=\"/b\"}", h);
    assert_int_equal(sample(t, name), 0);
    free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_refuses_unwritable_path),
        cmocka_unit_test(test_fields_and_escaping),
        cmocka_unit_test(test_credentials_are_redacted),
        cmocka_unit_test(test_long_values_are_cut_and_lines_stay_valid),
        cmocka_unit_test(test_token_rejected_logs_header_only),
        cmocka_unit_test(test_legacy_pairs),
        cmocka_unit_test(test_client_from_request_context),
        cmocka_unit_test(test_verify_error_is_taken_once),
        cmocka_unit_test(test_events_move_counters),
        cmocka_unit_test(test_histogram_is_cumulative),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
