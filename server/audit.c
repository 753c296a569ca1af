/*
 * audit.c: the JSON-lines audit log (see audit.h for the line format).
 *
 * Each line is built in a stack buffer and written with one write(2) on a
 * descriptor opened O_APPEND, so concurrent lines never interleave and no
 * lock is needed. Values are JSON-escaped and truncated (a client-chosen
 * kid cannot forge fields or flood a line), and any value shaped like a
 * compact JWS or a refresh token is replaced by "[redacted]": callers pass
 * only ids, and this is the net under that rule.
 *
 * The client address comes from a thread-local callback the HTTP layer
 * sets for the request it serves, so events raised deep in tokens.c carry
 * the address without every function passing it down. It is formatted
 * only when a line is written: /v1/verify pays for two pointer stores, not
 * for inet_ntop or an X-Forwarded-For parse.
 */
#include "audit.h"

#include "metrics.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <tessera.h>

#define LINE_MAX_BYTES 2048
#define VALUE_MAX 128 /* longest value written, in bytes */
#define REFRESH_LEN 43

static int audit_fd = STDERR_FILENO;

static _Thread_local audit_addr_fn tl_addr;
static _Thread_local void *tl_ctx;
static _Thread_local const char *tl_verify_error;

int audit_open(const char *path, char *err, size_t errcap)
{
    audit_close();
    if (path == NULL || path[0] == '\0' || strcmp(path, "-") == 0) {
        return 0;
    }
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
        snprintf(err, errcap, "cannot open audit log %s: %s", path, strerror(errno));
        return -1;
    }
    audit_fd = fd;
    return 0;
}

void audit_close(void)
{
    if (audit_fd != STDERR_FILENO) {
        close(audit_fd);
        audit_fd = STDERR_FILENO;
    }
}

/* ---- the calling thread's request ---- */

void audit_set_client(audit_addr_fn addr, void *ctx)
{
    tl_addr = addr;
    tl_ctx = ctx;
}

void audit_note_verify_error(const char *code)
{
    tl_verify_error = code;
}

const char *audit_take_verify_error(void)
{
    const char *c = tl_verify_error;
    tl_verify_error = NULL;
    return c;
}

/* ---- line building ---- */

typedef struct line {
    char b[LINE_MAX_BYTES];
    size_t len;
    bool full;
} line;

static void add_raw(line *l, const char *s, size_t n)
{
    /* Keep room for the closing "}\n". */
    if (l->full || n > sizeof(l->b) - 3 - l->len) {
        l->full = true;
        return;
    }
    memcpy(l->b + l->len, s, n);
    l->len += n;
}

static bool is_b64url(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           c == '-' || c == '_';
}

/* True for what could be a bearer credential: a compact JWS (three
 * base64url segments, the first starting "eyJ") or a 43-character
 * base64url refresh token. Ids of ours are 22 or 43 characters (kid
 * thumbprints are 43 too), so only dotted values and fields that never hold
 * a 43-character id are checked for the latter. */
static bool looks_like_credential(const char *v, bool check_refresh)
{
    size_t n = strlen(v);
    size_t dots = 0;
    bool b64 = true;
    for (size_t i = 0; i < n; i++) {
        if (v[i] == '.') {
            dots++;
        } else if (!is_b64url(v[i])) {
            b64 = false;
        }
    }
    if (b64 && dots >= 2 && strncmp(v, "eyJ", 3) == 0) {
        return true;
    }
    return check_refresh && b64 && dots == 0 && n == REFRESH_LEN;
}

static void add_escaped(line *l, const char *v)
{
    static const char hex[] = "0123456789abcdef";
    size_t n = strnlen(v, VALUE_MAX);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)v[i];
        char esc[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
        if (c == '"' || c == '\\') {
            char two[2] = {'\\', (char)c};
            add_raw(l, two, 2);
        } else if (c < 0x20 || c >= 0x7f) {
            add_raw(l, esc, sizeof(esc)); /* also non-ASCII: lines stay ASCII */
        } else {
            add_raw(l, (const char *)&v[i], 1);
        }
    }
    if (strnlen(v, VALUE_MAX + 1) > VALUE_MAX) {
        add_raw(l, "...", 3);
    }
}

/* Adds ,"key":"value". A field that does not fit is dropped whole, so the
 * line stays valid JSON (2 KiB hold every field but the most heavily
 * escaped ones; the limit keeps a line one atomic write on a pipe). */
