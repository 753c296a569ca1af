/*
 * handlers_verify.c: access-token verification, and GET /v1/verify for
 * reverse proxies (nginx auth_request, Traefik ForwardAuth).
 *
 * This is the hot path. Per request: a reference to the key view (a
 * mutex-protected pointer copy), SHA-256 of the token and a lookup in the
 * verified-token cache (tcache.c); on a miss, one tsr_verifier_verify with
 * the calling thread's own tsr_jwt (no allocation in the steady state) and
 * claim copies into the caller's access_info, which then goes into the
 * cache. Hit or miss, the times are checked at `now` and the denylist,
 * auth_version, disabled flag and session come from vcache.c, so a cached
 * token is revoked exactly as fast as any other. It never reads or writes
 * the store. It answers only 200 or 401: nginx turns any other status of an
 * auth subrequest into a 500.
 */
#include "http.h"
#include "transport.h"

#include "audit.h"
#include "tcache.h"

#include <string.h>

static pthread_key_t jwt_key;
static pthread_once_t jwt_once = PTHREAD_ONCE_INIT;

static void jwt_destroy(void *p)
{
    tsr_jwt_free(p);
}

static void jwt_key_make(void)
{
    pthread_key_create(&jwt_key, jwt_destroy);
}

void verify_thread_init(void)
{
    pthread_once(&jwt_once, jwt_key_make);
}

/* The calling thread's workspace, created on first use and freed when the
 * thread exits. */
static tsr_jwt *thread_jwt(void)
{
    pthread_once(&jwt_once, jwt_key_make);
    tsr_jwt *j = pthread_getspecific(jwt_key);
    if (j == NULL && tsr_jwt_new(&j, NULL) == TSR_OK) {
        pthread_setspecific(jwt_key, j);
    }
    return j;
}

static bool get_str(const tsr_jwt *j, const char *name, char *buf, size_t cap, bool required)
{
    size_t len = 0;
    tsr_err e = tsr_jwt_get_string(j, name, buf, cap, &len);
    if (e == TSR_ERR_NOT_FOUND && !required) {
        buf[0] = '\0';
        return true;
    }
    return e == TSR_OK && strlen(buf) == len; /* no embedded NUL */
}

/* The full check: signature and claims under `kv`, then the claims the
 * service needs copied out of the thread's tsr_jwt. */
static bool verify_full(keyview *kv, const char *tok, size_t len, int64_t now, access_info *info,
                        const char **why)
{
    tsr_jwt *j = thread_jwt();
    if (j == NULL) {
        return false;
    }
    tsr_err e = tsr_verifier_verify(kv->verifier, tok, len, now, j, NULL);
    if (e != TSR_OK) {
        audit_note_verify_error(tsr_err_name(e)); /* the reason code for audit and metrics */
        if (e == TSR_ERR_EXPIRED) {
            *why = "token expired";
        }
        return false;
    }
    if (!get_str(j, "sub", info->sub, sizeof(info->sub), true) ||
        !get_str(j, "sid", info->sid, sizeof(info->sid), true) ||
        !get_str(j, "jti", info->jti, sizeof(info->jti), true) ||
        !get_str(j, "client_id", info->client_id, sizeof(info->client_id), true) ||
        !get_str(j, "scope", info->scope, sizeof(info->scope), false) ||
        tsr_jwt_get_int(j, "ver", &info->ver) != TSR_OK ||
        tsr_jwt_get_int(j, "exp", &info->exp) != TSR_OK ||
        tsr_jwt_get_int(j, "iat", &info->iat) != TSR_OK) {
        return false;
    }
    if (tsr_jwt_get_int(j, "nbf", &info->nbf) != TSR_OK) {
        info->nbf = info->iat;
    }
    return true;
}

/* The time rules a cached token must still meet at `now`, exactly as the
 * verifier states them for integer dates (L = leeway): not yet valid when
 * now < nbf - L, issued in the future when iat > now + L. tcache_get has
 * already applied exp (now >= exp + L is expired). Time only moves
 * forward, so these hold for any token that passed them once; they are
 * re-checked because the wall clock can be set back. */
static bool cached_times_ok(const access_info *info, int64_t now, int64_t leeway)
{
    return now >= info->nbf - leeway && info->iat <= now + leeway;
}

bool access_verify(app *a, const char *tok, size_t len, int64_t now, access_info *info,
                   const char **why)
{
    unsigned char key[TCACHE_KEY_LEN];
    bool ok = false;
    memset(info, 0, sizeof(*info));
    *why = "invalid token";
    keyview *kv = keyring_acquire(a->kr);
    if (kv == NULL) {
        return false;
    }
    if (a->tc != NULL) {
        tcache_key(tok, len, key);
        ok = tcache_get(a->tc, key, kv->jwks_etag, now, a->cfg.leeway, info) &&
             cached_times_ok(info, now, a->cfg.leeway);
    }
    if (!ok) {
        memset(info, 0, sizeof(*info));
        ok = verify_full(kv, tok, len, now, info, why);
        /* Only a token that passed every check of the verifier is stored,
         * under the view that verified it. */
        if (ok && a->tc != NULL) {
            tcache_put(a->tc, key, kv->jwks_etag, info);
        }
    }
    keyring_release(kv); /* the results live in `info`, not in the view */
    if (!ok) {
        return false;
    }
    /* Revocation state is never cached with the token: checked every time. */
    vc_verdict v = vcache_check(a->vc, info->sub, info->ver, info->jti, info->sid, now);
    if (v != VC_OK) {
        *why = vc_verdict_text(v);
        return false;
    }
    return true;
}

enum MHD_Result h_verify(req *r)
{
    size_t len = 0;
    const char *tok = req_bearer(r, &len);
    if (tok == NULL) {
        return reply_bearer_error(r, NULL, "missing bearer token");
    }
    access_info info;
    const char *why = NULL;
    if (!access_verify(r->a, tok, len, r->now, &info, &why)) {
        return reply_bearer_error(r, "invalid_token", why);
    }
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT); /* no body */
    if (resp == NULL) {
        return MHD_NO;
    }
    MHD_add_response_header(resp, "X-Auth-Subject", info.sub);
    MHD_add_response_header(resp, "X-Auth-Scope", info.scope);
    MHD_add_response_header(resp, "X-Auth-Session", info.sid);
    MHD_add_response_header(resp, "Cache-Control", "no-store");
    transport_add_headers(resp);
    enum MHD_Result ret = MHD_queue_response(r->conn, MHD_HTTP_OK, resp);
    MHD_destroy_response(resp);
    return ret;
}
