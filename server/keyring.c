/*
 * keyring.c: the signing-key lifecycle and the shared verification view.
 *
 * Keys live in the store as AES-256-GCM encrypted private JWKs (secrets.c),
 * with three times each:
 *   created_at   published in the JWKS from here on;
 *   activate_at  signs from here on (the newest active key signs);
 *   remove_at    unpublished from here on (0 = not scheduled yet).
 * The schedule (keyring_schedule, run by the service every reload period
 * and by `tesserad keys rotate`):
 *   - no key at all: create one that signs at once (nothing can have cached
 *     a key set yet);
 *   - no pending key and the current one is within key_prepublish of its
 *     rotation date: create the next key, signing at
 *     max(now + key_prepublish, current.activate_at + key_rotation), so it
 *     is in every cached JWKS at least key_prepublish (24 h) before use;
 *   - a key superseded by a newer active key gets remove_at = the moment it
 *     stopped signing + access_token_ttl + leeway + key_retire_margin (300 s
 *     by default, for verifiers with a generous clock tolerance), i.e. after
 *     every token it signed has expired; past remove_at it is deleted.
 *
 * The view (keyview) bundles the tsr_verifier over every published key,
 * the tsr_signer of the current key and the JWKS text. It is immutable and
 * reference-counted: readers take it under a mutex (a pointer copy and an
 * increment), use it without any lock, and drop it; a rebuild swaps the
 * pointer, and the old view is freed by whoever drops the last reference.
 */
#include "tesserad.h"
#include "digest.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct keyring {
    store *st;
    const secrets *sec;
    const config *cfg;
    pthread_mutex_t lock;
    keyview *cur;
    char fingerprint[1024]; /* published kids and the signing kid of `cur` */
};

typedef struct key_rec {
    store_key k;
} key_rec;

typedef struct key_list {
    key_rec *v;
    size_t n, cap;
    bool oom;
} key_list;

static int collect_key(void *arg, const store_key *k)
{
    key_list *l = arg;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 8;
        key_rec *v = realloc(l->v, cap * sizeof(*v));
        if (v == NULL) {
            l->oom = true;
            return 1;
        }
        l->v = v;
        l->cap = cap;
    }
    key_rec *r = &l->v[l->n];
    r->k = *k;
    r->k.blob = malloc(k->blob_len);
    if (r->k.blob == NULL) {
        l->oom = true;
        return 1;
    }
    memcpy(r->k.blob, k->blob, k->blob_len);
    l->n++;
    return 0;
}

static void key_list_free(key_list *l)
{
    for (size_t i = 0; i < l->n; i++) {
        free(l->v[i].k.blob);
    }
    free(l->v);
    memset(l, 0, sizeof(*l));
}

static int load_keys(store *st, key_list *l)
{
    memset(l, 0, sizeof(*l));
    if (st->ops->key_list(st, collect_key, l) != STORE_OK || l->oom) {
        key_list_free(l);
        return -1;
    }
    return 0;
}

static bool published(const store_key *k, int64_t now)
{
    return k->created_at <= now && (k->remove_at == 0 || now < k->remove_at);
}

/* Index of the signing key at `now`: the newest activate_at <= now. The list
 * is ordered by activate_at. -1 if none. */
static long signing_index(const key_list *l, int64_t now)
{
    long idx = -1;
    for (size_t i = 0; i < l->n; i++) {
        if (l->v[i].k.activate_at <= now && published(&l->v[i].k, now)) {
            idx = (long)i;
        }
    }
    return idx;
}

int keyring_add_key(store *st, const secrets *sec, const config *cfg, int64_t now,
                    int64_t activate_at, char kid_out[STORE_ID_MAX])
{
    int rc = -1;
    tsr_key *key = NULL;
    char *jwk = NULL;
    store_key rec;
    memset(&rec, 0, sizeof(rec));
    if (kid_out != NULL) {
        kid_out[0] = '\0';
    }
    if (tsr_key_generate(cfg->signing_alg, &key, NULL) != TSR_OK) {
        log_error("cannot generate a %s key", tsr_alg_name(cfg->signing_alg));
        goto out;
    }
    char tp[TSR_THUMBPRINT_LEN + 1];
    if (tsr_key_thumbprint(key, tp, NULL) != TSR_OK || tsr_key_set1_kid(key, tp, NULL) != TSR_OK ||
        tsr_key_export_jwk(key, true, &jwk, NULL) != TSR_OK) {
        log_error("cannot export the new signing key");
        goto out;
    }
    snprintf(rec.kid, sizeof(rec.kid), "%s", tp);
    snprintf(rec.alg, sizeof(rec.alg), "%s", tsr_alg_name(cfg->signing_alg));
    rec.created_at = now;
    rec.activate_at = activate_at;
    if (secrets_seal(sec, rec.kid, (const unsigned char *)jwk, strlen(jwk), &rec.blob,
                     &rec.blob_len) != 0 ||
        st->ops->key_add(st, &rec) != STORE_OK) {
        log_error("cannot store the new signing key");
        goto out;
    }
    log_audit("key_created", "kid=%s alg=%s activate_at=%lld", rec.kid, rec.alg,
              (long long)activate_at);
    if (kid_out != NULL) {
        snprintf(kid_out, STORE_ID_MAX, "%s", rec.kid);
    }
    rc = 0;
out:
    if (jwk != NULL) {
        tsr_free_secret(jwk, strlen(jwk));
    }
    free(rec.blob);
    tsr_key_free(key);
    return rc;
}

