/*
 * tessera/key.h: keys and key sets.
 *
 * A tsr_key is bound to one algorithm family when it is loaded, and to one
 * algorithm when its JWK carries "alg" (or when the caller binds it):
 *   oct     -> HS256/384/512, secret at least as long as the hash output
 *   RSA     -> RS* and PS*, modulus at least 2048 bits
 *   EC      -> P-256 only ES256, P-384 only ES384, P-521 only ES512
 *   OKP     -> Ed25519 only EdDSA
 * A JWK whose "use" is not "sig", or whose "key_ops" lacks "verify"/"sign",
 * is not usable for that operation. Weak keys do not load (TSR_ERR_KEY_WEAK).
 *
 * Lifetime: keys are reference-counted. tsr_key_free() drops one reference.
 * A key must not be modified (tsr_key_set1_kid, tsr_key_bind_alg) once it is
 * shared with another object or thread; every other function on a key is
 * read-only and thread-safe.
 */
#ifndef TESSERA_KEY_H
#define TESSERA_KEY_H

#include "tessera/alg.h"
#include "tessera/common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tsr_key tsr_key;
typedef struct tsr_keyset tsr_keyset;

typedef enum tsr_kty {
    TSR_KTY_OCT = 1,
    TSR_KTY_RSA,
    TSR_KTY_EC,
    TSR_KTY_OKP,
} tsr_kty;

/* What a key is asked to do. */
typedef enum tsr_key_op {
    TSR_OP_SIGN = 1,
    TSR_OP_VERIFY = 2,
} tsr_key_op;

/* Length of a JWK thumbprint string (base64url SHA-256), without NUL. */
#define TSR_THUMBPRINT_LEN 43

/* Caps applied by every loader. */
#define TSR_KEY_JSON_MAX (64u * 1024u) /* bytes of one JWK or PEM */
#define TSR_KEYSET_JSON_MAX (1024u * 1024u) /* bytes of one JWK Set */
#define TSR_KEYSET_MAX_KEYS 256u
#define TSR_KID_MAX 256u /* bytes of a kid */

/*
 * Loads one JWK from `json[0..len)` (strict JSON, at most TSR_KEY_JSON_MAX).
 * Public or private; private members are kept. On success `*out` is a new
 * key (free with tsr_key_free). Errors: TSR_ERR_MALFORMED (bad JSON or
 * members), TSR_ERR_UNSUPPORTED (unknown kty/crv), TSR_ERR_KEY_INVALID
 * (inconsistent material, point not on curve), TSR_ERR_KEY_WEAK,
 * TSR_ERR_TOO_LARGE, TSR_ERR_NOMEM. Allocates. Thread-safe.
 */
TSR_API tsr_err tsr_key_load_jwk(const char *json, size_t len, tsr_key **out,
                                 tsr_error *err) TSR_NODISCARD;

/*
 * Loads a PEM key: SPKI "PUBLIC KEY" or PKCS#8 "PRIVATE KEY" (RSA, EC
 * P-256/384/521, Ed25519). The key has no kid and no bound algorithm.
 * Same errors as tsr_key_load_jwk. Allocates. Thread-safe.
 */
TSR_API tsr_err tsr_key_load_pem(const char *pem, size_t len, tsr_key **out,
                                 tsr_error *err) TSR_NODISCARD;

/*
 * Makes an HMAC key for `alg` (HS256/384/512) from the secret
 * `secret[0..len)` (copied). The key is bound to `alg`.
 * TSR_ERR_KEY_WEAK if `len` is shorter than the hash output,
 * TSR_ERR_KEY_MISMATCH if `alg` is not an HS algorithm.
 */
TSR_API tsr_err tsr_key_from_secret(const unsigned char *secret, size_t len, tsr_alg alg,
                                    tsr_key **out, tsr_error *err) TSR_NODISCARD;

/*
 * Generates a new private key for `alg`, bound to `alg`: 256/384/512-bit
 * secrets for HS*, RSA-3072 for RS* and PS* (use tsr_key_generate_rsa for
 * another size), the matching curve for ES*, Ed25519 for EdDSA.
 * The key has no kid. Allocates. Thread-safe.
 */
TSR_API tsr_err tsr_key_generate(tsr_alg alg, tsr_key **out, tsr_error *err) TSR_NODISCARD;

/* Like tsr_key_generate for RS* and PS* with a modulus of `bits` (2048..8192,
 * multiple of 8). */
TSR_API tsr_err tsr_key_generate_rsa(tsr_alg alg, unsigned bits, tsr_key **out,
                                     tsr_error *err) TSR_NODISCARD;

/* Takes another reference to `key`; returns `key`. Thread-safe. */
TSR_API tsr_key *tsr_key_up_ref(tsr_key *key);

/* Drops one reference; frees (wiping secrets) at zero. Accepts NULL. */
TSR_API void tsr_key_free(tsr_key *key);

