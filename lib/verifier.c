/*
 * verifier.c: tsr_policy (the mutable description of what is acceptable),
 * tsr_verifier (frozen policy + keys, shared read-only by threads) and
 * tsr_jwt (one thread's workspace and result), and the verify pipeline that
 * strings jws.c, the crypto layer and claims.c together.
 *
 * The pipeline, in order (the first failure is returned):
 *   1. size cap and split (jws.c)                   too_large / malformed
 *   2. header: base64url, strict JSON (at most 512   malformed / too_large /
 *      values), header rules                         alg_not_allowed /
 *                                                    crit_unsupported / unsupported
 *   3. key selection by kid and alg                  key_not_found / too_large (kid)
 *   4. signature: base64url, crypto verify over the raw "header.payload"
 *                                                    malformed / bad_signature
 *   5. payload: base64url, strict JSON               malformed / too_large
 *   6. typ against the policy                        typ_mismatch
 *   7. claims (claims.c)
 * The payload is not decoded until the signature has verified, so a forged
 * token learns nothing about how its claims would be judged, and the header
 * checks before the signature only concern what the forger wrote himself.
 *
 * Speed: tsr_verifier_new precomputes, per algorithm, which keys can verify
 * it, sorted by kid, so selection is a binary search. tsr_jwt keeps growable
 * buffers (decoded bytes and JSON token arrays) and a crypto scratch, so in
 * the steady state a verify allocates nothing, and it remembers the last
 * header segment that passed steps 2 and 3 so that a run of tokens from one
 * issuer (same header bytes) skips them (see verify_signed).
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* ------------------------------------------------------------------ policy */

static void policy_clear(struct tsr_policy *p)
{
    tsr__free(p->iss);
    tsr__free(p->sub);
    tsr__free(p->typ);
    for (size_t i = 0; i < p->naud; i++) {
        tsr__free(p->aud[i]);
    }
    for (size_t i = 0; i < p->nreq; i++) {
        tsr__free(p->req[i]);
    }
    memset(p, 0, sizeof *p);
}

tsr_err tsr_policy_new(tsr_policy **out, tsr_error *err)
{
    if (out == NULL) {
        return tsr__fail(err, TSR_ERR_INVALID_ARGUMENT, "out is NULL");
    }
    *out = tsr__calloc(1, sizeof **out);
    if (*out == NULL) {
        return tsr__fail(err, TSR_ERR_NOMEM, "policy");
    }
    (*out)->max_token = TSR_DEFAULT_MAX_TOKEN_SIZE;
    tsr__ok(err);
    return TSR_OK;
}

void tsr_policy_free(tsr_policy *p)
{
    if (p != NULL) {
        policy_clear(p);
        tsr__free(p);
    }
}

tsr_err tsr_policy_allow_alg(tsr_policy *p, tsr_alg alg, tsr_error *err)
{
    if (p == NULL || tsr__alg_get(alg) == NULL) {
        return tsr__fail(err, TSR_ERR_INVALID_ARGUMENT, "policy is NULL or alg is not valid");
    }
    p->algs |= TSR_ALG_BIT(alg);
    tsr__ok(err);
    return TSR_OK;
}

tsr_err tsr_policy_allow_algs(tsr_policy *p, const char *list, tsr_error *err)
{
    if (p == NULL || list == NULL) {
        return tsr__fail(err, TSR_ERR_INVALID_ARGUMENT, "policy or list is NULL");
    }
    /* Collected first and applied only when every name is good. */
    uint32_t mask = 0;
    const char *s = list;
    for (;;) {
        const char *comma = strchr(s, ',');
        size_t n = comma != NULL ? (size_t)(comma - s) : strlen(s);
        tsr_alg alg = TSR_ALG_UNSPECIFIED;
        tsr_err rc = tsr_alg_from_name(s, n, &alg);
        if (rc == TSR_ERR_ALG_NOT_ALLOWED) {
            return tsr__fail(err, rc, "\"none\" can never be allowed");
        }
        if (rc != TSR_OK) {
            return tsr__fail(err, TSR_ERR_UNSUPPORTED, "unknown algorithm name '%.*s'",
                             (int)(n > 32 ? 32 : n), s);
        }
        mask |= TSR_ALG_BIT(alg);
        if (comma == NULL) {
            break;
        }
        s = comma + 1;
    }
    p->algs |= mask;
    tsr__ok(err);
    return TSR_OK;
}

/* Replaces *slot with a copy of s (NULL clears). */
static tsr_err set_string(char **slot, size_t *slot_len, const char *s, tsr_error *err)
{
    char *copy = NULL;
    size_t n = 0;
    if (s != NULL) {
        n = strlen(s);
        copy = tsr__strndup(s, n);
        if (copy == NULL) {
            return tsr__fail(err, TSR_ERR_NOMEM, "policy string");
        }
    }
    tsr__free(*slot);
    *slot = copy;
    if (slot_len != NULL) {
        *slot_len = n;
    }
    tsr__ok(err);
    return TSR_OK;
}

