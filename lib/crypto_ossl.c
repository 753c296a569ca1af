/*
 * crypto_ossl.c: the crypto backend. This is the only library file that
 * calls OpenSSL (and libsodium) for operations; everything else sees the
 * opaque tsr__ckey and the functions of the "crypto" section of internal.h.
 *
 * Design for the verify hot path (OpenSSL 3.0):
 *  - every EVP_MD is fetched once when a key is built and kept in the key;
 *    no EVP_sha256()-style implicit fetch ever happens;
 *  - HMAC keys hold their inner and outer hash states precomputed (the key
 *    XOR ipad/opad blocks already absorbed); a MAC copies them into the
 *    scratch's contexts, so per call there is no key schedule and no
 *    context creation;
 *  - RSA and ECDSA hash with the prefetched EVP_MD into the scratch's digest
 *    context, then call EVP_PKEY_verify on a fully configured EVP_PKEY_CTX
 *    that the scratch caches per (EVP_PKEY, alg). The cached context holds a
 *    reference to its EVP_PKEY, so the pointer cannot be reused by another
 *    key while the entry exists: the cache can never confuse two keys;
 *  - ECDSA signatures arrive as raw r||s; the range checks (0 < r, s < n)
 *    are done here on the big-endian bytes, then the pair is encoded as
 *    canonical DER on the stack without allocating;
 *  - Ed25519 uses libsodium, whose verify is faster than OpenSSL 3.0's. It
 *    rejects non-canonical S, non-canonical or small-order public keys and
 *    small-order R; the Wycheproof primitive test checks that this agrees
 *    with every ed25519 vector.
 */
#include <stdio.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <sodium.h>

#include "internal.h"

#define ED_PK_LEN 32u
#define ED_SEED_LEN 32u
#define MAX_FIELD 66u /* P-521 */
#define MAX_HASH 64u
#define NHASH 3 /* SHA-256, SHA-384, SHA-512 */

struct tsr__ckey {
    tsr_kty kty;
    tsr__curve curve;
    EVP_PKEY *pkey;              /* RSA and EC; NULL for oct and Ed25519 */
    EVP_MD *md[NHASH];           /* prefetched digests (not for Ed25519) */
    size_t mod_len;              /* RSA modulus bytes */
    size_t field_len;            /* EC field bytes */
    unsigned char order[MAX_FIELD]; /* EC group order, big-endian, field_len bytes */
    /* oct */
    unsigned char *secret;
    size_t secret_len;
    EVP_MD_CTX *hin[NHASH];      /* SHA-x state after absorbing K ^ ipad */
    EVP_MD_CTX *hout[NHASH];     /* SHA-x state after absorbing K ^ opad */
    /* Ed25519 */
    bool has_private;
    unsigned char ed_pk[ED_PK_LEN];
    unsigned char ed_sk[crypto_sign_SECRETKEYBYTES]; /* seed || pk */
};

/* A configured EVP_PKEY_CTX for one (key, alg); see the file comment. */
typedef struct pctx_entry {
    const EVP_PKEY *pkey;
    tsr_alg alg;
    EVP_PKEY_CTX *ctx;
} pctx_entry;

#define PCTX_CACHE 4

struct tsr__scratch {
    EVP_MD_CTX *md;              /* message digest and HMAC work */
    pctx_entry cache[PCTX_CACHE];
    unsigned next;               /* round-robin replacement */
};

static const char *const md_names[NHASH] = {"SHA2-256", "SHA2-384", "SHA2-512"};

/* Index into md[] for a hash, or -1. */
static int hash_index(tsr__hash h)
{
    switch (h) {
    case TSR__HASH_SHA256: return 0;
    case TSR__HASH_SHA384: return 1;
    case TSR__HASH_SHA512: return 2;
    case TSR__HASH_NONE: return -1;
    }
    return -1;
}

static const char *curve_group(tsr__curve c)
{
    switch (c) {
    case TSR__CRV_P256: return "P-256";
    case TSR__CRV_P384: return "P-384";
    case TSR__CRV_P521: return "P-521";
    case TSR__CRV_ED25519:
    case TSR__CRV_NONE: return NULL;
    }
    return NULL;
}

/* ------------------------------------------------------------ key objects */

static tsr__ckey *ck_new(tsr_kty kty, tsr__curve crv)
{
    tsr__ckey *ck = tsr__calloc(1, sizeof *ck);
    if (ck != NULL) {
        ck->kty = kty;
        ck->curve = crv;
    }
    return ck;
}

void tsr__ck_free(tsr__ckey *ck)
{
    if (ck == NULL) {
        return;
    }
    EVP_PKEY_free(ck->pkey);
    for (int i = 0; i < NHASH; i++) {
        EVP_MD_free(ck->md[i]);
        EVP_MD_CTX_free(ck->hin[i]);
        EVP_MD_CTX_free(ck->hout[i]);
    }
    tsr__free_secret(ck->secret, ck->secret_len);
    tsr__wipe(ck->ed_sk, sizeof ck->ed_sk);
    tsr__free_secret(ck, sizeof *ck);
}

/* Fetches the three SHA-2 digests once for the key's lifetime. */
static tsr_err fetch_mds(tsr__ckey *ck, tsr_error *err)
{
    for (int i = 0; i < NHASH; i++) {
        ck->md[i] = EVP_MD_fetch(NULL, md_names[i], NULL);
        if (ck->md[i] == NULL) {
            return tsr__fail(err, TSR_ERR_CRYPTO, "digest %s unavailable", md_names[i]);
        }
    }
    return TSR_OK;
}

/* ------------------------------------------------------------ HMAC */

/* Absorbs one padded key block into a fresh context for md. */
static EVP_MD_CTX *hmac_half(const EVP_MD *md, const unsigned char *block, size_t blen)
{
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    if (c == NULL) {
        return NULL;
    }
    if (EVP_DigestInit_ex(c, md, NULL) != 1 || EVP_DigestUpdate(c, block, blen) != 1) {
        EVP_MD_CTX_free(c);
        return NULL;
    }
    return c;
}

