/*
 * handlers_oauth.c: the OAuth endpoints, all taking form bodies and
 * answering RFC 6749 section 5.2 errors with Cache-Control: no-store.
 *   POST /oauth/token       grant_type=refresh_token (RFC 6749 section 6)
 *   POST /oauth/revoke      RFC 7009; 200 for unknown tokens
 *   POST /oauth/introspect  RFC 7662; resource servers authenticate with
 *                           HTTP Basic (introspect_client in the config)
 * Introspection answers for access tokens only: refresh tokens are never
 * meant to reach a resource server, so they introspect as inactive.
 */
#include "http.h"
#include "digest.h"
#include "transport.h"

#include "cookies.h"
#include "ratelimit.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <string.h>
#include <strings.h>

static enum MHD_Result bad_request(req *r, const char *desc)
{
    return reply_oauth_error(r, MHD_HTTP_BAD_REQUEST, "invalid_request", desc);
}

/* Parses the form body; NULL (and a reply queued in *ret) on failure. */
static bool read_form(req *r, form *f, enum MHD_Result *ret)
{
    if (!req_content_type_is(r, "application/x-www-form-urlencoded")) {
        *ret = bad_request(r, "Content-Type must be application/x-www-form-urlencoded");
        return false;
    }
    if (!form_parse(r, f)) {
        *ret = bad_request(r, "malformed or repeated form parameters");
        return false;
    }
    return true;
}

enum MHD_Result h_token(req *r)
{
    form f;
    enum MHD_Result ret;
    if (!read_form(r, &f, &ret)) {
        return ret;
    }
    const char *grant = form_get(&f, "grant_type");
    const char *refresh = form_get(&f, "refresh_token");
    const char *scope = form_get(&f, "scope");
    if (grant == NULL) {
        return bad_request(r, "grant_type is required");
    }
    if (strcmp(grant, "refresh_token") != 0) {
        return reply_oauth_error(r, MHD_HTTP_BAD_REQUEST, "unsupported_grant_type",
                                 "only grant_type=refresh_token is supported");
    }
    /* Cookie mode: the refresh cookie stands in for the parameter, and as
     * a cookie rides along on any request it needs the CSRF checks (after
     * the rate limits, which every guess must pass). */
    bool cookie = false;
    char sid[STORE_ID_MAX];
    if ((refresh == NULL || refresh[0] == '\0') && (refresh = cookie_refresh_token(r)) != NULL) {
        cookie = true;
    }
    if (refresh == NULL || refresh[0] == '\0') {
        return bad_request(r, "refresh_token is required");
    }
    if (!guard_token(r, refresh, &ret)) {
        return ret;
    }
    if (cookie && !refresh_session_id(r->a, refresh, sid)) {
        return reply_oauth_error(r, MHD_HTTP_BAD_REQUEST, "invalid_grant",
                                 "refresh token is not valid");
    }
    if (cookie && !csrf_check(r, sid, &ret)) {
        return ret;
    }
    if (scope != NULL && strcmp(scope, r->a->cfg.scope) != 0) {
        return reply_oauth_error(r, MHD_HTTP_BAD_REQUEST, "invalid_scope",
                                 "scope cannot be changed on refresh");
    }
    token_pair tp;
    const char *why = NULL;
    tok_rc rc = tokens_refresh(r->a, refresh, form_get(&f, "client_id"), r->now, &tp, &why);
    if (rc == TOK_INVALID_GRANT) {
        return reply_oauth_error(r, MHD_HTTP_BAD_REQUEST, "invalid_grant", why);
    }
    if (rc != TOK_OK) {
        return reply_oauth_error(r, MHD_HTTP_INTERNAL_SERVER_ERROR, "server_error",
                                 "cannot refresh now");
    }
    ret = cookie ? reply_cookie_tokens(r, &tp) : reply_tokens(r, &tp);
    token_pair_clear(&tp);
    return ret;
}

enum MHD_Result h_revoke(req *r)
{
    form f;
    enum MHD_Result ret;
    if (!read_form(r, &f, &ret)) {
        return ret;
    }
    const char *tok = form_get(&f, "token");
    if (tok == NULL || tok[0] == '\0') {
        return bad_request(r, "token is required");
    }
    app *a = r->a;
    char sid[STORE_ID_MAX];
    bool ok = true;
    access_info info;
    const char *why = NULL;
    /* The hint only orders the lookups (RFC 7009 2.1); the token's shape
     * decides: refresh tokens are 43 base64url characters, access tokens
     * are JWS. */
    if (refresh_session_id(a, tok, sid)) {
        ok = session_end(a, sid, "revoked", r->now);
    } else if (access_verify(a, tok, strlen(tok), r->now, &info, &why)) {
        ok = access_deny(a, &info);
    }
    if (!ok) {
        return reply_oauth_error(r, MHD_HTTP_SERVICE_UNAVAILABLE, "temporarily_unavailable",
                                 "store error");
    }
    return reply(r, MHD_HTTP_OK, "application/json", "{}", 2, true);
}

