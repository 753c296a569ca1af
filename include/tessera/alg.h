/*
 * tessera/alg.h: the JWS algorithms tessera implements.
 *
 * Names are case-sensitive (RFC 7515 4.1.1). "none" in any spelling is never
 * an algorithm here. The fully specified name "Ed25519" is accepted as an
 * alias of "EdDSA" (tessera's EdDSA is Ed25519 only); tokens are signed with
 * "EdDSA" for interoperability.
 */
#ifndef TESSERA_ALG_H
#define TESSERA_ALG_H

#include "tessera/common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum tsr_alg {
    TSR_ALG_UNSPECIFIED = 0, /* "no algorithm": never valid for an operation */
    TSR_ALG_HS256,
    TSR_ALG_HS384,
    TSR_ALG_HS512,
    TSR_ALG_RS256,
    TSR_ALG_RS384,
    TSR_ALG_RS512,
    TSR_ALG_PS256,
    TSR_ALG_PS384,
    TSR_ALG_PS512,
    TSR_ALG_ES256,
    TSR_ALG_ES384,
    TSR_ALG_ES512,
    TSR_ALG_EDDSA,
} tsr_alg;

#define TSR_ALG__COUNT 14

/* Bit for `alg` in an allowlist mask. */
#define TSR_ALG_BIT(alg) (1u << (unsigned)(alg))

/*
 * Parses an algorithm name of `len` bytes (exact, case-sensitive). Returns
 * TSR_OK, or TSR_ERR_ALG_NOT_ALLOWED for "none" in any letter case, or
 * TSR_ERR_UNSUPPORTED for any other unknown name. `*out` is
 * TSR_ALG_UNSPECIFIED on failure. Thread-safe, never allocates.
 */
TSR_API tsr_err tsr_alg_from_name(const char *name, size_t len, tsr_alg *out) TSR_NODISCARD;

/* The JOSE name of `alg` ("ES256"); NULL for TSR_ALG_UNSPECIFIED or an
 * out-of-range value. Static storage. */
TSR_API const char *tsr_alg_name(tsr_alg alg);

#ifdef __cplusplus
}
#endif
#endif /* TESSERA_ALG_H */
