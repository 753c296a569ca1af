/*
 * floor_core.c: the "floor", the least work any JWS verifier must do: find
 * the two dots, base64url-decode the three segments, check one signature.
 * No JSON (unless the floor+jansson variant asks for a claims parse), no
 * policy, no key selection. It is written the fastest straightforward way
 * OpenSSL 3.0 allows, so that "tessera / floor" is an honest ratio:
 *
 *  - algorithms are fetched once (EVP_MAC_fetch, EVP_MD_fetch) and the
 *    EVP_PKEY is built once, at startup;
 *  - HMAC: a keyed EVP_MAC_CTX template, either duplicated per token (dup)
 *    or one context re-initialised with the same key (reinit: OpenSSL 3.0's
 *    HMAC keeps the ipad/opad states and restarts from them);
 *  - RSA, PSS, ECDSA: either a reused EVP_MD_CTX with EVP_DigestVerifyInit_ex
 *    per token (digestverify), or a reused digest context plus one
 *    EVP_PKEY_CTX initialised once for EVP_PKEY_verify (pkeyverify), which
 *    skips the per-token creation of a key context;
 *  - ECDSA raw r||s is turned into DER through ECDSA_SIG, as OpenSSL wants;
 *  - Ed25519 through EVP_DigestVerify (one-shot), the only way 3.0 offers.
 *
 * The default mode per family is the one measured fastest on the target
 * machine (see bench/RESULTS.md); the others stay selectable with --mode.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/rsa.h>

#include "bench.h"

struct floor_verifier {
    const bench_alg *alg;
    const bench_key *key;
    floor_mode mode;
    bool parse_claims;
    unsigned char *buf; /* decoded header, payload and signature */
    size_t cap;
    EVP_MAC *mac;
    EVP_MAC_CTX *tmpl;   /* HMAC: keyed once */
    EVP_MAC_CTX *work;   /* HMAC reinit mode */
    EVP_MD *md;          /* prefetched digest */
    EVP_MD_CTX *mdctx;   /* reused for DigestVerify or Digest */
    EVP_PKEY_CTX *pctx;  /* pkeyverify: initialised once */
    unsigned char ipad[128], opad[128]; /* manual HMAC: key ^ 0x36, key ^ 0x5c */
    size_t block;
};

int floor_mode_parse(const char *s, floor_mode *out)
{
    static const char *const names[] = {"default", "dup", "reinit", "digestverify",
                                        "pkeyverify", "manual"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (strcmp(s, names[i]) == 0) {
            *out = (floor_mode)i;
            return 0;
        }
    }
    return -1;
}

/* The measured-fastest mode for a family (see RESULTS.md, "floor modes"). */
static floor_mode default_mode(bench_family fam)
{
    switch (fam) {
    case BENCH_HMAC: return FLOOR_MODE_REINIT;
    case BENCH_RSA_PKCS1:
    case BENCH_RSA_PSS:
    case BENCH_ECDSA: return FLOOR_MODE_PKEYVERIFY;
    case BENCH_EDDSA: return FLOOR_MODE_DIGESTVERIFY;
    }
    return FLOOR_MODE_DIGESTVERIFY;
}

/* RFC 2104: K' = K (hashed first if longer than a block), zero-padded to
 * the block size; the pads are K' XOR 0x36 and K' XOR 0x5c. */
static bool setup_hmac_manual(floor_verifier *f)
{
    unsigned char k[128];
    size_t klen = f->key->secret_len;

    f->md = EVP_MD_fetch(NULL, f->alg->md, NULL);
    f->mdctx = EVP_MD_CTX_new();
    if (f->md == NULL || f->mdctx == NULL) {
        return false;
    }
    f->block = (size_t)EVP_MD_get_block_size(f->md);
    memset(k, 0, sizeof(k));
    if (klen > f->block) {
        unsigned n = 0;
        if (EVP_Digest(f->key->secret, klen, k, &n, f->md, NULL) != 1) {
            return false;
        }
    } else {
        memcpy(k, f->key->secret, klen);
    }
    for (size_t i = 0; i < f->block; i++) {
        f->ipad[i] = k[i] ^ 0x36;
        f->opad[i] = k[i] ^ 0x5c;
    }
    OPENSSL_cleanse(k, sizeof(k));
    return true;
}

static bool setup_hmac(floor_verifier *f)
{
    OSSL_PARAM params[2];
    char mdname[16]; /* OSSL_PARAM wants a mutable string */

    if (f->key->secret == NULL) {
        fprintf(stderr, "floor: %s needs an oct key\n", f->alg->name);
        return false;
    }
    if (f->mode == FLOOR_MODE_MANUAL) {
        return setup_hmac_manual(f);
    }
    snprintf(mdname, sizeof(mdname), "%s", f->alg->md);
    params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, mdname, 0);
    params[1] = OSSL_PARAM_construct_end();
    f->mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    f->tmpl = f->mac ? EVP_MAC_CTX_new(f->mac) : NULL;
    if (f->tmpl == NULL || EVP_MAC_init(f->tmpl, f->key->secret, f->key->secret_len, params) != 1) {
        return false;
    }
    if (f->mode == FLOOR_MODE_REINIT) {
        f->work = EVP_MAC_CTX_dup(f->tmpl);
        return f->work != NULL;
    }
    return f->mode == FLOOR_MODE_DUP;
}

