/*
 * http.c: libmicrohttpd glue.
 *
 * The daemon runs an internal thread pool (one epoll loop per worker
 * thread). For each request the access handler is called at least twice:
 * first with the headers (we route), then with body chunks (appended up to
 * max_body; more marks the request too large), then once more to let the
 * handler answer. Body-less requests (GET /v1/verify) need no request
 * object of ours at all. Every other request's memory comes from its
 * arena, freed when MHD reports the request complete.
 */
#include "http.h"

#include "audit.h"
#include "cookies.h"
#include "metrics.h"
#include "ratelimit.h"
#include "transport.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

/* ---- arena ---- */

struct arena_chunk {
    arena_chunk *next;
    size_t used, cap;
    max_align_t data[];
};

void *req_alloc(req *r, size_t n)
{
    n = (n + sizeof(max_align_t) - 1) & ~(sizeof(max_align_t) - 1);
    arena_chunk *c = r->arena;
    if (c == NULL || c->cap - c->used < n) {
        size_t cap = n > 4096 ? n : 4096;
        c = malloc(sizeof(*c) + cap);
        if (c == NULL) {
            return NULL;
        }
        c->used = 0;
        c->cap = cap;
        c->next = r->arena;
        r->arena = c;
    }
    void *p = (char *)c->data + c->used;
    c->used += n;
    return p;
}

char *req_strndup(req *r, const char *s, size_t n)
{
    char *p = req_alloc(r, n + 1);
    if (p != NULL) {
        memcpy(p, s, n);
        p[n] = '\0';
    }
    return p;
}

static void req_free(req *r)
{
    arena_chunk *c = r->arena;
    while (c != NULL) {
        arena_chunk *next = c->next;
        free(c);
        c = next;
    }
    free(r->body);
    free(r);
}

/* ---- request helpers ---- */

const char *req_header(req *r, const char *name)
{
    return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

bool req_content_type_is(req *r, const char *type)
{
    const char *ct = req_header(r, "Content-Type");
    size_t n = strlen(type);
    if (ct == NULL || strncasecmp(ct, type, n) != 0) {
        return false;
    }
    return ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ';
}

const char *req_bearer(req *r, size_t *len)
{
    const char *h = req_header(r, "Authorization");
    *len = 0;
    if (h == NULL) {
        return cookie_access_token(r, len);
    }
    if (strncasecmp(h, "Bearer ", 7) != 0) {
        return NULL;
    }
    h += 7;
    while (*h == ' ') {
        h++;
    }
    size_t n = strlen(h);
    while (n > 0 && h[n - 1] == ' ') {
        n--;
    }
    *len = n;
    return n > 0 ? h : NULL;
}

static int unhex(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    c = (char)(c | 0x20);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Decodes one form component into the arena; NULL if malformed. */
static char *form_decode(req *r, const char *s, size_t n)
{
    char *out = req_alloc(r, n + 1);
    size_t o = 0;
    if (out == NULL) {
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '+') {
            out[o++] = ' ';
        } else if (s[i] == '%') {
            int hi = i + 2 < n ? unhex(s[i + 1]) : -1;
            int lo = hi >= 0 ? unhex(s[i + 2]) : -1;
            if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) {
                return NULL;
            }
            out[o++] = (char)(hi * 16 + lo);
            i += 2;
        } else if (s[i] == '\0') {
            return NULL;
        } else {
            out[o++] = s[i];
        }
    }
    out[o] = '\0';
    return out;
}

bool form_parse(req *r, form *f)
{
    memset(f, 0, sizeof(*f));
    const char *p = r->body != NULL ? r->body : "";
    const char *end = p + r->body_len;
    while (p < end) {
        const char *amp = memchr(p, '&', (size_t)(end - p));
        const char *stop = amp != NULL ? amp : end;
        const char *eq = memchr(p, '=', (size_t)(stop - p));
        if (stop != p) {
            if (eq == NULL || f->n == sizeof(f->names) / sizeof(f->names[0])) {
                return false;
            }
            char *name = form_decode(r, p, (size_t)(eq - p));
            char *value = form_decode(r, eq + 1, (size_t)(stop - eq - 1));
            if (name == NULL || value == NULL || name[0] == '\0' || form_get(f, name) != NULL) {
                return false;
            }
            f->names[f->n] = name;
            f->values[f->n++] = value;
        }
        p = stop + 1;
    }
    return true;
}

