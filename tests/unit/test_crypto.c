/*
 * test_crypto.c: the crypto backend (lib/crypto_ossl.c) through the
 * internal interface of lib/internal.h. Negative cases first: every way a
 * signature can be wrong (bit flips, lengths, ECDSA r/s out of range or
 * DER-encoded, PSS with other salt lengths or MGF1 hashes, truncated HMAC
 * tags, keys of the wrong family) is rejected; then sign/verify round trips
 * for every algorithm, known answers (HMAC against OpenSSL's one-shot HMAC
 * including keys longer than the block, RFC 8032 Ed25519), high-S ECDSA,
 * and the scratch's context cache across many keys.
 * OpenSSL is used directly here only to craft inputs the library must
 * refuse (or accept) and to get reference values.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "internal.h"
#include "support.h"

static const unsigned char MSG[] = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ0ZXN0In0";
#define MSG_LEN (sizeof MSG - 1)

static const tsr_alg ALL_ALGS[] = {
    TSR_ALG_HS256, TSR_ALG_HS384, TSR_ALG_HS512, TSR_ALG_RS256, TSR_ALG_RS384,
    TSR_ALG_RS512, TSR_ALG_PS256, TSR_ALG_PS384, TSR_ALG_PS512, TSR_ALG_ES256,
    TSR_ALG_ES384, TSR_ALG_ES512, TSR_ALG_EDDSA,
};
#define NALGS (sizeof ALL_ALGS / sizeof ALL_ALGS[0])

/* One key per algorithm, made once (RSA generation is slow). */
static tsr_key *keys[TSR_ALG__COUNT];
static tsr_key *rsa_key; /* 2048-bit, unbound: every RS and PS alg */

static int setup(void **state)
{
    (void)state;
    if (tsr_key_generate_rsa(TSR_ALG_RS256, 2048, &rsa_key, NULL) != TSR_OK) {
        return -1;
    }
    for (size_t i = 0; i < NALGS; i++) {
        tsr_alg a = ALL_ALGS[i];
        const tsr__alg_info *ai = tsr__alg_get(a);
        if (ai->family == TSR__FAM_RSA_PKCS1 || ai->family == TSR__FAM_RSA_PSS) {
            keys[a] = tsr_key_up_ref(rsa_key);
            continue;
        }
        if (tsr_key_generate(a, &keys[a], NULL) != TSR_OK) {
            return -1;
        }
    }
    /* The RSA key is shared by six algorithms: unbind it. */
    rsa_key->alg = TSR_ALG_UNSPECIFIED;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    for (size_t i = 0; i < TSR_ALG__COUNT; i++) {
        tsr_key_free(keys[i]);
    }
    tsr_key_free(rsa_key);
    return 0;
}

/* Signs MSG with keys[alg]; returns the signature length. */
static size_t sign(tsr_alg alg, unsigned char *sig, size_t cap)
{
    size_t n = cap;
    tsr_error e;
    tsr_err rc = tsr__crypto_sign(keys[alg], alg, MSG, MSG_LEN, sig, &n, &e);
    if (rc != TSR_OK) {
        fail_msg("signing %s: %s (%s)", tsr_alg_name(alg), tsr_err_name(rc), e.detail);
    }
    return n;
}

static tsr_err verify_with(const tsr_key *k, tsr_alg alg, const unsigned char *m, size_t mlen,
                           const unsigned char *sig, size_t n, tsr__scratch *s)
{
    return tsr__crypto_verify(k, alg, m, mlen, sig, n, s);
}

/* ------------------------------------------------------------ rejections */

