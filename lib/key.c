/*
 * key.c: tsr_key, one key with its bindings. Loads JWK (RFC 7517/7518/8037)
 * and PEM, makes keys from secrets or fresh randomness, exports JWK and
 * computes RFC 7638 thumbprints, and decides whether a key may be used for
 * an (alg, operation) pair. The key material itself lives in the crypto
 * backend (crypto_ossl.c) behind tsr__ckey; this file owns the JOSE rules.
 *
 * JWK rules (strict; see include/tessera/key.h and issue 2):
 *  - JSON via tsr__json_load: duplicates, bad UTF-8, depth > 32 reject;
 *  - known members must have the right JSON type (MALFORMED otherwise);
 *    base64url members are strict (tsr_b64url_decode);
 *  - kty oct/RSA/EC/OKP, crv P-256/P-384/P-521/Ed25519; anything else is
 *    UNSUPPORTED (a set skips such members);
 *  - RSA n and e must be minimal Base64urlUInt (RFC 7518 6.3.1: no leading
 *    zero octet); a leading zero is MALFORMED. Private RSA keys must carry
 *    all of p, q, dp, dq, qi (a "d"-only key or "oth" is UNSUPPORTED);
 *  - EC x, y, d and OKP x, d exactly the field length (no leading-zero
 *    trimming or padding accepted);
 *  - "alg" must name a known algorithm (else UNSUPPORTED, e.g. "ES521") that
 *    fits the key (else KEY_MISMATCH: ES256 only on P-256, ...);
 *  - RSA < 2048 bits, an RSA modulus with the ROCA fingerprint, an oct
 *    secret shorter than its bound alg's hash (or than 32 bytes when
 *    unbound) are KEY_WEAK;
 *  - "use" other than "sig" and "key_ops" without "sign"/"verify" clear the
 *    matching operation bits: the key loads but is not usable for them.
 */
#include <string.h>

#include <jansson.h>

#include "internal.h"

#define RSA_MIN_BITS 2048u
#define OCT_MIN_UNBOUND 32u

/* An owned decoded buffer (wiped on free: it may hold private material). */
typedef struct buf {
    unsigned char *p;
    size_t len;
} buf;

static void buf_free(buf *b)
{
    tsr__free_secret(b->p, b->len);
    b->p = NULL;
    b->len = 0;
}

static tsr__bytes buf_bytes(const buf *b)
{
    return (tsr__bytes){b->p, b->len};
}

/* ------------------------------------------------------------ members */

/* String member `name`: absent gives *s = NULL; a non-string is MALFORMED. */
static tsr_err member_str(const json_t *o, const char *name, const char **s, size_t *len,
                          tsr_error *err)
{
    *s = NULL;
    *len = 0;
    const json_t *v = json_object_get(o, name);
    if (v == NULL) {
        return TSR_OK;
    }
    if (!json_is_string(v)) {
        return tsr__fail(err, TSR_ERR_MALFORMED, "JWK member '%s' is not a string", name);
    }
    *s = json_string_value(v);
    *len = json_string_length(v);
    return TSR_OK;
}

/* Decodes base64url member `name` into a new buffer. Absent and required
 * is MALFORMED; absent and optional leaves out empty. */
static tsr_err member_b64(const json_t *o, const char *name, bool required, buf *out,
                          tsr_error *err)
{
    const char *s;
    size_t len;
    out->p = NULL;
    out->len = 0;
    tsr_err rc = member_str(o, name, &s, &len, err);
    if (rc != TSR_OK) {
        return rc;
    }
    if (s == NULL) {
        return required ? tsr__fail(err, TSR_ERR_MALFORMED, "JWK member '%s' missing", name)
                        : TSR_OK;
    }
    size_t cap = tsr_b64url_decoded_max(len);
    out->p = tsr__malloc(cap);
    if (out->p == NULL) {
        return tsr__fail(err, TSR_ERR_NOMEM, "decoding '%s'", name);
    }
    size_t n = 0;
    rc = tsr_b64url_decode(s, len, out->p, cap, &n);
    if (rc != TSR_OK) {
        tsr__free(out->p);
        out->p = NULL;
        return tsr__fail(err, TSR_ERR_MALFORMED, "JWK member '%s' is not strict base64url",
                         name);
    }
    if (n == 0 && required) {
        tsr__free(out->p);
        out->p = NULL;
        return tsr__fail(err, TSR_ERR_MALFORMED, "JWK member '%s' is empty", name);
    }
    out->len = n;
    return TSR_OK;
}

/* Operations allowed by "use" and "key_ops" (both optional). */
static tsr_err parse_ops(const json_t *o, unsigned *ops, tsr_error *err)
{
    const char *use;
    size_t use_len;
    *ops = TSR__KEYOP_SIGN | TSR__KEYOP_VERIFY;
    tsr_err rc = member_str(o, "use", &use, &use_len, err);
    if (rc != TSR_OK) {
        return rc;
    }
    if (use != NULL && !(use_len == 3 && memcmp(use, "sig", 3) == 0)) {
        *ops = 0;
    }
    const json_t *kops = json_object_get(o, "key_ops");
    if (kops == NULL) {
        return TSR_OK;
    }
    if (!json_is_array(kops)) {
        return tsr__fail(err, TSR_ERR_MALFORMED, "JWK 'key_ops' is not an array");
    }
    unsigned listed = 0;
    size_t n = json_array_size(kops);
    for (size_t i = 0; i < n; i++) {
        const json_t *e = json_array_get(kops, i);
        if (!json_is_string(e)) {
            return tsr__fail(err, TSR_ERR_MALFORMED, "JWK 'key_ops' holds a non-string");
        }
        /* RFC 7517 4.3: duplicate values MUST NOT be present. */
        for (size_t j = 0; j < i; j++) {
            if (json_equal(e, json_array_get(kops, j))) {
                return tsr__fail(err, TSR_ERR_MALFORMED, "JWK 'key_ops' has duplicates");
            }
        }
        if (strcmp(json_string_value(e), "sign") == 0 && json_string_length(e) == 4) {
            listed |= TSR__KEYOP_SIGN;
        } else if (strcmp(json_string_value(e), "verify") == 0 && json_string_length(e) == 6) {
            listed |= TSR__KEYOP_VERIFY;
        }
    }
    *ops &= listed;
    return TSR_OK;
}