/* Schedules removal of superseded keys and deletes removed ones. */
static int retire_old(store *st, const config *cfg, const key_list *l, long cur, int64_t now,
                      bool *changed)
{
    for (size_t i = 0; i < l->n; i++) {
        const store_key *k = &l->v[i].k;
        if ((long)i == cur) {
            continue;
        }
        if (k->remove_at != 0 && k->remove_at <= now) {
            if (st->ops->key_delete(st, k->kid) != STORE_OK) {
                return -1;
            }
            log_audit("key_removed", "kid=%s", k->kid);
            *changed = true;
            continue;
        }
        /* Superseded: an older key that is no longer the signing one. The
         * next key in activation order is the one that took over. */
        if (cur >= 0 && (long)i < cur && k->remove_at == 0 && i + 1 < l->n) {
            int64_t stopped = l->v[i + 1].k.activate_at;
            int64_t remove_at = stopped + cfg->access_ttl + cfg->leeway + cfg->key_retire_margin;
            if (st->ops->key_set_times(st, k->kid, k->activate_at, remove_at) != STORE_OK) {
                return -1;
            }
            log_audit("key_retired", "kid=%s remove_at=%lld", k->kid, (long long)remove_at);
            *changed = true;
        }
    }
    return 0;
}

int keyring_schedule(store *st, const secrets *sec, const config *cfg, int64_t now, bool *changed)
{
    key_list l;
    *changed = false;
    if (load_keys(st, &l) != 0) {
        return -1;
    }
    int rc = -1;
    long cur = signing_index(&l, now);
    if (cur < 0) {
        rc = keyring_add_key(st, sec, cfg, now, now, NULL);
        *changed = rc == 0;
        goto out;
    }
    bool pending = false;
    for (size_t i = 0; i < l.n; i++) {
        pending = pending || l.v[i].k.activate_at > now;
    }
    const store_key *c = &l.v[cur].k;
    if (!pending && now >= c->activate_at + cfg->key_rotation - cfg->key_prepublish) {
        int64_t at = c->activate_at + cfg->key_rotation;
        if (at < now + cfg->key_prepublish) {
            at = now + cfg->key_prepublish;
        }
        if (keyring_add_key(st, sec, cfg, now, at, NULL) != 0) {
            goto out;
        }
        *changed = true;
    }
    rc = retire_old(st, cfg, &l, cur, now, changed);
out:
    key_list_free(&l);
    return rc;
}

/* ---- the view ---- */

static void view_free(keyview *v)
{
    if (v == NULL) {
        return;
    }
    tsr_verifier_free(v->verifier);
    tsr_signer_free(v->signer);
    tsr_free(v->jwks);
    free(v);
}

keyview *keyring_acquire(keyring *kr)
{
    pthread_mutex_lock(&kr->lock);
    keyview *v = kr->cur;
    if (v != NULL) {
        atomic_fetch_add_explicit(&v->refs, 1, memory_order_relaxed);
    }
    pthread_mutex_unlock(&kr->lock);
    return v;
}

void keyring_release(keyview *v)
{
    if (v != NULL && atomic_fetch_sub_explicit(&v->refs, 1, memory_order_acq_rel) == 1) {
        view_free(v);
    }
}

static tsr_key *open_key(const keyring *kr, const store_key *k)
{
    unsigned char *jwk = NULL;
    size_t len = 0;
    tsr_key *key = NULL;
    if (secrets_open(kr->sec, k->kid, k->blob, k->blob_len, &jwk, &len) != 0) {
        log_error("cannot decrypt signing key %s (wrong master key?)", k->kid);
        return NULL;
    }
    if (tsr_key_load_jwk((const char *)jwk, len, &key, NULL) != TSR_OK) {
        log_error("cannot load signing key %s", k->kid);
        key = NULL;
    }
    OPENSSL_cleanse(jwk, len);
    free(jwk);
    return key;
}

static tsr_policy *make_policy(const config *cfg, unsigned algs)
{
    tsr_policy *p = NULL;
    if (tsr_policy_new(&p, NULL) != TSR_OK) {
        return NULL;
    }
    bool ok = tsr_policy_set_issuer(p, cfg->issuer, NULL) == TSR_OK &&
              tsr_policy_add_audience(p, cfg->audience, NULL) == TSR_OK &&
              tsr_policy_set_typ(p, "at+jwt", NULL) == TSR_OK &&
              tsr_policy_set_leeway(p, cfg->leeway, NULL) == TSR_OK &&
              tsr_policy_set_max_token_size(p, 4096, NULL) == TSR_OK;
    static const char *const required[] = {"sub", "jti", "sid", "ver", "iat", "client_id"};
    for (size_t i = 0; ok && i < sizeof(required) / sizeof(required[0]); i++) {
        ok = tsr_policy_require_claim(p, required[i], NULL) == TSR_OK;
    }
    for (unsigned a = 1; ok && a < TSR_ALG__COUNT; a++) {
        if (algs & TSR_ALG_BIT(a)) {
            ok = tsr_policy_allow_alg(p, (tsr_alg)a, NULL) == TSR_OK;
        }
    }
    if (!ok) {
        tsr_policy_free(p);
        return NULL;
    }
    return p;
}

