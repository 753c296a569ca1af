/*
 * tcache.h: the verified-token cache of /v1/verify (server/tcache.c).
 *
 * Remembers the claims of access tokens whose signature and claims passed a
 * full verification, keyed by SHA-256 of the exact token bytes, so that a
 * token presented again skips the ECDSA check. It caches only the part of
 * a verification that cannot change while the token bytes and the key set
 * stay the same; the caller still checks the times, the denylist, the
 * auth_version and the session on every hit (handlers_verify.c).
 *
 * Thread safety: every function may be called from any thread; the table
 * is split into stripes, each behind its own mutex.
 */
#ifndef TESSERAD_TCACHE_H
#define TESSERAD_TCACHE_H

#include "tesserad.h"

#define TCACHE_KEY_LEN 32
/* Big enough for the JWKS ETag of a key view ("..." around 16 characters). */
#define TCACHE_VIEW_MAX 40

typedef struct tcache tcache;

/* A cache of at most `entries` tokens (rounded up to a multiple of the set
 * size); 0 gives *out = NULL, which every function accepts as "no cache".
 * The table is allocated at once but only touched as it fills, so an idle
 * service does not pay for it in resident memory. Returns 0, -1 on OOM. */
int tcache_new(tcache **out, size_t entries);
void tcache_free(tcache *tc);

/* SHA-256 of the token bytes (digest.c: fetched once, a context per
 * thread, no allocation in the steady state). */
void tcache_key(const char *tok, size_t len, unsigned char key[TCACHE_KEY_LEN]);

/* Copies the cached claims of `key` into *info and returns true when an
 * entry exists that was stored under the same key view (`view`, the view's
 * JWKS ETag: any change of the published keys changes it) and whose token
 * is not expired at `now` (exp + leeway, the verifier's rule). An expired
 * entry is dropped. */
bool tcache_get(tcache *tc, const unsigned char key[TCACHE_KEY_LEN], const char *view,
                int64_t now, int64_t leeway, access_info *info);

/* Stores the claims of a token that has just passed full verification under
 * `view`. Never call it for a token that failed any check. */
void tcache_put(tcache *tc, const unsigned char key[TCACHE_KEY_LEN], const char *view,
                const access_info *info);

/* Statistics for tests and diagnostics. */
typedef struct tcache_stats {
    uint64_t hits, misses, inserts, evictions, expired;
    size_t capacity;
} tcache_stats;

void tcache_get_stats(tcache *tc, tcache_stats *st);

#endif /* TESSERAD_TCACHE_H */