/* RSA padding parameters on a signature key context. */
static bool set_rsa_padding(const floor_verifier *f, EVP_PKEY_CTX *pctx)
{
    if (f->alg->family != BENCH_RSA_PSS) {
        return f->alg->family != BENCH_RSA_PKCS1 ||
               EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) > 0;
    }
    return EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) > 0 &&
           EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) > 0 &&
           EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, f->md) > 0;
}

static bool setup_pk(floor_verifier *f)
{
    if (f->key->pkey == NULL) {
        fprintf(stderr, "floor: %s needs a public key\n", f->alg->name);
        return false;
    }
    f->mdctx = EVP_MD_CTX_new();
    if (f->mdctx == NULL) {
        return false;
    }
    if (f->alg->family == BENCH_EDDSA) {
        return f->mode == FLOOR_MODE_DIGESTVERIFY;
    }
    f->md = EVP_MD_fetch(NULL, f->alg->md, NULL);
    if (f->md == NULL) {
        return false;
    }
    if (f->mode == FLOOR_MODE_DIGESTVERIFY) {
        return true;
    }
    if (f->mode != FLOOR_MODE_PKEYVERIFY) {
        return false;
    }
    f->pctx = EVP_PKEY_CTX_new_from_pkey(NULL, f->key->pkey, NULL);
    return f->pctx != NULL && EVP_PKEY_verify_init(f->pctx) == 1 && set_rsa_padding(f, f->pctx) &&
           EVP_PKEY_CTX_set_signature_md(f->pctx, f->md) > 0;
}

floor_verifier *floor_new(const bench_alg *alg, const bench_key *key, floor_mode mode,
                          bool parse_claims)
{
    floor_verifier *f = calloc(1, sizeof(*f));
    bool ok = false;

    if (f == NULL) {
        return NULL;
    }
    f->alg = alg;
    f->key = key;
    f->mode = mode == FLOOR_MODE_DEFAULT ? default_mode(alg->family) : mode;
    f->parse_claims = parse_claims;
    f->cap = 4096;
    f->buf = malloc(f->cap);
    if (f->buf != NULL) {
        ok = alg->family == BENCH_HMAC ? setup_hmac(f) : setup_pk(f);
    }
    if (!ok) {
        fprintf(stderr, "floor: cannot set up %s (mode %d)\n", alg->name, (int)f->mode);
        floor_free(f);
        return NULL;
    }
    return f;
}

void floor_free(floor_verifier *f)
{
    if (f == NULL) {
        return;
    }
    EVP_MAC_CTX_free(f->work);
    EVP_MAC_CTX_free(f->tmpl);
    EVP_MAC_free(f->mac);
    EVP_PKEY_CTX_free(f->pctx);
    EVP_MD_CTX_free(f->mdctx);
    EVP_MD_free(f->md);
    OPENSSL_cleanse(f->ipad, sizeof(f->ipad));
    OPENSSL_cleanse(f->opad, sizeof(f->opad));
    free(f->buf);
    free(f);
}

static bool check_hmac(floor_verifier *f, const unsigned char *msg, size_t n,
                       const unsigned char *sig, size_t sig_len)
{
    unsigned char tag[EVP_MAX_MD_SIZE];
    size_t tag_len = 0;
    bool ok;

    if (f->mode == FLOOR_MODE_MANUAL) {
        /* Two hashes on one reused digest context: re-initialising a context
         * with the same digest allocates nothing, unlike EVP_MAC's state
         * copies; the price is hashing the two pad blocks every time. */
        unsigned char inner[EVP_MAX_MD_SIZE];
        unsigned ilen = 0, tlen = 0;
        ok = EVP_DigestInit_ex2(f->mdctx, f->md, NULL) == 1 &&
             EVP_DigestUpdate(f->mdctx, f->ipad, f->block) == 1 &&
             EVP_DigestUpdate(f->mdctx, msg, n) == 1 &&
             EVP_DigestFinal_ex(f->mdctx, inner, &ilen) == 1 &&
             EVP_DigestInit_ex2(f->mdctx, f->md, NULL) == 1 &&
             EVP_DigestUpdate(f->mdctx, f->opad, f->block) == 1 &&
             EVP_DigestUpdate(f->mdctx, inner, ilen) == 1 &&
             EVP_DigestFinal_ex(f->mdctx, tag, &tlen) == 1;
        tag_len = tlen;
    } else if (f->mode == FLOOR_MODE_DUP) {
        EVP_MAC_CTX *c = EVP_MAC_CTX_dup(f->tmpl);
        ok = c != NULL && EVP_MAC_update(c, msg, n) == 1 &&
             EVP_MAC_final(c, tag, &tag_len, sizeof(tag)) == 1;
        EVP_MAC_CTX_free(c);
    } else {
        ok = EVP_MAC_init(f->work, NULL, 0, NULL) == 1 && EVP_MAC_update(f->work, msg, n) == 1 &&
             EVP_MAC_final(f->work, tag, &tag_len, sizeof(tag)) == 1;
    }
    return ok && tag_len == sig_len && CRYPTO_memcmp(tag, sig, sig_len) == 0;
}

