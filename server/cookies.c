/*
 * cookies.c: cookie mode for browsers.
 *
 * A login with "mode":"cookie" puts the tokens where page scripts cannot
 * read them: the access token in COOKIE_ACCESS (__Host-: Secure, Path=/,
 * no Domain, so no sibling host can set or shadow it) and the refresh
 * token in COOKIE_REFRESH, sent only to /oauth/token (a __Host- cookie
 * must have Path=/, so it is __Secure-). Both are HttpOnly and
 * SameSite=Strict.
 *
 * Cookies travel with every request, so every cookie-authenticated state
 * change also needs (a) an Origin header naming a configured origin and
 * (b) the CSRF token in X-CSRF-Token. The CSRF token is
 *     base64url(HMAC-SHA256(k_refresh, "tesserad-csrf-v1" NUL || session id))
 * so it is bound to the session (it survives refreshes, which keep the
 * session, and dies with it) and needs no storage. It is returned in the
 * login body and in the readable COOKIE_CSRF (double submit: a page on
 * another origin can neither read the cookie nor the body). The prefix
 * separates these MACs from the refresh successors made with the same key,
 * whose input is a 32-byte hash followed by "succ".
 */
#include "cookies.h"
#include "transport.h"

#include "audit.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CSRF_LEN 43 /* base64url of 32 bytes */

static const char csrf_label[] = "tesserad-csrf-v1";

static void csrf_token(const app *a, const char *sid, char out[CSRF_LEN + 1])
{
    unsigned char buf[sizeof(csrf_label) + STORE_ID_MAX];
    size_t n = strnlen(sid, STORE_ID_MAX - 1);
    memcpy(buf, csrf_label, sizeof(csrf_label)); /* with its NUL */
    memcpy(buf + sizeof(csrf_label), sid, n);
    unsigned char mac[32];
    secrets_hmac(&a->sec, buf, sizeof(csrf_label) + n, mac);
    if (!b64url_enc(mac, sizeof(mac), out, CSRF_LEN + 1)) {
        out[0] = '\0';
    }
    OPENSSL_cleanse(mac, sizeof(mac));
}

const char *cookie_access_token(req *r, size_t *len)
{
    const char *v = MHD_lookup_connection_value(r->conn, MHD_COOKIE_KIND, COOKIE_ACCESS);
    *len = v != NULL ? strlen(v) : 0;
    if (*len == 0) {
        return NULL;
    }
    r->bearer_from_cookie = true;
    return v;
}

const char *cookie_refresh_token(req *r)
{
    const char *v = MHD_lookup_connection_value(r->conn, MHD_COOKIE_KIND, COOKIE_REFRESH);
    return v != NULL && v[0] != '\0' ? v : NULL;
}

/* The scheme://host[:port] prefix of an absolute URL. */
static size_t origin_len(const char *url)
{
    const char *p = strstr(url, "://");
    if (p == NULL) {
        return 0;
    }
    const char *slash = strchr(p + 3, '/');
    return slash != NULL ? (size_t)(slash - url) : strlen(url);
}

bool origin_allowed(req *r)
{
    const char *origin = req_header(r, "Origin");
    const config *c = &r->a->cfg;
    if (origin == NULL || origin[0] == '\0') {
        return false;
    }
    size_t olen = strlen(origin);
    if (c->cookie_origins[0] == '\0') {
        return origin_len(c->issuer) == olen && strncmp(c->issuer, origin, olen) == 0;
    }
    const char *p = c->cookie_origins;
    while (*p != '\0') {
        while (*p == ',' || *p == ' ') {
            p++;
        }
        size_t n = strcspn(p, ", ");
        if (n > 0 && n == olen && strncmp(p, origin, n) == 0) {
            return true;
        }
        p += n;
    }
    return false;
}

static enum MHD_Result forbidden(req *r, const char *reason, const char *desc)
{
    audit_rec rec = {.event = "csrf_rejected", .reason = reason, .detail = r->url};
    audit_event(&rec);
    return reply_oauth_error(r, MHD_HTTP_FORBIDDEN, "access_denied", desc);
}

