/*
 * tcache.c: the verified-token cache of /v1/verify.
 *
 * An ES256 verification costs about 50 us of CPU, several times everything
 * else /v1/verify does, and a reverse proxy presents the same access token
 * again on every request of a client. So the result of a successful
 * verification (the claims) is remembered, keyed by SHA-256 of the exact
 * token bytes: a different token, even one differing in a single byte of
 * its signature, has a different key and goes through the full check.
 *
 * What may be cached: the signature and the issuer/audience/typ/algorithm
 * checks depend only on the token bytes and the published keys. The entry
 * therefore records the key view it was verified under (the JWKS ETag, a
 * hash of the published key set); once a key is added or removed the view
 * changes and every older entry misses. Everything that depends on the
 * time or on revocation state is NOT cached: exp is checked here on every
 * hit (an expired entry is dropped, so no entry outlives its token), and
 * the caller re-checks nbf/iat, the denylist, the auth_version and the
 * session exactly as after a full verification. Failures are never stored.
 *
 * Layout: a set-associative table of 2^k sets of WAYS entries, allocated
 * once (bounded memory, no allocation per request). A full set evicts the
 * entry that expires first. The sets are spread over STRIPES mutexes, so
 * the worker threads rarely meet on a lock; each stripe keeps its own
 * counters under its lock rather than sharing atomic counters between
 * threads.
 */
#include "tcache.h"

#include "digest.h"

#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

#define WAYS 4
#define STRIPES 64

typedef struct tentry {
    unsigned char key[TCACHE_KEY_LEN];
    char view[TCACHE_VIEW_MAX];
    bool used;
    access_info info;
} tentry;

typedef struct stripe {
    pthread_mutex_t lock;
    uint64_t hits, misses, inserts, evictions, expired;
} __attribute__((aligned(64))) stripe;

struct tcache {
    tentry *sets; /* nsets * WAYS entries */
    size_t nsets; /* a power of two */
    stripe stripes[STRIPES];
};

int tcache_new(tcache **out, size_t entries)
{
    *out = NULL;
    if (entries == 0) {
        return 0;
    }
    size_t nsets = 1;
    while (nsets * WAYS < entries) {
        nsets *= 2;
    }
    tcache *tc = aligned_alloc(64, sizeof(*tc));
    if (tc == NULL) {
        return -1;
    }
    memset(tc, 0, sizeof(*tc));
    /* calloc of a large block maps zero pages: nothing is resident until an
     * entry is written. */
    tc->sets = calloc(nsets * WAYS, sizeof(tentry));
    if (tc->sets == NULL) {
        free(tc);
        return -1;
    }
    tc->nsets = nsets;
    for (size_t i = 0; i < STRIPES; i++) {
        pthread_mutex_init(&tc->stripes[i].lock, NULL);
    }
    *out = tc;
    return 0;
}

void tcache_free(tcache *tc)
{
    if (tc == NULL) {
        return;
    }
    for (size_t i = 0; i < STRIPES; i++) {
        pthread_mutex_destroy(&tc->stripes[i].lock);
    }
    /* The entries hold claims, not tokens; wiping them costs nothing. */
    OPENSSL_cleanse(tc->sets, tc->nsets * WAYS * sizeof(tentry));
    free(tc->sets);
    free(tc);
}

void tcache_key(const char *tok, size_t len, unsigned char key[TCACHE_KEY_LEN])
{
    digest_sha256(tok, len, key);
}

/* ---- the table ---- */

static size_t set_index(const tcache *tc, const unsigned char key[TCACHE_KEY_LEN])
{
    uint64_t h;
    memcpy(&h, key, sizeof(h)); /* the key is a hash: any bits are uniform */
    return (size_t)h & (tc->nsets - 1);
}

/* Whether a token with this exp is expired at `now`: now >= exp + leeway,
 * the verifier's rule for an integer exp (the only kind we issue and the
 * only kind access_verify accepts). */
static bool expired(int64_t exp, int64_t now, int64_t leeway)
{
    return now - leeway >= exp;
}

bool tcache_get(tcache *tc, const unsigned char key[TCACHE_KEY_LEN], const char *view,
                int64_t now, int64_t leeway, access_info *info)
{
    if (tc == NULL) {
        return false;
    }
    size_t si = set_index(tc, key);
    stripe *sp = &tc->stripes[si % STRIPES];
    tentry *set = &tc->sets[si * WAYS];
    bool hit = false;
    pthread_mutex_lock(&sp->lock);
    for (size_t w = 0; w < WAYS; w++) {
        tentry *e = &set[w];
        if (!e->used || memcmp(e->key, key, TCACHE_KEY_LEN) != 0) {
            continue;
        }
        if (expired(e->info.exp, now, leeway)) {
            e->used = false;
            sp->expired++;
        } else if (strcmp(e->view, view) == 0) {
            *info = e->info;
            hit = true;
        }
        break;
    }
    if (hit) {
        sp->hits++;
    } else {
        sp->misses++;
    }
    pthread_mutex_unlock(&sp->lock);
    return hit;
}

/* The way to write `key` into: its own entry, a free one, or the entry
 * that expires first. */
static tentry *victim(tentry *set, const unsigned char key[TCACHE_KEY_LEN], bool *evicts)
{
    tentry *free_e = NULL, *oldest = &set[0];
    *evicts = false;
    for (size_t w = 0; w < WAYS; w++) {
        tentry *e = &set[w];
        if (e->used && memcmp(e->key, key, TCACHE_KEY_LEN) == 0) {
            return e;
        }
        if (!e->used && free_e == NULL) {
            free_e = e;
        }
        if (e->used && e->info.exp < oldest->info.exp) {
            oldest = e;
        }
    }
    if (free_e != NULL) {
        return free_e;
    }
    *evicts = true;
    return oldest;
}

void tcache_put(tcache *tc, const unsigned char key[TCACHE_KEY_LEN], const char *view,
                const access_info *info)
{
    size_t vlen = view != NULL ? strlen(view) : TCACHE_VIEW_MAX;
    if (tc == NULL || vlen >= TCACHE_VIEW_MAX) {
        return; /* an unexpected view id is simply not cached */
    }
    size_t si = set_index(tc, key);
    stripe *sp = &tc->stripes[si % STRIPES];
    bool evicts = false;
    pthread_mutex_lock(&sp->lock);
    tentry *e = victim(&tc->sets[si * WAYS], key, &evicts);
    memcpy(e->key, key, TCACHE_KEY_LEN);
    memcpy(e->view, view, vlen + 1);
    e->info = *info;
    e->used = true;
    sp->inserts++;
    sp->evictions += evicts;
    pthread_mutex_unlock(&sp->lock);
}

void tcache_get_stats(tcache *tc, tcache_stats *st)
{
    memset(st, 0, sizeof(*st));
    if (tc == NULL) {
        return;
    }
    st->capacity = tc->nsets * WAYS;
    for (size_t i = 0; i < STRIPES; i++) {
        stripe *sp = &tc->stripes[i];
        pthread_mutex_lock(&sp->lock);
        st->hits += sp->hits;
        st->misses += sp->misses;
        st->inserts += sp->inserts;
        st->evictions += sp->evictions;
        st->expired += sp->expired;
        pthread_mutex_unlock(&sp->lock);
    }
}
