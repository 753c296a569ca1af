/*
 * tessera/sign.h: signing compact JWS/JWT.
 *
 * A tsr_signer binds a private key to one algorithm, a kid and a typ; it is
 * immutable and safe to share between threads. A tsr_claims is a mutable,
 * single-thread builder for a claim set; tsr_signer_sign_claims fills iat,
 * nbf, exp and jti by default so that a forgotten exp cannot happen.
 */
#ifndef TESSERA_SIGN_H
#define TESSERA_SIGN_H

#include "tessera/alg.h"
#include "tessera/common.h"
#include "tessera/key.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tsr_signer tsr_signer;
typedef struct tsr_claims tsr_claims;

/* Default lifetime of a token built from tsr_claims: 15 minutes. */
#define TSR_DEFAULT_TTL 900

/*
 * A signer for `key` (takes a new reference). `alg` TSR_ALG_UNSPECIFIED
 * means tsr_key_default_alg(key). `kid` NULL means the key's kid (none if
 * it has none; "" also means none). `typ` NULL means "JWT"; "" means no typ.
 * Errors: TSR_ERR_KEY_MISMATCH (key not usable to sign with alg, or public
 * only), TSR_ERR_INVALID_ARGUMENT, TSR_ERR_NOMEM. Allocates.
 */
TSR_API tsr_err tsr_signer_new(tsr_key *key, tsr_alg alg, const char *kid, const char *typ,
                               tsr_signer **out, tsr_error *err) TSR_NODISCARD;
TSR_API void tsr_signer_free(tsr_signer *s);

TSR_API tsr_alg tsr_signer_get_alg(const tsr_signer *s);

/*
 * Signs `payload[0..len)` as is (it must be a strict JSON object). `*out` is
 * the NUL-terminated compact token (free with tsr_free), `*out_len` (may be
 * NULL) its length. Thread-safe. Allocates.
 */
TSR_API tsr_err tsr_signer_sign(const tsr_signer *s, const char *payload, size_t len,
                                char **out, size_t *out_len, tsr_error *err) TSR_NODISCARD;

/* A new empty claim set. Allocates. */
TSR_API tsr_err tsr_claims_new(tsr_claims **out, tsr_error *err) TSR_NODISCARD;
TSR_API void tsr_claims_free(tsr_claims *c);

/* Sets string claim `name` (both copied; replaces an earlier value). */
TSR_API tsr_err tsr_claims_set_string(tsr_claims *c, const char *name, const char *value,
                                      tsr_error *err) TSR_NODISCARD;

/* Sets integer claim `name`. */
TSR_API tsr_err tsr_claims_set_int(tsr_claims *c, const char *name, int64_t value,
                                   tsr_error *err) TSR_NODISCARD;

/* Adds an audience; one gives "aud":"x", several "aud":["x","y"]. */
TSR_API tsr_err tsr_claims_add_audience(tsr_claims *c, const char *aud, tsr_error *err) TSR_NODISCARD;

/* Merges every member of the JSON object `json[0..len)` (strict JSON) into
 * the set, replacing earlier values of the same names. */
TSR_API tsr_err tsr_claims_merge_json(tsr_claims *c, const char *json, size_t len,
                                      tsr_error *err) TSR_NODISCARD;

/* Lifetime in seconds (> 0) used for exp when exp is not set explicitly. */
TSR_API tsr_err tsr_claims_set_ttl(tsr_claims *c, int64_t seconds, tsr_error *err) TSR_NODISCARD;

/* Default claims that tsr_signer_sign_claims adds unless already set. */
#define TSR_CLAIMS_DEFAULT_IAT 0x1u
#define TSR_CLAIMS_DEFAULT_NBF 0x2u
#define TSR_CLAIMS_DEFAULT_EXP 0x4u
#define TSR_CLAIMS_DEFAULT_JTI 0x8u
#define TSR_CLAIMS_DEFAULT_ALL 0xFu

/* Chooses which defaults are filled (all by default). Turning off EXP is
 * allowed for special uses but every tessera verifier requires exp. */
TSR_API void tsr_claims_set_defaults(tsr_claims *c, unsigned mask);

/*
 * Signs the claim set at time `now`: adds iat=now, nbf=now, exp=now+ttl and
 * a 128-bit random base64url jti where enabled and not set. Does not change
 * `c`. Output as tsr_signer_sign. Thread-safe for distinct `c`.
 */
TSR_API tsr_err tsr_signer_sign_claims(const tsr_signer *s, const tsr_claims *c, int64_t now,
                                       char **out, size_t *out_len, tsr_error *err) TSR_NODISCARD;

#ifdef __cplusplus
}
#endif
#endif /* TESSERA_SIGN_H */