tsr_err tsr_policy_set_issuer(tsr_policy *p, const char *iss, tsr_error *err)
{
    if (p == NULL) {
        return tsr__fail(err, TSR_ERR_INVALID_ARGUMENT, "policy is NULL");
    }
    return set_string(&p->iss, &p->iss_len, iss, err);
}

tsr_err tsr_policy_set_subject(tsr_policy *p, const char *sub, tsr_error *err)
{
    if (p == NULL) {
        return tsr__fail(err, TSR_ERR_INVALID_ARGUMENT, "policy is NULL");
    }
    return set_string(&p->sub, &p->sub_len, sub, err);
}

tsr_err tsr_policy_set_typ(tsr_policy *p, const char *typ, tsr_error *err)
{
    if (p == NULL) {
        return tsr__fail(err, TSR_ERR_INVALID_ARGUMENT, "policy is NULL");
    }
    return set_string(&p->typ, NULL, typ, err);
}

/* Appends a copy of s to a bounded list of strings. */
static tsr_err list_add(char **items, size_t *lens, size_t *count, size_t max, const char *s,
                        tsr_error *err)
{
    if (*count >= max) {
        return tsr__fail(err, TSR_ERR_TOO_LARGE, "at most %zu entries", max);
    }
    size_t n = strlen(s);
    items[*count] = tsr__strndup(s, n);
    if (items[*count] == NULL) {
        return tsr__fail(err, TSR_ERR_NOMEM, "policy string");
    }
    lens[*count] = n;
    (*count)++;
    tsr__ok(err);
    return TSR_OK;
}

tsr_err tsr_policy_add_audience(tsr_policy *p, const char *aud, tsr_error *err)
{
    if (p == NULL || aud == NULL) {
        return tsr__fail(err, TSR_ERR_INVALID_ARGUMENT, "policy or audience is NULL");
    }
    return list_add(p->aud, p->aud_len, &p->naud, TSR_POLICY_MAX_AUDIENCES, aud, err);
}

tsr_err tsr_policy_require_claim(tsr_policy *p, const char *name, tsr_error *err)
{
    if (p == NULL || name == NULL) {
        return tsr__fail(err, TSR_ERR_INVALID_ARGUMENT, "policy or claim name is NULL");
    }
    return list_add(p->req, p->req_len, &p->nreq, TSR_POLICY_MAX_REQUIRED, name, err);
}

tsr_err tsr_policy_set_leeway(tsr_policy *p, int64_t seconds, tsr_error *err)
{
    if (p == NULL || seconds < 0 || seconds > 86400) {
        return tsr__fail(err, TSR_ERR_INVALID_ARGUMENT, "leeway must be 0..86400 seconds");
    }
    p->leeway = seconds;
    tsr__ok(err);
    return TSR_OK;
}

tsr_err tsr_policy_set_max_age(tsr_policy *p, int64_t seconds, tsr_error *err)
{
    if (p == NULL || seconds < 0) {
        return tsr__fail(err, TSR_ERR_INVALID_ARGUMENT, "maximum age must be >= 0 seconds");
    }
    p->max_age = seconds;
    tsr__ok(err);
    return TSR_OK;
}

tsr_err tsr_policy_set_max_token_size(tsr_policy *p, size_t max, tsr_error *err)
{
    if (p == NULL || max == 0 || max > TSR_MAX_TOKEN_SIZE_LIMIT) {
        return tsr__fail(err, TSR_ERR_INVALID_ARGUMENT, "maximum token size must be 1..%u",
                         TSR_MAX_TOKEN_SIZE_LIMIT);
    }
    p->max_token = max;
    tsr__ok(err);
    return TSR_OK;
}

/* Deep copy; on failure dst is left cleared. */
static bool policy_copy(struct tsr_policy *dst, const struct tsr_policy *src)
{
    *dst = *src;
    dst->iss = dst->sub = dst->typ = NULL;
    dst->naud = dst->nreq = 0;
    bool ok = true;
    if (src->iss != NULL) {
        ok = ok && (dst->iss = tsr__strndup(src->iss, src->iss_len)) != NULL;
    }
    if (src->sub != NULL) {
        ok = ok && (dst->sub = tsr__strndup(src->sub, src->sub_len)) != NULL;
    }
    if (src->typ != NULL) {
        ok = ok && (dst->typ = tsr__strndup(src->typ, strlen(src->typ))) != NULL;
    }
    for (size_t i = 0; ok && i < src->naud; i++) {
        ok = (dst->aud[i] = tsr__strndup(src->aud[i], src->aud_len[i])) != NULL;
        dst->naud += ok ? 1 : 0;
    }
    for (size_t i = 0; ok && i < src->nreq; i++) {
        ok = (dst->req[i] = tsr__strndup(src->req[i], src->req_len[i])) != NULL;
        dst->nreq += ok ? 1 : 0;
    }
    if (!ok) {
        policy_clear(dst);
    }
    return ok;
}

