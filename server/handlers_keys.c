/*
 * handlers_keys.c: the public key set and the RFC 8414 metadata.
 *
 * The JWKS is served from the current key view (prebuilt text) with
 * Cache-Control max-age=jwks_max_age and an ETag. jwks_max_age is kept
 * below key_prepublish (config.c), so a verifier that caches the set for
 * max-age always sees a new key before it signs.
 */
#include "http.h"
#include "transport.h"

#include <stdio.h>
#include <string.h>

enum MHD_Result h_jwks(req *r)
{
    keyview *kv = keyring_acquire(r->a->kr);
    if (kv == NULL) {
        return reply_oauth_error(r, MHD_HTTP_SERVICE_UNAVAILABLE, "temporarily_unavailable",
                                 "no keys yet");
    }
    const char *inm = req_header(r, "If-None-Match");
    bool same = inm != NULL && strcmp(inm, kv->jwks_etag) == 0;
    struct MHD_Response *resp = MHD_create_response_from_buffer(
        same ? 0 : kv->jwks_len, same ? (void *)(uintptr_t) "" : kv->jwks, MHD_RESPMEM_MUST_COPY);
    enum MHD_Result ret = MHD_NO;
    if (resp != NULL) {
        char cc[64];
        snprintf(cc, sizeof(cc), "public, max-age=%lld", (long long)r->a->cfg.jwks_max_age);
        MHD_add_response_header(resp, "Content-Type", "application/jwk-set+json");
        MHD_add_response_header(resp, "Cache-Control", cc);
        MHD_add_response_header(resp, "ETag", kv->jwks_etag);
        transport_add_headers(resp);
        ret = MHD_queue_response(r->conn, same ? MHD_HTTP_NOT_MODIFIED : MHD_HTTP_OK, resp);
        MHD_destroy_response(resp);
    }
    keyring_release(kv);
    return ret;
}

static json_t *endpoint(const config *c, const char *path)
{
    char url[CFG_STR_MAX + 64];
    snprintf(url, sizeof(url), "%s%s", c->issuer, path);
    return json_string(url);
}

enum MHD_Result h_metadata(req *r)
{
    const config *c = &r->a->cfg;
    json_t *algs = json_array();
    json_array_append_new(algs, json_string(tsr_alg_name(c->signing_alg)));
    /* RFC 8414 section 2: issuer and response_types_supported are required;
     * authorization_endpoint is required only for grants that use it and
     * this server supports none (login is /v1/login), hence the empty
     * response_types_supported. */
    /* clang-format off */
    json_t *o = json_pack(
        "{s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:[], s:[s], s:[s], s:[s], s:[s], s:o, s:[s]}",
        "issuer", c->issuer,
        "token_endpoint", endpoint(c, "/oauth/token"),
        "jwks_uri", endpoint(c, "/.well-known/jwks.json"),
        "revocation_endpoint", endpoint(c, "/oauth/revoke"),
        "introspection_endpoint", endpoint(c, "/oauth/introspect"),
        "login_endpoint", endpoint(c, "/v1/login"),
        "verify_endpoint", endpoint(c, "/v1/verify"),
        "response_types_supported",
        "grant_types_supported", "refresh_token",
        "token_endpoint_auth_methods_supported", "none",
        "revocation_endpoint_auth_methods_supported", "none",
        "introspection_endpoint_auth_methods_supported", "client_secret_basic",
        "access_token_signing_alg_values_supported", algs,
        "scopes_supported", c->scope);
    /* clang-format on */
    if (o == NULL) {
        json_decref(algs);
    }
    return reply_json(r, MHD_HTTP_OK, o, false);
}