/* Precomputes the RFC 2104 inner and outer states of hash i. */
static tsr_err hmac_precompute(tsr__ckey *ck, int i, tsr_error *err)
{
    unsigned char k0[128] = {0};
    unsigned char ipad[128];
    unsigned char opad[128];
    tsr_err rc = TSR_OK;
    const EVP_MD *md = ck->md[i];
    size_t blen = (size_t)EVP_MD_get_block_size(md);
    if (blen > sizeof k0) {
        return tsr__fail(err, TSR_ERR_CRYPTO, "unexpected block size");
    }
    if (ck->secret_len > blen) {
        /* RFC 2104: keys longer than the block are hashed first. */
        unsigned int kl = 0;
        if (EVP_Digest(ck->secret, ck->secret_len, k0, &kl, md, NULL) != 1) {
            rc = tsr__fail(err, TSR_ERR_CRYPTO, "hashing the HMAC key failed");
            goto out;
        }
    } else if (ck->secret_len > 0) {
        memcpy(k0, ck->secret, ck->secret_len);
    }
    for (size_t j = 0; j < blen; j++) {
        ipad[j] = (unsigned char)(k0[j] ^ 0x36);
        opad[j] = (unsigned char)(k0[j] ^ 0x5c);
    }
    ck->hin[i] = hmac_half(md, ipad, blen);
    ck->hout[i] = hmac_half(md, opad, blen);
    if (ck->hin[i] == NULL || ck->hout[i] == NULL) {
        rc = tsr__fail(err, TSR_ERR_NOMEM, "HMAC state");
    }
out:
    tsr__wipe(k0, sizeof k0);
    tsr__wipe(ipad, sizeof ipad);
    tsr__wipe(opad, sizeof opad);
    return rc;
}

tsr_err tsr__ck_hmac(const unsigned char *secret, size_t len, tsr__ckey **out, tsr_error *err)
{
    tsr_err rc;
    if (out == NULL) {
        return tsr__fail(err, TSR_ERR_INVALID_ARGUMENT, "no output");
    }
    *out = NULL;
    if (secret == NULL && len > 0) {
        return tsr__fail(err, TSR_ERR_INVALID_ARGUMENT, "no secret");
    }
    tsr__ckey *ck = ck_new(TSR_KTY_OCT, TSR__CRV_NONE);
    if (ck == NULL) {
        return tsr__fail(err, TSR_ERR_NOMEM, "key");
    }
    ck->secret = tsr__malloc(len);
    if (ck->secret == NULL) {
        rc = tsr__fail(err, TSR_ERR_NOMEM, "key");
        goto out;
    }
    if (len > 0) {
        memcpy(ck->secret, secret, len);
    }
    ck->secret_len = len;
    rc = fetch_mds(ck, err);
    for (int i = 0; i < NHASH && rc == TSR_OK; i++) {
        rc = hmac_precompute(ck, i, err);
    }
out:
    if (rc != TSR_OK) {
        tsr__ck_free(ck);
        return rc;
    }
    *out = ck;
    return TSR_OK;
}

/* HMAC of msg with the key's precomputed states for hash i into tag. */
static bool hmac_compute(const tsr__ckey *ck, int i, EVP_MD_CTX *work, const unsigned char *msg,
                         size_t len, unsigned char *tag, unsigned int *tag_len)
{
    unsigned char inner[MAX_HASH];
    unsigned int ilen = 0;
    bool ok = EVP_MD_CTX_copy_ex(work, ck->hin[i]) == 1 &&
              EVP_DigestUpdate(work, msg, len) == 1 &&
              EVP_DigestFinal_ex(work, inner, &ilen) == 1 &&
              EVP_MD_CTX_copy_ex(work, ck->hout[i]) == 1 &&
              EVP_DigestUpdate(work, inner, ilen) == 1 &&
              EVP_DigestFinal_ex(work, tag, tag_len) == 1;
    return ok;
}

/* ------------------------------------------------------------ RSA */

/* Converts a big-endian slice to a BIGNUM (NULL on failure). */
static BIGNUM *bn_from(tsr__bytes b)
{
    return BN_bin2bn(b.ptr, (int)b.len, NULL);
}

/* Pushes b as BN parameter `name`; the BIGNUM is added to bns for freeing. */
static bool push_bn(OSSL_PARAM_BLD *bld, const char *name, tsr__bytes b, BIGNUM **slot)
{
    *slot = bn_from(b);
    return *slot != NULL && OSSL_PARAM_BLD_push_BN(bld, name, *slot) == 1;
}

/* Builds an EVP_PKEY of `type` from the params in bld. */
static EVP_PKEY *pkey_from_bld(const char *type, OSSL_PARAM_BLD *bld, int selection)
{
    EVP_PKEY *pkey = NULL;
    OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(bld);
    EVP_PKEY_CTX *pc = EVP_PKEY_CTX_new_from_name(NULL, type, NULL);
    if (params != NULL && pc != NULL && EVP_PKEY_fromdata_init(pc) == 1) {
        if (EVP_PKEY_fromdata(pc, &pkey, selection, params) != 1) {
            pkey = NULL;
        }
    }
    EVP_PKEY_CTX_free(pc);
    OSSL_PARAM_free(params);
    return pkey;
}

/* Runs OpenSSL's key checks: public checks, and for a private key the
 * consistency of the private and public parts. */
static bool pkey_valid(EVP_PKEY *pkey, bool is_private, bool is_rsa)
{
    EVP_PKEY_CTX *pc = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
    bool ok = pc != NULL;
    if (ok && !is_rsa) {
        ok = EVP_PKEY_public_check(pc) == 1;
    }
    if (ok && is_private) {
        /* For RSA, the pairwise check is RSA_check_key: p and q prime,
         * n = pq, d and the CRT values consistent. For EC, d in range and
         * d*G equal to the public point. */
        ok = is_rsa ? EVP_PKEY_pairwise_check(pc) == 1 : EVP_PKEY_check(pc) == 1;
    }
    EVP_PKEY_CTX_free(pc);
    return ok;
}

/* Completes an RSA ckey around pkey: modulus length, digests. */
static tsr_err finish_rsa(tsr__ckey *ck, unsigned *bits, tsr_error *err)
{
    int b = EVP_PKEY_get_bits(ck->pkey);
    if (b <= 0) {
        return tsr__fail(err, TSR_ERR_KEY_INVALID, "RSA modulus");
    }
    ck->mod_len = ((size_t)b + 7) / 8;
    if (bits != NULL) {
        *bits = (unsigned)b;
    }
    return fetch_mds(ck, err);
}

/* Public-part sanity OpenSSL does not require on import: n odd and > 1,
 * e odd and > 1 (EVP_PKEY_public_check would also demand e > 2^16). */
static bool rsa_public_sane(const tsr__rsa_params *prm)
{
    if (prm->n.len == 0 || prm->e.len == 0 || prm->e.len > 8) {
        return false;
    }
    bool n_odd = (prm->n.ptr[prm->n.len - 1] & 1u) != 0;
    bool e_odd = (prm->e.ptr[prm->e.len - 1] & 1u) != 0;
    bool e_big = prm->e.len > 1 || prm->e.ptr[0] > 1;
    return n_odd && e_odd && e_big;
}