/* ------------------------------------------------------------------ verifier */

/* A usable key with a kid, in a per-algorithm table sorted by kid. */
typedef struct kid_entry {
    const char *kid;
    size_t len;
    const tsr_key *key;
} kid_entry;

/* Key selection precomputed for one algorithm. */
typedef struct alg_sel {
    size_t usable;          /* keys usable for this alg */
    const tsr_key *only;    /* the key when usable == 1 (token without kid) */
    const tsr_key *any_kid; /* a lone kid-less key: used whatever the token's kid */
    kid_entry *by_kid;      /* usable keys that have a kid, sorted */
    size_t nkid;
} alg_sel;

struct tsr_verifier {
    struct tsr_policy pol;
    char *typ_long; /* "application/" + short form, or NULL */
    size_t typ_long_len;
    const char *typ_short; /* points into typ_long */
    size_t typ_short_len;
    tsr_key **keys; /* one reference each */
    size_t nkeys;
    alg_sel sel[TSR_ALG__COUNT];
    uint64_t id; /* random; names this verifier in tsr_jwt's header cache */
};

void tsr_verifier_free(tsr_verifier *v)
{
    if (v == NULL) {
        return;
    }
    for (size_t i = 0; i < v->nkeys; i++) {
        tsr_key_free(v->keys[i]);
    }
    tsr__free(v->keys);
    for (int a = 0; a < TSR_ALG__COUNT; a++) {
        tsr__free(v->sel[a].by_kid);
    }
    tsr__free(v->typ_long);
    policy_clear(&v->pol);
    tsr__free(v);
}

static int kid_cmp(const void *a, const void *b)
{
    const kid_entry *x = a;
    const kid_entry *y = b;
    if (x->len != y->len) {
        return x->len < y->len ? -1 : 1;
    }
    return memcmp(x->kid, y->kid, x->len);
}

/* Fills v->sel[alg] from the retained keys. */
static tsr_err build_sel(tsr_verifier *v, tsr_alg alg, const tsr_keyset *set)
{
    alg_sel *s = &v->sel[alg];
    for (size_t i = 0; i < v->nkeys; i++) {
        if (tsr_key_usable(v->keys[i], alg, TSR_OP_VERIFY)) {
            s->usable++;
            s->only = v->keys[i];
            s->nkid += v->keys[i]->kid != NULL ? 1 : 0;
        }
    }
    if (s->usable != 1) {
        s->only = NULL;
    }
    /* Issue 2: a lone PEM key or a kid-less JWK in a single-key set is used
     * regardless of the token's kid. */
    if (tsr_keyset_count(set) == 1 && s->usable == 1 && s->only->kid == NULL) {
        s->any_kid = s->only;
    }
    if (s->nkid == 0) {
        return TSR_OK;
    }
    s->by_kid = tsr__calloc(s->nkid, sizeof *s->by_kid);
    if (s->by_kid == NULL) {
        return TSR_ERR_NOMEM;
    }
    size_t n = 0;
    for (size_t i = 0; i < v->nkeys; i++) {
        const tsr_key *k = v->keys[i];
        if (k->kid != NULL && tsr_key_usable(k, alg, TSR_OP_VERIFY)) {
            s->by_kid[n++] = (kid_entry){k->kid, k->kid_len, k};
        }
    }
    qsort(s->by_kid, n, sizeof *s->by_kid, kid_cmp);
    return TSR_OK;
}

/* Takes a reference to every key of `set` that some allowed alg can use. */
static tsr_err retain_keys(tsr_verifier *v, const tsr_keyset *set)
{
    size_t count = tsr_keyset_count(set);
    v->keys = tsr__calloc(count, sizeof *v->keys);
    if (v->keys == NULL) {
        return TSR_ERR_NOMEM;
    }
    for (size_t i = 0; i < count; i++) {
        const tsr_key *k = tsr_keyset_get0_key(set, i);
        bool usable = false;
        for (int a = TSR_ALG_HS256; k != NULL && a < TSR_ALG__COUNT && !usable; a++) {
            usable =
                (v->pol.algs & TSR_ALG_BIT(a)) != 0 && tsr_key_usable(k, (tsr_alg)a, TSR_OP_VERIFY);
        }
        if (usable) {
            /* The verifier only reads the key; the cast is for the count. */
            v->keys[v->nkeys++] = tsr_key_up_ref((tsr_key *)(uintptr_t)k);
        }
    }
    return TSR_OK;
}