/* The bound algorithm from "alg" (UNSPECIFIED when absent). */
static tsr_err parse_alg(const json_t *o, tsr_alg *alg, tsr_error *err)
{
    const char *s;
    size_t len;
    *alg = TSR_ALG_UNSPECIFIED;
    tsr_err rc = member_str(o, "alg", &s, &len, err);
    if (rc != TSR_OK || s == NULL) {
        return rc;
    }
    if (tsr_alg_from_name(s, len, alg) != TSR_OK) {
        return tsr__fail(err, TSR_ERR_UNSUPPORTED, "JWK 'alg' is not a supported algorithm");
    }
    return TSR_OK;
}

/* Validates a kid: at most TSR_KID_MAX bytes, no NUL. */
static tsr_err check_kid(const char *kid, size_t len, tsr_error *err)
{
    if (len > TSR_KID_MAX) {
        return tsr__fail(err, TSR_ERR_TOO_LARGE, "kid longer than %u bytes", TSR_KID_MAX);
    }
    if (memchr(kid, '\0', len) != NULL) {
        return tsr__fail(err, TSR_ERR_MALFORMED, "kid contains a NUL character");
    }
    return TSR_OK;
}

/* ------------------------------------------------------------ the key object */

static tsr_key *key_new(tsr_kty kty, tsr__curve crv)
{
    tsr_key *k = tsr__calloc(1, sizeof *k);
    if (k != NULL) {
        atomic_init(&k->refs, 1);
        k->kty = kty;
        k->curve = crv;
        k->ops = TSR__KEYOP_SIGN | TSR__KEYOP_VERIFY;
    }
    return k;
}

tsr_key *tsr_key_up_ref(tsr_key *key)
{
    if (key != NULL) {
        atomic_fetch_add_explicit(&key->refs, 1, memory_order_relaxed);
    }
    return key;
}

void tsr_key_free(tsr_key *key)
{
    if (key == NULL) {
        return;
    }
    if (atomic_fetch_sub_explicit(&key->refs, 1, memory_order_acq_rel) != 1) {
        return;
    }
    tsr__ck_free(key->ck);
    tsr__free(key->kid);
    tsr__free_secret(key, sizeof *key);
}

/* Whether `alg` fits the key's type, curve and size (ignoring bindings,
 * use/key_ops and privateness). */
static bool alg_fits(const tsr_key *k, tsr_alg alg)
{
    const tsr__alg_info *ai = tsr__alg_get(alg);
    if (ai == NULL) {
        return false;
    }
    switch (k->kty) {
    case TSR_KTY_OCT: return ai->family == TSR__FAM_HMAC && k->bits / 8 >= ai->hash_len;
    case TSR_KTY_RSA:
        return (ai->family == TSR__FAM_RSA_PKCS1 || ai->family == TSR__FAM_RSA_PSS) &&
               k->bits >= RSA_MIN_BITS;
    case TSR_KTY_EC: return ai->family == TSR__FAM_ECDSA && ai->curve == k->curve;
    case TSR_KTY_OKP: return ai->family == TSR__FAM_EDDSA && k->curve == TSR__CRV_ED25519;
    }
    return false;
}

/* Whether `alg` is of the key's family at all (size aside). */
static bool alg_family_fits(const tsr_key *k, tsr_alg alg)
{
    const tsr__alg_info *ai = tsr__alg_get(alg);
    if (ai == NULL) {
        return false;
    }
    switch (k->kty) {
    case TSR_KTY_OCT: return ai->family == TSR__FAM_HMAC;
    case TSR_KTY_RSA: return ai->family == TSR__FAM_RSA_PKCS1 || ai->family == TSR__FAM_RSA_PSS;
    case TSR_KTY_EC: return ai->family == TSR__FAM_ECDSA && ai->curve == k->curve;
    case TSR_KTY_OKP: return ai->family == TSR__FAM_EDDSA;
    }
    return false;
}

/* Size rules and the bound algorithm's fit, for a freshly built key. */
static tsr_err check_strength(const tsr_key *k, tsr_error *err)
{
    if (k->alg != TSR_ALG_UNSPECIFIED && !alg_family_fits(k, k->alg)) {
        return tsr__fail(err, TSR_ERR_KEY_MISMATCH, "key cannot be used with its 'alg' %s",
                         tsr_alg_name(k->alg));
    }
    if (k->kty == TSR_KTY_RSA && k->bits < RSA_MIN_BITS) {
        return tsr__fail(err, TSR_ERR_KEY_WEAK, "RSA modulus of %u bits (minimum %u)", k->bits,
                         RSA_MIN_BITS);
    }
    if (k->kty == TSR_KTY_OCT) {
        const tsr__alg_info *ai = tsr__alg_get(k->alg);
        size_t need = ai != NULL ? ai->hash_len : OCT_MIN_UNBOUND;
        if (k->bits / 8 < need) {
            return tsr__fail(err, TSR_ERR_KEY_WEAK, "HMAC secret of %u bytes (minimum %zu)",
                             k->bits / 8, need);
        }
    }
    return TSR_OK;
}