static void test_bit_flips_reject(void **state)
{
    (void)state;
    tsr__scratch *s = NULL;
    assert_int_equal(tsr__scratch_new(&s), TSR_OK);
    for (size_t i = 0; i < NALGS; i++) {
        tsr_alg a = ALL_ALGS[i];
        unsigned char sig[1024];
        size_t n = sign(a, sig, sizeof sig);
        /* one bit in every byte of the signature, varying which bit */
        for (size_t j = 0; j < n; j++) {
            sig[j] ^= (unsigned char)(1u << (j % 8));
            if (verify_with(keys[a], a, MSG, MSG_LEN, sig, n, s) != TSR_ERR_BAD_SIGNATURE) {
                fail_msg("%s accepted a flipped bit in byte %zu", tsr_alg_name(a), j);
            }
            sig[j] ^= (unsigned char)(1u << (j % 8));
        }
        /* one bit of the message */
        unsigned char m[sizeof MSG];
        memcpy(m, MSG, sizeof MSG);
        m[3] ^= 0x01;
        assert_int_equal(verify_with(keys[a], a, m, MSG_LEN, sig, n, s), TSR_ERR_BAD_SIGNATURE);
        /* and the untouched signature still verifies */
        assert_int_equal(verify_with(keys[a], a, MSG, MSG_LEN, sig, n, s), TSR_OK);
    }
    tsr__scratch_free(s);
}

static void test_wrong_lengths_reject(void **state)
{
    (void)state;
    for (size_t i = 0; i < NALGS; i++) {
        tsr_alg a = ALL_ALGS[i];
        unsigned char sig[1025];
        size_t n = sign(a, sig, sizeof sig - 1);
        /* truncated, extended with a zero byte, prefixed with a zero byte, empty */
        assert_int_equal(verify_with(keys[a], a, MSG, MSG_LEN, sig, n - 1, NULL),
                         TSR_ERR_BAD_SIGNATURE);
        sig[n] = 0;
        assert_int_equal(verify_with(keys[a], a, MSG, MSG_LEN, sig, n + 1, NULL),
                         TSR_ERR_BAD_SIGNATURE);
        memmove(sig + 1, sig, n);
        sig[0] = 0;
        assert_int_equal(verify_with(keys[a], a, MSG, MSG_LEN, sig, n + 1, NULL),
                         TSR_ERR_BAD_SIGNATURE);
        assert_int_equal(verify_with(keys[a], a, MSG, MSG_LEN, sig, 0, NULL),
                         TSR_ERR_BAD_SIGNATURE);
    }
}

/* The group order of curve nid as big-endian bytes of length fl. */
static void curve_order(int nid, unsigned char *out, size_t fl)
{
    EC_GROUP *g = EC_GROUP_new_by_curve_name(nid);
    assert_non_null(g);
    assert_true(BN_bn2binpad(EC_GROUP_get0_order(g), out, (int)fl) > 0);
    EC_GROUP_free(g);
}

static void check_rs_ranges(tsr_alg a, int nid, size_t fl)
{
    unsigned char sig[132], bad[132], order[66];
    size_t n = sign(a, sig, sizeof sig);
    assert_int_equal(n, 2 * fl);
    curve_order(nid, order, fl);
    const size_t halves[2] = {0, fl};
    for (int h = 0; h < 2; h++) {
        /* zero ("psychic signature"), n, all-ones (> n) */
        memcpy(bad, sig, n);
        memset(bad + halves[h], 0, fl);
        assert_int_equal(verify_with(keys[a], a, MSG, MSG_LEN, bad, n, NULL),
                         TSR_ERR_BAD_SIGNATURE);
        memcpy(bad + halves[h], order, fl);
        assert_int_equal(verify_with(keys[a], a, MSG, MSG_LEN, bad, n, NULL),
                         TSR_ERR_BAD_SIGNATURE);
        memset(bad + halves[h], 0xff, fl);
        assert_int_equal(verify_with(keys[a], a, MSG, MSG_LEN, bad, n, NULL),
                         TSR_ERR_BAD_SIGNATURE);
    }
    /* r = s = 0 together */
    memset(bad, 0, n);
    assert_int_equal(verify_with(keys[a], a, MSG, MSG_LEN, bad, n, NULL), TSR_ERR_BAD_SIGNATURE);
}

static void test_ecdsa_r_s_out_of_range(void **state)
{
    (void)state;
    check_rs_ranges(TSR_ALG_ES256, NID_X9_62_prime256v1, 32);
    check_rs_ranges(TSR_ALG_ES384, NID_secp384r1, 48);
    check_rs_ranges(TSR_ALG_ES512, NID_secp521r1, 66);
}

