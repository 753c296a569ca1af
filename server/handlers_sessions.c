/*
 * handlers_sessions.c: a user lists and ends their own sessions.
 *   GET    /v1/sessions       -> {"sessions":[{id, client_id, created_at,
 *                                 last_used_at, expires_at, current}]}
 *   DELETE /v1/sessions/{id}  -> 204; 404 for a session that is not the
 *                                caller's (whether or not it exists)
 * Both need a valid Bearer access token; the user is its subject.
 */
#include "http.h"

#include "cookies.h"

#include <string.h>

typedef struct list_ctx {
    json_t *arr;
    const char *current;
    int64_t idle;
    int64_t now;
} list_ctx;

static int add_session(void *arg, const store_session *s)
{
    list_ctx *c = arg;
    if (c->now - s->last_used_at > c->idle) {
        return 0; /* idle-expired: no longer usable, so not listed */
    }
    json_t *o = json_pack("{s:s, s:s, s:I, s:I, s:I, s:b}", "id", s->id, "client_id", s->client_id,
                          "created_at", (json_int_t)s->created_at, "last_used_at",
                          (json_int_t)s->last_used_at, "expires_at", (json_int_t)s->expires_at,
                          "current", strcmp(s->id, c->current) == 0);
    return json_array_append_new(c->arr, o) != 0;
}

/* Authenticates the caller by their Bearer token. */
static bool caller(req *r, access_info *info, enum MHD_Result *ret)
{
    size_t len = 0;
    const char *tok = req_bearer(r, &len);
    const char *why = NULL;
    if (tok == NULL) {
        *ret = reply_bearer_error(r, NULL, "missing bearer token");
        return false;
    }
    if (!access_verify(r->a, tok, len, r->now, info, &why)) {
        *ret = reply_bearer_error(r, "invalid_token", why);
        return false;
    }
    /* The access cookie rides along on any request: changes need CSRF. */
    if (r->bearer_from_cookie && strcmp(r->method, "GET") != 0 && strcmp(r->method, "HEAD") != 0) {
        return csrf_check(r, info->sid, ret);
    }
    return true;
}

/* The numeric user id of the session `sid` (the token's own session). */
static bool user_of_session(app *a, const char *sid, int64_t *uid)
{
    store_session s;
    if (a->st->ops->session_get(a->st, sid, &s) != STORE_OK) {
        return false;
    }
    *uid = s.user_id;
    return true;
}

enum MHD_Result h_sessions_list(req *r)
{
    access_info info;
    enum MHD_Result ret;
    int64_t uid = 0;
    if (!caller(r, &info, &ret)) {
        return ret;
    }
    if (!user_of_session(r->a, info.sid, &uid)) {
        return reply_bearer_error(r, "invalid_token", "session ended");
    }
    list_ctx c = {json_array(), info.sid, r->a->cfg.session_idle, r->now};
    if (c.arr == NULL ||
        r->a->st->ops->session_list(r->a->st, uid, r->now, add_session, &c) != STORE_OK) {
        json_decref(c.arr);
        return reply_oauth_error(r, MHD_HTTP_INTERNAL_SERVER_ERROR, "server_error", "store error");
    }
    return reply_json(r, MHD_HTTP_OK, json_pack("{s:o}", "sessions", c.arr), true);
}

enum MHD_Result h_sessions_delete(req *r)
{
    access_info info;
    enum MHD_Result ret;
    int64_t uid = 0;
    if (!caller(r, &info, &ret)) {
        return ret;
    }
    const char *id = r->url + strlen("/v1/sessions/");
    store_session target;
    if (!user_of_session(r->a, info.sid, &uid) || id[0] == '\0' || strlen(id) >= STORE_ID_MAX ||
        r->a->st->ops->session_get(r->a->st, id, &target) != STORE_OK || target.user_id != uid ||
        target.revoked_at != 0) {
        return reply_oauth_error(r, MHD_HTTP_NOT_FOUND, "not_found", "no such session");
    }
    if (!session_end(r->a, target.id, "user_ended", r->now)) {
        return reply_oauth_error(r, MHD_HTTP_INTERNAL_SERVER_ERROR, "server_error", "store error");
    }
    return reply_empty(r, MHD_HTTP_NO_CONTENT);
}