/* ------------------------------------------------------------ JWK material */

static tsr_err jwk_oct(const json_t *o, tsr_key *k, tsr_error *err)
{
    buf kb;
    tsr_err rc = member_b64(o, "k", false, &kb, err);
    if (rc != TSR_OK) {
        return rc;
    }
    if (kb.p == NULL) {
        return tsr__fail(err, TSR_ERR_MALFORMED, "JWK member 'k' missing");
    }
    k->bits = (unsigned)(kb.len > UINT32_MAX / 8 ? UINT32_MAX : kb.len * 8);
    k->is_private = true;
    rc = check_strength(k, err); /* before any crypto work on a weak secret */
    if (rc == TSR_OK) {
        rc = tsr__ck_hmac(kb.p, kb.len, &k->ck, err);
    }
    buf_free(&kb);
    return rc;
}

/* Bits of a minimal big-endian integer. */
static unsigned bit_length(const buf *b)
{
    if (b->len == 0) {
        return 0;
    }
    unsigned top = b->p[0];
    unsigned bits = 0;
    while (top != 0) {
        bits++;
        top >>= 1;
    }
    return (unsigned)((b->len - 1) * 8) + bits;
}

/*
 * The ROCA fingerprint (CVE-2017-15361, Nemec et al., CCS 2017): moduli made
 * by the flawed Infineon generator are, modulo each of these small primes,
 * in the subgroup generated by 65537. A random modulus passes all 38 tests
 * with probability about 2^-154, so a match means a factorable key.
 */
static bool roca_fingerprint(const buf *n)
{
    if (n->p == NULL) {
        return false;
    }
    static const unsigned char primes[] = {3,   5,   7,   11,  13,  17,  19,  23,  29,  31,
                                           37,  41,  43,  47,  53,  59,  61,  67,  71,  73,
                                           79,  83,  89,  97,  101, 103, 107, 109, 113, 127,
                                           131, 137, 139, 149, 151, 157, 163, 167};
    for (size_t i = 0; i < sizeof primes; i++) {
        unsigned p = primes[i];
        unsigned r = 0;
        for (size_t j = 0; j < n->len; j++) {
            r = (r * 256u + n->p[j]) % p;
        }
        unsigned g = 65537u % p;
        unsigned x = 1;
        bool in_subgroup = false;
        do {
            in_subgroup = in_subgroup || x == r;
            x = (x * g) % p;
        } while (x != 1);
        if (!in_subgroup) {
            return false;
        }
    }
    return true;
}

static tsr_err jwk_rsa(const json_t *o, tsr_key *k, tsr_error *err)
{
    static const char *const names[8] = {"n", "e", "d", "p", "q", "dp", "dq", "qi"};
    buf b[8] = {{0}};
    tsr_err rc = TSR_OK;
    if (json_object_get(o, "oth") != NULL) {
        return tsr__fail(err, TSR_ERR_UNSUPPORTED, "multi-prime RSA ('oth') not supported");
    }
    for (int i = 0; i < 8 && rc == TSR_OK; i++) {
        rc = member_b64(o, names[i], i < 2, &b[i], err);
    }
    if (rc != TSR_OK) {
        goto out;
    }
    /* RFC 7518 6.3.1: Base64urlUInt is minimal; a padded n would also give a
     * different RFC 7638 thumbprint for the same key. */
    if (b[0].p[0] == 0 || b[1].p[0] == 0) {
        rc = tsr__fail(err, TSR_ERR_MALFORMED, "RSA 'n' or 'e' has a leading zero octet");
        goto out;
    }
    size_t present = 0;
    for (int i = 3; i < 8; i++) {
        present += b[i].p != NULL;
    }
    if (b[2].p == NULL && present > 0) {
        rc = tsr__fail(err, TSR_ERR_MALFORMED, "RSA CRT members without 'd'");
        goto out;
    }
    if (b[2].p != NULL && present == 0) {
        rc = tsr__fail(err, TSR_ERR_UNSUPPORTED, "RSA private key without p, q, dp, dq, qi");
        goto out;
    }
    if (b[2].p != NULL && present != 5) {
        rc = tsr__fail(err, TSR_ERR_MALFORMED, "RSA private key with only some CRT members");
        goto out;
    }
    k->bits = bit_length(&b[0]);
    k->is_private = b[2].p != NULL;
    rc = check_strength(k, err); /* weak keys are refused before any checks */
    if (rc == TSR_OK && roca_fingerprint(&b[0])) {
        rc = tsr__fail(err, TSR_ERR_KEY_WEAK, "RSA modulus has the ROCA fingerprint");
    }
    if (rc != TSR_OK) {
        goto out;
    }
    tsr__rsa_params prm = {buf_bytes(&b[0]), buf_bytes(&b[1]), buf_bytes(&b[2]),
                           buf_bytes(&b[3]), buf_bytes(&b[4]), buf_bytes(&b[5]),
                           buf_bytes(&b[6]), buf_bytes(&b[7])};
    unsigned bits = 0;
    rc = tsr__ck_rsa(&prm, &k->ck, &bits, err);
    k->bits = bits;
out:
    for (int i = 0; i < 8; i++) {
        buf_free(&b[i]);
    }
    return rc;
}

