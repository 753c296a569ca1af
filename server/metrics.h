/*
 * metrics.h: tesserad's counters and latency histograms, served by
 * GET /metrics in the Prometheus text format (version 0.0.4).
 *
 * Every counter is a relaxed atomic: no lock on any request path. Security
 * events are counted where they are audited (audit_event counts login,
 * refresh, reuse, lockout, rate_limited, ... by event name), so a handler
 * that audits an event must not count it again with metrics_inc.
 */
#ifndef TESSERAD_METRICS_H
#define TESSERAD_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum metric_counter {
    M_TOKENS_ISSUED = 0,    /* access tokens signed (login, refresh) */
    M_LOGIN_OK,             /* successful logins */
    M_LOGIN_FAILED,         /* failed logins (any reason) */
    M_REFRESH_OK,           /* successful refresh grants */
    M_REFRESH_REUSE,        /* refresh-token reuse detections */
    M_LOCKOUTS,             /* accounts or addresses locked out */
    M_RATE_LIMITED_ADDRESS, /* requests refused by the per-address limit */
    M_RATE_LIMITED_ACCOUNT, /* requests refused by the per-account limit */
    M_REVOCATIONS,          /* sessions ended or access tokens denylisted */
    M_KEY_EVENTS,           /* signing keys created, retired or removed */
    M_BODY_TOO_LARGE,       /* requests answered 413 */
    M_COUNTER__COUNT
} metric_counter;

void metrics_inc(metric_counter c);

/* One /v1/verify answer: ok, or rejected with `reason` (a tsr_err name such
 * as "alg_not_allowed", or a service reason such as "session_ended";
 * unknown codes count as "other"). */
void metrics_verify(bool ok, const char *reason);

/* Latency histograms, one per endpoint. Endpoint names are registered once
 * at start-up (before any request), in route-table order. */
#define METRICS_MAX_ENDPOINTS 32
void metrics_set_endpoints(const char *const *names, size_t n);
/* Records one request of endpoint `idx` that took `ns` nanoseconds. */
void metrics_observe(size_t idx, uint64_t ns);
/* A monotonic clock in nanoseconds, for metrics_observe. */
uint64_t metrics_now_ns(void);

/* The text exposition; caller frees with free(). NULL on allocation
 * failure. */
char *metrics_render(size_t *len);

/* The service reason code for one of access_verify's safe messages
 * ("token expired" -> "expired"); "invalid_token" when unknown. */
const char *metrics_reason_from_message(const char *why);

#endif /* TESSERAD_METRICS_H */
