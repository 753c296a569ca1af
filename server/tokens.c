/*
 * tokens.c: issuing access tokens and the refresh-token protocol.
 *
 * Access tokens (RFC 9068): typ at+jwt, the current key's kid, and the
 * claims iss sub aud exp iat nbf jti client_id scope sid ver. sub is the
 * user's opaque subject id, never the user name.
 *
 * Refresh tokens are 32 random bytes, base64url (43 characters); the store
 * keeps only SHA-256 of the raw bytes. A refresh token's successor is not
 * random but derived:
 *     successor = HMAC-SHA256(k_refresh, SHA-256(token) || "succ")
 * so every replay of the same predecessor yields the same successor
 * without the store ever holding a token. Rotation is one conditional
 * update (store refresh_rotate). A replay of an already used token is
 * accepted only within the grace window (anchored at its first use) and
 * only while its successor is still unused (i.e. it is the immediate
 * predecessor); it then gets the same successor pair. Any other reuse
 * revokes the whole session (family) and is audited.
 *
 * Hashing uses digest.c (algorithms fetched once, per-thread contexts):
 * the one-shot OpenSSL helpers cost a provider lookup per call, which was
 * about 7 % of a refresh's CPU.
 *
 * The access token of a replay: ES256 signatures are randomized, so the
 * same token cannot be re-signed. The successor's access token is kept in
 * memory (grace_cache), keyed by the successor hash, for the grace window;
 * every concurrent refresh of one predecessor puts its freshly signed token
 * in with put-if-absent and returns whatever is there, so all of them
 * return the identical pair. After a restart, or on another instance, the
 * cache misses and a replay gets a freshly signed token for the same
 * session (same sub, sid, scope; new jti); the refresh token is still the
 * same.
 */
#include "tesserad.h"

#include "digest.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GRACE_SLOTS 1024

typedef struct grace_entry {
    unsigned char succ[32];
    char *access;
    int64_t until;
} grace_entry;

struct grace_cache {
    pthread_mutex_t lock;
    grace_entry e[GRACE_SLOTS];
};

int grace_cache_new(grace_cache **out)
{
    grace_cache *gc = calloc(1, sizeof(*gc));
    *out = gc;
    if (gc == NULL) {
        return -1;
    }
    pthread_mutex_init(&gc->lock, NULL);
    return 0;
}

static void entry_clear(grace_entry *e)
{
    if (e->access != NULL) {
        OPENSSL_cleanse(e->access, strlen(e->access));
        free(e->access);
    }
    memset(e, 0, sizeof(*e));
}

void grace_cache_free(grace_cache *gc)
{
    if (gc == NULL) {
        return;
    }
    for (size_t i = 0; i < GRACE_SLOTS; i++) {
        entry_clear(&gc->e[i]);
    }
    pthread_mutex_destroy(&gc->lock);
    free(gc);
}

/* Put-if-absent: returns a malloc'd copy of the cached token for `succ`,
 * inserting `candidate` (borrowed) first if none is live. NULL on OOM. A
 * colliding live entry for another successor is evicted: its replays then
 * fall back to a fresh token, which is safe. */
static char *grace_get_or_put(grace_cache *gc, const unsigned char succ[32], const char *candidate,
                              int64_t until, int64_t now)
{
    size_t idx = ((size_t)succ[0] | (size_t)succ[1] << 8) % GRACE_SLOTS;
    pthread_mutex_lock(&gc->lock);
    grace_entry *e = &gc->e[idx];
    if (e->access == NULL || e->until < now || CRYPTO_memcmp(e->succ, succ, 32) != 0) {
        entry_clear(e);
        e->access = strdup(candidate);
        memcpy(e->succ, succ, 32);
        e->until = until;
    }
    char *copy = e->access != NULL ? strdup(e->access) : NULL;
    pthread_mutex_unlock(&gc->lock);
    return copy;
}

void token_pair_clear(token_pair *tp)
{
    if (tp->access != NULL) {
        OPENSSL_cleanse(tp->access, strlen(tp->access));
        free(tp->access);
    }
    OPENSSL_cleanse(tp, sizeof(*tp));
}

bool tokens_refresh_hash(const char *tok, size_t len, unsigned char hash[32])
{
    unsigned char raw[32];
    size_t n = 0;
    if (len != REFRESH_TOKEN_LEN || tsr_b64url_decode(tok, len, raw, sizeof(raw), &n) != TSR_OK ||
        n != sizeof(raw)) {
        return false;
    }
    digest_sha256(raw, sizeof(raw), hash);
    OPENSSL_cleanse(raw, sizeof(raw));
    return true;
}

