/*
 * http.h: the HTTP layer between libmicrohttpd and the handlers: the request
 * object with its arena, routing, and response helpers that always set the
 * right content type and cache headers.
 */
#ifndef TESSERAD_HTTP_H
#define TESSERAD_HTTP_H

#include <microhttpd.h>
#include <jansson.h>

#include "tesserad.h"

typedef struct arena_chunk arena_chunk;

/* One request. Memory from req_alloc lives until the request completes and
 * is released in one step. */
typedef struct req {
    struct MHD_Connection *conn;
    app *a;
    const char *method;
    const char *url;
    const struct route *route;
    char *body;
    size_t body_len, body_cap;
    bool too_large;
    arena_chunk *arena;
    int64_t now;
    bool bearer_from_cookie; /* req_bearer found the access cookie (cookies.c) */
    void *pending;           /* a handler's state across a suspension (login) */
    bool bearer_rejected;    /* reply_bearer_error answered (metrics, audit) */
} req;

typedef enum MHD_Result (*handler_fn)(req *r);

typedef struct route {
    const char *method; /* NULL = any method */
    const char *path;
    bool prefix; /* path is a prefix ("/v1/sessions/") */
    bool body;   /* reads a request body */
    handler_fn fn;
} route;

void *req_alloc(req *r, size_t n);
char *req_strndup(req *r, const char *s, size_t n);
const char *req_header(req *r, const char *name);
/* True when the Content-Type's media type equals `type` (case-insensitive,
 * parameters ignored). */
bool req_content_type_is(req *r, const char *type);

/* application/x-www-form-urlencoded body. A name given twice, a bad escape or
 * a NUL byte fails the parse (RFC 6749 3.1: parameters never repeat). */
typedef struct form {
    size_t n;
    const char *names[32];
    const char *values[32];
} form;
bool form_parse(req *r, form *f);
const char *form_get(const form *f, const char *name);

/* The Bearer token of the Authorization header, or NULL (with *len 0).
 * Without an Authorization header, the access cookie of cookie mode
 * (r->bearer_from_cookie is then set: state changes need csrf_check). */
const char *req_bearer(req *r, size_t *len);

/* ---- responses (each queues the response and returns MHD's verdict) ---- */
enum MHD_Result reply(req *r, unsigned status, const char *ctype, const char *body, size_t len,
                      bool no_store);
/* Serializes and consumes `obj`. */
enum MHD_Result reply_json(req *r, unsigned status, json_t *obj, bool no_store);
/* RFC 6749 5.2 error: {"error","error_description"}, Cache-Control no-store. */
enum MHD_Result reply_oauth_error(req *r, unsigned status, const char *code, const char *desc);
/* 401 with an RFC 6750 WWW-Authenticate challenge. */
enum MHD_Result reply_bearer_error(req *r, const char *code, const char *desc);
enum MHD_Result reply_empty(req *r, unsigned status);

/* Starts the daemon on the already bound socket `fd`. */
struct MHD_Daemon *http_start(app *a, int fd);

/* ---- handlers (one file per area) ---- */
enum MHD_Result h_login(req *r);
enum MHD_Result h_logout(req *r);
enum MHD_Result h_token(req *r);
enum MHD_Result h_revoke(req *r);
enum MHD_Result h_introspect(req *r);
enum MHD_Result h_jwks(req *r);
enum MHD_Result h_metadata(req *r);
enum MHD_Result h_verify(req *r);
enum MHD_Result h_sessions_list(req *r);
enum MHD_Result h_sessions_delete(req *r);
enum MHD_Result h_healthz(req *r);
enum MHD_Result h_readyz(req *r);
enum MHD_Result h_metrics(req *r); /* handlers_metrics.c */

/* ---- shared by the handlers (handlers_auth.c) ---- */
/* Revokes a session in the store and in the verify cache, audited. */
bool session_end(app *a, const char *sid, const char *reason, int64_t now);
/* The session id a refresh token belongs to; false if unknown. */
bool refresh_session_id(app *a, const char *tok, char sid[STORE_ID_MAX]);
/* Puts an access token's jti on the denylist until its exp. */
bool access_deny(app *a, const access_info *info);
/* The token fields of a successful login or refresh (RFC 6749 5.1). */
enum MHD_Result reply_tokens(req *r, const token_pair *tp);

/* Frees the calling thread's verification workspace (thread exit). */
void verify_thread_init(void);

#endif /* TESSERAD_HTTP_H */