tsr_err tsr__ck_rsa(const tsr__rsa_params *prm, tsr__ckey **out, unsigned *bits, tsr_error *err)
{
    tsr_err rc = TSR_OK;
    BIGNUM *bn[8] = {NULL};
    OSSL_PARAM_BLD *bld = NULL;
    tsr__ckey *ck = NULL;
    if (out == NULL || prm == NULL) {
        return tsr__fail(err, TSR_ERR_INVALID_ARGUMENT, "no key parameters");
    }
    *out = NULL;
    if (bits != NULL) {
        *bits = 0;
    }
    if (!rsa_public_sane(prm)) {
        return tsr__fail(err, TSR_ERR_KEY_INVALID, "RSA n or e invalid");
    }
    bool priv = prm->d.len > 0;
    if (priv && (prm->p.len == 0 || prm->q.len == 0 || prm->dp.len == 0 || prm->dq.len == 0 ||
                 prm->qi.len == 0)) {
        return tsr__fail(err, TSR_ERR_KEY_INVALID, "RSA private key without CRT values");
    }
    ck = ck_new(TSR_KTY_RSA, TSR__CRV_NONE);
    bld = OSSL_PARAM_BLD_new();
    if (ck == NULL || bld == NULL) {
        rc = tsr__fail(err, TSR_ERR_NOMEM, "RSA key");
        goto out;
    }
    bool ok = push_bn(bld, OSSL_PKEY_PARAM_RSA_N, prm->n, &bn[0]) &&
              push_bn(bld, OSSL_PKEY_PARAM_RSA_E, prm->e, &bn[1]);
    if (ok && priv) {
        ok = push_bn(bld, OSSL_PKEY_PARAM_RSA_D, prm->d, &bn[2]) &&
             push_bn(bld, OSSL_PKEY_PARAM_RSA_FACTOR1, prm->p, &bn[3]) &&
             push_bn(bld, OSSL_PKEY_PARAM_RSA_FACTOR2, prm->q, &bn[4]) &&
             push_bn(bld, OSSL_PKEY_PARAM_RSA_EXPONENT1, prm->dp, &bn[5]) &&
             push_bn(bld, OSSL_PKEY_PARAM_RSA_EXPONENT2, prm->dq, &bn[6]) &&
             push_bn(bld, OSSL_PKEY_PARAM_RSA_COEFFICIENT1, prm->qi, &bn[7]);
    }
    if (!ok) {
        rc = tsr__fail(err, TSR_ERR_NOMEM, "RSA parameters");
        goto out;
    }
    ck->pkey = pkey_from_bld("RSA", bld, priv ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY);
    if (ck->pkey == NULL || !pkey_valid(ck->pkey, priv, true)) {
        rc = tsr__fail(err, TSR_ERR_KEY_INVALID, "RSA key is inconsistent");
        goto out;
    }
    ck->has_private = priv;
    rc = finish_rsa(ck, bits, err);
out:
    OSSL_PARAM_BLD_free(bld);
    for (int i = 0; i < 8; i++) {
        BN_clear_free(bn[i]);
    }
    if (rc != TSR_OK) {
        ERR_clear_error(); /* OpenSSL's reasons stay out of the caller's queue */
        tsr__ck_free(ck);
        if (bits != NULL) {
            *bits = 0;
        }
        return rc;
    }
    *out = ck;
    return TSR_OK;
}

/* ------------------------------------------------------------ EC */

static int curve_nid(tsr__curve c)
{
    switch (c) {
    case TSR__CRV_P256: return NID_X9_62_prime256v1;
    case TSR__CRV_P384: return NID_secp384r1;
    case TSR__CRV_P521: return NID_secp521r1;
    case TSR__CRV_ED25519:
    case TSR__CRV_NONE: return NID_undef;
    }
    return NID_undef;
}

/* Completes an EC ckey: the group order bytes (for the r/s range checks of
 * every verification) and the digests. */
static tsr_err finish_ec(tsr__ckey *ck, tsr_error *err)
{
    tsr_err rc = TSR_OK;
    ck->field_len = tsr__curve_field_len(ck->curve);
    EC_GROUP *g = EC_GROUP_new_by_curve_name_ex(NULL, NULL, curve_nid(ck->curve));
    if (g == NULL || BN_bn2binpad(EC_GROUP_get0_order(g), ck->order, (int)ck->field_len) < 0) {
        rc = tsr__fail(err, TSR_ERR_CRYPTO, "curve order");
        goto out;
    }
    rc = fetch_mds(ck, err);
out:
    EC_GROUP_free(g);
    return rc;
}

tsr_err tsr__ck_ec(tsr__curve crv, tsr__bytes x, tsr__bytes y, tsr__bytes d, tsr__ckey **out,
                   tsr_error *err)
{
    tsr_err rc = TSR_OK;
    unsigned char pub[1 + 2 * MAX_FIELD];
    BIGNUM *priv = NULL;
    OSSL_PARAM_BLD *bld = NULL;
    tsr__ckey *ck = NULL;
    if (out == NULL) {
        return tsr__fail(err, TSR_ERR_INVALID_ARGUMENT, "no output");
    }
    *out = NULL;
    const char *group = curve_group(crv);
    size_t fl = tsr__curve_field_len(crv);
    if (group == NULL) {
        return tsr__fail(err, TSR_ERR_UNSUPPORTED, "not an ECDSA curve");
    }
    if (x.len != fl || y.len != fl || (d.len != 0 && d.len != fl)) {
        return tsr__fail(err, TSR_ERR_KEY_INVALID, "EC coordinate length is not %zu bytes", fl);
    }
    pub[0] = 0x04; /* uncompressed point */
    memcpy(pub + 1, x.ptr, fl);
    memcpy(pub + 1 + fl, y.ptr, fl);
    ck = ck_new(TSR_KTY_EC, crv);
    bld = OSSL_PARAM_BLD_new();
    if (ck == NULL || bld == NULL) {
        rc = tsr__fail(err, TSR_ERR_NOMEM, "EC key");
        goto out;
    }
    bool ok = OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, group, 0) == 1 &&
              OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pub, 1 + 2 * fl) == 1;
    if (ok && d.len > 0) {
        ok = push_bn(bld, OSSL_PKEY_PARAM_PRIV_KEY, d, &priv);
    }
    if (!ok) {
        rc = tsr__fail(err, TSR_ERR_NOMEM, "EC parameters");
        goto out;
    }
    /* Import fails for a point not on the curve; the checks then also
     * reject coordinates >= p, and d out of range or not matching. */
    ck->pkey = pkey_from_bld("EC", bld, d.len > 0 ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY);
    if (ck->pkey == NULL || !pkey_valid(ck->pkey, d.len > 0, false)) {
        rc = tsr__fail(err, TSR_ERR_KEY_INVALID, "EC key: point not on the curve or d mismatch");
        goto out;
    }
    ck->has_private = d.len > 0;
    rc = finish_ec(ck, err);
