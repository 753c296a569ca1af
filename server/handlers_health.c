/*
 * handlers_health.c: GET /healthz (the process answers) and GET /readyz (the
 * store answers and a signing key is active, i.e. tokens can be issued).
 */
#include "http.h"

enum MHD_Result h_healthz(req *r)
{
    static const char ok[] = "{\"status\":\"ok\"}";
    return reply(r, MHD_HTTP_OK, "application/json", ok, sizeof(ok) - 1, true);
}

enum MHD_Result h_readyz(req *r)
{
    static const char ok[] = "{\"status\":\"ready\"}";
    static const char no[] = "{\"status\":\"not_ready\"}";
    keyview *kv = keyring_acquire(r->a->kr);
    bool ready = kv != NULL && kv->signer != NULL && !atomic_load(&r->a->stopping) &&
                 r->a->st->ops->ping(r->a->st) == STORE_OK;
    keyring_release(kv);
    if (!ready) {
        return reply(r, MHD_HTTP_SERVICE_UNAVAILABLE, "application/json", no, sizeof(no) - 1, true);
    }
    return reply(r, MHD_HTTP_OK, "application/json", ok, sizeof(ok) - 1, true);
}