/* x, y, d for EC (has_y) or OKP: each exactly the field length. */
static tsr_err jwk_curve_members(const json_t *o, size_t fl, bool has_y, buf *x, buf *y, buf *d,
                                 tsr_error *err)
{
    tsr_err rc = member_b64(o, "x", true, x, err);
    if (rc == TSR_OK && has_y) {
        rc = member_b64(o, "y", true, y, err);
    }
    if (rc == TSR_OK) {
        rc = member_b64(o, "d", false, d, err);
    }
    if (rc != TSR_OK) {
        return rc;
    }
    if (x->len != fl || (has_y && y->len != fl) || (d->p != NULL && d->len != fl)) {
        return tsr__fail(err, TSR_ERR_MALFORMED, "JWK coordinate is not exactly %zu bytes", fl);
    }
    return TSR_OK;
}

static tsr_err jwk_ec(const json_t *o, tsr_key *k, tsr_error *err)
{
    buf x = {0}, y = {0}, d = {0};
    size_t fl = tsr__curve_field_len(k->curve);
    tsr_err rc = check_strength(k, err);
    if (rc == TSR_OK) {
        rc = jwk_curve_members(o, fl, k->kty == TSR_KTY_EC, &x, &y, &d, err);
    }
    if (rc == TSR_OK) {
        k->is_private = d.p != NULL;
        k->bits = (unsigned)(fl * 8);
        if (k->kty == TSR_KTY_EC) {
            rc = tsr__ck_ec(k->curve, buf_bytes(&x), buf_bytes(&y), buf_bytes(&d), &k->ck, err);
        } else {
            rc = tsr__ck_ed25519(buf_bytes(&x), buf_bytes(&d), &k->ck, err);
        }
    }
    buf_free(&x);
    buf_free(&y);
    buf_free(&d);
    return rc;
}

/* kty and crv of a JWK object. */
static tsr_err parse_kty(const json_t *o, tsr_kty *kty, tsr__curve *crv, tsr_error *err)
{
    static const struct {
        const char *kty;
        const char *crv;
        tsr_kty t;
        tsr__curve c;
    } kinds[] = {
        {"oct", NULL, TSR_KTY_OCT, TSR__CRV_NONE},
        {"RSA", NULL, TSR_KTY_RSA, TSR__CRV_NONE},
        {"EC", "P-256", TSR_KTY_EC, TSR__CRV_P256},
        {"EC", "P-384", TSR_KTY_EC, TSR__CRV_P384},
        {"EC", "P-521", TSR_KTY_EC, TSR__CRV_P521},
        {"OKP", "Ed25519", TSR_KTY_OKP, TSR__CRV_ED25519},
    };
    const char *t, *c;
    size_t tlen, clen;
    tsr_err rc = member_str(o, "kty", &t, &tlen, err);
    if (rc != TSR_OK) {
        return rc;
    }
    if (t == NULL) {
        return tsr__fail(err, TSR_ERR_MALFORMED, "JWK has no 'kty'");
    }
    rc = member_str(o, "crv", &c, &clen, err);
    if (rc != TSR_OK) {
        return rc;
    }
    bool kty_known = false;
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
        if (strlen(kinds[i].kty) != tlen || memcmp(kinds[i].kty, t, tlen) != 0) {
            continue;
        }
        kty_known = true;
        bool crv_ok = kinds[i].crv == NULL ||
                      (c != NULL && strlen(kinds[i].crv) == clen &&
                       memcmp(kinds[i].crv, c, clen) == 0);
        if (crv_ok) {
            *kty = kinds[i].t;
            *crv = kinds[i].c;
            return TSR_OK;
        }
    }
    if (kty_known && c == NULL) {
        return tsr__fail(err, TSR_ERR_MALFORMED, "JWK has no 'crv'");
    }
    return tsr__fail(err, TSR_ERR_UNSUPPORTED, kty_known ? "JWK curve not supported"
                                                         : "JWK key type not supported");
}

tsr_err tsr__key_from_json(const json_t *jwk, tsr_key **out, tsr_error *err)
{
    tsr_kty kty = TSR_KTY_OCT;
    tsr__curve crv = TSR__CRV_NONE;
    tsr_alg alg = TSR_ALG_UNSPECIFIED;
    unsigned ops = 0;
    const char *kid = NULL;
    size_t kid_len = 0;
    tsr_key *k = NULL;
    if (out == NULL) {
        return tsr__fail(err, TSR_ERR_INVALID_ARGUMENT, "no output");
    }
    *out = NULL;
    if (!json_is_object(jwk)) {
        return tsr__fail(err, TSR_ERR_MALFORMED, "JWK is not a JSON object");
    }
    tsr_err rc = parse_kty(jwk, &kty, &crv, err);
    if (rc == TSR_OK) {
        rc = parse_ops(jwk, &ops, err);
    }
    if (rc == TSR_OK) {
        rc = member_str(jwk, "kid", &kid, &kid_len, err);
    }
    if (rc == TSR_OK && kid != NULL) {
        rc = check_kid(kid, kid_len, err);
    }
    if (rc == TSR_OK) {
        rc = parse_alg(jwk, &alg, err);
    }
    if (rc != TSR_OK) {
        return rc;
    }
    k = key_new(kty, crv);
    if (k == NULL || (kid != NULL && (k->kid = tsr__strndup(kid, kid_len)) == NULL)) {
        rc = tsr__fail(err, TSR_ERR_NOMEM, "key");
        goto out;
    }
    k->kid_len = kid_len;
    k->alg = alg;
    k->ops = ops;
    switch (kty) {
    case TSR_KTY_OCT: rc = jwk_oct(jwk, k, err); break;
    case TSR_KTY_RSA: rc = jwk_rsa(jwk, k, err); break;
    case TSR_KTY_EC:
    case TSR_KTY_OKP: rc = jwk_ec(jwk, k, err); break;
    }
out:
    if (rc != TSR_OK) {
        tsr_key_free(k);
        return rc;
    }
    tsr__ok(err);
    *out = k;
    return TSR_OK;
}