const char *form_get(const form *f, const char *name)
{
    for (size_t i = 0; i < f->n; i++) {
        if (strcmp(f->names[i], name) == 0) {
            return f->values[i];
        }
    }
    return NULL;
}

/* ---- responses ---- */

enum MHD_Result reply(req *r, unsigned status, const char *ctype, const char *body, size_t len,
                      bool no_store)
{
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(len, (void *)(uintptr_t)body, MHD_RESPMEM_MUST_COPY);
    if (resp == NULL) {
        return MHD_NO;
    }
    if (ctype != NULL) {
        MHD_add_response_header(resp, "Content-Type", ctype);
    }
    if (no_store) {
        MHD_add_response_header(resp, "Cache-Control", "no-store");
        MHD_add_response_header(resp, "Pragma", "no-cache");
    }
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    transport_add_headers(resp);
    enum MHD_Result ret = MHD_queue_response(r->conn, status, resp);
    MHD_destroy_response(resp);
    return ret;
}

enum MHD_Result reply_json(req *r, unsigned status, json_t *obj, bool no_store)
{
    char *text = obj != NULL ? json_dumps(obj, JSON_COMPACT) : NULL;
    json_decref(obj);
    if (text == NULL) {
        static const char oom[] = "{\"error\":\"server_error\"}";
        return reply(r, 500, "application/json", oom, sizeof(oom) - 1, true);
    }
    enum MHD_Result ret = reply(r, status, "application/json", text, strlen(text), no_store);
    free(text);
    return ret;
}

enum MHD_Result reply_oauth_error(req *r, unsigned status, const char *code, const char *desc)
{
    json_t *o = json_pack("{s:s, s:s}", "error", code, "error_description", desc);
    return reply_json(r, status, o, true);
}

/* Counts a rejected bearer token (for /v1/verify) and audits it with the
 * verifier's reason code when access_verify noted one. */
static void observe_rejection(req *r, const char *code, const char *desc)
{
    const char *reason = audit_take_verify_error();
    if (reason == NULL) {
        reason = metrics_reason_from_message(desc);
    }
    r->bearer_rejected = true;
    if (r->route != NULL && r->route->fn == h_verify) {
        metrics_verify(false, reason);
    }
    size_t len = 0;
    const char *tok = code != NULL ? req_bearer(r, &len) : NULL;
    if (tok != NULL) {
        audit_token_rejected(tok, len, reason);
    }
}

enum MHD_Result reply_bearer_error(req *r, const char *code, const char *desc)
{
    char challenge[256];
    char body[256];
    observe_rejection(r, code, desc);
    if (code == NULL) { /* RFC 6750 3.1: no error code when no token was sent */
        snprintf(challenge, sizeof(challenge), "Bearer realm=\"tesserad\"");
        snprintf(body, sizeof(body),
                 "{\"error\":\"invalid_request\","
                 "\"error_description\":\"%s\"}",
                 desc);
    } else {
        snprintf(challenge, sizeof(challenge),
                 "Bearer realm=\"tesserad\", error=\"%s\", error_description=\"%s\"", code, desc);
        snprintf(body, sizeof(body), "{\"error\":\"%s\",\"error_description\":\"%s\"}", code, desc);
    }
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(strlen(body), body, MHD_RESPMEM_MUST_COPY);
    if (resp == NULL) {
        return MHD_NO;
    }
    MHD_add_response_header(resp, "Content-Type", "application/json");
    MHD_add_response_header(resp, "Cache-Control", "no-store");
    MHD_add_response_header(resp, "WWW-Authenticate", challenge);
    transport_add_headers(resp);
    enum MHD_Result ret = MHD_queue_response(r->conn, MHD_HTTP_UNAUTHORIZED, resp);
    MHD_destroy_response(resp);
    return ret;
}