/* HTTP Basic client authentication against the configured resource
 * servers: id matched exactly, SHA-256 of the secret compared in constant
 * time. The id and secret are not form-decoded (ours never need escapes). */
static bool client_auth(req *r, char id_out[STORE_ID_MAX])
{
    const char *h = req_header(r, "Authorization");
    id_out[0] = '\0';
    if (h == NULL || strncasecmp(h, "Basic ", 6) != 0) {
        return false;
    }
    h += 6;
    size_t n = strlen(h);
    if (n == 0 || n > 512 || n % 4 != 0) {
        return false;
    }
    unsigned char dec[400];
    int m = EVP_DecodeBlock(dec, (const unsigned char *)h, (int)n);
    if (m < 0) {
        return false;
    }
    /* EVP_DecodeBlock counts padding as zero bytes; drop them. */
    size_t pad = (h[n - 1] == '=' ? 1u : 0u) + (h[n - 2] == '=' ? 1u : 0u);
    size_t len = (size_t)m - pad;
    unsigned char *colon = memchr(dec, ':', len);
    bool ok = false;
    if (colon != NULL && memchr(dec, '\0', len) == NULL) {
        size_t idlen = (size_t)(colon - dec);
        unsigned char digest[32];
        digest_sha256(colon + 1, len - idlen - 1, digest);
        const config *c = &r->a->cfg;
        for (size_t i = 0; i < c->nclients; i++) {
            if (strlen(c->clients[i].id) == idlen && memcmp(c->clients[i].id, dec, idlen) == 0 &&
                CRYPTO_memcmp(c->clients[i].secret_sha256, digest, 32) == 0) {
                memcpy(id_out, c->clients[i].id, idlen + 1);
                ok = true;
            }
        }
    }
    OPENSSL_cleanse(dec, sizeof(dec));
    return ok;
}

static enum MHD_Result invalid_client(req *r)
{
    static const char body[] = "{\"error\":\"invalid_client\","
                               "\"error_description\":\"client authentication failed\"}";
    struct MHD_Response *resp = MHD_create_response_from_buffer(
        sizeof(body) - 1, (void *)(uintptr_t)body, MHD_RESPMEM_PERSISTENT);
    if (resp == NULL) {
        return MHD_NO;
    }
    MHD_add_response_header(resp, "Content-Type", "application/json");
    MHD_add_response_header(resp, "Cache-Control", "no-store");
    MHD_add_response_header(resp, "WWW-Authenticate", "Basic realm=\"tesserad\"");
    transport_add_headers(resp);
    enum MHD_Result ret = MHD_queue_response(r->conn, MHD_HTTP_UNAUTHORIZED, resp);
    MHD_destroy_response(resp);
    return ret;
}

enum MHD_Result h_introspect(req *r)
{
    char client[STORE_ID_MAX];
    if (!client_auth(r, client)) {
        return invalid_client(r);
    }
    form f;
    enum MHD_Result ret;
    if (!read_form(r, &f, &ret)) {
        return ret;
    }
    const char *tok = form_get(&f, "token");
    if (tok == NULL || tok[0] == '\0') {
        return bad_request(r, "token is required");
    }
    access_info info;
    const char *why = NULL;
    if (!access_verify(r->a, tok, strlen(tok), r->now, &info, &why)) {
        return reply_json(r, MHD_HTTP_OK, json_pack("{s:b}", "active", 0), true);
    }
    const config *c = &r->a->cfg;
    json_t *o = json_pack("{s:b, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:I}", "active",
                          1, "token_type", "Bearer", "scope", info.scope, "client_id",
                          info.client_id, "sub", info.sub, "aud", c->audience, "iss", c->issuer,
                          "jti", info.jti, "sid", info.sid, "exp", (json_int_t)info.exp, "iat",
                          (json_int_t)info.iat, "nbf", (json_int_t)info.nbf);
    return reply_json(r, MHD_HTTP_OK, o, true);
}