/* successor raw bytes and their hash, from the predecessor's hash */
static void successor(const app *a, const unsigned char pred_hash[32],
                      char out[REFRESH_TOKEN_LEN + 1], unsigned char succ_hash[32])
{
    unsigned char msg[36];
    unsigned char raw[32];
    memcpy(msg, pred_hash, 32);
    static const unsigned char label[4] = {'s', 'u', 'c', 'c'}; /* no NUL: 36 bytes */
    memcpy(msg + 32, label, sizeof(label));
    digest_hmac_sha256(a->sec.k_refresh, sizeof(a->sec.k_refresh), msg, sizeof(msg), raw);
    b64url_enc(raw, sizeof(raw), out, REFRESH_TOKEN_LEN + 1);
    digest_sha256(raw, sizeof(raw), succ_hash);
    OPENSSL_cleanse(raw, sizeof(raw));
}

int tokens_issue_access(app *a, const store_user *u, const store_session *s, int64_t now,
                        char **out, char jti_out[JTI_MAX])
{
    int rc = -1;
    tsr_claims *c = NULL;
    keyview *kv = keyring_acquire(a->kr);
    char jti[JTI_MAX];
    *out = NULL;
    rand_id(jti, sizeof(jti), 16);
    if (kv == NULL || kv->signer == NULL || tsr_claims_new(&c, NULL) != TSR_OK) {
        goto out;
    }
    const config *cfg = &a->cfg;
    if (tsr_claims_set_string(c, "iss", cfg->issuer, NULL) != TSR_OK ||
        tsr_claims_set_string(c, "sub", u->sub, NULL) != TSR_OK ||
        tsr_claims_add_audience(c, cfg->audience, NULL) != TSR_OK ||
        tsr_claims_set_string(c, "jti", jti, NULL) != TSR_OK ||
        tsr_claims_set_string(c, "client_id", s->client_id, NULL) != TSR_OK ||
        tsr_claims_set_string(c, "scope", s->scope, NULL) != TSR_OK ||
        tsr_claims_set_string(c, "sid", s->id, NULL) != TSR_OK ||
        tsr_claims_set_int(c, "ver", u->auth_version, NULL) != TSR_OK ||
        tsr_claims_set_ttl(c, cfg->access_ttl, NULL) != TSR_OK ||
        tsr_signer_sign_claims(kv->signer, c, now, out, NULL, NULL) != TSR_OK) {
        *out = NULL;
        goto out;
    }
    if (jti_out != NULL) {
        memcpy(jti_out, jti, sizeof(jti));
    }
    rc = 0;
out:
    if (rc != 0) {
        log_error("cannot sign an access token");
    }
    tsr_claims_free(c);
    keyring_release(kv);
    return rc;
}

tok_rc tokens_login(app *a, const store_user *u, int64_t now, token_pair *tp)
{
    store_session s;
    unsigned char raw[32], hash[32];
    memset(tp, 0, sizeof(*tp));
    memset(&s, 0, sizeof(s));
    rand_id(s.id, sizeof(s.id), 16);
    s.user_id = u->id;
    snprintf(s.client_id, sizeof(s.client_id), "%s", a->cfg.client_id);
    snprintf(s.scope, sizeof(s.scope), "%s", a->cfg.scope);
    s.created_at = s.last_used_at = now;
    s.expires_at = now + a->cfg.session_lifetime;
    rand_bytes(raw, sizeof(raw));
    b64url_enc(raw, sizeof(raw), tp->refresh, sizeof(tp->refresh));
    digest_sha256(raw, sizeof(raw), hash);
    OPENSSL_cleanse(raw, sizeof(raw));
    if (tokens_issue_access(a, u, &s, now, &tp->access, NULL) != 0 ||
        a->st->ops->session_create(a->st, &s, hash) != STORE_OK) {
        token_pair_clear(tp);
        return TOK_SERVER_ERROR;
    }
    vcache_set_user(a->vc, u->sub, u->auth_version, u->disabled);
    tp->expires_in = a->cfg.access_ttl;
    snprintf(tp->scope, sizeof(tp->scope), "%s", s.scope);
    log_audit("login", "sub=%s sid=%s", u->sub, s.id);
    return TOK_OK;
}

/* Revokes the family after a reuse. */
static tok_rc reuse_detected(app *a, const store_session *s, int64_t now)
{
    a->st->ops->session_revoke(a->st, s->id, now, "reuse");
    vcache_revoke_session(a->vc, s->id);
    log_audit("refresh_reuse", "sid=%s user_id=%lld action=family_revoked", s->id,
              (long long)s->user_id);
    return TOK_INVALID_GRANT;
}

