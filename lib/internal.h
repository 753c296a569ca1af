/*
 * lib/internal.h: what the library modules share and nothing outside lib/
 * may include. Names are `tsr__*` (double underscore): not exported.
 *
 * Module map (one concern per file):
 *   alloc.c        allocation hook (fault injection in test builds)
 *   error.c        error names, messages, tsr__fail()
 *   alg.c          algorithm names and properties
 *   b64url.c       strict base64url
 *   json_reader.c  strict zero-copy JSON reader (the verify hot path)
 *   json_load.c    strict JSON through jansson (keys, sets, claims builder)
 *   crypto_ossl.c  the only file that calls OpenSSL/libsodium for operations
 *   key.c          tsr_key: JWK/PEM load, generate, export, thumbprint, usability
 *   keyset.c       tsr_keyset: JWK Set load/export
 *   jws.c          compact JWS splitting and header rules
 *   claims.c       registered-claim validation (times, iss, aud, sub, required)
 *   verifier.c     tsr_policy, tsr_verifier, tsr_jwt
 *   signer.c       tsr_signer, tsr_claims
 */
#ifndef TESSERA_INTERNAL_H
#define TESSERA_INTERNAL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tessera.h"

/* ------------------------------------------------------------------ alloc
 * Every allocation of the library goes through these, so that the test build
 * (TSR_FAULT_INJECTION) can fail the Nth one and check that every public call
 * then returns TSR_ERR_NOMEM and leaks nothing. The shipped library has no
 * hook and therefore no global mutable state. */
void *tsr__malloc(size_t n);
void *tsr__calloc(size_t count, size_t size);
void *tsr__realloc(void *p, size_t n);
void tsr__free(void *p);
char *tsr__strndup(const char *s, size_t n);
/* Wipes then frees. */
void tsr__free_secret(void *p, size_t n);
/* Wipes memory in a way the compiler cannot elide. */
void tsr__wipe(void *p, size_t n);

#ifdef TSR_FAULT_INJECTION
/* Test builds only: fail the allocation after `n` more succeed (-1 = never).
 * Returns the count of allocations performed since the last call. */
TSR_API void tsr_test_fail_alloc_after(long n);
TSR_API long tsr_test_alloc_count(void);
#endif

/* ------------------------------------------------------------------ errors */

/* Fills `err` (may be NULL) with `code`, its static message and a detail
 * made from `fmt` (printf-style; never pass token or key bytes). Returns
 * `code` so callers can `return tsr__fail(err, TSR_ERR_X, "...")`. */
