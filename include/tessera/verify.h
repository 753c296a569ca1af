/*
 * tessera/verify.h: verifying compact JWS/JWT.
 *
 * Three objects:
 *  - tsr_policy: a mutable description of what is acceptable. Build it, hand
 *    it to tsr_verifier_new (which copies it), then free it.
 *  - tsr_verifier: built once from a policy and a key set, immutable
 *    afterwards, and safe to share between threads without locking.
 *  - tsr_jwt: the caller's per-thread workspace and result. It holds the
 *    decoded header and claims of the last token verified with it, and the
 *    crypto contexts reused across calls. One tsr_jwt per thread; reuse it.
 *
 * What a verifier enforces (see README "Policy details" for the exact rules):
 *  compact serialization with exactly three segments; strict base64url and
 *  strict JSON; alg in the mandatory allowlist ("none" never); header
 *  jwk/jku/x5u/x5c never used to find keys; kid selects exactly one usable
 *  key; crit, b64 and nested-JWT refusals; raw r||s ECDSA signatures; exp
 *  required; nbf, iat, max age, iss, aud, sub, typ and required claims.
 */
#ifndef TESSERA_VERIFY_H
#define TESSERA_VERIFY_H

#include "tessera/alg.h"
#include "tessera/common.h"
#include "tessera/key.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tsr_policy tsr_policy;
typedef struct tsr_verifier tsr_verifier;
typedef struct tsr_jwt tsr_jwt;

/* Default and maximum cap on the compact token length, in characters. */
#define TSR_DEFAULT_MAX_TOKEN_SIZE (16u * 1024u)
#define TSR_MAX_TOKEN_SIZE_LIMIT (1024u * 1024u)
/* Most audiences and required claims one policy holds. */
#define TSR_POLICY_MAX_AUDIENCES 16u
#define TSR_POLICY_MAX_REQUIRED 16u

/* A new policy: empty allowlist (a verifier refuses to build until one
 * algorithm is allowed), exp required, leeway 0, no max age, max token size
 * TSR_DEFAULT_MAX_TOKEN_SIZE. Allocates. */
TSR_API tsr_err tsr_policy_new(tsr_policy **out, tsr_error *err) TSR_NODISCARD;
TSR_API void tsr_policy_free(tsr_policy *p);

/* Adds `alg` to the allowlist. TSR_ERR_INVALID_ARGUMENT for
 * TSR_ALG_UNSPECIFIED or out-of-range values. */
TSR_API tsr_err tsr_policy_allow_alg(tsr_policy *p, tsr_alg alg, tsr_error *err) TSR_NODISCARD;

/* Parses a comma-separated list of names ("RS256,ES256") into the
 * allowlist. Any unknown name or any spelling of "none" fails the whole call
 * (TSR_ERR_UNSUPPORTED / TSR_ERR_ALG_NOT_ALLOWED) and leaves `p` unchanged. */
TSR_API tsr_err tsr_policy_allow_algs(tsr_policy *p, const char *list, tsr_error *err) TSR_NODISCARD;

/* Required exact issuer (copied). NULL clears. */
TSR_API tsr_err tsr_policy_set_issuer(tsr_policy *p, const char *iss, tsr_error *err) TSR_NODISCARD;

/* Adds an accepted audience (copied). A token matches when any of its
 * audiences equals any accepted one. A token carrying "aud" is rejected when
 * no audience is configured (RFC 7519 4.1.3). */
TSR_API tsr_err tsr_policy_add_audience(tsr_policy *p, const char *aud, tsr_error *err) TSR_NODISCARD;

/* Required header typ (copied), compared case-insensitively with the
 * "application/" prefix optional on either side. NULL clears. */
TSR_API tsr_err tsr_policy_set_typ(tsr_policy *p, const char *typ, tsr_error *err) TSR_NODISCARD;

/* Required exact subject (copied). NULL clears. */
TSR_API tsr_err tsr_policy_set_subject(tsr_policy *p, const char *sub, tsr_error *err) TSR_NODISCARD;

/* Clock skew tolerance in seconds (0..86400). */
TSR_API tsr_err tsr_policy_set_leeway(tsr_policy *p, int64_t seconds, tsr_error *err) TSR_NODISCARD;

/* Maximum age since iat in seconds (> 0); makes iat required. 0 clears. */
TSR_API tsr_err tsr_policy_set_max_age(tsr_policy *p, int64_t seconds, tsr_error *err) TSR_NODISCARD;