/* DER-encodes the raw r||s of length 2*fl with OpenSSL. */
static size_t to_der(const unsigned char *rs, size_t fl, unsigned char *out)
{
    ECDSA_SIG *es = ECDSA_SIG_new();
    BIGNUM *r = BN_bin2bn(rs, (int)fl, NULL);
    BIGNUM *s = BN_bin2bn(rs + fl, (int)fl, NULL);
    assert_true(es != NULL && r != NULL && s != NULL && ECDSA_SIG_set0(es, r, s) == 1);
    unsigned char *p = out;
    int n = i2d_ECDSA_SIG(es, &p);
    ECDSA_SIG_free(es);
    assert_true(n > 0);
    return (size_t)n;
}

static void test_ecdsa_der_rejected(void **state)
{
    (void)state;
    const tsr_alg algs[3] = {TSR_ALG_ES256, TSR_ALG_ES384, TSR_ALG_ES512};
    const size_t fls[3] = {32, 48, 66};
    for (int i = 0; i < 3; i++) {
        unsigned char sig[132], der[160];
        size_t n = sign(algs[i], sig, sizeof sig);
        size_t dn = to_der(sig, fls[i], der);
        assert_int_equal(verify_with(keys[algs[i]], algs[i], MSG, MSG_LEN, der, dn, NULL),
                         TSR_ERR_BAD_SIGNATURE);
        /* DER padded or cut to the raw length is still not r||s */
        unsigned char fixed[132] = {0};
        memcpy(fixed, der, dn < n ? dn : n);
        assert_int_equal(verify_with(keys[algs[i]], algs[i], MSG, MSG_LEN, fixed, n, NULL),
                         TSR_ERR_BAD_SIGNATURE);
    }
}

static void test_ecdsa_high_s_valid(void **state)
{
    (void)state;
    const tsr_alg algs[3] = {TSR_ALG_ES256, TSR_ALG_ES384, TSR_ALG_ES512};
    const int nids[3] = {NID_X9_62_prime256v1, NID_secp384r1, NID_secp521r1};
    const size_t fls[3] = {32, 48, 66};
    for (int i = 0; i < 3; i++) {
        unsigned char sig[132], order[66];
        size_t n = sign(algs[i], sig, sizeof sig);
        curve_order(nids[i], order, fls[i]);
        BIGNUM *bn = BN_bin2bn(order, (int)fls[i], NULL);
        BIGNUM *s = BN_bin2bn(sig + fls[i], (int)fls[i], NULL);
        assert_true(BN_sub(s, bn, s) == 1); /* s' = n - s: the other valid signature */
        assert_true(BN_bn2binpad(s, sig + fls[i], (int)fls[i]) > 0);
        BN_free(bn);
        BN_free(s);
        assert_int_equal(verify_with(keys[algs[i]], algs[i], MSG, MSG_LEN, sig, n, NULL), TSR_OK);
    }
}

/* An OpenSSL RSA key and the same key as a tessera key (via PKCS#8 PEM). */
static EVP_PKEY *ossl_rsa_pair(tsr_key **tk)
{
    EVP_PKEY *pk = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
    assert_non_null(pk);
    BIO *b = BIO_new(BIO_s_mem());
    assert_true(PEM_write_bio_PrivateKey(b, pk, NULL, NULL, 0, NULL, NULL) == 1);
    char *pem = NULL;
    long len = BIO_get_mem_data(b, &pem);
    assert_int_equal(tsr_key_load_pem(pem, (size_t)len, tk, NULL), TSR_OK);
    BIO_free(b);
    return pk;
}

/* Signs MSG with OpenSSL: PSS with the given salt and MGF1 hash, or
 * PKCS#1 v1.5 when salt < -10. */
static size_t ossl_sign(EVP_PKEY *pk, const char *md, const char *mgf, int salt,
                        unsigned char *sig)
{
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pc = NULL;
    size_t n = 512;
    assert_true(EVP_DigestSignInit_ex(c, &pc, md, NULL, NULL, pk, NULL) == 1);
    if (salt >= -2) {
        assert_true(EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_PSS_PADDING) == 1);
        assert_true(EVP_PKEY_CTX_set_rsa_pss_saltlen(pc, salt) == 1);
        EVP_MD *m = EVP_MD_fetch(NULL, mgf, NULL);
        assert_true(EVP_PKEY_CTX_set_rsa_mgf1_md(pc, m) == 1);
        EVP_MD_free(m);
    }
    assert_true(EVP_DigestSign(c, sig, &n, MSG, MSG_LEN) == 1);
    EVP_MD_CTX_free(c);
    return n;
}