enum MHD_Result reply_empty(req *r, unsigned status)
{
    return reply(r, status, NULL, "", 0, true);
}

/* ---- routing ---- */

static const route routes[] = {
    {NULL, "/v1/verify", false, false, h_verify},
    {"POST", "/v1/login", false, true, h_login},
    {"POST", "/v1/logout", false, true, h_logout},
    {"POST", "/oauth/token", false, true, h_token},
    {"POST", "/oauth/revoke", false, true, h_revoke},
    {"POST", "/oauth/introspect", false, true, h_introspect},
    {"GET", "/.well-known/jwks.json", false, false, h_jwks},
    {"GET", "/.well-known/oauth-authorization-server", false, false, h_metadata},
    {"GET", "/v1/sessions", false, false, h_sessions_list},
    {"DELETE", "/v1/sessions/", true, false, h_sessions_delete},
    {"GET", "/healthz", false, false, h_healthz},
    {"GET", "/readyz", false, false, h_readyz},
    {"GET", "/metrics", false, false, h_metrics},
};

/* The route for (method, url); *wrong_method is set when only the method
 * does not match. */
static const route *find_route(const char *method, const char *url, bool *wrong_method)
{
    *wrong_method = false;
    for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
        const route *rt = &routes[i];
        bool match =
            rt->prefix ? strncmp(url, rt->path, strlen(rt->path)) == 0 : strcmp(url, rt->path) == 0;
        if (!match) {
            continue;
        }
        bool head_ok =
            strcmp(method, "HEAD") == 0 && rt->method != NULL && strcmp(rt->method, "GET") == 0;
        if (rt->method == NULL || strcmp(rt->method, method) == 0 || head_ok) {
            return rt;
        }
        *wrong_method = true;
    }
    return NULL;
}

/* The audit log's view of the request's client (ratelimit.c decides
 * whether X-Forwarded-For counts). */
static void audit_addr(void *ctx, char *out, size_t cap)
{
    char addr[CLIENT_ADDR_MAX];
    client_addr(ctx, addr);
    snprintf(out, cap, "%s", addr);
}

/* Runs the route's handler with the audit context set, and records its
 * latency (headers received to response queued) and, for /v1/verify, a
 * success the handler did not reject. */
static enum MHD_Result run_handler(req *r)
{
    uint64_t t0 = metrics_now_ns();
    audit_set_client(audit_addr, r);
    (void)audit_take_verify_error(); /* nothing left over from another request */
    enum MHD_Result ret = r->route->fn(r);
    audit_set_client(NULL, NULL);
    if (r->route->fn == h_verify && !r->bearer_rejected) {
        metrics_verify(true, NULL);
    }
    metrics_observe((size_t)(r->route - routes), metrics_now_ns() - t0);
    return ret;
}

static enum MHD_Result too_large(req *r)
{
    metrics_inc(M_BODY_TOO_LARGE);
    return reply_oauth_error(r, 413, "invalid_request", "request body too large");
}

static enum MHD_Result dispatch(req *r)
{
    if (r->too_large) {
        return too_large(r);
    }
    r->now = now_s();
    return run_handler(r);
}

static bool is_route(const void *p)
{
    const route *rt = p;
    return rt >= routes && rt < routes + sizeof(routes) / sizeof(routes[0]);
}

/* A request without a body is answered on MHD's second call, with a
 * request object on the stack: answering on the first call would make MHD
 * close the connection (it cannot know the client sends no body), which
 * would cost a TCP handshake per verification. *con_cls then points at the
 * route itself, so nothing is allocated. */