static void add_field(line *l, const char *key, const char *v, bool check_refresh)
{
    if (v == NULL || v[0] == '\0') {
        return;
    }
    size_t mark = l->len;
    add_raw(l, ",\"", 2);
    add_escaped(l, key);
    add_raw(l, "\":\"", 3);
    if (looks_like_credential(v, check_refresh)) {
        add_raw(l, "[redacted]", 10);
    } else {
        add_escaped(l, v);
    }
    add_raw(l, "\"", 1);
    if (l->full) {
        l->len = mark;
        l->full = false;
    }
}

static void add_ts(line *l)
{
    struct timespec ts;
    struct tm tm;
    char t[40];
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    int n = snprintf(t, sizeof(t), "{\"ts\":\"%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ\"",
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                     tm.tm_sec, ts.tv_nsec / 1000000L);
    add_raw(l, t, n > 0 ? (size_t)n : 0);
}

static void emit(line *l)
{
    l->b[l->len++] = '}';
    l->b[l->len++] = '\n';
    const char *p = l->b;
    size_t left = l->len;
    while (left > 0) {
        ssize_t w = write(audit_fd, p, left);
        if (w < 0 && errno == EINTR) {
            continue;
        }
        if (w <= 0) {
            return; /* nowhere left to report it */
        }
        p += w;
        left -= (size_t)w;
    }
}

/* ---- events ---- */

/* Default outcome and the counter of each event. */
static const struct event_info {
    const char *event, *outcome;
    int counter; /* a metric_counter, or -1 */
} events[] = {
    {AUDIT_LOGIN, "ok", M_LOGIN_OK},
    {AUDIT_LOGIN_FAILED, "failure", M_LOGIN_FAILED},
    {AUDIT_LOCKOUT, "locked", M_LOCKOUTS},
    {AUDIT_RATE_LIMITED, "refused", -1}, /* counted by scope, below */
    {AUDIT_TOKEN_ISSUED, "ok", -1}, /* login and refresh count the tokens */
    {AUDIT_REFRESH, "ok", M_REFRESH_OK},
    {AUDIT_REFRESH_REUSE, "detected", M_REFRESH_REUSE},
    {AUDIT_SESSION_REVOKED, "ok", M_REVOCATIONS},
    {AUDIT_ACCESS_REVOKED, "ok", M_REVOCATIONS},
    {AUDIT_LOGOUT, "ok", -1},
    {AUDIT_KEY_CREATED, "ok", M_KEY_EVENTS},
    {AUDIT_KEY_RETIRED, "ok", M_KEY_EVENTS},
    {AUDIT_KEY_REMOVED, "ok", M_KEY_EVENTS},
    {AUDIT_TOKEN_REJECTED, "rejected", -1}, /* counted by the verify path */
    {AUDIT_USER_REVOKE_ALL, "ok", -1},
    {"login_locked", "refused", -1},
    {"csrf_rejected", "rejected", -1},
};

static const struct event_info *event_find(const char *event)
{
    for (size_t i = 0; i < sizeof(events) / sizeof(events[0]); i++) {
        if (strcmp(events[i].event, event) == 0) {
            return &events[i];
        }
    }
    return NULL;
}

static void count_event(const struct event_info *ei, const audit_rec *r)
{
    if (ei == NULL) {
        return;
    }
    if (ei->counter >= 0) {
        metrics_inc((metric_counter)ei->counter);
    }
    /* A login and a refresh each sign exactly one access token. */
    if (ei->counter == M_LOGIN_OK || ei->counter == M_REFRESH_OK) {
        metrics_inc(M_TOKENS_ISSUED);
    } else if (strcmp(ei->event, AUDIT_RATE_LIMITED) == 0) {
        bool account = r->reason != NULL && strstr(r->reason, "account") != NULL;
        metrics_inc(account ? M_RATE_LIMITED_ACCOUNT : M_RATE_LIMITED_ADDRESS);
    }
}

/* Starts a line with ts, event, outcome, reason, user, client, session. */
static void begin(line *l, const audit_rec *r, const struct event_info *ei)
{
    char peer[80] = "";
    const char *outcome = r->outcome != NULL ? r->outcome : (ei != NULL ? ei->outcome : NULL);
    if (r->client == NULL && tl_addr != NULL) {
        tl_addr(tl_ctx, peer, sizeof(peer));
    }
    add_ts(l);
    add_field(l, "event", r->event, true);
    add_field(l, "outcome", outcome, true);
    add_field(l, "reason", r->reason, true);
    add_field(l, "user", r->user, false);
    add_field(l, "client", r->client != NULL ? r->client : peer, true);
    add_field(l, "session_id", r->session_id, false);
}