tsr_err tsr_key_load_jwk(const char *json, size_t len, tsr_key **out, tsr_error *err)
{
    json_t *root = NULL;
    if (out == NULL) {
        return tsr__fail(err, TSR_ERR_INVALID_ARGUMENT, "no output");
    }
    *out = NULL;
    tsr_err rc = tsr__json_load(json, len, (size_t)TSR_KEY_JSON_MAX, &root, err);
    if (rc != TSR_OK) {
        return rc;
    }
    rc = tsr__key_from_json(root, out, err);
    json_decref(root);
    return rc;
}

/* ------------------------------------------------------------ other constructors */

/* The ROCA check for a key whose modulus is only in the backend (PEM). */
static tsr_err check_roca(const tsr_key *k, tsr_error *err)
{
    tsr__ck_export ex;
    tsr_err rc = tsr__ck_export_params(k->ck, TSR_KTY_RSA, false, &ex, err);
    if (rc != TSR_OK) {
        return rc;
    }
    buf n = {ex.buf[0], ex.len[0]};
    if (roca_fingerprint(&n)) {
        rc = tsr__fail(err, TSR_ERR_KEY_WEAK, "RSA modulus has the ROCA fingerprint");
    }
    tsr__ck_export_free(&ex);
    return rc;
}

tsr_err tsr_key_load_pem(const char *pem, size_t len, tsr_key **out, tsr_error *err)
{
    tsr__ckey *ck = NULL;
    tsr_kty kty;
    tsr__curve crv;
    unsigned bits;
    bool priv;
    if (out == NULL) {
        return tsr__fail(err, TSR_ERR_INVALID_ARGUMENT, "no output");
    }
    *out = NULL;
    if (pem == NULL) {
        return tsr__fail(err, TSR_ERR_INVALID_ARGUMENT, "no input");
    }
    if (len > (size_t)TSR_KEY_JSON_MAX) {
        return tsr__fail(err, TSR_ERR_TOO_LARGE, "PEM longer than %u bytes", TSR_KEY_JSON_MAX);
    }
    tsr_err rc = tsr__ck_pem(pem, len, &ck, &kty, &crv, &bits, &priv, err);
    if (rc != TSR_OK) {
        return rc;
    }
    tsr_key *k = key_new(kty, crv);
    if (k == NULL) {
        tsr__ck_free(ck);
        return tsr__fail(err, TSR_ERR_NOMEM, "key");
    }
    k->ck = ck;
    k->bits = bits;
    k->is_private = priv;
    rc = check_strength(k, err);
    if (rc == TSR_OK && kty == TSR_KTY_RSA) {
        rc = check_roca(k, err);
    }
    if (rc != TSR_OK) {
        tsr_key_free(k);
        return rc;
    }
    tsr__ok(err);
    *out = k;
    return TSR_OK;
}

tsr_err tsr_key_from_secret(const unsigned char *secret, size_t len, tsr_alg alg, tsr_key **out,
                            tsr_error *err)
{
    if (out == NULL) {
        return tsr__fail(err, TSR_ERR_INVALID_ARGUMENT, "no output");
    }
    *out = NULL;
    if (secret == NULL && len > 0) {
        return tsr__fail(err, TSR_ERR_INVALID_ARGUMENT, "no secret");
    }
    const tsr__alg_info *ai = tsr__alg_get(alg);
    if (ai == NULL || ai->family != TSR__FAM_HMAC) {
        return tsr__fail(err, TSR_ERR_KEY_MISMATCH, "a secret is only for HS256/384/512");
    }
    if (len < ai->hash_len) {
        return tsr__fail(err, TSR_ERR_KEY_WEAK, "HMAC secret of %zu bytes (minimum %zu)", len,
                         ai->hash_len);
    }
    if (len > UINT32_MAX / 8) {
        return tsr__fail(err, TSR_ERR_TOO_LARGE, "secret too long");
    }
    tsr_key *k = key_new(TSR_KTY_OCT, TSR__CRV_NONE);
    if (k == NULL) {
        return tsr__fail(err, TSR_ERR_NOMEM, "key");
    }
    k->bits = (unsigned)(len * 8);
    k->alg = alg;
    k->is_private = true;
    tsr_err rc = tsr__ck_hmac(secret, len, &k->ck, err);
    if (rc != TSR_OK) {
        tsr_key_free(k);
        return rc;
    }
    tsr__ok(err);
    *out = k;
    return TSR_OK;
}

/* The key type a fresh key for `ai` has. */
static tsr_kty kty_for(const tsr__alg_info *ai)
{
    switch (ai->family) {
    case TSR__FAM_HMAC: return TSR_KTY_OCT;
    case TSR__FAM_ECDSA: return TSR_KTY_EC;
    case TSR__FAM_EDDSA: return TSR_KTY_OKP;
    case TSR__FAM_RSA_PKCS1:
    case TSR__FAM_RSA_PSS:
    case TSR__FAM_NONE: break;
    }
    return TSR_KTY_RSA;
}