static enum MHD_Result bodyless(app *a, struct MHD_Connection *conn, const char *url,
                                const char *method, const route *rt, size_t *upload_size)
{
    if (*upload_size > 0) {
        *upload_size = 0; /* an unexpected body is read and ignored */
        return MHD_YES;
    }
    req r = {.conn = conn, .a = a, .method = method, .url = url, .route = rt, .now = now_s()};
    return run_handler(&r);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_size, void **con_cls)
{
    (void)version;
    app *a = cls;
    if (*con_cls != NULL && is_route(*con_cls)) {
        return bodyless(a, conn, url, method, *con_cls, upload_size);
    }
    req *r = *con_cls;
    if (r == NULL) {
        bool wrong_method = false;
        const route *rt = find_route(method, url, &wrong_method);
        req tmp = {.conn = conn, .a = a, .method = method, .url = url, .route = rt};
        if (rt == NULL) {
            return wrong_method
                       ? reply_oauth_error(&tmp, 405, "invalid_request", "method not allowed")
                       : reply_oauth_error(&tmp, 404, "not_found", "no such endpoint");
        }
        if (!rt->body) {
            *con_cls = (void *)(uintptr_t)rt;
            return MHD_YES;
        }
        const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Length");
        if (cl != NULL && strtoull(cl, NULL, 10) > a->cfg.max_body) {
            return too_large(&tmp);
        }
        r = calloc(1, sizeof(*r));
        if (r == NULL) {
            return MHD_NO;
        }
        *r = tmp;
        *con_cls = r;
        return MHD_YES;
    }
    if (*upload_size > 0) {
        size_t n = *upload_size;
        *upload_size = 0;
        if (r->too_large || r->body_len + n > a->cfg.max_body) {
            r->too_large = true;
            return MHD_YES;
        }
        if (r->body_cap < r->body_len + n + 1) {
            size_t cap = r->body_len + n + 1 < 1024 ? 1024 : r->body_len + n + 1;
            char *b = realloc(r->body, cap);
            if (b == NULL) {
                return MHD_NO;
            }
            r->body = b;
            r->body_cap = cap;
        }
        memcpy(r->body + r->body_len, upload_data, n);
        r->body_len += n;
        r->body[r->body_len] = '\0';
        return MHD_YES;
    }
    return dispatch(r);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)conn;
    (void)toe;
    if (*con_cls != NULL && !is_route(*con_cls)) {
        req_free(*con_cls);
    }
    *con_cls = NULL;
}

__attribute__((format(printf, 2, 0))) static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    char line[512];
    vsnprintf(line, sizeof(line), fmt, ap);
    size_t n = strlen(line);
    while (n > 0 && line[n - 1] == '\n') {
        line[--n] = '\0';
    }
    /* MHD's messages name sockets and states, never header values. */
    log_error("http: %s", line);
}

struct MHD_Daemon *http_start(app *a, int fd)
{
    unsigned workers = a->cfg.workers;
    if (workers == 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        workers = n > 0 ? (unsigned)n : 1u;
    }
    const char *names[sizeof(routes) / sizeof(routes[0])];
    for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
        names[i] = routes[i].path;
    }
    metrics_set_endpoints(names, sizeof(routes) / sizeof(routes[0]));
    /* Timeouts, connection limits, the per-connection pool (MHD zeroes it
     * between keep-alive requests, so a small pool is a cheaper request;
     * bodies are copied out of it) and TLS: transport.c. */
    struct MHD_OptionItem limits[8];
    transport_mhd_options(&a->cfg, limits, sizeof(limits) / sizeof(limits[0]));
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG |
                     transport_mhd_flags();
    flags |= MHD_ALLOW_SUSPEND_RESUME; /* logins wait for a hash worker suspended */
    return MHD_start_daemon(flags, 0, NULL, NULL, on_request, a, MHD_OPTION_EXTERNAL_LOGGER,
                            on_mhd_log, NULL, MHD_OPTION_LISTEN_SOCKET, fd,
                            MHD_OPTION_THREAD_POOL_SIZE, workers, MHD_OPTION_NOTIFY_COMPLETED,
                            on_completed, NULL, MHD_OPTION_ARRAY, limits, MHD_OPTION_END);
}