out:
    OSSL_PARAM_BLD_free(bld);
    BN_clear_free(priv);
    if (rc != TSR_OK) {
        ERR_clear_error();
        tsr__ck_free(ck);
        return rc;
    }
    *out = ck;
    return TSR_OK;
}

/* ------------------------------------------------------------ Ed25519 */

tsr_err tsr__ck_ed25519(tsr__bytes x, tsr__bytes d, tsr__ckey **out, tsr_error *err)
{
    if (out == NULL) {
        return tsr__fail(err, TSR_ERR_INVALID_ARGUMENT, "no output");
    }
    *out = NULL;
    if (x.len != ED_PK_LEN || (d.len != 0 && d.len != ED_SEED_LEN)) {
        return tsr__fail(err, TSR_ERR_KEY_INVALID, "Ed25519 key length is not 32 bytes");
    }
    if (sodium_init() < 0) {
        return tsr__fail(err, TSR_ERR_CRYPTO, "libsodium init");
    }
    tsr__ckey *ck = ck_new(TSR_KTY_OKP, TSR__CRV_ED25519);
    if (ck == NULL) {
        return tsr__fail(err, TSR_ERR_NOMEM, "Ed25519 key");
    }
    memcpy(ck->ed_pk, x.ptr, ED_PK_LEN);
    if (d.len > 0) {
        unsigned char pk[ED_PK_LEN];
        if (crypto_sign_seed_keypair(pk, ck->ed_sk, d.ptr) != 0 ||
            sodium_memcmp(pk, x.ptr, ED_PK_LEN) != 0) {
            tsr__ck_free(ck);
            return tsr__fail(err, TSR_ERR_KEY_INVALID, "Ed25519 d does not give x");
        }
        ck->has_private = true;
    }
    *out = ck;
    return TSR_OK;
}

/* ------------------------------------------------------------ PEM */

/* Finds "-----BEGIN <label>-----" as the first non-blank content. */
static bool pem_is(const char *pem, size_t len, const char *label)
{
    size_t i = 0;
    while (i < len && (pem[i] == ' ' || pem[i] == '\t' || pem[i] == '\r' || pem[i] == '\n')) {
        i++;
    }
    char head[64];
    int n = snprintf(head, sizeof head, "-----BEGIN %s-----", label);
    return n > 0 && len - i >= (size_t)n && memcmp(pem + i, head, (size_t)n) == 0;
}

/* Whether what remains in a memory BIO is only blank characters. */
static bool only_blanks_left(BIO *bio)
{
    char *rest = NULL;
    long n = BIO_get_mem_data(bio, &rest);
    for (long i = 0; i < n; i++) {
        char c = rest[i];
        if (c != ' ' && c != '\t' && c != '\r' && c != '\n') {
            return false;
        }
    }
    return true;
}

/* Decodes exactly one PEM block named `label` into a DER EVP_PKEY. */
static EVP_PKEY *pem_decode(const char *pem, size_t len, bool priv)
{
    EVP_PKEY *pkey = NULL;
    unsigned char *der = NULL;
    long der_len = 0;
    char *name = NULL;
    char *header = NULL;
    BIO *bio = BIO_new_mem_buf(pem, (int)len);
    if (bio == NULL || PEM_read_bio(bio, &name, &header, &der, &der_len) != 1) {
        goto out;
    }
    const char *want = priv ? PEM_STRING_PKCS8INF : PEM_STRING_PUBLIC;
    if (strcmp(name, want) != 0 || header[0] != '\0' || !only_blanks_left(bio)) {
        goto out; /* other kinds (RSA PRIVATE KEY, encrypted, ...), or a second block */
    }
    const unsigned char *p = der;
    if (priv) {
        PKCS8_PRIV_KEY_INFO *p8 = d2i_PKCS8_PRIV_KEY_INFO(NULL, &p, der_len);
        if (p8 != NULL && p == der + der_len) {
            pkey = EVP_PKCS82PKEY_ex(p8, NULL, NULL);
        }
        PKCS8_PRIV_KEY_INFO_free(p8);
    } else {
        pkey = d2i_PUBKEY_ex(NULL, &p, der_len, NULL, NULL);
        if (pkey != NULL && p != der + der_len) {
            EVP_PKEY_free(pkey);
            pkey = NULL;
        }
    }
out:
    if (der != NULL) {
        OPENSSL_clear_free(der, (size_t)der_len);
    }
    OPENSSL_free(name);
    OPENSSL_free(header);
    BIO_free(bio);
    return pkey;
}

/* The tessera curve of an EC EVP_PKEY (NONE if unsupported). */
static tsr__curve pkey_curve(const EVP_PKEY *pkey)
{
    char group[32];
    size_t glen = 0;
    if (EVP_PKEY_get_group_name(pkey, group, sizeof group, &glen) != 1) {
        return TSR__CRV_NONE;
    }
    int nid = OBJ_txt2nid(group);
    if (nid == NID_X9_62_prime256v1) {
        return TSR__CRV_P256;
    }
    if (nid == NID_secp384r1) {
        return TSR__CRV_P384;
    }
    if (nid == NID_secp521r1) {
        return TSR__CRV_P521;
    }
    return TSR__CRV_NONE;
}

/* Moves an Ed25519 EVP_PKEY's raw material into ck (pkey not kept). */
static tsr_err ed_from_pkey(tsr__ckey *ck, EVP_PKEY *pkey, bool priv, tsr_error *err)
{
    unsigned char seed[ED_SEED_LEN];
    size_t len = ED_PK_LEN;
    tsr_err rc = TSR_OK;
    if (sodium_init() < 0) {
        return tsr__fail(err, TSR_ERR_CRYPTO, "libsodium init");
    }
    if (EVP_PKEY_get_raw_public_key(pkey, ck->ed_pk, &len) != 1 || len != ED_PK_LEN) {
        return tsr__fail(err, TSR_ERR_KEY_INVALID, "Ed25519 public key");
    }
    if (priv) {
        unsigned char pk[ED_PK_LEN];
        len = ED_SEED_LEN;
        if (EVP_PKEY_get_raw_private_key(pkey, seed, &len) != 1 || len != ED_SEED_LEN ||
            crypto_sign_seed_keypair(pk, ck->ed_sk, seed) != 0 ||
            sodium_memcmp(pk, ck->ed_pk, ED_PK_LEN) != 0) {
            rc = tsr__fail(err, TSR_ERR_KEY_INVALID, "Ed25519 private key");
        }
        ck->has_private = rc == TSR_OK;
    }
    tsr__wipe(seed, sizeof seed);
    return rc;
}