static tsr_err generate(tsr_alg alg, unsigned rsa_bits, tsr_key **out, tsr_error *err)
{
    const tsr__alg_info *ai = tsr__alg_get(alg);
    if (out == NULL) {
        return tsr__fail(err, TSR_ERR_INVALID_ARGUMENT, "no output");
    }
    *out = NULL;
    if (ai == NULL) {
        return tsr__fail(err, TSR_ERR_INVALID_ARGUMENT, "no algorithm");
    }
    tsr_key *k = key_new(kty_for(ai), ai->curve);
    if (k == NULL) {
        return tsr__fail(err, TSR_ERR_NOMEM, "key");
    }
    unsigned bits = 0;
    tsr_err rc = tsr__ck_generate(alg, rsa_bits, &k->ck, &bits, err);
    if (rc != TSR_OK) {
        tsr_key_free(k);
        return rc;
    }
    k->bits = bits != 0 ? bits : (unsigned)(tsr__curve_field_len(ai->curve) * 8);
    k->alg = alg;
    k->is_private = true;
    tsr__ok(err);
    *out = k;
    return TSR_OK;
}

tsr_err tsr_key_generate(tsr_alg alg, tsr_key **out, tsr_error *err)
{
    return generate(alg, 3072, out, err);
}

tsr_err tsr_key_generate_rsa(tsr_alg alg, unsigned bits, tsr_key **out, tsr_error *err)
{
    const tsr__alg_info *ai = tsr__alg_get(alg);
    if (out != NULL) {
        *out = NULL;
    }
    if (ai == NULL || (ai->family != TSR__FAM_RSA_PKCS1 && ai->family != TSR__FAM_RSA_PSS)) {
        return tsr__fail(err, TSR_ERR_KEY_MISMATCH, "not an RSA algorithm");
    }
    if (bits < RSA_MIN_BITS) {
        return tsr__fail(err, TSR_ERR_KEY_WEAK, "RSA modulus of %u bits (minimum %u)", bits,
                         RSA_MIN_BITS);
    }
    if (bits > 8192 || bits % 8 != 0) {
        return tsr__fail(err, TSR_ERR_INVALID_ARGUMENT, "RSA size must be 2048..8192, a multiple of 8");
    }
    return generate(alg, bits, out, err);
}

/* ------------------------------------------------------------ getters and bindings */

tsr_kty tsr_key_get_kty(const tsr_key *key)
{
    return key != NULL ? key->kty : (tsr_kty)0;
}

tsr_alg tsr_key_get_alg(const tsr_key *key)
{
    return key != NULL ? key->alg : TSR_ALG_UNSPECIFIED;
}

bool tsr_key_is_private(const tsr_key *key)
{
    return key != NULL && key->is_private;
}

const char *tsr_key_get0_kid(const tsr_key *key)
{
    return key != NULL ? key->kid : NULL;
}

/* Whether s[0..len) is well-formed UTF-8 (no overlongs, surrogates or
 * code points above U+10FFFF), so that exported JWKs stay valid JSON. */