/* The policy typ in both spellings the header may use. */
static tsr_err prepare_typ(tsr_verifier *v)
{
    static const char app[] = "application/";
    const size_t app_len = sizeof app - 1;
    const char *t = v->pol.typ;
    if (t == NULL) {
        return TSR_OK;
    }
    size_t n = strlen(t);
    /* ASCII case folding by hand: strncasecmp would follow the locale. */
    bool prefixed = n >= app_len;
    for (size_t i = 0; prefixed && i < app_len; i++) {
        char c = t[i];
        prefixed = (c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c) == app[i];
    }
    if (prefixed) {
        t += app_len;
        n -= app_len;
    }
    v->typ_long = tsr__malloc(app_len + n + 1);
    if (v->typ_long == NULL) {
        return TSR_ERR_NOMEM;
    }
    memcpy(v->typ_long, app, app_len);
    memcpy(v->typ_long + app_len, t, n + 1);
    v->typ_long_len = app_len + n;
    v->typ_short = v->typ_long + app_len;
    v->typ_short_len = n;
    return TSR_OK;
}

tsr_err tsr_verifier_new(const tsr_policy *policy, const tsr_keyset *keys, tsr_verifier **out,
                         tsr_error *err)
{
    if (out == NULL) {
        return tsr__fail(err, TSR_ERR_INVALID_ARGUMENT, "out is NULL");
    }
    *out = NULL;
    if (policy == NULL || keys == NULL) {
        return tsr__fail(err, TSR_ERR_INVALID_ARGUMENT, "policy or key set is NULL");
    }
    if (policy->algs == 0) {
        return tsr__fail(err, TSR_ERR_INVALID_ARGUMENT, "the algorithm allowlist is empty");
    }
    tsr_err rc = TSR_ERR_NOMEM;
    tsr_verifier *v = tsr__calloc(1, sizeof *v);
    if (v == NULL || !policy_copy(&v->pol, policy) || retain_keys(v, keys) != TSR_OK ||
        prepare_typ(v) != TSR_OK || tsr__random((unsigned char *)&v->id, sizeof v->id) != TSR_OK) {
        tsr__fail(err, rc, "verifier");
        goto out;
    }
    if (v->nkeys == 0) {
        rc = tsr__fail(err, TSR_ERR_KEY_NOT_FOUND, "no key can verify any allowed algorithm");
        goto out;
    }
    for (int a = TSR_ALG_HS256; a < TSR_ALG__COUNT; a++) {
        if ((v->pol.algs & TSR_ALG_BIT(a)) != 0 && build_sel(v, (tsr_alg)a, keys) != TSR_OK) {
            tsr__fail(err, rc, "verifier key table");
            goto out;
        }
    }
    *out = v;
    v = NULL;
    rc = TSR_OK;
    tsr__ok(err);
out:
    tsr_verifier_free(v);
    return rc;
}

/* ------------------------------------------------------------------ tsr_jwt */

/* One decoded segment: its bytes and the JSON token array over them. */
typedef struct segment {
    unsigned char *bytes;
    size_t cap;
    tsr__jtok *toks;
    size_t tcap;
    tsr__jdoc doc;
} segment;

struct tsr_jwt {
    segment header;
    segment payload;
    unsigned char *sig;
    size_t sig_cap;
    tsr__scratch *scratch;
    /* The header cache (see verify_signed): the base64url header segment
     * whose checks passed last, for which verifier, and what they gave. The
     * decoded header in `header` belongs to it while `cached` is true. */
    bool cached;
    uint64_t cache_vid;
    char *cache_b64;
    size_t cache_len;
    size_t cache_cap;
    tsr__jws_header cache_hd;
    const tsr_key *cache_key;
    /* Result of the last verify; meaningful only when ok. */
    bool ok;
    tsr_alg alg;
    const tsr_key *key;
};

/* Initial sizes cover ordinary tokens, so that a fresh tsr_jwt does not
 * allocate on its first verify. */
#define JWT_INITIAL_BYTES 1024u
#define JWT_INITIAL_SIG 512u
#define JWT_INITIAL_HEADER_B64 256u

/* Makes *buf hold at least `need` elements of `size` bytes. Grows to the
 * need exactly: callers bound it by the token size cap. */
static bool reserve(void **buf, size_t *cap, size_t need, size_t size)
{
    if (need <= *cap) {
        return true;
    }
    void *grown = tsr__realloc(*buf, need * size);
    if (grown == NULL) {
        return false;
    }
    *buf = grown;
    *cap = need;
    return true;
}

/* Tokens the reader can need for n bytes of JSON: every value but the
 * outermost takes at least two bytes (itself and a separator or bracket). */
static size_t toks_for(size_t n)
{
    return n / 2 + 2;
}

