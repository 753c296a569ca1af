/*
 * handlers_auth.c: POST /v1/login and POST /v1/logout, and the session and
 * revocation helpers the other handlers share.
 *
 * Login takes JSON {"username","password"} and answers the RFC 6749 token
 * fields. Unknown users, disabled users and wrong passwords get the same
 * answer after the same argon2id work (password.c). "mode":"cookie" sets
 * the tokens as cookies instead (cookies.c) and needs an allowed Origin.
 * Before any password work a login passes the rate limits and the lockout
 * of its account (ratelimit.c); its outcome feeds the lockout.
 * The request body held a password: it is wiped as soon as it is parsed.
 *
 * Logout ends the session of the access token (Bearer or cookie) and/or
 * of a refresh_token in the body; with the cookie it needs the CSRF token
 * and clears the cookies.
 */
#include "http.h"

#include "audit.h"
#include "cookies.h"
#include "ratelimit.h"

#include <openssl/crypto.h>
#include <string.h>

#define PASSWORD_MAX 1024

bool session_end(app *a, const char *sid, const char *reason, int64_t now)
{
    if (a->st->ops->session_revoke(a->st, sid, now, reason) != STORE_OK) {
        return false;
    }
    vcache_revoke_session(a->vc, sid);
    log_audit("session_revoked", "sid=%s reason=%s", sid, reason);
    return true;
}

bool refresh_session_id(app *a, const char *tok, char sid[STORE_ID_MAX])
{
    unsigned char hash[32];
    store_refresh rec;
    sid[0] = '\0';
    if (!tokens_refresh_hash(tok, strlen(tok), hash) ||
        a->st->ops->refresh_get(a->st, hash, &rec) != STORE_OK) {
        return false;
    }
    memcpy(sid, rec.session_id, STORE_ID_MAX);
    return true;
}

bool access_deny(app *a, const access_info *info)
{
    if (a->st->ops->deny_add(a->st, info->jti, info->exp) != STORE_OK) {
        return false;
    }
    vcache_deny(a->vc, info->jti, info->exp);
    log_audit("access_revoked", "jti=%s sid=%s", info->jti, info->sid);
    return true;
}

enum MHD_Result reply_tokens(req *r, const token_pair *tp)
{
    json_t *o = json_pack("{s:s, s:s, s:I, s:s, s:s}", "access_token", tp->access, "token_type",
                          "Bearer", "expires_in", (json_int_t)tp->expires_in, "refresh_token",
                          tp->refresh, "scope", tp->scope);
    return reply_json(r, MHD_HTTP_OK, o, true);
}

static void wipe_json_string(json_t *s)
{
    if (json_is_string(s)) {
        OPENSSL_cleanse((char *)(uintptr_t)json_string_value(s), json_string_length(s));
    }
}

static void wipe_body(req *r)
{
    if (r->body != NULL) {
        OPENSSL_cleanse(r->body, r->body_len);
    }
}

/* Checks the login document; on success points user and pw into it. */
static const char *login_fields(json_t *doc, const char **user, size_t *ulen, const char **pw,
                                size_t *pwlen, bool *cookie)
{
    const char *key;
    json_t *val;
    if (!json_is_object(doc)) {
        return "body must be a JSON object";
    }
    json_object_foreach(doc, key, val)
    {
        if (strcmp(key, "username") != 0 && strcmp(key, "password") != 0 &&
            strcmp(key, "mode") != 0) {
            return "unknown member in login request";
        }
    }
    json_t *u = json_object_get(doc, "username");
    json_t *p = json_object_get(doc, "password");
    json_t *m = json_object_get(doc, "mode");
    if (!json_is_string(u) || !json_is_string(p)) {
        return "username and password must be strings";
    }
    *cookie = json_is_string(m) && strcmp(json_string_value(m), "cookie") == 0;
    if (m != NULL && !*cookie &&
        (!json_is_string(m) || strcmp(json_string_value(m), "token") != 0)) {
        return "unsupported mode";
    }
    *user = json_string_value(u);
    *ulen = json_string_length(u);
    *pw = json_string_value(p);
    *pwlen = json_string_length(p);
    if (*ulen == 0 || *ulen >= STORE_NAME_MAX || strlen(*user) != *ulen) {
        return "invalid username";
    }
    if (*pwlen == 0 || *pwlen > PASSWORD_MAX) {
        return "invalid password length";
    }
    return NULL;
}