/* Requires claim `name` (copied) to be present in the payload. */
TSR_API tsr_err tsr_policy_require_claim(tsr_policy *p, const char *name, tsr_error *err) TSR_NODISCARD;

/* Cap on the compact token length in characters (1..TSR_MAX_TOKEN_SIZE_LIMIT). */
TSR_API tsr_err tsr_policy_set_max_token_size(tsr_policy *p, size_t max, tsr_error *err) TSR_NODISCARD;

/*
 * Builds a verifier from `policy` (copied; the caller may free it at once)
 * and `keys` (each key gets a new reference; the caller may free the set).
 * Keys that cannot verify under any allowed algorithm are dropped.
 * Errors: TSR_ERR_INVALID_ARGUMENT (empty allowlist), TSR_ERR_KEY_NOT_FOUND
 * (no key usable for any allowed alg), TSR_ERR_NOMEM. Allocates; fetches the
 * crypto algorithm objects once here.
 */
TSR_API tsr_err tsr_verifier_new(const tsr_policy *policy, const tsr_keyset *keys,
                                 tsr_verifier **out, tsr_error *err) TSR_NODISCARD;

/* Frees the verifier. No verification may be running on it. Accepts NULL. */
TSR_API void tsr_verifier_free(tsr_verifier *v);

/* A new per-thread workspace/result. Allocates. */
TSR_API tsr_err tsr_jwt_new(tsr_jwt **out, tsr_error *err) TSR_NODISCARD;
TSR_API void tsr_jwt_free(tsr_jwt *jwt);

/*
 * Verifies `token[0..len)` at time `now` (Unix seconds). One trailing "\n"
 * (or "\r\n") is ignored. `jwt` is the caller's workspace and receives the
 * result; it may be NULL (a temporary one is made, which is slower).
 * Returns TSR_OK only when everything checks out; any other value is a
 * rejection whose code names the first rule broken. `err` gets a one-line
 * detail that never repeats token content.
 *
 * Thread-safe on a shared verifier as long as each thread uses its own
 * `jwt`. Does not allocate in the steady state (buffers in `jwt` grow to the
 * largest token seen, bounded by the policy's max token size).
 */
TSR_API tsr_err tsr_verifier_verify(const tsr_verifier *v, const char *token, size_t len,
                                    int64_t now, tsr_jwt *jwt, tsr_error *err) TSR_NODISCARD;

/* ---- results of the last successful verify on a tsr_jwt ----
 * Slices point into `jwt` and stay valid until the next verify with it or
 * tsr_jwt_free. Calling these after a failed verify gives empty results. */

/* The algorithm the token was verified with. */
TSR_API tsr_alg tsr_jwt_get_alg(const tsr_jwt *jwt);

/* Decoded header / claims JSON text (not NUL-terminated). */
TSR_API tsr_str tsr_jwt_get0_header(const tsr_jwt *jwt);
TSR_API tsr_str tsr_jwt_get0_payload(const tsr_jwt *jwt);

/* The kid of the key that verified the token (owned by the verifier), or NULL. */
TSR_API const char *tsr_jwt_get0_kid(const tsr_jwt *jwt);

/*
 * Copies the unescaped string claim `name` into `buf` (capacity `cap`,
 * NUL-terminated). `*len` (may be NULL) gets its length without NUL.
 * TSR_ERR_NOT_FOUND if absent, TSR_ERR_MALFORMED if not a string,
 * TSR_ERR_TOO_LARGE if it does not fit. Strings may contain NUL bytes: rely
 * on `*len`. Never allocates.
 */
TSR_API tsr_err tsr_jwt_get_string(const tsr_jwt *jwt, const char *name, char *buf, size_t cap,
                                   size_t *len) TSR_NODISCARD;

/* Integer claim `name` (a JSON number with no fraction, within int64).
 * TSR_ERR_NOT_FOUND, TSR_ERR_MALFORMED. Never allocates. */
TSR_API tsr_err tsr_jwt_get_int(const tsr_jwt *jwt, const char *name, int64_t *out) TSR_NODISCARD;

/* The raw JSON text of claim `name` (borrowed slice into `jwt`).
 * TSR_ERR_NOT_FOUND if absent. Never allocates. */
TSR_API tsr_err tsr_jwt_get0_claim(const tsr_jwt *jwt, const char *name, tsr_str *out) TSR_NODISCARD;

#ifdef __cplusplus
}
#endif
#endif /* TESSERA_VERIFY_H */