/* A header is parsed before the signature is checked, so its cost is the
 * forger's to choose: the reader's duplicate check is quadratic in the
 * member count. Real headers have a handful of members; this cap (about 250
 * members) keeps a hostile one cheap and is reported as too_large. */
#define HEADER_MAX_TOKS 512u

static bool segment_reserve(segment *s, size_t bytes, size_t max_toks)
{
    size_t toks = toks_for(bytes);
    if (toks > max_toks) {
        toks = max_toks;
    }
    return reserve((void **)&s->bytes, &s->cap, bytes, 1) &&
           reserve((void **)&s->toks, &s->tcap, toks, sizeof *s->toks);
}

static void segment_free(segment *s)
{
    tsr__free(s->bytes);
    tsr__free(s->toks);
}

void tsr_jwt_free(tsr_jwt *jwt)
{
    if (jwt == NULL) {
        return;
    }
    segment_free(&jwt->header);
    segment_free(&jwt->payload);
    tsr__free(jwt->sig);
    tsr__free(jwt->cache_b64);
    tsr__scratch_free(jwt->scratch);
    tsr__free(jwt);
}

tsr_err tsr_jwt_new(tsr_jwt **out, tsr_error *err)
{
    if (out == NULL) {
        return tsr__fail(err, TSR_ERR_INVALID_ARGUMENT, "out is NULL");
    }
    *out = NULL;
    tsr_jwt *jwt = tsr__calloc(1, sizeof *jwt);
    if (jwt == NULL) {
        /* Explicit code (not tsr__fail's value) so analyzers see the path. */
        tsr__fail(err, TSR_ERR_NOMEM, "jwt workspace");
        return TSR_ERR_NOMEM;
    }
    if (!segment_reserve(&jwt->header, JWT_INITIAL_BYTES, HEADER_MAX_TOKS) ||
        !segment_reserve(&jwt->payload, JWT_INITIAL_BYTES, SIZE_MAX) ||
        !reserve((void **)&jwt->sig, &jwt->sig_cap, JWT_INITIAL_SIG, 1) ||
        !reserve((void **)&jwt->cache_b64, &jwt->cache_cap, JWT_INITIAL_HEADER_B64, 1) ||
        tsr__scratch_new(&jwt->scratch) != TSR_OK) {
        tsr_jwt_free(jwt);
        tsr__fail(err, TSR_ERR_NOMEM, "jwt workspace");
        return TSR_ERR_NOMEM;
    }
    *out = jwt;
    tsr__ok(err);
    return TSR_OK;
}

/* ------------------------------------------------------------------ verify */

/* Base64url-decodes and parses one JSON segment into s->doc. */
static tsr_err decode_json(segment *s, tsr_str b64, size_t max_toks, const char *what,
                           tsr_error *err)
{
    if (!segment_reserve(s, tsr_b64url_decoded_max(b64.len), max_toks)) {
        return tsr__fail(err, TSR_ERR_NOMEM, "%s buffer", what);
    }
    size_t n = 0;
    if (tsr_b64url_decode(b64.ptr, b64.len, s->bytes, s->cap, &n) != TSR_OK) {
        return tsr__fail(err, TSR_ERR_MALFORMED, "%s is not valid base64url", what);
    }
    tsr_err rc =
        tsr__json_parse((const char *)s->bytes, n, s->toks, s->tcap, TSR__JSON_MAX_DEPTH, &s->doc);
    if (rc == TSR_ERR_TOO_LARGE) {
        return tsr__fail(err, rc, "%s JSON nests too deeply or has too many values", what);
    }
    if (rc != TSR_OK) {
        return tsr__fail(err, TSR_ERR_MALFORMED, "%s is not valid strict JSON", what);
    }
    return TSR_OK;
}

/* Finds the kid in the sorted table: exactly one entry must match. */
static const tsr_key *find_kid(const alg_sel *s, const char *kid, size_t len)
{
    kid_entry want = {kid, len, NULL};
    size_t lo = 0;
    size_t hi = s->nkid;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (kid_cmp(&s->by_kid[mid], &want) < 0) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    if (lo >= s->nkid || kid_cmp(&s->by_kid[lo], &want) != 0) {
        return NULL;
    }
    /* Two usable keys with the same kid: ambiguous, never try both. */
    if (lo + 1 < s->nkid && kid_cmp(&s->by_kid[lo + 1], &want) == 0) {
        return NULL;
    }
    return s->by_kid[lo].key;
}

/* Issue 2 "Key selection": kid narrows to keys with exactly that kid (a lone
 * kid-less key excepted), then alg narrows to usable keys; exactly one may
 * remain. The tables were built per alg, so both steps are one lookup. */