/* What a login carries from its first call to its answer, across the
 * suspension while a hash worker verifies the password. Lives in the
 * request arena. */
typedef struct login_state {
    pw_job job;
    struct MHD_Connection *conn;
    store_user u;
    bool known, cookie;
    char user[STORE_NAME_MAX];
} login_state;

static void login_suspend(void *arg)
{
    MHD_suspend_connection(((login_state *)arg)->conn);
}

static void login_resume(void *arg)
{
    MHD_resume_connection(((login_state *)arg)->conn);
}

/* The answer, once the password was verified (ls->job.result). */
static enum MHD_Result login_finish(req *r, login_state *ls)
{
    app *a = r->a;
    if (ls->job.cancelled) {
        return reply_oauth_error(r, MHD_HTTP_SERVICE_UNAVAILABLE, "temporarily_unavailable",
                                 "the service is stopping");
    }
    bool ok = ls->known && ls->job.result;
    guard_login_result(r, ls->user, ok);
    if (!ok) {
        audit_rec rec = {.event = AUDIT_LOGIN_FAILED,
                         .reason = ls->known ? "bad_password" : "unknown_user",
                         .user = ls->known ? ls->u.sub : NULL};
        audit_event(&rec);
        return reply_oauth_error(r, MHD_HTTP_BAD_REQUEST, "invalid_grant",
                                 "invalid username or password");
    }
    token_pair tp;
    if (tokens_login(a, &ls->u, r->now, &tp) != TOK_OK) {
        return reply_oauth_error(r, MHD_HTTP_INTERNAL_SERVER_ERROR, "server_error",
                                 "cannot issue tokens");
    }
    enum MHD_Result ret = ls->cookie ? reply_cookie_tokens(r, &tp) : reply_tokens(r, &tp);
    token_pair_clear(&tp);
    return ret;
}

/* Verifies on a hash worker with the connection suspended; MHD calls
 * h_login again once it is resumed (r->pending set). While the service
 * stops, the hash runs inline instead. Unknown users hash the dummy. */
static enum MHD_Result login_verify(req *r, login_state *ls, const char *pw, size_t pwlen)
{
    if (ls->known) {
        memcpy(ls->job.encoded, ls->u.pwhash, sizeof(ls->job.encoded));
    }
    memcpy(ls->job.pw, pw, pwlen);
    ls->job.pw_len = pwlen;
    ls->job.on_queued = login_suspend;
    ls->job.on_done = login_resume;
    ls->job.arg = ls;
    ls->conn = r->conn;
    r->pending = ls;
    if (pw_submit(&r->a->pw, &ls->job)) {
        return MHD_YES;
    }
    ls->job.result = pw_verify(&r->a->pw, ls->known ? ls->u.pwhash : NULL, pw, pwlen);
    OPENSSL_cleanse(ls->job.pw, sizeof(ls->job.pw));
    return login_finish(r, ls);
}