static void test_pss_parameters_exact(void **state)
{
    (void)state;
    tsr_key *tk = NULL;
    EVP_PKEY *pk = ossl_rsa_pair(&tk);
    unsigned char sig[512];
    size_t n;
    /* salt lengths other than the hash length */
    const int bad_salts[] = {0, 20, 31, 33, 64};
    for (size_t i = 0; i < sizeof bad_salts / sizeof bad_salts[0]; i++) {
        n = ossl_sign(pk, "SHA256", "SHA256", bad_salts[i], sig);
        assert_int_equal(verify_with(tk, TSR_ALG_PS256, MSG, MSG_LEN, sig, n, NULL),
                         TSR_ERR_BAD_SIGNATURE);
    }
    /* MGF1 with another hash */
    n = ossl_sign(pk, "SHA256", "SHA384", 32, sig);
    assert_int_equal(verify_with(tk, TSR_ALG_PS256, MSG, MSG_LEN, sig, n, NULL),
                     TSR_ERR_BAD_SIGNATURE);
    /* PS384 signature presented as PS256 and PS512 */
    n = ossl_sign(pk, "SHA384", "SHA384", 48, sig);
    assert_int_equal(verify_with(tk, TSR_ALG_PS256, MSG, MSG_LEN, sig, n, NULL),
                     TSR_ERR_BAD_SIGNATURE);
    assert_int_equal(verify_with(tk, TSR_ALG_PS512, MSG, MSG_LEN, sig, n, NULL),
                     TSR_ERR_BAD_SIGNATURE);
    /* PKCS#1 v1.5 presented as PSS, and PSS as PKCS#1 v1.5 */
    n = ossl_sign(pk, "SHA256", NULL, -100, sig);
    assert_int_equal(verify_with(tk, TSR_ALG_PS256, MSG, MSG_LEN, sig, n, NULL),
                     TSR_ERR_BAD_SIGNATURE);
    assert_int_equal(verify_with(tk, TSR_ALG_RS256, MSG, MSG_LEN, sig, n, NULL), TSR_OK);
    n = ossl_sign(pk, "SHA256", "SHA256", 32, sig);
    assert_int_equal(verify_with(tk, TSR_ALG_RS256, MSG, MSG_LEN, sig, n, NULL),
                     TSR_ERR_BAD_SIGNATURE);
    /* positive controls: the exact JOSE parameters interoperate */
    assert_int_equal(verify_with(tk, TSR_ALG_PS256, MSG, MSG_LEN, sig, n, NULL), TSR_OK);
    n = ossl_sign(pk, "SHA512", "SHA512", 64, sig);
    assert_int_equal(verify_with(tk, TSR_ALG_PS512, MSG, MSG_LEN, sig, n, NULL), TSR_OK);
    EVP_PKEY_free(pk);
    tsr_key_free(tk);
}

static void test_hmac_lengths(void **state)
{
    (void)state;
    const tsr_alg algs[3] = {TSR_ALG_HS256, TSR_ALG_HS384, TSR_ALG_HS512};
    for (int i = 0; i < 3; i++) {
        unsigned char tag[64];
        size_t n = sign(algs[i], tag, sizeof tag);
        assert_int_equal(n, tsr__alg_get(algs[i])->hash_len);
        /* truncated tags (as other MAC uses allow) never verify in JOSE */
        for (size_t cut = 0; cut < n; cut += 8) {
            assert_int_equal(verify_with(keys[algs[i]], algs[i], MSG, MSG_LEN, tag, cut, NULL),
                             TSR_ERR_BAD_SIGNATURE);
        }
    }
}