/* Classifies pkey and completes ck around it (takes pkey). */
static tsr_err ck_adopt(tsr__ckey *ck, EVP_PKEY *pkey, bool priv, unsigned *bits,
                        tsr_error *err)
{
    if (EVP_PKEY_is_a(pkey, "ED25519")) {
        ck->kty = TSR_KTY_OKP;
        ck->curve = TSR__CRV_ED25519;
        tsr_err rc = ed_from_pkey(ck, pkey, priv, err);
        EVP_PKEY_free(pkey);
        return rc;
    }
    ck->pkey = pkey;
    if (EVP_PKEY_is_a(pkey, "RSA")) {
        ck->kty = TSR_KTY_RSA;
        if (!pkey_valid(pkey, priv, true)) {
            return tsr__fail(err, TSR_ERR_KEY_INVALID, "RSA key is inconsistent");
        }
        ck->has_private = priv;
        return finish_rsa(ck, bits, err);
    }
    if (EVP_PKEY_is_a(pkey, "EC")) {
        ck->kty = TSR_KTY_EC;
        ck->curve = pkey_curve(pkey);
        if (ck->curve == TSR__CRV_NONE) {
            return tsr__fail(err, TSR_ERR_UNSUPPORTED, "EC curve not supported");
        }
        if (!pkey_valid(pkey, priv, false)) {
            return tsr__fail(err, TSR_ERR_KEY_INVALID, "EC key is invalid");
        }
        ck->has_private = priv;
        return finish_ec(ck, err);
    }
    return tsr__fail(err, TSR_ERR_UNSUPPORTED, "PEM key type not supported");
}

tsr_err tsr__ck_pem(const char *pem, size_t len, tsr__ckey **out, tsr_kty *kty,
                    tsr__curve *crv, unsigned *bits, bool *is_private, tsr_error *err)
{
    if (out == NULL || kty == NULL || crv == NULL || bits == NULL || is_private == NULL) {
        return tsr__fail(err, TSR_ERR_INVALID_ARGUMENT, "no output");
    }
    *out = NULL;
    *kty = (tsr_kty)0;
    *crv = TSR__CRV_NONE;
    *bits = 0;
    *is_private = false;
    if (pem == NULL || len > (size_t)TSR_KEY_JSON_MAX) {
        return tsr__fail(err, pem == NULL ? TSR_ERR_INVALID_ARGUMENT : TSR_ERR_TOO_LARGE,
                         "PEM input");
    }
    bool priv = pem_is(pem, len, PEM_STRING_PKCS8INF);
    if (!priv && !pem_is(pem, len, PEM_STRING_PUBLIC)) {
        return tsr__fail(err, TSR_ERR_MALFORMED, "not a PUBLIC KEY or PRIVATE KEY PEM block");
    }
    EVP_PKEY *pkey = pem_decode(pem, len, priv);
    if (pkey == NULL) {
        ERR_clear_error();
        return tsr__fail(err, TSR_ERR_MALFORMED, "PEM key could not be decoded");
    }
    tsr__ckey *ck = ck_new((tsr_kty)0, TSR__CRV_NONE);
    if (ck == NULL) {
        EVP_PKEY_free(pkey);
        return tsr__fail(err, TSR_ERR_NOMEM, "key");
    }
    unsigned b = 0;
    tsr_err rc = ck_adopt(ck, pkey, priv, &b, err);
    if (rc != TSR_OK) {
        ERR_clear_error();
        tsr__ck_free(ck);
        return rc;
    }
    *out = ck;
    *kty = ck->kty;
    *crv = ck->curve;
    *bits = b;
    *is_private = priv;
    return TSR_OK;
}

/* ------------------------------------------------------------ generation */

tsr_err tsr__ck_generate(tsr_alg alg, unsigned bits, tsr__ckey **out, unsigned *out_bits,
                         tsr_error *err)
{
    const tsr__alg_info *ai = tsr__alg_get(alg);
    tsr_err rc = TSR_OK;
    if (out == NULL || ai == NULL) {
        return tsr__fail(err, TSR_ERR_INVALID_ARGUMENT, "no output or algorithm");
    }
    *out = NULL;
    if (out_bits != NULL) {
        *out_bits = 0;
    }
    if (ai->family == TSR__FAM_HMAC) {
        unsigned char k[MAX_HASH];
        rc = tsr__random(k, ai->hash_len);
        if (rc == TSR_OK) {
            rc = tsr__ck_hmac(k, ai->hash_len, out, err);
        } else {
            tsr__fail(err, rc, "random");
        }
        tsr__wipe(k, sizeof k);
        if (rc == TSR_OK && out_bits != NULL) {
            *out_bits = (unsigned)(ai->hash_len * 8);
        }
        return rc;
    }
    if (ai->family == TSR__FAM_EDDSA) {
        unsigned char pk[ED_PK_LEN];
        unsigned char sk[crypto_sign_SECRETKEYBYTES];
        unsigned char seed[ED_SEED_LEN];
        if (sodium_init() < 0 || RAND_bytes_ex(NULL, seed, sizeof seed, 0) != 1 ||
            crypto_sign_seed_keypair(pk, sk, seed) != 0) {
            rc = tsr__fail(err, TSR_ERR_CRYPTO, "Ed25519 key generation");
        } else {
            rc = tsr__ck_ed25519((tsr__bytes){pk, sizeof pk}, (tsr__bytes){seed, sizeof seed},
                                 out, err);
        }
        tsr__wipe(sk, sizeof sk);
        tsr__wipe(seed, sizeof seed);
        return rc;
    }
    EVP_PKEY *pkey = NULL;
    if (ai->family == TSR__FAM_ECDSA) {
        pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", curve_group(ai->curve));
    } else {
        pkey = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)bits);
    }
    if (pkey == NULL) {
        return tsr__fail(err, TSR_ERR_CRYPTO, "key generation failed");
    }
    tsr__ckey *ck = ck_new((tsr_kty)0, TSR__CRV_NONE);
    if (ck == NULL) {
        EVP_PKEY_free(pkey);
        return tsr__fail(err, TSR_ERR_NOMEM, "key");
    }
    rc = ck_adopt(ck, pkey, true, out_bits, err);
    if (rc != TSR_OK) {
        tsr__ck_free(ck);
        return rc;
    }
    *out = ck;
    return TSR_OK;
}

/* ------------------------------------------------------------ export */

void tsr__ck_export_free(tsr__ck_export *ex)
{
    if (ex == NULL) {
        return;
    }
    for (size_t i = 0; i < 8; i++) {
        tsr__free_secret(ex->buf[i], ex->len[i]);
        ex->buf[i] = NULL;
        ex->len[i] = 0;
    }
    ex->count = 0;
}

/* Appends a copy of b[0..n) to ex. */
static bool ex_push(tsr__ck_export *ex, const unsigned char *b, size_t n)
{
    unsigned char *copy = tsr__malloc(n);
    if (copy == NULL || ex->count >= 8) {
        tsr__free(copy);
        return false;
    }
    if (n > 0) {
        memcpy(copy, b, n);
    }
    ex->buf[ex->count] = copy;
    ex->len[ex->count] = n;
    ex->count++;
    return true;
}

