/*
 * handlers_auth.c: POST /v1/login and POST /v1/logout, and the session and
 * revocation helpers the other handlers share.
 *
 * Login takes JSON {"username","password"} and answers the RFC 6749 token
 * fields. Unknown users, disabled users and wrong passwords get the same
 * answer after the same argon2id work (password.c). "mode" is reserved for
 * the cookie mode of the hardening issue; only "token" is accepted now.
 * The request body held a password: it is wiped as soon as it is parsed.
 */
#include "http.h"

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
                                size_t *pwlen)
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
    if (m != NULL && (!json_is_string(m) || strcmp(json_string_value(m), "token") != 0)) {
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

enum MHD_Result h_login(req *r)
{
    app *a = r->a;
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
    const char *bad = login_fields(doc, &user, &ulen, &pw, &pwlen);
    enum MHD_Result ret;
    if (bad != NULL) {
        ret = reply_oauth_error(r, MHD_HTTP_BAD_REQUEST, "invalid_request", bad);
        goto out;
    }
    store_user u;
    store_rc rc = a->st->ops->user_get(a->st, user, &u);
    if (rc == STORE_ERROR) {
        ret = reply_oauth_error(r, MHD_HTTP_INTERNAL_SERVER_ERROR, "server_error", "store error");
        goto out;
    }
    bool known = rc == STORE_OK && !u.disabled;
    bool ok = pw_verify(&a->pw, known ? u.pwhash : NULL, pw, pwlen);
    if (!known || !ok) {
        log_audit("login_failed", "known_user=%s", known ? "yes" : "no");
        ret = reply_oauth_error(r, MHD_HTTP_BAD_REQUEST, "invalid_grant",
                                "invalid username or password");
        goto out;
    }
    token_pair tp;
    if (tokens_login(a, &u, r->now, &tp) != TOK_OK) {
        ret = reply_oauth_error(r, MHD_HTTP_INTERNAL_SERVER_ERROR, "server_error",
                                "cannot issue tokens");
        goto out;
    }
    ret = reply_tokens(r, &tp);
    token_pair_clear(&tp);
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
    if (refresh == NULL && !have_access) {
        return reply_bearer_error(r, bearer ? "invalid_token" : NULL,
                                  bearer ? why : "missing bearer token or refresh_token");
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
    return reply_empty(r, MHD_HTTP_NO_CONTENT);
}