static void test_wrong_family_rejected(void **state)
{
    (void)state;
    unsigned char sig[1024];
    size_t n = sign(TSR_ALG_ES256, sig, sizeof sig);
    /* the crypto layer re-checks key type and curve */
    assert_int_equal(verify_with(keys[TSR_ALG_ES256], TSR_ALG_ES384, MSG, MSG_LEN, sig, n, NULL),
                     TSR_ERR_KEY_MISMATCH);
    assert_int_equal(verify_with(keys[TSR_ALG_ES256], TSR_ALG_HS256, MSG, MSG_LEN, sig, n, NULL),
                     TSR_ERR_KEY_MISMATCH);
    assert_int_equal(verify_with(keys[TSR_ALG_RS256], TSR_ALG_HS256, MSG, MSG_LEN, sig, 32, NULL),
                     TSR_ERR_KEY_MISMATCH);
    assert_int_equal(verify_with(keys[TSR_ALG_HS256], TSR_ALG_RS256, MSG, MSG_LEN, sig, n, NULL),
                     TSR_ERR_KEY_MISMATCH);
    assert_int_equal(verify_with(keys[TSR_ALG_EDDSA], TSR_ALG_ES256, MSG, MSG_LEN, sig, n, NULL),
                     TSR_ERR_KEY_MISMATCH);
    assert_int_equal(verify_with(keys[TSR_ALG_ES256], TSR_ALG_UNSPECIFIED, MSG, MSG_LEN, sig, n,
                                 NULL),
                     TSR_ERR_INVALID_ARGUMENT);
    /* a signature by another key of the same type */
    tsr_key *other = NULL;
    assert_int_equal(tsr_key_generate(TSR_ALG_ES256, &other, NULL), TSR_OK);
    assert_int_equal(verify_with(other, TSR_ALG_ES256, MSG, MSG_LEN, sig, n, NULL),
                     TSR_ERR_BAD_SIGNATURE);
    tsr_key_free(other);
}

static void test_sign_misuse(void **state)
{
    (void)state;
    unsigned char sig[1024];
    size_t n = 10; /* too small for anything but nothing */
    tsr_error e;
    assert_int_equal(tsr__crypto_sign(keys[TSR_ALG_HS256], TSR_ALG_HS256, MSG, MSG_LEN, sig, &n,
                                      &e),
                     TSR_ERR_TOO_LARGE);
    assert_int_equal(n, 0);
    /* a public key cannot sign */
    char *pub = NULL;
    tsr_key *pk = NULL;
    assert_int_equal(tsr_key_export_jwk(keys[TSR_ALG_ES256], false, &pub, NULL), TSR_OK);
    assert_int_equal(tsr_key_load_jwk(pub, strlen(pub), &pk, NULL), TSR_OK);
    n = sizeof sig;
    assert_int_equal(tsr__crypto_sign(pk, TSR_ALG_ES256, MSG, MSG_LEN, sig, &n, &e),
                     TSR_ERR_KEY_MISMATCH);
    assert_int_equal(n, 0);
    n = sizeof sig;
    assert_int_equal(tsr__crypto_sign(pk, TSR_ALG_ES384, MSG, MSG_LEN, sig, &n, &e),
                     TSR_ERR_KEY_MISMATCH);
    tsr_key_free(pk);
    tsr_free(pub);
}

/* ------------------------------------------------------------ round trips and known answers */

static void test_round_trip_every_alg(void **state)
{
    (void)state;
    tsr__scratch *s = NULL;
    assert_int_equal(tsr__scratch_new(&s), TSR_OK);
    for (size_t i = 0; i < NALGS; i++) {
        tsr_alg a = ALL_ALGS[i];
        unsigned char sig[1024];
        size_t max = tsr__crypto_sig_max(keys[a], a);
        size_t n = sign(a, sig, sizeof sig);
        const tsr__alg_info *ai = tsr__alg_get(a);
        /* fixed lengths: HMAC hash, ECDSA 2*field, Ed25519 64, RSA modulus */
        assert_int_equal(n, ai->sig_len != 0 ? ai->sig_len : 256);
        assert_int_equal(n, max);
        assert_int_equal(verify_with(keys[a], a, MSG, MSG_LEN, sig, n, s), TSR_OK);
        assert_int_equal(verify_with(keys[a], a, MSG, MSG_LEN, sig, n, NULL), TSR_OK);
        /* empty message */
        size_t n2 = sizeof sig;
        assert_int_equal(tsr__crypto_sign(keys[a], a, NULL, 0, sig, &n2, NULL), TSR_OK);
        assert_int_equal(verify_with(keys[a], a, NULL, 0, sig, n2, s), TSR_OK);
    }
    tsr__scratch_free(s);
}