/* Raw r||s (JWS) -> DER ECDSA-Sig-Value (what OpenSSL verifies). */
static int ecdsa_raw_to_der(size_t fl, const unsigned char *sig, size_t sig_len,
                            unsigned char der[256])
{
    ECDSA_SIG *es = NULL;
    BIGNUM *r = NULL, *s = NULL;
    unsigned char *p = der;
    int n = -1;

    if (sig_len != 2 * fl || (es = ECDSA_SIG_new()) == NULL) {
        return -1;
    }
    r = BN_bin2bn(sig, (int)fl, NULL);
    s = BN_bin2bn(sig + fl, (int)fl, NULL);
    if (r != NULL && s != NULL && ECDSA_SIG_set0(es, r, s) == 1) {
        r = s = NULL; /* now owned by es */
        n = i2d_ECDSA_SIG(es, &p);
    }
    BN_free(r);
    BN_free(s);
    ECDSA_SIG_free(es);
    return n;
}

static bool check_digestverify(floor_verifier *f, const unsigned char *msg, size_t n,
                               const unsigned char *sig, size_t sig_len)
{
    EVP_PKEY_CTX *pctx = NULL;

    if (EVP_DigestVerifyInit_ex(f->mdctx, &pctx, f->alg->md, NULL, NULL, f->key->pkey, NULL) != 1 ||
        !set_rsa_padding(f, pctx)) {
        return false;
    }
    return EVP_DigestVerify(f->mdctx, sig, sig_len, msg, n) == 1;
}

static bool check_pkeyverify(floor_verifier *f, const unsigned char *msg, size_t n,
                             const unsigned char *sig, size_t sig_len)
{
    unsigned char hash[EVP_MAX_MD_SIZE];
    unsigned hash_len = 0;

    if (EVP_DigestInit_ex2(f->mdctx, f->md, NULL) != 1 || EVP_DigestUpdate(f->mdctx, msg, n) != 1 ||
        EVP_DigestFinal_ex(f->mdctx, hash, &hash_len) != 1) {
        return false;
    }
    return EVP_PKEY_verify(f->pctx, sig, sig_len, hash, hash_len) == 1;
}

static bool check_sig(floor_verifier *f, const unsigned char *msg, size_t n,
                      const unsigned char *sig, size_t sig_len)
{
    unsigned char der[256];

    if (f->alg->family == BENCH_HMAC) {
        return check_hmac(f, msg, n, sig, sig_len);
    }
    if (f->alg->family == BENCH_ECDSA) {
        int dlen = ecdsa_raw_to_der(f->alg->field_len, sig, sig_len, der);
        if (dlen <= 0) {
            return false;
        }
        sig = der;
        sig_len = (size_t)dlen;
    }
    return f->mode == FLOOR_MODE_PKEYVERIFY ? check_pkeyverify(f, msg, n, sig, sig_len)
                                            : check_digestverify(f, msg, n, sig, sig_len);
}

/* jansson parse of the claims: the "floor + jansson" reference line. */
static bool parse_claims(const unsigned char *payload, size_t n)
{
    json_t *claims = json_loadb((const char *)payload, n, JSON_REJECT_DUPLICATES, NULL);
    bool ok = json_is_object(claims);
    json_decref(claims);
    return ok;
}

bool floor_verify(floor_verifier *f, const char *tok, size_t len)
{
    const char *end = tok + len;
    const char *d1 = memchr(tok, '.', len);
    const char *d2 = d1 ? memchr(d1 + 1, '.', (size_t)(end - d1 - 1)) : NULL;

    if (d2 == NULL || memchr(d2 + 1, '.', (size_t)(end - d2 - 1)) != NULL) {
        return false;
    }
    if (len > f->cap) {
        unsigned char *nbuf = realloc(f->buf, len);
        if (nbuf == NULL) {
            return false;
        }
        f->buf = nbuf;
        f->cap = len;
    }
    /* Decoded sizes are smaller than encoded ones, so the three segments
     * decoded back to back always fit in `len` bytes. */
    long hl = bench_b64url_decode(tok, (size_t)(d1 - tok), f->buf, f->cap);
    long pl = hl < 0 ? -1
                     : bench_b64url_decode(d1 + 1, (size_t)(d2 - d1 - 1), f->buf + hl,
                                           f->cap - (size_t)hl);
    long sl = pl < 0 ? -1
                     : bench_b64url_decode(d2 + 1, (size_t)(end - d2 - 1), f->buf + hl + pl,
                                           f->cap - (size_t)(hl + pl));
    if (sl < 0) {
        return false;
    }
    if (!check_sig(f, (const unsigned char *)tok, (size_t)(d2 - tok), f->buf + hl + pl,
                   (size_t)sl)) {
        return false;
    }
    return !f->parse_claims || parse_claims(f->buf + hl, (size_t)pl);
}