static void make_etag(keyview *v)
{
    unsigned char h[32];
    char b[17];
    digest_sha256(v->jwks, v->jwks_len, h);
    b64url_enc(h, 12, b, sizeof(b));
    snprintf(v->jwks_etag, sizeof(v->jwks_etag), "\"%s\"", b);
}

/* Builds a view from the published keys of `l`. */
static keyview *build_view(keyring *kr, const key_list *l, int64_t now)
{
    keyview *v = calloc(1, sizeof(*v));
    tsr_keyset *set = NULL;
    tsr_policy *pol = NULL;
    unsigned algs = 0;
    long cur = signing_index(l, now);
    if (v == NULL || tsr_keyset_new(&set, NULL) != TSR_OK) {
        goto fail;
    }
    atomic_init(&v->refs, 1);
    for (size_t i = 0; i < l->n; i++) {
        if (!published(&l->v[i].k, now)) {
            continue;
        }
        tsr_key *key = open_key(kr, &l->v[i].k);
        if (key == NULL) {
            goto fail;
        }
        tsr_err e = tsr_keyset_add1_key(set, key, NULL);
        algs |= TSR_ALG_BIT(tsr_key_default_alg(key));
        if (e == TSR_OK && (long)i == cur) {
            e = tsr_signer_new(key, TSR_ALG_UNSPECIFIED, NULL, "at+jwt", &v->signer, NULL);
            snprintf(v->signing_kid, sizeof(v->signing_kid), "%s", l->v[i].k.kid);
        }
        tsr_key_free(key);
        if (e != TSR_OK) {
            goto fail;
        }
    }
    if (tsr_keyset_count(set) == 0 || (pol = make_policy(kr->cfg, algs)) == NULL ||
        tsr_verifier_new(pol, set, &v->verifier, NULL) != TSR_OK ||
        tsr_keyset_export_jwks(set, &v->jwks, NULL) != TSR_OK) {
        goto fail;
    }
    v->jwks_len = strlen(v->jwks);
    make_etag(v);
    tsr_policy_free(pol);
    tsr_keyset_free(set);
    return v;
fail:
    tsr_policy_free(pol);
    tsr_keyset_free(set);
    view_free(v);
    return NULL;
}

static void fingerprint(const key_list *l, int64_t now, char *out, size_t cap)
{
    size_t off = 0;
    long cur = signing_index(l, now);
    out[0] = '\0';
    for (size_t i = 0; i < l->n && off < cap; i++) {
        if (published(&l->v[i].k, now)) {
            int n =
                snprintf(out + off, cap - off, "%s%s,", (long)i == cur ? "*" : "", l->v[i].k.kid);
            off += n > 0 ? (size_t)n : 0;
        }
    }
}

int keyring_tick(keyring *kr, int64_t now, bool force)
{
    bool changed = false;
    if (keyring_schedule(kr->st, kr->sec, kr->cfg, now, &changed) != 0) {
        return -1;
    }
    key_list l;
    if (load_keys(kr->st, &l) != 0) {
        return -1;
    }
    char fp[sizeof(kr->fingerprint)];
    fingerprint(&l, now, fp, sizeof(fp));
    int rc = 0;
    if (force || changed || kr->cur == NULL || strcmp(fp, kr->fingerprint) != 0) {
        keyview *v = build_view(kr, &l, now);
        if (v == NULL) {
            log_error("cannot build the key view; keeping the previous one");
            rc = -1;
        } else {
            pthread_mutex_lock(&kr->lock);
            keyview *old = kr->cur;
            kr->cur = v;
            memcpy(kr->fingerprint, fp, sizeof(fp));
            pthread_mutex_unlock(&kr->lock);
            keyring_release(old);
            log_info("keys: signing with %s, published: %s", v->signing_kid, fp);
        }
    }
    key_list_free(&l);
    return rc;
}

int keyring_new(keyring **out, store *st, const secrets *sec, const config *cfg)
{
    keyring *kr = calloc(1, sizeof(*kr));
    *out = NULL;
    if (kr == NULL) {
        return -1;
    }
    kr->st = st;
    kr->sec = sec;
    kr->cfg = cfg;
    pthread_mutex_init(&kr->lock, NULL);
    *out = kr;
    return 0;
}

void keyring_free(keyring *kr)
{
    if (kr == NULL) {
        return;
    }
    keyring_release(kr->cur);
    pthread_mutex_destroy(&kr->lock);
    free(kr);
}