/* The session and user behind a refresh record, if still usable. */
static tok_rc load_family(app *a, const store_refresh *rec, const char *client_id, int64_t now,
                          store_session *s, store_user *u, const char **why)
{
    store_rc rc = a->st->ops->session_get(a->st, rec->session_id, s);
    if (rc != STORE_OK) {
        *why = "refresh token is not valid";
        return rc == STORE_NOT_FOUND ? TOK_INVALID_GRANT : TOK_SERVER_ERROR;
    }
    if (s->revoked_at != 0) {
        *why = "session has ended";
        return TOK_INVALID_GRANT;
    }
    if (now >= s->expires_at || now - s->last_used_at > a->cfg.session_idle) {
        *why = "session expired; log in again";
        return TOK_INVALID_GRANT;
    }
    if (client_id != NULL && strcmp(client_id, s->client_id) != 0) {
        *why = "refresh token was issued to another client";
        return TOK_INVALID_GRANT;
    }
    rc = a->st->ops->user_get_by_id(a->st, s->user_id, u);
    if (rc != STORE_OK || u->disabled) {
        *why = "account is not active";
        return rc == STORE_ERROR ? TOK_SERVER_ERROR : TOK_INVALID_GRANT;
    }
    return TOK_OK;
}

/* A replay of an already used token: same pair inside the grace window,
 * family revocation outside it. `candidate` may be NULL. */
static tok_rc replay(app *a, const store_refresh *rec, const store_session *s, const store_user *u,
                     const unsigned char succ_hash[32], char *candidate, int64_t now,
                     token_pair *tp, const char **why)
{
    store_refresh next;
    *why = "refresh token was already used";
    if (a->cfg.refresh_grace <= 0 || now - rec->used_at > a->cfg.refresh_grace) {
        return reuse_detected(a, s, now);
    }
    store_rc rc = a->st->ops->refresh_get(a->st, succ_hash, &next);
    if (rc != STORE_OK || next.used_at != 0) {
        /* Not the immediate predecessor any more (or no successor at all). */
        return rc == STORE_ERROR ? TOK_SERVER_ERROR : reuse_detected(a, s, now);
    }
    char *fresh = NULL;
    if (candidate == NULL && tokens_issue_access(a, u, s, now, &fresh, NULL) != 0) {
        return TOK_SERVER_ERROR;
    }
    tp->access = grace_get_or_put(a->gc, succ_hash, candidate ? candidate : fresh,
                                  rec->used_at + a->cfg.refresh_grace, now);
    if (fresh != NULL) {
        OPENSSL_cleanse(fresh, strlen(fresh));
        free(fresh);
    }
    return tp->access != NULL ? TOK_OK : TOK_SERVER_ERROR;
}

tok_rc tokens_refresh(app *a, const char *refresh, const char *client_id, int64_t now,
                      token_pair *tp, const char **why)
{
    unsigned char hash[32], succ_hash[32];
    store_refresh rec;
    store_session s;
    store_user u;
    char *access = NULL;
    tok_rc out = TOK_INVALID_GRANT;
    memset(tp, 0, sizeof(*tp));
    *why = "refresh token is not valid";
    if (!tokens_refresh_hash(refresh, strlen(refresh), hash)) {
        return TOK_INVALID_GRANT;
    }
    store_rc rc = a->st->ops->refresh_get(a->st, hash, &rec);
    if (rc != STORE_OK) {
        return rc == STORE_NOT_FOUND ? TOK_INVALID_GRANT : TOK_SERVER_ERROR;
    }
    if ((out = load_family(a, &rec, client_id, now, &s, &u, why)) != TOK_OK) {
        return out;
    }
    successor(a, hash, tp->refresh, succ_hash);
    if (rec.used_at != 0) {
        out = replay(a, &rec, &s, &u, succ_hash, NULL, now, tp, why);
        goto done;
    }
    if (tokens_issue_access(a, &u, &s, now, &access, NULL) != 0) {
        out = TOK_SERVER_ERROR;
        goto done;
    }
    rc = a->st->ops->refresh_rotate(a->st, hash, succ_hash, now);
    if (rc == STORE_OK) {
        tp->access = grace_get_or_put(a->gc, succ_hash, access, now + a->cfg.refresh_grace, now);
        out = tp->access != NULL ? TOK_OK : TOK_SERVER_ERROR;
        log_audit("refresh", "sid=%s", s.id);
    } else if (rc == STORE_CONFLICT && a->st->ops->refresh_get(a->st, hash, &rec) == STORE_OK) {
        out = replay(a, &rec, &s, &u, succ_hash, access, now, tp, why);
    } else {
        out = rc == STORE_NOT_FOUND ? TOK_INVALID_GRANT : TOK_SERVER_ERROR;
    }
done:
    if (access != NULL) {
        OPENSSL_cleanse(access, strlen(access));
        free(access);
    }
    if (out == TOK_OK) {
        tp->expires_in = a->cfg.access_ttl;
        snprintf(tp->scope, sizeof(tp->scope), "%s", s.scope);
    } else {
        token_pair_clear(tp);
    }
    return out;
}