static bool utf8_valid(const unsigned char *s, size_t len)
{
    static const unsigned long min[4] = {0, 0x80, 0x800, 0x10000};
    size_t i = 0;
    while (i < len) {
        unsigned c = s[i];
        size_t n;
        unsigned long cp;
        if (c < 0x80) {
            i++;
            continue;
        }
        if ((c & 0xE0u) == 0xC0u) {
            n = 1;
            cp = c & 0x1Fu;
        } else if ((c & 0xF0u) == 0xE0u) {
            n = 2;
            cp = c & 0x0Fu;
        } else if ((c & 0xF8u) == 0xF0u) {
            n = 3;
            cp = c & 0x07u;
        } else {
            return false;
        }
        if (len - i <= n) {
            return false;
        }
        for (size_t j = 1; j <= n; j++) {
            if ((s[i + j] & 0xC0u) != 0x80u) {
                return false;
            }
            cp = (cp << 6) | (s[i + j] & 0x3Fu);
        }
        if (cp < min[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
            return false;
        }
        i += n + 1;
    }
    return true;
}

tsr_err tsr_key_set1_kid(tsr_key *key, const char *kid, tsr_error *err)
{
    if (key == NULL) {
        return tsr__fail(err, TSR_ERR_INVALID_ARGUMENT, "no key");
    }
    char *copy = NULL;
    size_t len = 0;
    if (kid != NULL) {
        len = strnlen(kid, TSR_KID_MAX + 1);
        if (len > TSR_KID_MAX) {
            return tsr__fail(err, TSR_ERR_TOO_LARGE, "kid longer than %u bytes", TSR_KID_MAX);
        }
        if (!utf8_valid((const unsigned char *)kid, len)) {
            return tsr__fail(err, TSR_ERR_MALFORMED, "kid is not UTF-8");
        }
        copy = tsr__strndup(kid, len);
        if (copy == NULL) {
            return tsr__fail(err, TSR_ERR_NOMEM, "kid");
        }
    }
    tsr__free(key->kid);
    key->kid = copy;
    key->kid_len = len;
    tsr__ok(err);
    return TSR_OK;
}

tsr_err tsr_key_bind_alg(tsr_key *key, tsr_alg alg, tsr_error *err)
{
    if (key == NULL || tsr__alg_get(alg) == NULL) {
        return tsr__fail(err, TSR_ERR_INVALID_ARGUMENT, "no key or algorithm");
    }
    if (key->alg != TSR_ALG_UNSPECIFIED && key->alg != alg) {
        return tsr__fail(err, TSR_ERR_KEY_MISMATCH, "key is bound to %s", tsr_alg_name(key->alg));
    }
    if (!alg_fits(key, alg)) {
        return tsr__fail(err, TSR_ERR_KEY_MISMATCH, "key cannot be used with %s",
                         tsr_alg_name(alg));
    }
    key->alg = alg;
    tsr__ok(err);
    return TSR_OK;
}

bool tsr_key_usable(const tsr_key *key, tsr_alg alg, tsr_key_op op)
{
    if (key == NULL || key->ck == NULL || !alg_fits(key, alg)) {
        return false;
    }
    if (key->alg != TSR_ALG_UNSPECIFIED && key->alg != alg) {
        return false;
    }
    switch (op) {
    case TSR_OP_SIGN: return (key->ops & TSR__KEYOP_SIGN) != 0 && key->is_private;
    case TSR_OP_VERIFY: return (key->ops & TSR__KEYOP_VERIFY) != 0;
    }
    return false;
}

tsr_alg tsr_key_default_alg(const tsr_key *key)
{
    if (key == NULL) {
        return TSR_ALG_UNSPECIFIED;
    }
    if (key->alg != TSR_ALG_UNSPECIFIED) {
        return key->alg;
    }
    switch (key->kty) {
    case TSR_KTY_OCT:
        return key->bits >= 512 ? TSR_ALG_HS512 : key->bits >= 384 ? TSR_ALG_HS384 : TSR_ALG_HS256;
    case TSR_KTY_RSA: return TSR_ALG_RS256;
    case TSR_KTY_EC:
        return key->curve == TSR__CRV_P384   ? TSR_ALG_ES384
               : key->curve == TSR__CRV_P521 ? TSR_ALG_ES512
                                             : TSR_ALG_ES256;
    case TSR_KTY_OKP: return TSR_ALG_EDDSA;
    }
    return TSR_ALG_UNSPECIFIED;
}

/* ------------------------------------------------------------ JSON output */

/* A growing output string. Growth copies and wipes (it may hold private
 * material), never realloc, which could leave an unwiped copy behind. */
typedef struct sbuf {
    char *p;
    size_t len;
    size_t cap;
    bool failed;
} sbuf;

static void sb_reserve(sbuf *sb, size_t more)
{
    if (sb->failed || sb->len + more + 1 <= sb->cap) {
        return;
    }
    size_t cap = sb->cap ? sb->cap : 256;
    while (cap < sb->len + more + 1) {
        cap *= 2;
    }
    char *np = tsr__malloc(cap);
    if (np == NULL) {
        sb->failed = true;
        return;
    }
    if (sb->len > 0) {
        memcpy(np, sb->p, sb->len);
    }
    tsr__free_secret(sb->p, sb->cap);
    sb->p = np;
    sb->cap = cap;
}

static void sb_add(sbuf *sb, const char *s, size_t n)
{
    sb_reserve(sb, n);
    if (!sb->failed) {
        memcpy(sb->p + sb->len, s, n);
        sb->len += n;
        sb->p[sb->len] = '\0';
    }
}

static void sb_str(sbuf *sb, const char *s)
{
    sb_add(sb, s, strlen(s));
}

/* Appends the base64url of b[0..n) (no quotes). */
static void sb_b64(sbuf *sb, const unsigned char *b, size_t n)
{
    size_t need = tsr_b64url_encoded_len(n);
    sb_reserve(sb, need);
    if (sb->failed) {
        return;
    }
    size_t w = 0;
    if (tsr_b64url_encode(b, n, sb->p + sb->len, sb->cap - sb->len, &w) != TSR_OK) {
        sb->failed = true;
        return;
    }
    sb->len += w;
}

/* Appends s[0..n) as a JSON string with quotes (s is valid UTF-8). */
static void sb_json_str(sbuf *sb, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    sb_add(sb, "\"", 1);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') {
            char e[2] = {'\\', (char)c};
            sb_add(sb, e, 2);
        } else if (c < 0x20) {
            char e[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
            sb_add(sb, e, 6);
        } else {
            sb_add(sb, (const char *)&c, 1);
        }
    }
    sb_add(sb, "\"", 1);
}

/* Appends ,"name":"<b64>" (or without the comma when first). */
static void sb_member_b64(sbuf *sb, const char *name, const unsigned char *b, size_t n)
{
    sb_str(sb, ",\"");
    sb_str(sb, name);
    sb_str(sb, "\":\"");
    sb_b64(sb, b, n);
    sb_str(sb, "\"");
}

static const char *kty_name(tsr_kty kty)
{
    switch (kty) {
    case TSR_KTY_OCT: return "oct";
    case TSR_KTY_RSA: return "RSA";
    case TSR_KTY_EC: return "EC";
    case TSR_KTY_OKP: return "OKP";
    }
    return "";
}

static const char *crv_name(tsr__curve c)
{
    switch (c) {
    case TSR__CRV_P256: return "P-256";
    case TSR__CRV_P384: return "P-384";
    case TSR__CRV_P521: return "P-521";
    case TSR__CRV_ED25519: return "Ed25519";
    case TSR__CRV_NONE: return NULL;
    }
    return NULL;
}

/* Member names of the exported parameters, in tsr__ck_export order;
 * `*count` receives how many there can be. */
static const char *const *param_names(tsr_kty kty, size_t *count)
{
    static const char *const oct[] = {"k"};
    static const char *const rsa[] = {"n", "e", "d", "p", "q", "dp", "dq", "qi"};
    static const char *const ec[] = {"x", "y", "d"};
    static const char *const okp[] = {"x", "d"};
    switch (kty) {
    case TSR_KTY_RSA: *count = 8; return rsa;
    case TSR_KTY_EC: *count = 3; return ec;
    case TSR_KTY_OKP: *count = 2; return okp;
    case TSR_KTY_OCT: break;
    }
    *count = 1;
    return oct;
}

/* alg, kid, use / key_ops after the key material. "use":"sig" stands for
 * both operations; one operation alone is written as key_ops; a key usable
 * for neither is written with "use":"enc" so that it stays unusable. */