tsr_err tsr__fail(tsr_error *err, tsr_err code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Clears `err` to TSR_OK (may be NULL). */
void tsr__ok(tsr_error *err);

/* ------------------------------------------------------------------ alg */

typedef enum tsr__family {
    TSR__FAM_NONE = 0,
    TSR__FAM_HMAC,
    TSR__FAM_RSA_PKCS1,
    TSR__FAM_RSA_PSS,
    TSR__FAM_ECDSA,
    TSR__FAM_EDDSA,
} tsr__family;

typedef enum tsr__hash {
    TSR__HASH_NONE = 0,
    TSR__HASH_SHA256,
    TSR__HASH_SHA384,
    TSR__HASH_SHA512,
} tsr__hash;

typedef enum tsr__curve {
    TSR__CRV_NONE = 0,
    TSR__CRV_P256,
    TSR__CRV_P384,
    TSR__CRV_P521,
    TSR__CRV_ED25519,
} tsr__curve;

typedef struct tsr__alg_info {
    tsr__family family;
    tsr__hash hash;
    size_t hash_len;   /* bytes of the hash output */
    tsr__curve curve;  /* for ECDSA/EdDSA: the one curve allowed */
    size_t sig_len;    /* fixed signature length, 0 when key-dependent (RSA) */
} tsr__alg_info;

/* Properties of a valid alg; NULL for UNSPECIFIED or out-of-range. */
const tsr__alg_info *tsr__alg_get(tsr_alg alg);

/* Byte length of one coordinate / scalar for a curve (32, 48, 66, 32). */
size_t tsr__curve_field_len(tsr__curve c);

/* ------------------------------------------------------------------ keys */

/* Opaque crypto-backend key material, owned by crypto_ossl.c. */
typedef struct tsr__ckey tsr__ckey;

/* Bits of tsr_key.ops: which operations "use"/"key_ops" allow. */
#define TSR__KEYOP_SIGN 0x1u
#define TSR__KEYOP_VERIFY 0x2u

struct tsr_key {
    atomic_int refs;
    tsr_kty kty;
    tsr__curve curve;   /* EC/OKP curve; NONE for oct and RSA */
    unsigned bits;      /* RSA modulus bits; secret bits for oct */
    tsr_alg alg;        /* bound algorithm or TSR_ALG_UNSPECIFIED */
    unsigned ops;       /* TSR__KEYOP_* allowed by use/key_ops */
    bool is_private;
    char *kid;          /* NUL-terminated or NULL; owned */
    size_t kid_len;
    tsr__ckey *ck;      /* owned */
};

/* Loads one JWK from a parsed jansson object (key.c; used by keyset.c for
 * the members of a JWK Set). Same rules and errors as tsr_key_load_jwk. */
struct json_t;
tsr_err tsr__key_from_json(const struct json_t *jwk, tsr_key **out,
                           tsr_error *err) TSR_NODISCARD;

/* ------------------------------------------------------------------ crypto
 * The interface crypto_ossl.c offers. Big-endian unsigned integers are
 * passed as byte slices without leading-zero requirements. */

typedef struct tsr__bytes {
    const unsigned char *ptr;
    size_t len;
} tsr__bytes;

/* RSA parameters; d and beyond are empty for a public key. */
typedef struct tsr__rsa_params {
    tsr__bytes n, e, d, p, q, dp, dq, qi;
} tsr__rsa_params;

tsr_err tsr__ck_hmac(const unsigned char *secret, size_t len, tsr__ckey **out, tsr_error *err);
tsr_err tsr__ck_rsa(const tsr__rsa_params *prm, tsr__ckey **out, unsigned *bits, tsr_error *err);
/* x, y exactly the field length; d empty or the field length. The point is
 * checked to be on the curve and d to match it. */
tsr_err tsr__ck_ec(tsr__curve crv, tsr__bytes x, tsr__bytes y, tsr__bytes d, tsr__ckey **out,
                   tsr_error *err);
/* x is 32 bytes; d empty or 32 bytes (the seed) and must give x. */
tsr_err tsr__ck_ed25519(tsr__bytes x, tsr__bytes d, tsr__ckey **out, tsr_error *err);
/* PEM (SPKI or PKCS#8); reports the kind found. */
tsr_err tsr__ck_pem(const char *pem, size_t len, tsr__ckey **out, tsr_kty *kty,
                    tsr__curve *crv, unsigned *bits, bool *is_private, tsr_error *err);
/* Fresh key for alg's family (bits for RSA; ignored otherwise). */
tsr_err tsr__ck_generate(tsr_alg alg, unsigned bits, tsr__ckey **out, unsigned *out_bits,
                         tsr_error *err);
void tsr__ck_free(tsr__ckey *ck);

/* Exported key material for JWK output and thumbprints. Every buffer is
 * owned by the struct; free with tsr__ck_export_free (which wipes). EC
 * coordinates are left-padded to the field length; RSA integers minimal. */
typedef struct tsr__ck_export {
    unsigned char *buf[8];
    size_t len[8];
    size_t count;
} tsr__ck_export;
/* Order of buf[]: oct: k | RSA: n e [d p q dp dq qi] | EC: x y [d] |
 * Ed25519: x [d]. Private members only when include_private. */
tsr_err tsr__ck_export_params(const tsr__ckey *ck, tsr_kty kty, bool include_private,
                              tsr__ck_export *out, tsr_error *err);
void tsr__ck_export_free(tsr__ck_export *ex);

/* Per-thread reusable crypto state (digest and MAC contexts). */
typedef struct tsr__scratch tsr__scratch;
tsr_err tsr__scratch_new(tsr__scratch **out);
void tsr__scratch_free(tsr__scratch *s);

/*
 * Verifies `sig` over `msg` with `key` under `alg`. The caller has already
 * checked tsr_key_usable(key, alg, TSR_OP_VERIFY). ECDSA signatures are raw
 * r||s of exactly twice the field length (anything else, r or s zero or >=
 * n: bad signature). RSA signatures are exactly the modulus length. PSS
 * uses salt = hash length and MGF1 with the same hash. HMAC tags compared in
 * constant time after a length check. `scratch` may be NULL (slower).
 * Returns TSR_OK or TSR_ERR_BAD_SIGNATURE (TSR_ERR_NOMEM/TSR_ERR_CRYPTO on
 * internal failure). Thread-safe for distinct scratches.
 */
tsr_err tsr__crypto_verify(const tsr_key *key, tsr_alg alg, const unsigned char *msg,
                           size_t msg_len, const unsigned char *sig, size_t sig_len,
                           tsr__scratch *scratch) TSR_NODISCARD;

/* Largest signature `key` produces under `alg` (bytes). */
size_t tsr__crypto_sig_max(const tsr_key *key, tsr_alg alg);

/* Signs into `sig` (capacity `*sig_len`, at least tsr__crypto_sig_max);
 * `*sig_len` receives the length. ECDSA output is raw r||s. */
tsr_err tsr__crypto_sign(const tsr_key *key, tsr_alg alg, const unsigned char *msg,
                         size_t msg_len, unsigned char *sig, size_t *sig_len,
                         tsr_error *err) TSR_NODISCARD;

/* Cryptographically secure random bytes. */
tsr_err tsr__random(unsigned char *out, size_t n);

/* SHA-256 of msg into out[32]. */
tsr_err tsr__sha256(const unsigned char *msg, size_t len, unsigned char out[32]);

/* ------------------------------------------------------------------ JSON reader
 * A strict, zero-copy, non-allocating JSON reader (RFC 8259 with tessera's
 * extra rules): the document is validated completely in one pass into a
 * caller-supplied token array; values are slices of the input.
 * Rejected: invalid UTF-8, a byte-order mark, lone surrogates in escapes,
 * control characters in strings, duplicate member names (compared after
 * unescaping), trailing data, nesting deeper than `max_depth`, numbers not in
 * RFC 8259 grammar. "\u0000" is allowed and kept faithfully. */

typedef enum tsr__jtype {
    TSR__J_OBJECT = 1,
    TSR__J_ARRAY,
    TSR__J_STRING,
    TSR__J_NUMBER,
    TSR__J_TRUE,
    TSR__J_FALSE,
    TSR__J_NULL,
} tsr__jtype;

typedef struct tsr__jtok {
    uint8_t type;       /* tsr__jtype */
    uint8_t escaped;    /* strings: contains a backslash escape */
    uint32_t start;     /* strings: first byte after the opening quote; others: first byte */
    uint32_t len;       /* strings: bytes between the quotes (raw); others: text length */
    uint32_t count;     /* objects: members; arrays: elements */
    uint32_t end;       /* index one past the last token of this value's subtree */
} tsr__jtok;

/* In an object the tokens of member i are: key (a STRING token), then the
 * value's subtree; the next member starts at the value's `end`. */

#define TSR__JSON_MAX_DEPTH 32

typedef struct tsr__jdoc {
    const char *buf;
    size_t len;
    tsr__jtok *toks;
    size_t ntoks;
} tsr__jdoc;

/* Parses buf[0..len) into toks[0..cap). TSR_ERR_MALFORMED for any JSON or
 * rule violation, TSR_ERR_TOO_LARGE when more than `cap` tokens are needed
 * or nesting exceeds max_depth. Never allocates. Sets doc on success. */
tsr_err tsr__json_parse(const char *buf, size_t len, tsr__jtok *toks, size_t cap,
                        unsigned max_depth, tsr__jdoc *doc) TSR_NODISCARD;

/* Index of the value of member `name[0..name_len)` of the object at token
 * `obj`, or -1 if absent (or `obj` is not an object). Compares unescaped. */
long tsr__json_find(const tsr__jdoc *doc, size_t obj, const char *name, size_t name_len);

/* Whether the string token `i` equals s[0..len) after unescaping. */
bool tsr__json_str_eq(const tsr__jdoc *doc, size_t i, const char *s, size_t len);

/* Whether string token `i` equals s case-insensitively (ASCII). */
bool tsr__json_str_eq_nocase(const tsr__jdoc *doc, size_t i, const char *s, size_t len);

/* Copies the unescaped string token `i` into out (capacity cap, NUL added).
 * TSR_ERR_TOO_LARGE if it does not fit; `*out_len` excludes the NUL. */
tsr_err tsr__json_str_copy(const tsr__jdoc *doc, size_t i, char *out, size_t cap,
                           size_t *out_len);

/* A NumericDate: value = sec + (frac ? a positive fraction < 1 : 0).
 * Exact: 1300819380.5 gives sec 1300819380, frac true; -0.5 gives sec -1,
 * frac true. */
typedef struct tsr__numdate {
    int64_t sec;
    bool frac;
} tsr__numdate;

/* Converts number token `i` exactly (any JSON number syntax, including
 * exponents). TSR_ERR_MALFORMED if not a number or out of int64 range. */
tsr_err tsr__json_numdate(const tsr__jdoc *doc, size_t i, tsr__numdate *out);

/* Integer without fraction within int64. TSR_ERR_MALFORMED otherwise.
 * Any spelling of an integral value counts ("1.0", "1e3", "-0"); "1.5"
 * does not. */
tsr_err tsr__json_int(const tsr__jdoc *doc, size_t i, int64_t *out);

/* ------------------------------------------------------------------ JSON via jansson
 * For keys, key sets, and the claims builder: jansson with the same rules as
 * the strict reader above (depth 32, duplicates, BOM, NUL bytes, UTF-8),
 * cross-checked against it by fuzz/fuzz_json.c. `*out` is a
 * new reference. TSR_ERR_MALFORMED / TSR_ERR_TOO_LARGE / TSR_ERR_NOMEM. */
struct json_t;
tsr_err tsr__json_load(const char *buf, size_t len, size_t max_len, struct json_t **out,
                       tsr_error *err) TSR_NODISCARD;

/* ------------------------------------------------------------------ verifier internals
 * Added by the verifier (jws.c, claims.c, verifier.c); nothing else relies
 * on these. jws.c splits the compact token and applies the header rules,
 * claims.c checks the registered claims against a policy, verifier.c owns
 * tsr_policy, tsr_verifier and tsr_jwt and strings the steps together. */

/* The policy as tsr_policy_* builds it and tsr_verifier_new deep-copies it.
 * Every string is NUL-terminated and owned by the struct. */
struct tsr_policy {
    uint32_t algs;                 /* TSR_ALG_BIT() mask; never UNSPECIFIED */
    char *iss;                     /* required exact issuer or NULL */
    size_t iss_len;
    char *sub;                     /* required exact subject or NULL */
    size_t sub_len;
    char *typ;                     /* required typ as given, or NULL */
    char *aud[TSR_POLICY_MAX_AUDIENCES];
    size_t aud_len[TSR_POLICY_MAX_AUDIENCES];
    size_t naud;
    char *req[TSR_POLICY_MAX_REQUIRED];
    size_t req_len[TSR_POLICY_MAX_REQUIRED];
    size_t nreq;
    int64_t leeway;                /* 0..86400 */
    int64_t max_age;               /* 0 = none */
    size_t max_token;              /* 1..TSR_MAX_TOKEN_SIZE_LIMIT */
};

/* The three base64url segments of a compact JWS, as slices of the token. */
typedef struct tsr__jws_parts {
    tsr_str header;
    tsr_str payload;
    tsr_str sig;
    size_t signing_input_len; /* bytes of "header.payload" from the token start */
} tsr__jws_parts;

/* Strips one trailing "\n" or "\r\n", applies the size cap (TSR_ERR_TOO_LARGE
 * when the rest is longer than max_len) and splits at exactly two dots
 * (TSR_ERR_MALFORMED otherwise, or for an empty header). An empty signature
 * splits; the verifier rejects it after the header rules, so that an
 * unsecured alg:none token is reported as alg_not_allowed. */
tsr_err tsr__jws_split(const char *token, size_t len, size_t max_len, tsr__jws_parts *out,
                       tsr_error *err) TSR_NODISCARD;

/* What the header rules extracted. Indices are tokens of the header doc. */
typedef struct tsr__jws_header {
    tsr_alg alg;
    long kid; /* string token of "kid", or -1 */
    long typ; /* string token of "typ", or -1 */
} tsr__jws_header;

/* Applies every header rule to the parsed header `doc` with the allowlist
 * mask `allowed`: object, alg, kid/typ/cty types, enc, crit, b64, nested
 * JWT. Does not look at the policy's typ (see tsr__jws_typ_matches). */
tsr_err tsr__jws_check_header(const tsr__jdoc *doc, uint32_t allowed, tsr__jws_header *out,
                              tsr_error *err) TSR_NODISCARD;

/* Whether the header typ (string token `typ`, or -1 when absent) matches a
 * policy typ given in its short form (without "application/") and its long
 * form ("application/" + short), case-insensitively. */
bool tsr__jws_typ_matches(const tsr__jdoc *doc, long typ, const char *short_form,
                          size_t short_len, const char *long_form, size_t long_len);

/* Checks the claims `doc` (the decoded payload) against `p` at `now`.
 * Order: payload is an object, claim types, presence (exp, required, iat
 * for max age, configured iss/sub/aud), times, iss, sub, aud. */
tsr_err tsr__claims_check(const tsr__jdoc *doc, const struct tsr_policy *p, int64_t now,
                          tsr_error *err) TSR_NODISCARD;

/* ------------------------------------------------------------------ JWS-level verify
 * For the conformance suites (tests/vectors): RFC and Wycheproof JWS vectors
 * sign payloads that are not JWT claim sets ("Payload", "foo"), so they are
 * checked at the JWS level. Runs every check of tsr_verifier_verify that
 * concerns the compact serialization, the protected header (alg allowlist,
 * crit, b64, cty, kid), key selection and the signature, but neither parses
 * the payload as JSON nor applies any claim rule. Same error codes. Never
 * exported: a public JWS-only switch would be a way to skip exp. Implemented
 * in verifier.c (it needs the verifier's internals). */
tsr_err tsr__verifier_verify_jws(const tsr_verifier *v, const char *token, size_t len,
                                 tsr_jwt *jwt, tsr_error *err) TSR_NODISCARD;

#endif /* TESSERA_INTERNAL_H */