static tsr_err select_key(const tsr_verifier *v, const tsr__jdoc *h, const tsr__jws_header *hd,
                          const tsr_key **out, tsr_error *err)
{
    const alg_sel *s = &v->sel[hd->alg];
    *out = NULL;
    if (hd->kid < 0) {
        *out = s->only;
    } else {
        const tsr__jtok *t = &h->toks[hd->kid];
        char copy[TSR_KID_MAX + 1];
        const char *kid = h->buf + t->start;
        size_t len = t->len;
        if (t->escaped) {
            kid = copy;
            if (tsr__json_str_copy(h, (size_t)hd->kid, copy, sizeof copy, &len) != TSR_OK) {
                len = TSR_KID_MAX + 1;
            }
        }
        if (len > TSR_KID_MAX) {
            return tsr__fail(err, TSR_ERR_TOO_LARGE, "header kid is longer than %u bytes",
                             TSR_KID_MAX);
        }
        *out = s->any_kid != NULL ? s->any_kid : find_kid(s, kid, len);
    }
    if (*out == NULL) {
        return tsr__fail(err, TSR_ERR_KEY_NOT_FOUND, "no single key for this kid and alg %s",
                         tsr_alg_name(hd->alg));
    }
    return TSR_OK;
}

static tsr_err check_signature(const tsr_key *key, tsr_alg alg, const char *token,
                               const tsr__jws_parts *parts, tsr_jwt *jwt, tsr_error *err)
{
    /* Checked here rather than when splitting so that the unsecured
     * "header.payload." shape of an alg:none attack is reported by the header
     * rules as alg_not_allowed, the reason an audit log should show. */
    if (parts->sig.len == 0) {
        return tsr__fail(err, TSR_ERR_MALFORMED, "empty signature segment");
    }
    if (!reserve((void **)&jwt->sig, &jwt->sig_cap, tsr_b64url_decoded_max(parts->sig.len), 1)) {
        return tsr__fail(err, TSR_ERR_NOMEM, "signature buffer");
    }
    size_t n = 0;
    if (tsr_b64url_decode(parts->sig.ptr, parts->sig.len, jwt->sig, jwt->sig_cap, &n) != TSR_OK) {
        return tsr__fail(err, TSR_ERR_MALFORMED, "signature is not valid base64url");
    }
    tsr_err rc = tsr__crypto_verify(key, alg, (const unsigned char *)token,
                                    parts->signing_input_len, jwt->sig, n, jwt->scratch);
    switch (rc) {
    case TSR_OK: return TSR_OK;
    case TSR_ERR_NOMEM: return tsr__fail(err, rc, "signature check");
    case TSR_ERR_BAD_SIGNATURE: return tsr__fail(err, rc, "signature does not verify");
    default: return tsr__fail(err, TSR_ERR_CRYPTO, "crypto backend failed");
    }
}

/* Steps 2 and 3: the header and the key it selects. */
static tsr_err check_header(const tsr_verifier *v, tsr_str b64, tsr_jwt *jwt, tsr__jws_header *hd,
                            const tsr_key **key, tsr_error *err)
{
    tsr_err rc = decode_json(&jwt->header, b64, HEADER_MAX_TOKS, "header", err);
    if (rc == TSR_OK) {
        rc = tsr__jws_check_header(&jwt->header.doc, v->pol.algs, hd, err);
    }
    if (rc == TSR_OK) {
        rc = select_key(v, &jwt->header.doc, hd, key, err);
    }
    return rc;
}

/* Whether `b64` is the header segment that last passed with verifier v. */
static bool cache_hit(const tsr_verifier *v, const tsr_jwt *jwt, tsr_str b64)
{
    return jwt->cached && jwt->cache_vid == v->id && jwt->cache_len == b64.len &&
           memcmp(jwt->cache_b64, b64.ptr, b64.len) == 0;
}

/* Remembers a header segment that passed steps 2 and 3. Failing to grow
 * the copy only means no caching. */
static void cache_store(const tsr_verifier *v, tsr_jwt *jwt, tsr_str b64, const tsr__jws_header *hd,
                        const tsr_key *key)
{
    if (!reserve((void **)&jwt->cache_b64, &jwt->cache_cap, b64.len, 1)) {
        return;
    }
    memcpy(jwt->cache_b64, b64.ptr, b64.len);
    jwt->cache_len = b64.len;
    jwt->cache_vid = v->id;
    jwt->cache_hd = *hd;
    jwt->cache_key = key;
    jwt->cached = true;
}

/* Steps 1 to 4 of the pipeline: everything up to and including the
 * signature. On success `hd` and `key` describe the verified token.
 *
 * Tokens from one issuer nearly always carry the same header segment, so
 * the tsr_jwt remembers the last one that passed steps 2 and 3 and skips
 * them when the next header is byte-identical under the same verifier:
 * the outcome of those steps depends only on those bytes and on the
 * verifier, which is immutable. The verifier is recognised by a random
 * 64-bit id rather than its address, which a later verifier could reuse. */