TSR_API tsr_kty tsr_key_get_kty(const tsr_key *key);

/* The algorithm the key is bound to, or TSR_ALG_UNSPECIFIED when it is bound
 * only to its family. */
TSR_API tsr_alg tsr_key_get_alg(const tsr_key *key);

/* True when the key holds private material (or is an HMAC secret). */
TSR_API bool tsr_key_is_private(const tsr_key *key);

/* The key's kid (NUL-terminated, owned by the key), or NULL. */
TSR_API const char *tsr_key_get0_kid(const tsr_key *key);

/* Sets (copies) the kid; NULL removes it. At most TSR_KID_MAX bytes.
 * Only before the key is shared. */
TSR_API tsr_err tsr_key_set1_kid(tsr_key *key, const char *kid, tsr_error *err) TSR_NODISCARD;

/* Binds an unbound key to `alg`. TSR_ERR_KEY_MISMATCH if the key cannot be
 * used with `alg` or is bound to another algorithm. Only before sharing. */
TSR_API tsr_err tsr_key_bind_alg(tsr_key *key, tsr_alg alg, tsr_error *err) TSR_NODISCARD;

/*
 * Whether `key` may perform `op` with `alg`: family, curve, size, bound alg,
 * "use" and "key_ops" all agree, and (for TSR_OP_SIGN) the key is private.
 * Thread-safe, never allocates.
 */
TSR_API bool tsr_key_usable(const tsr_key *key, tsr_alg alg, tsr_key_op op);

/*
 * The default algorithm for signing with `key`: its bound alg, else HS256/
 * HS384/HS512 by secret length for oct, RS256 for RSA, ES256/384/512 by
 * curve, EdDSA for Ed25519.
 */
TSR_API tsr_alg tsr_key_default_alg(const tsr_key *key);

/*
 * Exports the key as a JWK (compact JSON, members in a fixed order: kty, crv,
 * key material, then alg, kid, use, key_ops when present). With
 * `include_private` false only the public part is written (an oct key then
 * fails with TSR_ERR_KEY_MISMATCH: a secret has no public part).
 * `*out` is NUL-terminated; free private JWKs with tsr_free_secret(p,
 * strlen(p)) and public ones with tsr_free. Allocates.
 */
TSR_API tsr_err tsr_key_export_jwk(const tsr_key *key, bool include_private, char **out,
                                   tsr_error *err) TSR_NODISCARD;

/*
 * RFC 7638 thumbprint (SHA-256, base64url) into `out`, which must hold
 * TSR_THUMBPRINT_LEN + 1 bytes (NUL-terminated). Thread-safe.
 */
TSR_API tsr_err tsr_key_thumbprint(const tsr_key *key, char out[TSR_THUMBPRINT_LEN + 1],
                                   tsr_error *err) TSR_NODISCARD;

/* ---- key sets ---- */

/* A new empty set. Allocates. */
TSR_API tsr_err tsr_keyset_new(tsr_keyset **out, tsr_error *err) TSR_NODISCARD;

/* Adds a reference to `key` (the caller keeps its own). At most
 * TSR_KEYSET_MAX_KEYS keys (TSR_ERR_TOO_LARGE). Not thread-safe. */
TSR_API tsr_err tsr_keyset_add1_key(tsr_keyset *set, tsr_key *key, tsr_error *err) TSR_NODISCARD;

/*
 * Loads a JWK Set ({"keys":[...]}). Members that are weak, meant for another
 * use, of an unknown kty/crv or otherwise unusable for signatures are skipped;
 * the set loads if at least one member is usable (else TSR_ERR_KEY_NOT_FOUND).
 * Malformed JSON or a malformed member structure rejects the whole set.
 */
TSR_API tsr_err tsr_keyset_load_jwks(const char *json, size_t len, tsr_keyset **out,
                                     tsr_error *err) TSR_NODISCARD;

/*
 * Loads whatever a key file holds: a JWK Set, a single JWK or a PEM key,
 * recognised by content. A single key that fails to load is an error (no
 * skipping); a set follows tsr_keyset_load_jwks.
 */
TSR_API tsr_err tsr_keyset_load(const char *data, size_t len, tsr_keyset **out,
                                tsr_error *err) TSR_NODISCARD;

TSR_API void tsr_keyset_free(tsr_keyset *set);

TSR_API size_t tsr_keyset_count(const tsr_keyset *set);

/* The i-th key (borrowed, valid while the set lives), or NULL. */
TSR_API const tsr_key *tsr_keyset_get0_key(const tsr_keyset *set, size_t i);

/* The public JWK Set of every key that has a public part (oct keys are left
 * out), as compact JSON; free with tsr_free. Allocates. */
TSR_API tsr_err tsr_keyset_export_jwks(const tsr_keyset *set, char **out,
                                       tsr_error *err) TSR_NODISCARD;

#ifdef __cplusplus
}
#endif
#endif /* TESSERA_KEY_H */