bool csrf_check(req *r, const char *sid, enum MHD_Result *ret)
{
    if (!origin_allowed(r)) {
        *ret = forbidden(r, "origin", "Origin missing or not allowed");
        return false;
    }
    char want[CSRF_LEN + 1];
    csrf_token(r->a, sid, want);
    const char *got = req_header(r, CSRF_HEADER);
    bool ok = want[0] != '\0' && got != NULL && strlen(got) == CSRF_LEN &&
              CRYPTO_memcmp(got, want, CSRF_LEN) == 0;
    if (!ok) {
        *ret = forbidden(r, "csrf_token", "missing or wrong " CSRF_HEADER);
        return false;
    }
    return true;
}

/* Adds "NAME=VALUE; attributes" as a Set-Cookie header. */
static bool set_cookie(struct MHD_Response *resp, const char *name, const char *value,
                       const char *attrs, int64_t max_age)
{
    size_t cap = strlen(name) + strlen(value) + strlen(attrs) + 64;
    char *line = malloc(cap);
    if (line == NULL) {
        return false;
    }
    snprintf(line, cap, "%s=%s; Max-Age=%lld; %s", name, value, (long long)max_age, attrs);
    bool ok = MHD_add_response_header(resp, MHD_HTTP_HEADER_SET_COOKIE, line) == MHD_YES;
    OPENSSL_cleanse(line, cap); /* it held a token */
    free(line);
    return ok;
}

static const char attrs_access[] = "Path=/; Secure; HttpOnly; SameSite=Strict";
static const char attrs_refresh[] = "Path=/oauth/token; Secure; HttpOnly; SameSite=Strict";
static const char attrs_csrf[] = "Path=/; Secure; SameSite=Strict";

static enum MHD_Result queue_json(req *r, unsigned status, json_t *o, const token_pair *tp,
                                  const char *csrf)
{
    char *text = o != NULL ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    if (text == NULL) {
        return MHD_NO;
    }
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
    if (resp == NULL) {
        free(text);
        return MHD_NO;
    }
    const config *c = &r->a->cfg;
    bool ok = tp != NULL
                  ? set_cookie(resp, COOKIE_ACCESS, tp->access, attrs_access, tp->expires_in) &&
                        set_cookie(resp, COOKIE_REFRESH, tp->refresh, attrs_refresh,
                                   c->session_lifetime) &&
                        set_cookie(resp, COOKIE_CSRF, csrf, attrs_csrf, c->session_lifetime)
                  : set_cookie(resp, COOKIE_ACCESS, "", attrs_access, 0) &&
                        set_cookie(resp, COOKIE_REFRESH, "", attrs_refresh, 0) &&
                        set_cookie(resp, COOKIE_CSRF, "", attrs_csrf, 0);
    MHD_add_response_header(resp, "Content-Type", "application/json");
    MHD_add_response_header(resp, "Cache-Control", "no-store");
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    transport_add_headers(resp);
    enum MHD_Result ret = ok ? MHD_queue_response(r->conn, status, resp) : MHD_NO;
    MHD_destroy_response(resp);
    return ret;
}

enum MHD_Result reply_cookie_tokens(req *r, const token_pair *tp)
{
    char sid[STORE_ID_MAX];
    if (!refresh_session_id(r->a, tp->refresh, sid)) {
        return reply_oauth_error(r, MHD_HTTP_INTERNAL_SERVER_ERROR, "server_error",
                                 "session not found");
    }
    char csrf[CSRF_LEN + 1];
    csrf_token(r->a, sid, csrf);
    json_t *o = json_pack("{s:s, s:s, s:I, s:s}", "token_type", "cookie", "csrf_token", csrf,
                          "expires_in", (json_int_t)tp->expires_in, "scope", tp->scope);
    return queue_json(r, MHD_HTTP_OK, o, tp, csrf);
}

enum MHD_Result reply_clear_cookies(req *r, unsigned status)
{
    return queue_json(r, status, json_object(), NULL, NULL);
}