static void test_hmac_known_answers(void **state)
{
    (void)state;
    /* key lengths around the block sizes (64 and 128): longer keys are
     * hashed first (RFC 2104), which is easy to get wrong */
    const size_t klens[] = {32, 48, 64, 65, 128, 129, 300};
    const tsr_alg algs[3] = {TSR_ALG_HS256, TSR_ALG_HS384, TSR_ALG_HS512};
    const char *mds[3] = {"SHA256", "SHA384", "SHA512"};
    unsigned char key[300];
    for (size_t j = 0; j < sizeof key; j++) {
        key[j] = (unsigned char)(j * 7 + 1);
    }
    for (int i = 0; i < 3; i++) {
        for (size_t k = 0; k < sizeof klens / sizeof klens[0]; k++) {
            if (klens[k] < tsr__alg_get(algs[i])->hash_len) {
                continue;
            }
            tsr_key *tk = NULL;
            assert_int_equal(tsr_key_from_secret(key, klens[k], algs[i], &tk, NULL), TSR_OK);
            unsigned char ref[64], tag[64];
            size_t rl = 0, tl = sizeof tag;
            assert_non_null(EVP_Q_mac(NULL, "HMAC", NULL, mds[i], NULL, key, klens[k], MSG,
                                      MSG_LEN, ref, sizeof ref, &rl));
            assert_int_equal(tsr__crypto_sign(tk, algs[i], MSG, MSG_LEN, tag, &tl, NULL), TSR_OK);
            assert_int_equal(tl, rl);
            assert_memory_equal(tag, ref, rl);
            assert_int_equal(verify_with(tk, algs[i], MSG, MSG_LEN, ref, rl, NULL), TSR_OK);
            tsr_key_free(tk);
        }
    }
}

/* RFC 8032 section 7.1, TEST 2 (one-byte message 0x72). */
static void test_ed25519_rfc8032(void **state)
{
    (void)state;
    size_t l;
    unsigned char *sk = tst_hex_decode(
        "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb", &l);
    unsigned char *pk = tst_hex_decode(
        "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", &l);
    unsigned char *want = tst_hex_decode(
        "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da"
        "085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00",
        &l);
    tsr__ckey *ck = NULL;
    assert_int_equal(tsr__ck_ed25519((tsr__bytes){pk, 32}, (tsr__bytes){sk, 32}, &ck, NULL),
                     TSR_OK);
    tsr_key k = {.kty = TSR_KTY_OKP, .curve = TSR__CRV_ED25519, .ck = ck, .is_private = true};
    const unsigned char m = 0x72;
    unsigned char sig[64];
    size_t n = sizeof sig;
    assert_int_equal(tsr__crypto_sign(&k, TSR_ALG_EDDSA, &m, 1, sig, &n, NULL), TSR_OK);
    assert_int_equal(n, 64);
    assert_memory_equal(sig, want, 64);
    assert_int_equal(verify_with(&k, TSR_ALG_EDDSA, &m, 1, want, 64, NULL), TSR_OK);
    /* S + L (the same scalar, non-canonical) must be rejected */
    static const unsigned char L[32] = {0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58,
                                        0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
                                        0,    0,    0,    0,    0,    0,    0,    0,
                                        0,    0,    0,    0,    0,    0,    0,    0x10};
    unsigned carry = 0;
    for (int i = 0; i < 32; i++) {
        unsigned v = (unsigned)want[32 + i] + L[i] + carry;
        sig[32 + i] = (unsigned char)v;
        carry = v >> 8;
    }
    assert_int_equal(verify_with(&k, TSR_ALG_EDDSA, &m, 1, sig, 64, NULL),
                     TSR_ERR_BAD_SIGNATURE);
    /* d that does not give x */
    tsr__ckey *bad = NULL;
    sk[0] ^= 1;
    assert_int_equal(tsr__ck_ed25519((tsr__bytes){pk, 32}, (tsr__bytes){sk, 32}, &bad, NULL),
                     TSR_ERR_KEY_INVALID);
    assert_null(bad);
    tsr__ck_free(ck);
    free(sk);
    free(pk);
    free(want);
}