/* Appends BN parameter `name` of pkey, minimal (pad 0) or padded to pad. */
static bool ex_push_bn(tsr__ck_export *ex, const EVP_PKEY *pkey, const char *name, size_t pad)
{
    BIGNUM *bn = NULL;
    if (EVP_PKEY_get_bn_param(pkey, name, &bn) != 1) {
        return false;
    }
    size_t n = pad ? pad : (size_t)BN_num_bytes(bn);
    unsigned char *buf = tsr__malloc(n);
    bool ok = buf != NULL && ex->count < 8 && BN_bn2binpad(bn, buf, (int)n) >= 0;
    BN_clear_free(bn);
    if (!ok) {
        tsr__free_secret(buf, n);
        return false;
    }
    ex->buf[ex->count] = buf;
    ex->len[ex->count] = n;
    ex->count++;
    return true;
}

static bool export_rsa(const tsr__ckey *ck, bool priv, tsr__ck_export *ex)
{
    static const char *const names[8] = {
        OSSL_PKEY_PARAM_RSA_N,         OSSL_PKEY_PARAM_RSA_E,
        OSSL_PKEY_PARAM_RSA_D,         OSSL_PKEY_PARAM_RSA_FACTOR1,
        OSSL_PKEY_PARAM_RSA_FACTOR2,   OSSL_PKEY_PARAM_RSA_EXPONENT1,
        OSSL_PKEY_PARAM_RSA_EXPONENT2, OSSL_PKEY_PARAM_RSA_COEFFICIENT1,
    };
    size_t n = priv ? 8 : 2;
    for (size_t i = 0; i < n; i++) {
        if (!ex_push_bn(ex, ck->pkey, names[i], 0)) {
            return false;
        }
    }
    return true;
}

static bool export_ec(const tsr__ckey *ck, bool priv, tsr__ck_export *ex)
{
    unsigned char pub[1 + 2 * MAX_FIELD];
    size_t len = 0;
    size_t fl = ck->field_len;
    if (EVP_PKEY_get_octet_string_param(ck->pkey, OSSL_PKEY_PARAM_PUB_KEY, pub, sizeof pub,
                                        &len) != 1 ||
        len != 1 + 2 * fl || pub[0] != 0x04) {
        return false;
    }
    if (!ex_push(ex, pub + 1, fl) || !ex_push(ex, pub + 1 + fl, fl)) {
        return false;
    }
    return !priv || ex_push_bn(ex, ck->pkey, OSSL_PKEY_PARAM_PRIV_KEY, fl);
}

tsr_err tsr__ck_export_params(const tsr__ckey *ck, tsr_kty kty, bool include_private,
                              tsr__ck_export *out, tsr_error *err)
{
    if (out == NULL || ck == NULL) {
        return tsr__fail(err, TSR_ERR_INVALID_ARGUMENT, "no key or output");
    }
    memset(out, 0, sizeof *out);
    if (kty != ck->kty) {
        return tsr__fail(err, TSR_ERR_INVALID_ARGUMENT, "key type mismatch");
    }
    bool priv = include_private && ck->has_private;
    bool ok = false;
    switch (ck->kty) {
    case TSR_KTY_OCT: ok = ex_push(out, ck->secret, ck->secret_len); break;
    case TSR_KTY_RSA: ok = export_rsa(ck, priv, out); break;
    case TSR_KTY_EC: ok = export_ec(ck, priv, out); break;
    case TSR_KTY_OKP:
        ok = ex_push(out, ck->ed_pk, ED_PK_LEN) && (!priv || ex_push(out, ck->ed_sk, ED_SEED_LEN));
        break;
    }
    if (!ok) {
        tsr__ck_export_free(out);
        return tsr__fail(err, TSR_ERR_NOMEM, "exporting key parameters");
    }
    return TSR_OK;
}

/* ------------------------------------------------------------ scratch */

tsr_err tsr__scratch_new(tsr__scratch **out)
{
    if (out == NULL) {
        return TSR_ERR_INVALID_ARGUMENT;
    }
    *out = NULL;
    tsr__scratch *s = tsr__calloc(1, sizeof *s);
    if (s == NULL) {
        return TSR_ERR_NOMEM;
    }
    s->md = EVP_MD_CTX_new();
    if (s->md == NULL) {
        tsr__free(s);
        return TSR_ERR_NOMEM;
    }
    *out = s;
    return TSR_OK;
}

void tsr__scratch_free(tsr__scratch *s)
{
    if (s == NULL) {
        return;
    }
    EVP_MD_CTX_free(s->md);
    for (int i = 0; i < PCTX_CACHE; i++) {
        EVP_PKEY_CTX_free(s->cache[i].ctx);
    }
    tsr__free(s);
}

/* A new EVP_PKEY_CTX for ck, initialised for verify or sign with the
 * padding, digest, MGF1 digest and salt length that `alg` demands. */
static EVP_PKEY_CTX *pctx_new(const tsr__ckey *ck, const tsr__alg_info *ai, bool sign)
{
    EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_from_pkey(NULL, ck->pkey, NULL);
    if (c == NULL) {
        return NULL;
    }
    bool ok = (sign ? EVP_PKEY_sign_init(c) : EVP_PKEY_verify_init(c)) == 1;
    const EVP_MD *md = ck->md[hash_index(ai->hash)];
    if (ok && ai->family == TSR__FAM_RSA_PKCS1) {
        ok = EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_PADDING) > 0 &&
             EVP_PKEY_CTX_set_signature_md(c, md) > 0;
    } else if (ok && ai->family == TSR__FAM_RSA_PSS) {
        /* RFC 7518 3.5: MGF1 with the same hash, salt exactly the hash
         * length. An explicit salt length makes OpenSSL check it exactly. */
        ok = EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_PSS_PADDING) > 0 &&
             EVP_PKEY_CTX_set_signature_md(c, md) > 0 &&
             EVP_PKEY_CTX_set_rsa_mgf1_md(c, md) > 0 &&
             EVP_PKEY_CTX_set_rsa_pss_saltlen(c, (int)ai->hash_len) > 0;
    }
    if (!ok) {
        EVP_PKEY_CTX_free(c);
        return NULL;
    }
    return c;
}

/* The scratch's cached verify context for (ck, alg), creating it on a miss. */
static EVP_PKEY_CTX *pctx_get(tsr__scratch *s, const tsr__ckey *ck, tsr_alg alg,
                              const tsr__alg_info *ai)
{
    for (int i = 0; i < PCTX_CACHE; i++) {
        if (s->cache[i].ctx != NULL && s->cache[i].pkey == ck->pkey && s->cache[i].alg == alg) {
            return s->cache[i].ctx;
        }
    }
    EVP_PKEY_CTX *c = pctx_new(ck, ai, false);
    if (c == NULL) {
        return NULL;
    }
    pctx_entry *e = &s->cache[s->next];
    s->next = (s->next + 1) % PCTX_CACHE;
    EVP_PKEY_CTX_free(e->ctx);
    e->pkey = ck->pkey;
    e->alg = alg;
    e->ctx = c;
    return c;
}

