/*
 * bench.h: what the benchmark programs share. None of this is part of
 * libtessera: the baselines (floor, libjwt) must not depend on the library
 * they are compared with, so they get their own small base64url decoder, JWK
 * loader and line reader here.
 *
 *   bench_util.c   monotonic clock, reading a token file, median
 *   bench_b64.c    table-driven base64url decoder (the floor's decoder)
 *   bench_jwk.c    JWK file -> HMAC secret or OpenSSL EVP_PKEY (via jansson)
 *   floor_core.c   the minimal OpenSSL-only verifier (one per thread)
 */
#ifndef TESSERA_BENCH_H
#define TESSERA_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

/* ------------------------------------------------------------- bench_util.c */

/* Seconds on the monotonic clock. */
double bench_now(void);

/* A token file read into memory: `count` lines, each NUL-terminated, with
 * the trailing "\n" (and "\r") stripped. One allocation holds all the text. */
typedef struct bench_lines {
    char *text;
    char **line;
    size_t *len;
    size_t count;
} bench_lines;

/* Reads every line of `path` ("-" is stdin). 0 on success; on failure prints
 * a message to stderr and returns -1. */
int bench_lines_read(const char *path, bench_lines *out);
void bench_lines_free(bench_lines *l);

/* Median of v[0..n) (sorts v). 0 for n == 0. */
double bench_median(double *v, size_t n);

/* Reads a whole file into a NUL-terminated heap buffer; NULL on failure
 * (message printed). */
char *bench_read_file(const char *path, size_t *len);

/* ------------------------------------------------------------- bench_b64.c */

/* Decodes base64url `in[0..len)` into `out` (capacity `cap`). Rejects
 * characters outside the alphabet, padding, a length of 1 mod 4 and
 * non-zero trailing bits. Returns the decoded length, or -1. */
long bench_b64url_decode(const char *in, size_t len, unsigned char *out, size_t cap);

/* Bytes needed to decode `len` characters. */
static inline size_t bench_b64url_decoded_max(size_t len)
{
    return len / 4 * 3 + 2;
}

/* ------------------------------------------------------------- bench_jwk.c */

/* The algorithms the benchmark knows, with what the floor needs. */
typedef enum bench_family {
    BENCH_HMAC = 1,
    BENCH_RSA_PKCS1,
    BENCH_RSA_PSS,
    BENCH_ECDSA,
    BENCH_EDDSA,
} bench_family;

typedef struct bench_alg {
    const char *name;   /* "ES256" */
    bench_family family;
    const char *md;     /* "SHA256"; NULL for EdDSA */
    size_t field_len;   /* ECDSA: bytes of r and of s */
} bench_alg;

/* The algorithm called `name`, or NULL. */
const bench_alg *bench_alg_get(const char *name);

/* A verification key from a JWK file: either an HMAC secret (kty oct) or a
 * public EVP_PKEY (RSA n/e, EC crv/x/y, OKP Ed25519 x). */
typedef struct bench_key {
    unsigned char *secret;
    size_t secret_len;
    EVP_PKEY *pkey;
} bench_key;

/* Loads the JWK file at `path`. 0 on success; prints and returns -1. */
int bench_key_load(const char *path, bench_key *out);
void bench_key_clear(bench_key *k);

/* The public key as a PEM "PUBLIC KEY" (SPKI) string, NUL-terminated, for
 * libraries that take PEM. NULL for HMAC keys or on failure. free() it. */
char *bench_key_public_pem(const bench_key *k, size_t *len);

/* ------------------------------------------------------------- floor_core.c */

/* How the floor computes HMAC and public-key verifications (see
 * floor_core.c for why each exists); FLOOR_MODE_DEFAULT is the fastest
 * measured on the target machine. */
typedef enum floor_mode {
    FLOOR_MODE_DEFAULT = 0,
    FLOOR_MODE_DUP,          /* HMAC: keyed template, EVP_MAC_CTX_dup per token */
    FLOOR_MODE_REINIT,       /* HMAC: one EVP_MAC_CTX re-initialised per token */
    FLOOR_MODE_DIGESTVERIFY, /* PK: reused EVP_MD_CTX, EVP_DigestVerifyInit_ex per token */
    FLOOR_MODE_PKEYVERIFY,   /* PK: prefetched digest + reused EVP_PKEY_CTX verify */
    FLOOR_MODE_MANUAL,       /* HMAC: RFC 2104 by hand on a reused EVP_MD_CTX */
} floor_mode;

typedef struct floor_verifier floor_verifier;

/* A floor verifier for `alg` and `key` (borrowed: must outlive it). One per
 * thread. `parse_claims` adds a jansson parse of the claims (the "floor +
 * jansson" variant). Returns NULL on failure (message printed). */
floor_verifier *floor_new(const bench_alg *alg, const bench_key *key, floor_mode mode,
                          bool parse_claims);
void floor_free(floor_verifier *f);

/* Verifies one compact token: split, base64url-decode all three segments,
 * one signature check, no JSON (unless parse_claims). true when valid. */
bool floor_verify(floor_verifier *f, const char *tok, size_t len);

/* Parses a mode name ("dup", "reinit", "digestverify", "pkeyverify",
 * "manual").
 * -1 if unknown. */
int floor_mode_parse(const char *s, floor_mode *out);

#endif /* TESSERA_BENCH_H */
