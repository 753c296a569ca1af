/*
 * tessera/common.h: what every part of libtessera shares: the export macro,
 * borrowed string slices, the error enum and the error report.
 *
 * Conventions used by every public header:
 *  - Fallible functions return tsr_err and take an optional caller-owned
 *    `tsr_error *err` (may be NULL). Nothing is allocated on the error path.
 *  - Outputs are set to NULL/0 on failure.
 *  - Ownership is written into names: `get0` borrows, `get1`/`new`/`load`
 *    return something the caller must free, `add1`/`set1` copy or take a new
 *    reference, `set0` takes ownership.
 *  - Every `_free` accepts NULL.
 *  - Strings the library returns as `char *` are freed with tsr_free().
 */
#ifndef TESSERA_COMMON_H
#define TESSERA_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(TSR_BUILDING_LIBRARY) && defined(__GNUC__)
#define TSR_API __attribute__((visibility("default")))
#else
#define TSR_API
#endif

#if defined(__GNUC__)
#define TSR_NODISCARD __attribute__((warn_unused_result))
#else
#define TSR_NODISCARD
#endif

/* A borrowed, not necessarily NUL-terminated, byte slice. The owner of the
 * bytes is stated by whichever function hands the slice out. */
typedef struct tsr_str {
    const char *ptr;
    size_t len;
} tsr_str;

/*
 * Error codes. Append-only: new codes go at the end, existing values never
 * change. tsr_err_name() gives the stable string code used by the CLI and the
 * service ("alg_not_allowed"); tsr_strerror() a one-line human message.
 * docs/errors.md lists every code (a test keeps it complete).
 */
typedef enum tsr_err {
    TSR_OK = 0,
    TSR_ERR_MALFORMED = 1,         /* "malformed": not a well-formed token, JSON, key or claim */
    TSR_ERR_TOO_LARGE = 2,         /* "too_large": a size, depth or count cap was exceeded */
    TSR_ERR_ALG_NOT_ALLOWED = 3,   /* "alg_not_allowed": header alg not in the allowlist (or none) */
    TSR_ERR_KEY_NOT_FOUND = 4,     /* "key_not_found": no single usable key for this token */
    TSR_ERR_KEY_MISMATCH = 5,      /* "key_mismatch": key cannot be used with this alg/operation */
    TSR_ERR_BAD_SIGNATURE = 6,     /* "bad_signature": the signature does not verify */
    TSR_ERR_EXPIRED = 7,           /* "expired": now >= exp + leeway */
    TSR_ERR_NOT_YET_VALID = 8,     /* "not_yet_valid": now < nbf - leeway */
    TSR_ERR_ISSUED_IN_FUTURE = 9,  /* "issued_in_future": iat > now + leeway */
    TSR_ERR_TOO_OLD = 10,          /* "too_old": now - iat > max_age + leeway */
    TSR_ERR_MISSING_CLAIM = 11,    /* "missing_claim": exp or a required claim is absent */
    TSR_ERR_ISS_MISMATCH = 12,     /* "iss_mismatch" */
    TSR_ERR_AUD_MISMATCH = 13,     /* "aud_mismatch" */
    TSR_ERR_SUB_MISMATCH = 14,     /* "sub_mismatch" */
    TSR_ERR_TYP_MISMATCH = 15,     /* "typ_mismatch" */
    TSR_ERR_CRIT_UNSUPPORTED = 16, /* "crit_unsupported": crit names something not understood */
    TSR_ERR_UNSUPPORTED = 17,      /* "unsupported": valid JOSE that tessera refuses (b64:false, nested JWT, JWE) */
    TSR_ERR_INVALID_ARGUMENT = 18, /* "invalid_argument": API misuse (NULL, bad enum, frozen object) */
    TSR_ERR_NOMEM = 19,            /* "nomem": an allocation failed */
    TSR_ERR_KEY_INVALID = 20,      /* "key_invalid": key material is malformed or inconsistent */
    TSR_ERR_KEY_WEAK = 21,         /* "key_weak": key is below the minimum size for its algorithm */
    TSR_ERR_CRYPTO = 22,           /* "crypto": the crypto backend failed unexpectedly */
    TSR_ERR_IO = 23,               /* "io": reading a file failed */
    TSR_ERR_NOT_FOUND = 24,        /* "not_found": a looked-up claim or member is absent */
} tsr_err;

/* Number of error codes, for tables indexed by tsr_err. */
#define TSR_ERR__COUNT 25

/* Size of tsr_error.detail, including the terminating NUL. */
#define TSR_ERROR_DETAIL_MAX 96

/*
 * A caller-owned error report. `message` points to a static string (never
 * freed). `detail` is a short NUL-terminated hint (e.g. "claim 'iss' is not
 * a string"); it never contains key bytes or token content.
 */
typedef struct tsr_error {
    tsr_err code;
    const char *message;
    char detail[TSR_ERROR_DETAIL_MAX];
} tsr_error;

/* Stable machine-readable code for `e` ("bad_signature"); static storage.
 * Unknown values give "unknown". Thread-safe, never allocates. */
TSR_API const char *tsr_err_name(tsr_err e);

/* One-line human message for `e`; static storage. Thread-safe. */
TSR_API const char *tsr_strerror(tsr_err e);

/* Frees memory the library returned as `char *` or `unsigned char *`
 * (exported JSON, tokens). Accepts NULL. Wipes nothing: use tsr_free_secret()
 * for buffers that held private key material. */
TSR_API void tsr_free(void *p);

/* Like tsr_free() but first wipes `len` bytes. Accepts NULL. */
TSR_API void tsr_free_secret(void *p, size_t len);

/* Library version as "MAJOR.MINOR.PATCH"; static storage. */
TSR_API const char *tsr_version(void);

#ifdef __cplusplus
}
#endif
#endif /* TESSERA_COMMON_H */