/* ------------------------------------------------------------ verify */

/* Whether the big-endian v[0..n) is zero or >= order[0..n). Not constant
 * time: r and s are public. */
static bool scalar_out_of_range(const unsigned char *v, const unsigned char *order, size_t n)
{
    bool zero = true;
    for (size_t i = 0; i < n; i++) {
        if (v[i] != 0) {
            zero = false;
            break;
        }
    }
    return zero || memcmp(v, order, n) >= 0;
}

/* Writes the DER INTEGER of the positive big-endian v[0..n); returns bytes. */
static size_t der_int(unsigned char *out, const unsigned char *v, size_t n)
{
    while (n > 1 && v[0] == 0) {
        v++;
        n--;
    }
    size_t pad = (v[0] & 0x80u) ? 1 : 0;
    out[0] = 0x02;
    out[1] = (unsigned char)(n + pad);
    out[2] = 0x00;
    memcpy(out + 2 + pad, v, n);
    return 2 + pad + n;
}

/* Encodes r||s (each n bytes, n <= 66) as a DER ECDSA-Sig-Value. */
static size_t ecdsa_der(unsigned char *out, const unsigned char *rs, size_t n)
{
    unsigned char body[2 * (3 + MAX_FIELD)];
    size_t blen = der_int(body, rs, n);
    blen += der_int(body + blen, rs + n, n);
    size_t h = 0;
    out[h++] = 0x30;
    if (blen >= 0x80) {
        out[h++] = 0x81; /* at most 138 bytes: one length octet */
    }
    out[h++] = (unsigned char)blen;
    memcpy(out + h, body, blen);
    return h + blen;
}

/* Hashes msg with the key's prefetched digest for ai into dgst. */
static bool digest(EVP_MD_CTX *c, const tsr__ckey *ck, const tsr__alg_info *ai,
                   const unsigned char *msg, size_t len, unsigned char *dgst, unsigned int *dlen)
{
    return EVP_DigestInit_ex(c, ck->md[hash_index(ai->hash)], NULL) == 1 &&
           EVP_DigestUpdate(c, msg, len) == 1 && EVP_DigestFinal_ex(c, dgst, dlen) == 1;
}

static tsr_err verify_hmac(const tsr__ckey *ck, const tsr__alg_info *ai, const unsigned char *msg,
                           size_t len, const unsigned char *sig, size_t sig_len, EVP_MD_CTX *work)
{
    unsigned char tag[MAX_HASH];
    unsigned int tlen = 0;
    if (sig_len != ai->hash_len) {
        return TSR_ERR_BAD_SIGNATURE;
    }
    if (!hmac_compute(ck, hash_index(ai->hash), work, msg, len, tag, &tlen) ||
        tlen != ai->hash_len) {
        return TSR_ERR_CRYPTO;
    }
    int diff = CRYPTO_memcmp(tag, sig, sig_len);
    tsr__wipe(tag, sizeof tag);
    return diff == 0 ? TSR_OK : TSR_ERR_BAD_SIGNATURE;
}

/* RSA and ECDSA: digest, then EVP_PKEY_verify on the digest. */
static tsr_err verify_pkey(const tsr__ckey *ck, tsr_alg alg, const tsr__alg_info *ai,
                           const unsigned char *msg, size_t len, const unsigned char *sig,
                           size_t sig_len, tsr__scratch *s)
{
    unsigned char der[8 + 2 * (3 + MAX_FIELD)];
    unsigned char dgst[MAX_HASH];
    unsigned int dlen = 0;
    if (ai->family == TSR__FAM_ECDSA) {
        size_t n = ck->field_len;
        if (sig_len != 2 * n || scalar_out_of_range(sig, ck->order, n) ||
            scalar_out_of_range(sig + n, ck->order, n)) {
            return TSR_ERR_BAD_SIGNATURE;
        }
        sig_len = ecdsa_der(der, sig, n);
        sig = der;
    } else if (sig_len != ck->mod_len) {
        return TSR_ERR_BAD_SIGNATURE;
    }
    if (!digest(s->md, ck, ai, msg, len, dgst, &dlen)) {
        return TSR_ERR_CRYPTO;
    }
    EVP_PKEY_CTX *c = pctx_get(s, ck, alg, ai);
    if (c == NULL) {
        return TSR_ERR_NOMEM;
    }
    int r = EVP_PKEY_verify(c, sig, sig_len, dgst, dlen);
    /* A rejected signature leaves reasons on OpenSSL's thread-local error
     * queue; drop them so they do not accumulate or leak into later calls. */
    if (r != 1) {
        ERR_clear_error();
    }
    return r == 1 ? TSR_OK : TSR_ERR_BAD_SIGNATURE;
}

static tsr_err verify_ed25519(const tsr__ckey *ck, const unsigned char *msg, size_t len,
                              const unsigned char *sig, size_t sig_len)
{
    if (sig_len != crypto_sign_BYTES) {
        return TSR_ERR_BAD_SIGNATURE;
    }
    return crypto_sign_verify_detached(sig, msg, len, ck->ed_pk) == 0 ? TSR_OK
                                                                      : TSR_ERR_BAD_SIGNATURE;
}

/* The family/key-type pairing the caller was meant to check already; it is
 * re-checked here because a mismatch would read the wrong fields. */
static bool family_fits(const tsr__ckey *ck, const tsr__alg_info *ai)
{
    switch (ai->family) {
    case TSR__FAM_HMAC: return ck->kty == TSR_KTY_OCT;
    case TSR__FAM_RSA_PKCS1:
    case TSR__FAM_RSA_PSS: return ck->kty == TSR_KTY_RSA;
    case TSR__FAM_ECDSA: return ck->kty == TSR_KTY_EC && ck->curve == ai->curve;
    case TSR__FAM_EDDSA: return ck->kty == TSR_KTY_OKP;
    case TSR__FAM_NONE: return false;
    }
    return false;
}