void audit_event(const audit_rec *r)
{
    line l;
    l.len = 0;
    l.full = false;
    const struct event_info *ei = event_find(r->event);
    begin(&l, r, ei);
    add_field(&l, "kid", r->kid, false);
    add_field(&l, "alg", r->alg, true);
    add_field(&l, "jti", r->jti, false);
    add_field(&l, "detail", r->detail, true);
    emit(&l);
    count_event(ei, r);
}

/* Copies header member `name` of a decoded JOSE header as a plain string;
 * "" when absent or not a simple string. A small scan, not a JSON parser:
 * the value only labels a log line, and is escaped when written. */
static void header_member(const char *hdr, const char *name, char *out, size_t cap)
{
    char pat[16];
    out[0] = '\0';
    snprintf(pat, sizeof(pat), "\"%s\"", name);
    const char *p = strstr(hdr, pat);
    if (p == NULL) {
        return;
    }
    p += strlen(pat);
    while (*p == ' ' || *p == ':') {
        p++;
    }
    if (*p != '"') {
        return;
    }
    p++;
    size_t n = 0;
    while (p[n] != '\0' && p[n] != '"' && p[n] != '\\' && n + 1 < cap) {
        n++;
    }
    memcpy(out, p, n);
    out[n] = '\0';
}

void audit_token_rejected(const char *tok, size_t len, const char *reason)
{
    char hdr[512] = "";
    char alg[32] = "";
    char kid[80] = "";
    const char *dot = tok != NULL ? memchr(tok, '.', len) : NULL;
    size_t hlen = 0;
    if (dot != NULL && (size_t)(dot - tok) < 680 &&
        tsr_b64url_decode(tok, (size_t)(dot - tok), (unsigned char *)hdr, sizeof(hdr) - 1,
                          &hlen) == TSR_OK) {
        hdr[hlen] = '\0';
        header_member(hdr, "alg", alg, sizeof(alg));
        header_member(hdr, "kid", kid, sizeof(kid));
    }
    audit_rec r = {.event = AUDIT_TOKEN_REJECTED, .reason = reason, .alg = alg, .kid = kid};
    audit_event(&r);
}

/* ---- the "k=v" compatibility call ---- */

void audit_legacy(const char *event, const char *fmt, va_list ap)
{
    char text[1024];
    const char *keys[12] = {0};
    const char *vals[12] = {0};
    size_t n = 0;
    vsnprintf(text, sizeof(text), fmt, ap);
    for (char *save = NULL, *tok = strtok_r(text, " ", &save); tok != NULL && n < 12;
         tok = strtok_r(NULL, " ", &save)) {
        char *eq = strchr(tok, '=');
        if (eq != NULL) {
            *eq = '\0';
            keys[n] = tok;
            vals[n++] = eq + 1;
        }
    }
    audit_rec r = {.event = event};
    const char *extra[12][2];
    size_t nextra = 0;
    for (size_t i = 0; i < n; i++) {
        const char *k = keys[i];
        if (strcmp(k, "sub") == 0 || strcmp(k, "user") == 0) {
            r.user = vals[i];
        } else if (strcmp(k, "sid") == 0) {
            r.session_id = vals[i];
        } else if (strcmp(k, "kid") == 0) {
            r.kid = vals[i];
        } else if (strcmp(k, "alg") == 0) {
            r.alg = vals[i];
        } else if (strcmp(k, "jti") == 0) {
            r.jti = vals[i];
        } else if (strcmp(k, "reason") == 0 || strcmp(k, "scope") == 0) {
            r.reason = vals[i];
        } else if (strcmp(k, "addr") == 0) {
            r.client = vals[i];
        } else {
            extra[nextra][0] = k;
            extra[nextra++][1] = vals[i];
        }
    }
    /* The remaining pairs ("user_id=7 action=family_revoked") go to detail. */
    char detail[256] = "";
    size_t off = 0;
    for (size_t i = 0; i < nextra && off < sizeof(detail); i++) {
        int w = snprintf(detail + off, sizeof(detail) - off, "%s%s=%s", off ? " " : "",
                         extra[i][0], extra[i][1]);
        off += w > 0 ? (size_t)w : 0;
    }
    r.detail = detail;
    audit_event(&r);
}