/* More keys than the scratch caches, verified in turn with one scratch:
 * eviction must never make one key's context serve another key. */
static void test_scratch_cache_many_keys(void **state)
{
    (void)state;
    enum { NK = 7 };
    tsr_key *ks[NK];
    unsigned char sigs[NK][64];
    tsr__scratch *s = NULL;
    assert_int_equal(tsr__scratch_new(&s), TSR_OK);
    for (int i = 0; i < NK; i++) {
        assert_int_equal(tsr_key_generate(TSR_ALG_ES256, &ks[i], NULL), TSR_OK);
        size_t n = 64;
        assert_int_equal(tsr__crypto_sign(ks[i], TSR_ALG_ES256, MSG, MSG_LEN, sigs[i], &n, NULL),
                         TSR_OK);
    }
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < NK; i++) {
            for (int j = 0; j < NK; j++) {
                tsr_err want = i == j ? TSR_OK : TSR_ERR_BAD_SIGNATURE;
                assert_int_equal(verify_with(ks[i], TSR_ALG_ES256, MSG, MSG_LEN, sigs[j], 64, s),
                                 want);
            }
        }
    }
    /* a key freed while cached, then a new key: still correct */
    tsr_key_free(ks[0]);
    assert_int_equal(tsr_key_generate(TSR_ALG_ES256, &ks[0], NULL), TSR_OK);
    assert_int_equal(verify_with(ks[0], TSR_ALG_ES256, MSG, MSG_LEN, sigs[0], 64, s),
                     TSR_ERR_BAD_SIGNATURE);
    /* RSA: the same key under RS256 and PS256 alternately (one context each) */
    unsigned char rs[256], ps[256];
    size_t rn = sign(TSR_ALG_RS256, rs, sizeof rs);
    size_t pn = sign(TSR_ALG_PS256, ps, sizeof ps);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(verify_with(rsa_key, TSR_ALG_RS256, MSG, MSG_LEN, rs, rn, s), TSR_OK);
        assert_int_equal(verify_with(rsa_key, TSR_ALG_PS256, MSG, MSG_LEN, ps, pn, s), TSR_OK);
        assert_int_equal(verify_with(rsa_key, TSR_ALG_PS256, MSG, MSG_LEN, rs, rn, s),
                         TSR_ERR_BAD_SIGNATURE);
        assert_int_equal(verify_with(rsa_key, TSR_ALG_RS256, MSG, MSG_LEN, ps, pn, s),
                         TSR_ERR_BAD_SIGNATURE);
    }
    for (int i = 0; i < NK; i++) {
        tsr_key_free(ks[i]);
    }
    tsr__scratch_free(s);
}

static void test_random_and_sha256(void **state)
{
    (void)state;
    unsigned char a[32], b[32], h[32];
    assert_int_equal(tsr__random(a, sizeof a), TSR_OK);
    assert_int_equal(tsr__random(b, sizeof b), TSR_OK);
    assert_memory_not_equal(a, b, sizeof a);
    assert_int_equal(tsr__random(NULL, 0), TSR_OK);
    size_t l;
    unsigned char *want = tst_hex_decode(
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", &l);
    assert_int_equal(tsr__sha256((const unsigned char *)"abc", 3, h), TSR_OK);
    assert_memory_equal(h, want, 32);
    free(want);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bit_flips_reject),
        cmocka_unit_test(test_wrong_lengths_reject),
        cmocka_unit_test(test_ecdsa_r_s_out_of_range),
        cmocka_unit_test(test_ecdsa_der_rejected),
        cmocka_unit_test(test_pss_parameters_exact),
        cmocka_unit_test(test_hmac_lengths),
        cmocka_unit_test(test_wrong_family_rejected),
        cmocka_unit_test(test_sign_misuse),
        cmocka_unit_test(test_round_trip_every_alg),
        cmocka_unit_test(test_ecdsa_high_s_valid),
        cmocka_unit_test(test_hmac_known_answers),
        cmocka_unit_test(test_ed25519_rfc8032),
        cmocka_unit_test(test_scratch_cache_many_keys),
        cmocka_unit_test(test_random_and_sha256),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
