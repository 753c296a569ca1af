/*
 * vcache.c: the in-memory view /v1/verify consults instead of the store.
 *
 * Three maps, keyed by short ids: user subject -> (auth_version, disabled),
 * denied jti -> exp, revoked session id -> revoked_at. Verifying a token
 * never touches the store; it reads these under a shared lock.
 *
 * Consistency: every write made through this instance (logout, revocation,
 * password change through the CLI excepted) updates the maps right after
 * the store write, so it is effective at once here. Writes made elsewhere
 * (the admin CLI, another instance) bump the store's change sequence; the
 * service polls it every reload_ms and rebuilds the maps, so such changes
 * take effect within one reload period (1 s by default).
 *
 * The maps are open-addressing tables that only grow between rebuilds; a
 * rebuild makes fresh tables and swaps them under the write lock.
 */
#include "tesserad.h"

#include <stdlib.h>
#include <string.h>

typedef struct entry {
    char key[STORE_ID_MAX];
    int64_t a, b;
    bool used;
} entry;

typedef struct map {
    entry *e;
    size_t cap, n; /* cap is a power of two */
} map;

struct vcache {
    /* Serializes writers with reloads: a reload reads the store and swaps
     * while holding it, and writers update the maps under it after their
     * store write, so a write is either in the reload's snapshot or applied
     * to the new maps; it can never be lost by a swap. */
    pthread_mutex_t wlock;
    pthread_rwlock_t lock;
    map users, deny, revoked;
};

static uint64_t hash_str(const char *s)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a: ids are random, no need for a keyed hash */
    for (; *s != '\0'; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ULL;
    }
    return h;
}

static void map_free(map *m)
{
    free(m->e);
    memset(m, 0, sizeof(*m));
}

/* The slot holding `key`, or the empty slot where it belongs. The map must
 * have capacity (m->cap > 0): callers check, so this never returns NULL. */
static entry *map_slot(const map *m, const char *key)
{
    size_t i = (size_t)hash_str(key) & (m->cap - 1);
    for (;;) {
        entry *e = &m->e[i];
        if (!e->used || strcmp(e->key, key) == 0) {
            return e;
        }
        i = (i + 1) & (m->cap - 1);
    }
}

static const entry *map_find(const map *m, const char *key)
{
    if (m->cap == 0) {
        return NULL;
    }
    const entry *e = map_slot(m, key);
    return e->used ? e : NULL;
}

static int map_put(map *m, const char *key, int64_t a, int64_t b)
{
    if (strlen(key) >= STORE_ID_MAX) {
        return -1;
    }
    if ((m->n + 1) * 2 > m->cap) { /* keep the load under 1/2 */
        map bigger = {calloc(m->cap ? m->cap * 2 : 64, sizeof(entry)), m->cap ? m->cap * 2 : 64, 0};
        if (bigger.e == NULL) {
            return -1;
        }
        for (size_t i = 0; i < m->cap; i++) {
            if (m->e[i].used) {
                *map_slot(&bigger, m->e[i].key) = m->e[i];
                bigger.n++;
            }
        }
        free(m->e);
        *m = bigger;
    }
    entry *e = map_slot(m, key);
    if (!e->used) {
        memcpy(e->key, key, strlen(key) + 1);
        e->used = true;
        m->n++;
    }
    e->a = a;
    e->b = b;
    return 0;
}

int vcache_new(vcache **out)
{
    vcache *vc = calloc(1, sizeof(*vc));
    *out = NULL;
    if (vc == NULL) {
        return -1;
    }
    /* Prefer writers: under a steady stream of verifications a
     * reader-preferring lock could postpone a revocation indefinitely. */
    pthread_rwlockattr_t attr;
    pthread_rwlockattr_init(&attr);
    pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    pthread_rwlock_init(&vc->lock, &attr);
    pthread_mutex_init(&vc->wlock, NULL);
    pthread_rwlockattr_destroy(&attr);
    *out = vc;
    return 0;
}

void vcache_free(vcache *vc)
{
    if (vc == NULL) {
        return;
    }
    map_free(&vc->users);
    map_free(&vc->deny);
    map_free(&vc->revoked);
    pthread_rwlock_destroy(&vc->lock);
    pthread_mutex_destroy(&vc->wlock);
    free(vc);
}

typedef struct loader {
    map *m;
    bool failed;
} loader;

static int load_user(void *arg, const store_user *u)
{
    loader *l = arg;
    l->failed = l->failed || map_put(l->m, u->sub, u->auth_version, u->disabled) != 0;
    return l->failed;
}