enum MHD_Result h_login(req *r)
{
    app *a = r->a;
    if (r->pending != NULL) {
        return login_finish(r, r->pending);
    }
    if (!req_content_type_is(r, "application/json")) {
        wipe_body(r);
        return reply_oauth_error(r, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE, "invalid_request",
                                 "Content-Type must be application/json");
    }
    json_error_t jerr;
    json_t *doc =
        json_loadb(r->body != NULL ? r->body : "", r->body_len, JSON_REJECT_DUPLICATES, &jerr);
    wipe_body(r);
    if (doc == NULL) {
        return reply_oauth_error(r, MHD_HTTP_BAD_REQUEST, "invalid_request", "malformed JSON");
    }
    const char *user = NULL, *pw = NULL;
    size_t ulen = 0, pwlen = 0;
    bool cookie = false;
    const char *bad = login_fields(doc, &user, &ulen, &pw, &pwlen, &cookie);
    enum MHD_Result ret;
    if (bad != NULL) {
        ret = reply_oauth_error(r, MHD_HTTP_BAD_REQUEST, "invalid_request", bad);
        goto out;
    }
    /* Cookie mode is for pages of the configured origins only: a login
     * from elsewhere would plant a session in the victim's browser. */
    if (cookie && !origin_allowed(r)) {
        audit_rec rec = {.event = "csrf_rejected", .reason = "origin", .detail = r->url};
        audit_event(&rec);
        ret = reply_oauth_error(r, MHD_HTTP_FORBIDDEN, "access_denied",
                                "Origin missing or not allowed");
        goto out;
    }
    if (!guard_login(r, user, &ret)) {
        goto out;
    }
    store_user u;
    store_rc rc = a->st->ops->user_get(a->st, user, &u);
    if (rc == STORE_ERROR) {
        ret = reply_oauth_error(r, MHD_HTTP_INTERNAL_SERVER_ERROR, "server_error", "store error");
        goto out;
    }
    login_state *ls = req_alloc(r, sizeof(*ls));
    if (ls == NULL) {
        ret = MHD_NO;
        goto out;
    }
    memset(ls, 0, sizeof(*ls));
    ls->known = rc == STORE_OK && !u.disabled;
    ls->cookie = cookie;
    ls->u = u;
    memcpy(ls->user, user, ulen + 1);
    ret = login_verify(r, ls, pw, pwlen);
out:
    wipe_json_string(json_object_get(doc, "password"));
    json_decref(doc);
    return ret;
}

/* The refresh_token member of a JSON or form logout body, or NULL. */
static const char *logout_refresh_token(req *r, bool *bad)
{
    *bad = false;
    if (r->body_len == 0) {
        return NULL;
    }
    if (req_content_type_is(r, "application/x-www-form-urlencoded")) {
        form f;
        if (!form_parse(r, &f)) {
            *bad = true;
            return NULL;
        }
        return form_get(&f, "refresh_token");
    }
    if (req_content_type_is(r, "application/json")) {
        json_t *doc = json_loadb(r->body, r->body_len, JSON_REJECT_DUPLICATES, NULL);
        json_t *t = json_object_get(doc, "refresh_token");
        const char *out = NULL;
        if (doc == NULL || !json_is_object(doc) || (t != NULL && !json_is_string(t))) {
            *bad = true;
        } else if (t != NULL) {
            out = req_strndup(r, json_string_value(t), json_string_length(t));
        }
        json_decref(doc);
        return out;
    }
    *bad = true;
    return NULL;
}

enum MHD_Result h_logout(req *r)
{
    app *a = r->a;
    bool bad = false;
    const char *refresh = logout_refresh_token(r, &bad);
    if (bad) {
        return reply_oauth_error(r, MHD_HTTP_BAD_REQUEST, "invalid_request",
                                 "body must be JSON or a form with refresh_token");
    }
    size_t len = 0;
    const char *bearer = req_bearer(r, &len);
    access_info info;
    const char *why = NULL;
    bool have_access = bearer != NULL && access_verify(a, bearer, len, r->now, &info, &why);
    bool cookie = r->bearer_from_cookie;
    if (refresh == NULL && !have_access) {
        /* A dead access cookie is cleared: nothing it could end is left. */
        return cookie ? reply_clear_cookies(r, MHD_HTTP_UNAUTHORIZED)
                      : reply_bearer_error(r, bearer ? "invalid_token" : NULL,
                                           bearer ? why : "missing bearer token or refresh_token");
    }
    enum MHD_Result ret;
    if (cookie && have_access && !csrf_check(r, info.sid, &ret)) {
        return ret;
    }
    bool ok = true;
    if (have_access) {
        ok = session_end(a, info.sid, "logout", r->now) && access_deny(a, &info);
    }
    char sid[STORE_ID_MAX];
    if (ok && refresh != NULL && refresh_session_id(a, refresh, sid)) {
        ok = session_end(a, sid, "logout", r->now);
    }
    if (!ok) {
        return reply_oauth_error(r, MHD_HTTP_INTERNAL_SERVER_ERROR, "server_error", "store error");
    }
    audit_rec rec = {.event = AUDIT_LOGOUT, .session_id = have_access ? info.sid : NULL,
                     .detail = cookie ? "cookie" : NULL};
    audit_event(&rec);
    return cookie ? reply_clear_cookies(r, MHD_HTTP_OK) : reply_empty(r, MHD_HTTP_NO_CONTENT);
}
