/*
 * mint.h: builds compact JWS tokens for tests, from header and payload JSON
 * text written by the test, signed with tsr__crypto_sign. It does not go
 * through lib/signer.c on purpose: tests need tokens that a correct signer
 * would never produce (odd headers, broken claims). Test-only code.
 */
#ifndef TSR_TEST_MINT_H
#define TSR_TEST_MINT_H

#include <stddef.h>

#include "tessera.h"

/* base64url of data[0..len); malloc'd NUL-terminated string (free()). */
char *tst_b64(const void *data, size_t len);

/* b64(header) "." b64(payload) "." b64(signature over the first two parts
 * with `key` under `alg`). malloc'd; aborts the test program on failure. */
char *tst_mint(const tsr_key *key, tsr_alg alg, const char *header_json, const char *payload_json);

/* Like tst_mint with segments given already encoded (any bytes, not
 * checked): signs "h.p" as is. */
char *tst_mint_raw(const tsr_key *key, tsr_alg alg, const char *h_b64, const char *p_b64);

/* The three strings joined with dots; malloc'd. */
char *tst_join3(const char *a, const char *b, const char *c);

#endif