static tsr_err verify_signed(const tsr_verifier *v, const char *token, size_t len, tsr_jwt *jwt,
                             tsr__jws_parts *parts, tsr__jws_header *hd, const tsr_key **key,
                             tsr_error *err)
{
    tsr_err rc = tsr__jws_split(token, len, v->pol.max_token, parts, err);
    if (rc != TSR_OK) {
        return rc;
    }
    if (cache_hit(v, jwt, parts->header)) {
        *hd = jwt->cache_hd;
        *key = jwt->cache_key;
    } else {
        jwt->cached = false; /* `header` is about to be overwritten */
        rc = check_header(v, parts->header, jwt, hd, key, err);
        if (rc != TSR_OK) {
            return rc;
        }
        cache_store(v, jwt, parts->header, hd, *key);
    }
    return check_signature(*key, hd->alg, token, parts, jwt, err);
}

/* Step 6, on the header already checked. */
static tsr_err check_typ(const tsr_verifier *v, const tsr_jwt *jwt, const tsr__jws_header *hd,
                         tsr_error *err)
{
    if (v->pol.typ != NULL &&
        !tsr__jws_typ_matches(&jwt->header.doc, hd->typ, v->typ_short, v->typ_short_len,
                              v->typ_long, v->typ_long_len)) {
        return tsr__fail(err, TSR_ERR_TYP_MISMATCH, "header typ does not match");
    }
    return TSR_OK;
}

static void set_result(tsr_jwt *jwt, const tsr__jws_header *hd, const tsr_key *key, tsr_error *err)
{
    jwt->ok = true;
    jwt->alg = hd->alg;
    jwt->key = key;
    tsr__ok(err);
}

static tsr_err verify_into(const tsr_verifier *v, const char *token, size_t len, int64_t now,
                           tsr_jwt *jwt, tsr_error *err)
{
    tsr__jws_parts parts;
    tsr__jws_header hd;
    const tsr_key *key = NULL;
    tsr_err rc = verify_signed(v, token, len, jwt, &parts, &hd, &key, err);
    if (rc == TSR_OK) {
        rc = decode_json(&jwt->payload, parts.payload, SIZE_MAX, "payload", err);
    }
    if (rc == TSR_OK) {
        rc = check_typ(v, jwt, &hd, err);
    }
    if (rc == TSR_OK) {
        rc = tsr__claims_check(&jwt->payload.doc, &v->pol, now, err);
    }
    if (rc == TSR_OK) {
        set_result(jwt, &hd, key, err);
    }
    return rc;
}

/* The JWS-level variant for the conformance suites (see internal.h): the
 * payload only has to be strict base64url; it is kept as bytes with no
 * JSON tokens, so the claim getters find nothing. */
static tsr_err verify_jws_into(const tsr_verifier *v, const char *token, size_t len, tsr_jwt *jwt,
                               tsr_error *err)
{
    tsr__jws_parts parts;
    tsr__jws_header hd;
    const tsr_key *key = NULL;
    tsr_err rc = verify_signed(v, token, len, jwt, &parts, &hd, &key, err);
    segment *p = &jwt->payload;
    size_t n = 0;
    if (rc == TSR_OK && !segment_reserve(p, tsr_b64url_decoded_max(parts.payload.len), 0)) {
        rc = tsr__fail(err, TSR_ERR_NOMEM, "payload buffer");
    }
    if (rc == TSR_OK &&
        tsr_b64url_decode(parts.payload.ptr, parts.payload.len, p->bytes, p->cap, &n) != TSR_OK) {
        rc = tsr__fail(err, TSR_ERR_MALFORMED, "payload is not valid base64url");
    }
    if (rc == TSR_OK) {
        p->doc = (tsr__jdoc){(const char *)p->bytes, n, p->toks, 0};
        rc = check_typ(v, jwt, &hd, err);
    }
    if (rc == TSR_OK) {
        set_result(jwt, &hd, key, err);
    }
    return rc;
}

/* Resets the result, checks the arguments and supplies a temporary
 * workspace when the caller gave none. `now` is ignored when !full. */
static tsr_err verify_entry(const tsr_verifier *v, const char *token, size_t len, int64_t now,
                            tsr_jwt *jwt, bool full, tsr_error *err)
{
    if (jwt != NULL) {
        jwt->ok = false;
        jwt->alg = TSR_ALG_UNSPECIFIED;
        jwt->key = NULL;
    }
    if (v == NULL || (token == NULL && len > 0)) {
        return tsr__fail(err, TSR_ERR_INVALID_ARGUMENT, "verifier or token is NULL");
    }
    if (token == NULL) {
        token = "";
    }
    tsr_jwt *tmp = NULL;
    if (jwt == NULL) {
        tsr_err rc = tsr_jwt_new(&tmp, err);
        if (rc != TSR_OK) {
            return rc;
        }
        jwt = tmp;
    }
    tsr_err rc =
        full ? verify_into(v, token, len, now, jwt, err) : verify_jws_into(v, token, len, jwt, err);
    tsr_jwt_free(tmp);
    return rc;
}