tsr_err tsr__crypto_verify(const tsr_key *key, tsr_alg alg, const unsigned char *msg,
                           size_t msg_len, const unsigned char *sig, size_t sig_len,
                           tsr__scratch *scratch)
{
    const tsr__alg_info *ai = tsr__alg_get(alg);
    if (key == NULL || key->ck == NULL || ai == NULL || (msg == NULL && msg_len > 0) ||
        (sig == NULL && sig_len > 0)) {
        return TSR_ERR_INVALID_ARGUMENT;
    }
    const tsr__ckey *ck = key->ck;
    if (!family_fits(ck, ai)) {
        return TSR_ERR_KEY_MISMATCH;
    }
    if (ai->family == TSR__FAM_EDDSA) {
        return verify_ed25519(ck, msg, msg_len, sig, sig_len);
    }
    tsr__scratch *tmp = NULL;
    if (scratch == NULL) {
        if (tsr__scratch_new(&tmp) != TSR_OK) {
            return TSR_ERR_NOMEM;
        }
        scratch = tmp;
    }
    tsr_err rc;
    if (ai->family == TSR__FAM_HMAC) {
        rc = verify_hmac(ck, ai, msg, msg_len, sig, sig_len, scratch->md);
    } else {
        rc = verify_pkey(ck, alg, ai, msg, msg_len, sig, sig_len, scratch);
    }
    tsr__scratch_free(tmp);
    return rc;
}

/* ------------------------------------------------------------ sign */

size_t tsr__crypto_sig_max(const tsr_key *key, tsr_alg alg)
{
    const tsr__alg_info *ai = tsr__alg_get(alg);
    if (key == NULL || key->ck == NULL || ai == NULL) {
        return 0;
    }
    if (ai->family == TSR__FAM_RSA_PKCS1 || ai->family == TSR__FAM_RSA_PSS) {
        return key->ck->mod_len;
    }
    return ai->sig_len;
}

/* Converts a DER ECDSA signature to r||s of n bytes each. */
static bool der_to_raw(const unsigned char *der, size_t len, unsigned char *out, size_t n)
{
    const unsigned char *p = der;
    ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)len);
    bool ok = es != NULL && BN_bn2binpad(ECDSA_SIG_get0_r(es), out, (int)n) >= 0 &&
              BN_bn2binpad(ECDSA_SIG_get0_s(es), out + n, (int)n) >= 0;
    ECDSA_SIG_free(es);
    return ok;
}

static tsr_err sign_pkey(const tsr__ckey *ck, const tsr__alg_info *ai, const unsigned char *msg,
                         size_t len, unsigned char *sig, size_t *sig_len, tsr_error *err)
{
    unsigned char dgst[MAX_HASH];
    unsigned char der[8 + 2 * (3 + MAX_FIELD)];
    unsigned int dlen = 0;
    tsr_err rc = TSR_OK;
    EVP_MD_CTX *mc = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pc = pctx_new(ck, ai, true);
    if (mc == NULL || pc == NULL) {
        rc = tsr__fail(err, TSR_ERR_NOMEM, "signing context");
        goto out;
    }
    if (!digest(mc, ck, ai, msg, len, dgst, &dlen)) {
        rc = tsr__fail(err, TSR_ERR_CRYPTO, "digest failed");
        goto out;
    }
    bool ec = ai->family == TSR__FAM_ECDSA;
    size_t olen = ec ? sizeof der : *sig_len;
    if (EVP_PKEY_sign(pc, ec ? der : sig, &olen, dgst, dlen) != 1) {
        rc = tsr__fail(err, TSR_ERR_CRYPTO, "signing failed");
        goto out;
    }
    if (ec) {
        if (!der_to_raw(der, olen, sig, ck->field_len)) {
            rc = tsr__fail(err, TSR_ERR_CRYPTO, "ECDSA signature conversion");
            goto out;
        }
        olen = 2 * ck->field_len;
    }
    *sig_len = olen;
out:
    ERR_clear_error();
    EVP_PKEY_CTX_free(pc);
    EVP_MD_CTX_free(mc);
    return rc;
}

tsr_err tsr__crypto_sign(const tsr_key *key, tsr_alg alg, const unsigned char *msg,
                         size_t msg_len, unsigned char *sig, size_t *sig_len, tsr_error *err)
{
    const tsr__alg_info *ai = tsr__alg_get(alg);
    if (key == NULL || key->ck == NULL || ai == NULL || sig == NULL || sig_len == NULL ||
        (msg == NULL && msg_len > 0)) {
        return tsr__fail(err, TSR_ERR_INVALID_ARGUMENT, "missing argument");
    }
    const tsr__ckey *ck = key->ck;
    size_t cap = *sig_len;
    *sig_len = 0;
    if (!family_fits(ck, ai)) {
        return tsr__fail(err, TSR_ERR_KEY_MISMATCH, "key cannot sign with %s", tsr_alg_name(alg));
    }
    if (cap < tsr__crypto_sig_max(key, alg)) {
        return tsr__fail(err, TSR_ERR_TOO_LARGE, "signature buffer too small");
    }
    if (ck->kty != TSR_KTY_OCT && !ck->has_private) {
        return tsr__fail(err, TSR_ERR_KEY_MISMATCH, "public key cannot sign");
    }
    if (ai->family == TSR__FAM_HMAC) {
        unsigned int tlen = 0;
        EVP_MD_CTX *work = EVP_MD_CTX_new();
        bool ok = work != NULL &&
                  hmac_compute(ck, hash_index(ai->hash), work, msg, msg_len, sig, &tlen);
        EVP_MD_CTX_free(work);
        if (!ok) {
            return tsr__fail(err, TSR_ERR_CRYPTO, "HMAC failed");
        }
        *sig_len = tlen;
        return TSR_OK;
    }
    if (ai->family == TSR__FAM_EDDSA) {
        unsigned long long slen = 0;
        crypto_sign_detached(sig, &slen, msg, msg_len, ck->ed_sk);
        *sig_len = (size_t)slen;
        return TSR_OK;
    }
    size_t n = cap;
    tsr_err rc = sign_pkey(ck, ai, msg, msg_len, sig, &n, err);
    if (rc == TSR_OK) {
        *sig_len = n;
    }
    return rc;
}

/* ------------------------------------------------------------ misc */

tsr_err tsr__random(unsigned char *out, size_t n)
{
    if (n == 0) {
        return TSR_OK;
    }
    if (out == NULL || n > (size_t)INT32_MAX) {
        return TSR_ERR_INVALID_ARGUMENT;
    }
    return RAND_bytes_ex(NULL, out, n, 0) == 1 ? TSR_OK : TSR_ERR_CRYPTO;
}

tsr_err tsr__sha256(const unsigned char *msg, size_t len, unsigned char out[32])
{
    size_t olen = 0;
    if (out == NULL || (msg == NULL && len > 0)) {
        return TSR_ERR_INVALID_ARGUMENT;
    }
    /* Cold path (thumbprints): an explicit one-shot fetch by name. */
    if (EVP_Q_digest(NULL, "SHA2-256", NULL, msg, len, out, &olen) != 1 || olen != 32) {
        return TSR_ERR_CRYPTO;
    }
    return TSR_OK;
}