static int load_deny(void *arg, const char *jti, int64_t exp)
{
    loader *l = arg;
    l->failed = l->failed || map_put(l->m, jti, exp, 0) != 0;
    return l->failed;
}

static int load_revoked(void *arg, const store_session *s)
{
    loader *l = arg;
    l->failed = l->failed || map_put(l->m, s->id, s->revoked_at, 0) != 0;
    return l->failed;
}

int vcache_reload(vcache *vc, store *st, int64_t now, int64_t revoked_window)
{
    map users = {0}, deny = {0}, revoked = {0};
    loader lu = {&users, false}, ld = {&deny, false}, lr = {&revoked, false};
    pthread_mutex_lock(&vc->wlock);
    if (st->ops->user_list(st, load_user, &lu) != STORE_OK || lu.failed ||
        st->ops->deny_list(st, now, load_deny, &ld) != STORE_OK || ld.failed ||
        st->ops->session_list_revoked(st, now - revoked_window, load_revoked, &lr) != STORE_OK ||
        lr.failed) {
        map_free(&users);
        map_free(&deny);
        map_free(&revoked);
        pthread_mutex_unlock(&vc->wlock);
        return -1;
    }
    pthread_rwlock_wrlock(&vc->lock);
    map ou = vc->users, od = vc->deny, orv = vc->revoked;
    vc->users = users;
    vc->deny = deny;
    vc->revoked = revoked;
    pthread_rwlock_unlock(&vc->lock);
    pthread_mutex_unlock(&vc->wlock);
    map_free(&ou);
    map_free(&od);
    map_free(&orv);
    return 0;
}

static void put_locked(vcache *vc, map *m, const char *key, int64_t a, int64_t b)
{
    pthread_mutex_lock(&vc->wlock);
    pthread_rwlock_wrlock(&vc->lock);
    if (map_put(m, key, a, b) != 0) {
        log_error("verify cache: out of memory; the next reload repairs it");
    }
    pthread_rwlock_unlock(&vc->lock);
    pthread_mutex_unlock(&vc->wlock);
}

void vcache_set_user(vcache *vc, const char *sub, int64_t version, bool disabled)
{
    /* A writer may hold a user record read before a concurrent bump that a
     * reload already brought in; never move a version backwards. */
    pthread_mutex_lock(&vc->wlock);
    pthread_rwlock_wrlock(&vc->lock);
    const entry *e = map_find(&vc->users, sub);
    if ((e == NULL || e->a <= version) && map_put(&vc->users, sub, version, disabled) != 0) {
        log_error("verify cache: out of memory; the next reload repairs it");
    }
    pthread_rwlock_unlock(&vc->lock);
    pthread_mutex_unlock(&vc->wlock);
}

void vcache_deny(vcache *vc, const char *jti, int64_t exp)
{
    put_locked(vc, &vc->deny, jti, exp, 0);
}

void vcache_revoke_session(vcache *vc, const char *sid)
{
    put_locked(vc, &vc->revoked, sid, now_s(), 0);
}

vc_verdict vcache_check(vcache *vc, const char *sub, int64_t ver, const char *jti, const char *sid,
                        int64_t now)
{
    vc_verdict v = VC_OK;
    pthread_rwlock_rdlock(&vc->lock);
    const entry *u = map_find(&vc->users, sub);
    const entry *d = NULL;
    if (u == NULL) {
        v = VC_UNKNOWN_SUBJECT;
    } else if (u->b != 0) {
        v = VC_DISABLED;
    } else if (ver < u->a) {
        /* A newer version in the token than here means another instance
         * bumped it and our next reload catches up; only older is stale. */
        v = VC_STALE_VERSION;
    } else if ((d = map_find(&vc->deny, jti)) != NULL && d->a > now) {
        v = VC_DENIED;
    } else if (map_find(&vc->revoked, sid) != NULL) {
        v = VC_SESSION_REVOKED;
    }
    pthread_rwlock_unlock(&vc->lock);
    return v;
}

const char *vc_verdict_text(vc_verdict v)
{
    switch (v) {
    case VC_OK: return "ok";
    case VC_UNKNOWN_SUBJECT: return "unknown subject";
    case VC_DISABLED: return "account disabled";
    case VC_STALE_VERSION:
    case VC_DENIED: return "token revoked";
    case VC_SESSION_REVOKED: return "session ended";
    }
    return "invalid";
}
