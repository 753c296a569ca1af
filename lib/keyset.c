/*
 * keyset.c: tsr_keyset, an ordered list of key references. Loads JWK Sets
 * (RFC 7517 section 5) with the skipping rules of issue 2, loads any key
 * file by content (JWK Set, JWK or PEM), and exports the public JWK Set.
 *
 * Skipping: a member that is unusable for signatures (unknown kty/crv, an
 * unknown or unfitting "alg", a weak or inconsistent key, "use" other than
 * "sig" or "key_ops" without sign/verify) is left out; a member that is not
 * a JSON object or has malformed members (wrong JSON types, bad base64url)
 * rejects the whole set, because that signals a broken or hostile document
 * rather than a key meant for somebody else. A set with no usable member is
 * TSR_ERR_KEY_NOT_FOUND. A set whose usable members mix private keys or
 * secrets with public-only keys is TSR_ERR_KEY_INVALID (see
 * check_not_mixed).
 */
#include <string.h>

#include <jansson.h>

#include "internal.h"

struct tsr_keyset {
    tsr_key **keys;
    size_t count;
    size_t cap;
};

tsr_err tsr_keyset_new(tsr_keyset **out, tsr_error *err)
{
    if (out == NULL) {
        return tsr__fail(err, TSR_ERR_INVALID_ARGUMENT, "no output");
    }
    *out = tsr__calloc(1, sizeof **out);
    if (*out == NULL) {
        return tsr__fail(err, TSR_ERR_NOMEM, "key set");
    }
    tsr__ok(err);
    return TSR_OK;
}

void tsr_keyset_free(tsr_keyset *set)
{
    if (set == NULL) {
        return;
    }
    for (size_t i = 0; i < set->count; i++) {
        tsr_key_free(set->keys[i]);
    }
    tsr__free(set->keys);
    tsr__free(set);
}

tsr_err tsr_keyset_add1_key(tsr_keyset *set, tsr_key *key, tsr_error *err)
{
    if (set == NULL || key == NULL) {
        return tsr__fail(err, TSR_ERR_INVALID_ARGUMENT, "no set or key");
    }
    if (set->count >= TSR_KEYSET_MAX_KEYS) {
        return tsr__fail(err, TSR_ERR_TOO_LARGE, "more than %u keys", TSR_KEYSET_MAX_KEYS);
    }
    if (set->count == set->cap) {
        size_t cap = set->cap ? set->cap * 2 : 4;
        tsr_key **grown = tsr__realloc(set->keys, cap * sizeof(tsr_key *));
        if (grown == NULL) {
            return tsr__fail(err, TSR_ERR_NOMEM, "key set");
        }
        set->keys = grown;
        set->cap = cap;
    }
    set->keys[set->count++] = tsr_key_up_ref(key);
    tsr__ok(err);
    return TSR_OK;
}

size_t tsr_keyset_count(const tsr_keyset *set)
{
    return set != NULL ? set->count : 0;
}

const tsr_key *tsr_keyset_get0_key(const tsr_keyset *set, size_t i)
{
    return set != NULL && i < set->count ? set->keys[i] : NULL;
}

/* Whether a member that failed with `code` is skipped rather than fatal. */
static bool skippable(tsr_err code)
{
    return code == TSR_ERR_UNSUPPORTED || code == TSR_ERR_KEY_WEAK ||
           code == TSR_ERR_KEY_MISMATCH || code == TSR_ERR_KEY_INVALID;
}

/* A set that holds private material (private keys or HMAC secrets) next to
 * public-only keys is refused: a published set must never carry secrets,
 * and a secret beside public keys is the setting of algorithm-confusion
 * attacks. Wycheproof's JsonWebKey tests ("MixedKeySet") expect this. */
static tsr_err check_not_mixed(const tsr_keyset *set, tsr_error *err)
{
    size_t priv = 0;
    for (size_t i = 0; i < set->count; i++) {
        priv += set->keys[i]->is_private;
    }
    if (priv != 0 && priv != set->count) {
        return tsr__fail(err, TSR_ERR_KEY_INVALID, "JWK Set mixes private and public keys");
    }
    return TSR_OK;
}

/* Loads the members of the "keys" array of a parsed JWK Set into set. */
static tsr_err load_members(const json_t *root, tsr_keyset *set, tsr_error *err)
{
    const json_t *keys = json_is_object(root) ? json_object_get(root, "keys") : NULL;
    if (!json_is_array(keys)) {
        return tsr__fail(err, TSR_ERR_MALFORMED, "JWK Set has no 'keys' array");
    }
    size_t n = json_array_size(keys);
    if (n > TSR_KEYSET_MAX_KEYS) {
        return tsr__fail(err, TSR_ERR_TOO_LARGE, "JWK Set of more than %u keys",
                         TSR_KEYSET_MAX_KEYS);
    }
    for (size_t i = 0; i < n; i++) {
        tsr_key *k = NULL;
        tsr_error kerr;
        tsr_err rc = tsr__key_from_json(json_array_get(keys, i), &k, &kerr);
        if (rc != TSR_OK && skippable(rc)) {
            continue;
        }
        if (rc != TSR_OK) {
            return tsr__fail(err, rc, "JWK Set member %zu: %s", i, kerr.detail);
        }
        if ((k->ops & (TSR__KEYOP_SIGN | TSR__KEYOP_VERIFY)) != 0) {
            rc = tsr_keyset_add1_key(set, k, err);
        }
        tsr_key_free(k);
        if (rc != TSR_OK) {
            return rc;
        }
    }
    if (set->count == 0) {
        return tsr__fail(err, TSR_ERR_KEY_NOT_FOUND, "JWK Set has no usable signature key");
    }
    return check_not_mixed(set, err);
}

