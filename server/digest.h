/*
 * digest.h: SHA-256 and HMAC-SHA256 for the service's hot paths
 * (server/digest.c): the verify cache key and the refresh-token protocol.
 *
 * OpenSSL 3's one-shot helpers (SHA256(), HMAC(), EVP_Digest with
 * EVP_sha256()) look the algorithm up in the provider store on every call,
 * which takes locks and walks hash tables; these fetch it once and keep one
 * context per thread. Thread-safe; no allocation in the steady state.
 */
#ifndef TESSERAD_DIGEST_H
#define TESSERAD_DIGEST_H

#include <stddef.h>

#define DIGEST_LEN 32

void digest_sha256(const void *data, size_t len, unsigned char out[DIGEST_LEN]);
/* HMAC-SHA256 under `key` (keylen bytes). */
void digest_hmac_sha256(const unsigned char *key, size_t keylen, const void *data, size_t len,
                        unsigned char out[DIGEST_LEN]);

#endif /* TESSERAD_DIGEST_H */
