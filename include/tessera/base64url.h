/*
 * tessera/base64url.h: strict base64url (RFC 4648 section 5) as JOSE uses it.
 *
 * Strict means: alphabet A-Z a-z 0-9 - _ only; no padding; no whitespace; a
 * length of 1 mod 4 is impossible and rejected; the unused low bits of the
 * last character must be zero (canonical encoding), so every byte string has
 * exactly one accepted spelling.
 *
 * All functions are pure, thread-safe and never allocate.
 */
#ifndef TESSERA_BASE64URL_H
#define TESSERA_BASE64URL_H

#include "tessera/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Characters needed to encode `n` bytes (no padding, no NUL). */
TSR_API size_t tsr_b64url_encoded_len(size_t n);

/* Upper bound of bytes that decoding `n` characters can produce. */
TSR_API size_t tsr_b64url_decoded_max(size_t n);

/*
 * Encodes `in[0..n)` into `out`, which must have room for
 * tsr_b64url_encoded_len(n) + 1 bytes; writes a terminating NUL.
 * Returns TSR_ERR_TOO_LARGE if `cap` is too small (out untouched then),
 * TSR_ERR_INVALID_ARGUMENT on NULL pointers with non-zero sizes.
 * `out_len` (may be NULL) receives the number of characters written.
 */
TSR_API tsr_err tsr_b64url_encode(const unsigned char *in, size_t n, char *out, size_t cap,
                                  size_t *out_len);

/*
 * Decodes `in[0..len)` into `out` (capacity `cap`). Returns TSR_OK,
 * TSR_ERR_MALFORMED for any non-canonical or invalid input, or
 * TSR_ERR_TOO_LARGE if `cap` < the decoded size. `*out_len` is 0 on failure.
 */
TSR_API tsr_err tsr_b64url_decode(const char *in, size_t len, unsigned char *out, size_t cap,
                                  size_t *out_len) TSR_NODISCARD;

#ifdef __cplusplus
}
#endif
#endif /* TESSERA_BASE64URL_H */