/* Builds a set from a parsed JWK Set document. */
static tsr_err set_from_json(const json_t *root, tsr_keyset **out, tsr_error *err)
{
    tsr_keyset *set = NULL;
    tsr_err rc = tsr_keyset_new(&set, err);
    if (rc == TSR_OK) {
        rc = load_members(root, set, err);
    }
    if (rc != TSR_OK) {
        tsr_keyset_free(set);
        return rc;
    }
    tsr__ok(err);
    *out = set;
    return TSR_OK;
}

tsr_err tsr_keyset_load_jwks(const char *json, size_t len, tsr_keyset **out, tsr_error *err)
{
    json_t *root = NULL;
    if (out == NULL) {
        return tsr__fail(err, TSR_ERR_INVALID_ARGUMENT, "no output");
    }
    *out = NULL;
    tsr_err rc = tsr__json_load(json, len, (size_t)TSR_KEYSET_JSON_MAX, &root, err);
    if (rc != TSR_OK) {
        return rc;
    }
    rc = set_from_json(root, out, err);
    json_decref(root);
    return rc;
}

/* A set holding the single key `k` (consumed). */
static tsr_err set_of_one(tsr_key *k, tsr_keyset **out, tsr_error *err)
{
    tsr_keyset *set = NULL;
    tsr_err rc = tsr_keyset_new(&set, err);
    if (rc == TSR_OK) {
        rc = tsr_keyset_add1_key(set, k, err);
    }
    tsr_key_free(k);
    if (rc != TSR_OK) {
        tsr_keyset_free(set);
        return rc;
    }
    *out = set;
    return TSR_OK;
}

tsr_err tsr_keyset_load(const char *data, size_t len, tsr_keyset **out, tsr_error *err)
{
    json_t *root = NULL;
    tsr_key *k = NULL;
    if (out == NULL) {
        return tsr__fail(err, TSR_ERR_INVALID_ARGUMENT, "no output");
    }
    *out = NULL;
    if (data == NULL) {
        return tsr__fail(err, TSR_ERR_INVALID_ARGUMENT, "no input");
    }
    size_t i = 0;
    while (i < len && (data[i] == ' ' || data[i] == '\t' || data[i] == '\r' || data[i] == '\n')) {
        i++;
    }
    if (len - i >= 10 && memcmp(data + i, "-----BEGIN", 10) == 0) {
        tsr_err rc = tsr_key_load_pem(data, len, &k, err);
        return rc == TSR_OK ? set_of_one(k, out, err) : rc;
    }
    if (i == len || data[i] != '{') {
        return tsr__fail(err, TSR_ERR_MALFORMED, "neither a JWK, a JWK Set nor a PEM key");
    }
    tsr_err rc = tsr__json_load(data, len, (size_t)TSR_KEYSET_JSON_MAX, &root, err);
    if (rc != TSR_OK) {
        return rc;
    }
    if (json_object_get(root, "keys") != NULL) {
        rc = set_from_json(root, out, err);
    } else if (len > (size_t)TSR_KEY_JSON_MAX) {
        rc = tsr__fail(err, TSR_ERR_TOO_LARGE, "JWK longer than %u bytes", TSR_KEY_JSON_MAX);
    } else {
        rc = tsr__key_from_json(root, &k, err);
        if (rc == TSR_OK) {
            rc = set_of_one(k, out, err);
        }
    }
    json_decref(root);
    return rc;
}

/* {"keys":[p0,p1,...]} of the non-NULL parts into a new buffer of `total`
 * bytes (enough for all of them, the commas and the frame). */
static char *join_parts(char *const *parts, size_t n, size_t total)
{
    char *s = tsr__malloc(total);
    if (s == NULL) {
        return NULL;
    }
    static const char head[] = "{\"keys\":[";
    size_t w = sizeof head - 1;
    memcpy(s, head, sizeof head);
    for (size_t i = 0; i < n; i++) {
        if (parts[i] == NULL) {
            continue;
        }
        if (w > sizeof head - 1) {
            s[w++] = ',';
        }
        size_t len = strlen(parts[i]);
        memcpy(s + w, parts[i], len);
        w += len;
    }
    memcpy(s + w, "]}", 3);
    return s;
}

tsr_err tsr_keyset_export_jwks(const tsr_keyset *set, char **out, tsr_error *err)
{
    char *parts[TSR_KEYSET_MAX_KEYS] = {NULL};
    size_t total = sizeof "{\"keys\":[]}";
    tsr_err rc = TSR_OK;
    if (out == NULL) {
        return tsr__fail(err, TSR_ERR_INVALID_ARGUMENT, "no output");
    }
    *out = NULL;
    if (set == NULL) {
        return tsr__fail(err, TSR_ERR_INVALID_ARGUMENT, "no set");
    }
    for (size_t i = 0; i < set->count && rc == TSR_OK; i++) {
        if (set->keys[i]->kty == TSR_KTY_OCT) {
            continue; /* a secret has no public part */
        }
        rc = tsr_key_export_jwk(set->keys[i], false, &parts[i], err);
        if (rc == TSR_OK) {
            total += strlen(parts[i]) + 1;
        }
    }
    if (rc == TSR_OK) {
        *out = join_parts(parts, set->count, total);
        rc = *out != NULL ? TSR_OK : tsr__fail(err, TSR_ERR_NOMEM, "exporting JWK Set");
    }
    if (rc == TSR_OK) {
        tsr__ok(err);
    }
    for (size_t i = 0; i < set->count; i++) {
        tsr__free(parts[i]);
    }
    return rc;
}