tsr_err tsr_verifier_verify(const tsr_verifier *v, const char *token, size_t len, int64_t now,
                            tsr_jwt *jwt, tsr_error *err)
{
    return verify_entry(v, token, len, now, jwt, true, err);
}

tsr_err tsr__verifier_verify_jws(const tsr_verifier *v, const char *token, size_t len, tsr_jwt *jwt,
                                 tsr_error *err)
{
    return verify_entry(v, token, len, 0, jwt, false, err);
}

/* ------------------------------------------------------------------ results */

tsr_alg tsr_jwt_get_alg(const tsr_jwt *jwt)
{
    return jwt != NULL && jwt->ok ? jwt->alg : TSR_ALG_UNSPECIFIED;
}

static tsr_str doc_text(const tsr_jwt *jwt, const segment *s)
{
    if (jwt == NULL || !jwt->ok) {
        return (tsr_str){NULL, 0};
    }
    return (tsr_str){s->doc.buf, s->doc.len};
}

tsr_str tsr_jwt_get0_header(const tsr_jwt *jwt)
{
    return doc_text(jwt, jwt != NULL ? &jwt->header : NULL);
}

tsr_str tsr_jwt_get0_payload(const tsr_jwt *jwt)
{
    return doc_text(jwt, jwt != NULL ? &jwt->payload : NULL);
}

const char *tsr_jwt_get0_kid(const tsr_jwt *jwt)
{
    return jwt != NULL && jwt->ok ? jwt->key->kid : NULL;
}

/* Token index of claim `name` in the last verified payload, or -1. */
static long find_claim(const tsr_jwt *jwt, const char *name)
{
    /* A JWS-level result (tsr__verifier_verify_jws) has no JSON tokens. */
    if (jwt == NULL || !jwt->ok || name == NULL || jwt->payload.doc.ntoks == 0) {
        return -1;
    }
    return tsr__json_find(&jwt->payload.doc, 0, name, strlen(name));
}

tsr_err tsr_jwt_get_string(const tsr_jwt *jwt, const char *name, char *buf, size_t cap, size_t *len)
{
    if (len != NULL) {
        *len = 0;
    }
    if (buf != NULL && cap > 0) {
        buf[0] = '\0';
    }
    long i = find_claim(jwt, name);
    if (i < 0) {
        return TSR_ERR_NOT_FOUND;
    }
    const tsr__jdoc *doc = &jwt->payload.doc;
    if (doc->toks[i].type != TSR__J_STRING) {
        return TSR_ERR_MALFORMED;
    }
    if (buf == NULL || cap == 0) {
        return TSR_ERR_TOO_LARGE;
    }
    size_t n = 0;
    tsr_err rc = tsr__json_str_copy(doc, (size_t)i, buf, cap, &n);
    if (rc != TSR_OK) {
        buf[0] = '\0';
        return TSR_ERR_TOO_LARGE;
    }
    if (len != NULL) {
        *len = n;
    }
    return TSR_OK;
}

tsr_err tsr_jwt_get_int(const tsr_jwt *jwt, const char *name, int64_t *out)
{
    if (out != NULL) {
        *out = 0;
    }
    long i = find_claim(jwt, name);
    if (i < 0) {
        return TSR_ERR_NOT_FOUND;
    }
    if (out == NULL) {
        return TSR_ERR_INVALID_ARGUMENT;
    }
    int64_t value = 0;
    if (tsr__json_int(&jwt->payload.doc, (size_t)i, &value) != TSR_OK) {
        return TSR_ERR_MALFORMED;
    }
    *out = value;
    return TSR_OK;
}

tsr_err tsr_jwt_get0_claim(const tsr_jwt *jwt, const char *name, tsr_str *out)
{
    if (out != NULL) {
        *out = (tsr_str){NULL, 0};
    }
    long i = find_claim(jwt, name);
    if (i < 0) {
        return TSR_ERR_NOT_FOUND;
    }
    if (out == NULL) {
        return TSR_ERR_INVALID_ARGUMENT;
    }
    const tsr__jtok *t = &jwt->payload.doc.toks[i];
    /* String tokens start after the opening quote; the raw JSON text
     * includes both quotes. */
    size_t start = t->start;
    size_t len = t->len;
    if (t->type == TSR__J_STRING) {
        start -= 1;
        len += 2;
    }
    *out = (tsr_str){jwt->payload.doc.buf + start, len};
    return TSR_OK;
}