static void sb_bindings(sbuf *sb, const tsr_key *key)
{
    if (key->alg != TSR_ALG_UNSPECIFIED) {
        sb_str(sb, ",\"alg\":\"");
        sb_str(sb, tsr_alg_name(key->alg));
        sb_str(sb, "\"");
    }
    if (key->kid != NULL) {
        sb_str(sb, ",\"kid\":");
        sb_json_str(sb, key->kid, key->kid_len);
    }
    unsigned ops = key->ops & (TSR__KEYOP_SIGN | TSR__KEYOP_VERIFY);
    if (ops == (TSR__KEYOP_SIGN | TSR__KEYOP_VERIFY)) {
        sb_str(sb, ",\"use\":\"sig\"");
    } else if (ops == TSR__KEYOP_SIGN) {
        sb_str(sb, ",\"key_ops\":[\"sign\"]");
    } else if (ops == TSR__KEYOP_VERIFY) {
        sb_str(sb, ",\"key_ops\":[\"verify\"]");
    } else {
        sb_str(sb, ",\"use\":\"enc\"");
    }
}

tsr_err tsr_key_export_jwk(const tsr_key *key, bool include_private, char **out, tsr_error *err)
{
    tsr__ck_export ex;
    sbuf sb = {0};
    if (out == NULL) {
        return tsr__fail(err, TSR_ERR_INVALID_ARGUMENT, "no output");
    }
    *out = NULL;
    if (key == NULL || key->ck == NULL) {
        return tsr__fail(err, TSR_ERR_INVALID_ARGUMENT, "no key");
    }
    if (key->kty == TSR_KTY_OCT && !include_private) {
        return tsr__fail(err, TSR_ERR_KEY_MISMATCH, "an HMAC secret has no public part");
    }
    tsr_err rc = tsr__ck_export_params(key->ck, key->kty, include_private, &ex, err);
    if (rc != TSR_OK) {
        return rc;
    }
    size_t nnames = 0;
    const char *const *names = param_names(key->kty, &nnames);
    sb_str(&sb, "{\"kty\":\"");
    sb_str(&sb, kty_name(key->kty));
    sb_str(&sb, "\"");
    if (crv_name(key->curve) != NULL) {
        sb_str(&sb, ",\"crv\":\"");
        sb_str(&sb, crv_name(key->curve));
        sb_str(&sb, "\"");
    }
    for (size_t i = 0; i < ex.count && i < nnames; i++) {
        sb_member_b64(&sb, names[i], ex.buf[i], ex.len[i]);
    }
    sb_bindings(&sb, key);
    sb_str(&sb, "}");
    tsr__ck_export_free(&ex);
    if (sb.failed) {
        tsr__free_secret(sb.p, sb.cap);
        return tsr__fail(err, TSR_ERR_NOMEM, "exporting JWK");
    }
    tsr__ok(err);
    *out = sb.p;
    return TSR_OK;
}

/* The RFC 7638 canonical JSON: required members only, in lexicographic
 * order, no whitespace. */
static void thumbprint_input(sbuf *sb, const tsr_key *key, const tsr__ck_export *ex)
{
    switch (key->kty) {
    case TSR_KTY_OCT:
        sb_str(sb, "{\"k\":\"");
        sb_b64(sb, ex->buf[0], ex->len[0]);
        sb_str(sb, "\",\"kty\":\"oct\"}");
        break;
    case TSR_KTY_RSA:
        sb_str(sb, "{\"e\":\"");
        sb_b64(sb, ex->buf[1], ex->len[1]);
        sb_str(sb, "\",\"kty\":\"RSA\",\"n\":\"");
        sb_b64(sb, ex->buf[0], ex->len[0]);
        sb_str(sb, "\"}");
        break;
    case TSR_KTY_EC:
    case TSR_KTY_OKP:
        sb_str(sb, "{\"crv\":\"");
        sb_str(sb, crv_name(key->curve));
        sb_str(sb, key->kty == TSR_KTY_EC ? "\",\"kty\":\"EC\"" : "\",\"kty\":\"OKP\"");
        sb_member_b64(sb, "x", ex->buf[0], ex->len[0]);
        if (key->kty == TSR_KTY_EC) {
            sb_member_b64(sb, "y", ex->buf[1], ex->len[1]);
        }
        sb_str(sb, "}");
        break;
    }
}

tsr_err tsr_key_thumbprint(const tsr_key *key, char out[TSR_THUMBPRINT_LEN + 1], tsr_error *err)
{
    tsr__ck_export ex;
    sbuf sb = {0};
    unsigned char h[32];
    if (out == NULL || key == NULL || key->ck == NULL) {
        return tsr__fail(err, TSR_ERR_INVALID_ARGUMENT, "no key or output");
    }
    out[0] = '\0';
    /* oct thumbprints hash the secret; it is needed, but never output. */
    tsr_err rc = tsr__ck_export_params(key->ck, key->kty, key->kty == TSR_KTY_OCT, &ex, err);
    if (rc != TSR_OK) {
        return rc;
    }
    thumbprint_input(&sb, key, &ex);
    tsr__ck_export_free(&ex);
    if (sb.failed) {
        tsr__free_secret(sb.p, sb.cap);
        return tsr__fail(err, TSR_ERR_NOMEM, "thumbprint");
    }
    rc = tsr__sha256((const unsigned char *)sb.p, sb.len, h);
    tsr__free_secret(sb.p, sb.cap);
    if (rc != TSR_OK || tsr_b64url_encode(h, sizeof h, out, TSR_THUMBPRINT_LEN + 1, NULL) != TSR_OK) {
        out[0] = '\0';
        return tsr__fail(err, TSR_ERR_CRYPTO, "thumbprint hashing failed");
    }
    tsr__ok(err);
    return TSR_OK;
}
