/*
 * test_alg_confusion.c: algorithm-confusion attacks (RFC 8725 section 2.1).
 *
 * The classic: a verifier holding an RSA (or EC, or Ed25519) public key
 * receives an HS256 token whose MAC key is that public key's bytes (PEM
 * text, DER, JWK text or the raw modulus). A verifier that let the token's
 * alg pick the operation would compute HMAC with the public key and accept.
 * tessera binds every key to a family, so the token is refused whether HS256
 * is outside the allowlist (alg_not_allowed) or inside it (key_not_found:
 * no key in the set may verify HS256). The keys come from PEM files made by
 * OpenSSL directly, as an attacker would find them.
 */
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "hostile.h"

typedef struct pemkey {
    char *pub_pem;          /* SPKI PEM text (what a server publishes) */
    size_t pub_pem_len;
    unsigned char *pub_der; /* SPKI DER */
    size_t pub_der_len;
    tsr_key *priv;          /* the private key, loaded from PKCS#8 PEM */
    tsr_key *pub;           /* the public key, loaded from the SPKI PEM */
} pemkey;

static char *bio_text(BIO *b, size_t *len)
{
    char *data = NULL;
    long n = BIO_get_mem_data(b, &data);
    assert_true(n > 0);
    char *out = malloc((size_t)n + 1);
    assert_non_null(out);
    memcpy(out, data, (size_t)n);
    out[n] = '\0';
    *len = (size_t)n;
    return out;
}

/* A fresh key of OpenSSL type `type` ("RSA", "EC", "ED25519"). */
static pemkey make_pemkey(const char *type)
{
    pemkey k = {0};
    EVP_PKEY *pk = NULL;
    if (strcmp(type, "RSA") == 0) {
        pk = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
    } else if (strcmp(type, "EC") == 0) {
        pk = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    } else {
        pk = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    }
    assert_non_null(pk);
    BIO *pub = BIO_new(BIO_s_mem());
    BIO *priv = BIO_new(BIO_s_mem());
    assert_true(PEM_write_bio_PUBKEY(pub, pk) == 1);
    assert_true(PEM_write_bio_PrivateKey(priv, pk, NULL, NULL, 0, NULL, NULL) == 1);
    k.pub_pem = bio_text(pub, &k.pub_pem_len);
    size_t priv_len = 0;
    char *priv_pem = bio_text(priv, &priv_len);
    int der_len = i2d_PUBKEY(pk, &k.pub_der);
    assert_true(der_len > 0);
    k.pub_der_len = (size_t)der_len;
    assert_int_equal(tsr_key_load_pem(priv_pem, priv_len, &k.priv, NULL), TSR_OK);
    assert_int_equal(tsr_key_load_pem(k.pub_pem, k.pub_pem_len, &k.pub, NULL), TSR_OK);
    assert_false(tsr_key_is_private(k.pub));
    free(priv_pem);
    BIO_free(pub);
    BIO_free(priv);
    EVP_PKEY_free(pk);
    return k;
}

static void free_pemkey(pemkey *k)
{
    free(k->pub_pem);
    OPENSSL_free(k->pub_der);
    tsr_key_free(k->priv);
    tsr_key_free(k->pub);
}

/* An HS256 token whose MAC key is secret[0..len). */
static char *forge_hs(const void *secret, size_t len, tsr_alg hs)
{
    tsr_key *mac = NULL;
    assert_int_equal(tsr_key_from_secret(secret, len, hs, &mac, NULL), TSR_OK);
    char hdr[32];
    (void)snprintf(hdr, sizeof hdr, "{\"alg\":\"%s\"}", tsr_alg_name(hs));
    char *tok = ht_token(mac, hs, hdr, HT_CLAIMS);
    tsr_key_free(mac);
    return tok;
}

/* Every public-key encoding of `k` as an HMAC secret, against verifiers
 * that allow `alg` only, and `alg` plus every HS algorithm. */
static void confuse(const pemkey *k, tsr_alg alg)
{
    tsr_key *keys[] = {k->pub};
    char allow_hs[64];
    (void)snprintf(allow_hs, sizeof allow_hs, "%s,HS256,HS384,HS512", tsr_alg_name(alg));
    tsr_verifier *strict = ht_verifier(keys, 1, tsr_alg_name(alg), 0);
    tsr_verifier *loose = ht_verifier(keys, 1, allow_hs, 0);

    /* Positive control: an honest token verifies under both. */
    char hdr[32];
    (void)snprintf(hdr, sizeof hdr, "{\"alg\":\"%s\"}", tsr_alg_name(alg));
    char *tok = ht_token(k->priv, alg, hdr, HT_CLAIMS);
    ht_expect(strict, tok, TSR_OK, "honest token, strict verifier");
    ht_expect(loose, tok, TSR_OK, "honest token, loose verifier");
    free(tok);

    char *jwk = NULL;
    assert_int_equal(tsr_key_export_jwk(k->pub, false, &jwk, NULL), TSR_OK);
    struct {
        const char *what;
        const void *p;
        size_t n;
    } secrets[] = {
        {"PEM text", k->pub_pem, k->pub_pem_len},
        {"PEM text without the final newline", k->pub_pem, k->pub_pem_len - 1},
        {"SPKI DER", k->pub_der, k->pub_der_len},
        {"public JWK text", jwk, strlen(jwk)},
    };
    static const tsr_alg hs[] = {TSR_ALG_HS256, TSR_ALG_HS384, TSR_ALG_HS512};
    for (size_t i = 0; i < sizeof secrets / sizeof secrets[0]; i++) {
        for (size_t h = 0; h < 3; h++) {
            if (secrets[i].n < tsr__alg_get(hs[h])->hash_len) {
                continue;
            }
            tok = forge_hs(secrets[i].p, secrets[i].n, hs[h]);
            ht_expect(strict, tok, TSR_ERR_ALG_NOT_ALLOWED, secrets[i].what);
            ht_expect(loose, tok, TSR_ERR_KEY_NOT_FOUND, secrets[i].what);
            free(tok);
        }
    }
    tsr_free(jwk);
    tsr_verifier_free(strict);
    tsr_verifier_free(loose);
}

static void test_rs256_to_hs256(void **state)
{
    (void)state;
    pemkey k = make_pemkey("RSA");
    confuse(&k, TSR_ALG_RS256);
    /* The raw modulus from the JWK "n" member as the secret. */
    char *jwk = NULL;
    assert_int_equal(tsr_key_export_jwk(k.pub, false, &jwk, NULL), TSR_OK);
    json_t *j = json_loads(jwk, 0, NULL);
    assert_non_null(j);
    const char *n64 = json_string_value(json_object_get(j, "n"));
    assert_non_null(n64);
    unsigned char n[1024];
    size_t nlen = 0;
    assert_int_equal(tsr_b64url_decode(n64, strlen(n64), n, sizeof n, &nlen), TSR_OK);
    tsr_key *keys[] = {k.pub};
    tsr_verifier *loose = ht_verifier(keys, 1, "RS256,PS256,HS256", 0);
    char *tok = forge_hs(n, nlen, TSR_ALG_HS256);
    ht_expect(loose, tok, TSR_ERR_KEY_NOT_FOUND, "JWK n bytes as HMAC secret");
    free(tok);
    tok = forge_hs(n64, strlen(n64), TSR_ALG_HS256);
    ht_expect(loose, tok, TSR_ERR_KEY_NOT_FOUND, "JWK n text as HMAC secret");
    free(tok);
    tsr_verifier_free(loose);
    json_decref(j);
    tsr_free(jwk);
    free_pemkey(&k);
}

static void test_ps256_to_hs256(void **state)
{
    (void)state;
    pemkey k = make_pemkey("RSA");
    confuse(&k, TSR_ALG_PS256);
    free_pemkey(&k);
}

static void test_es256_to_hs256(void **state)
{
    (void)state;
    pemkey k = make_pemkey("EC");
    confuse(&k, TSR_ALG_ES256);
    free_pemkey(&k);
}

static void test_eddsa_to_hs256(void **state)
{
    (void)state;
    pemkey k = make_pemkey("ED25519");
    confuse(&k, TSR_ALG_EDDSA);
    free_pemkey(&k);
}

/* The same attack against a key file loaded by content sniffing, as the
 * CLI does (tsr_keyset_load on PEM bytes). */
static void test_confusion_through_keyset_load(void **state)
{
    (void)state;
    pemkey k = make_pemkey("RSA");
    tsr_keyset *set = NULL;
    assert_int_equal(tsr_keyset_load(k.pub_pem, k.pub_pem_len, &set, NULL), TSR_OK);
    assert_int_equal(tsr_keyset_count(set), 1);
    tsr_policy *pol = NULL;
    tsr_verifier *v = NULL;
    assert_int_equal(tsr_policy_new(&pol, NULL), TSR_OK);
    assert_int_equal(tsr_policy_allow_algs(pol, "RS256,HS256", NULL), TSR_OK);
    assert_int_equal(tsr_verifier_new(pol, set, &v, NULL), TSR_OK);
    char *tok = forge_hs(k.pub_pem, k.pub_pem_len, TSR_ALG_HS256);
    ht_expect(v, tok, TSR_ERR_KEY_NOT_FOUND, "PEM secret via keyset_load");
    free(tok);
    /* A verifier allowing only HS256 cannot even be built on an RSA key. */
    tsr_verifier *hs_only = NULL;
    tsr_policy *p2 = NULL;
    assert_int_equal(tsr_policy_new(&p2, NULL), TSR_OK);
    assert_int_equal(tsr_policy_allow_alg(p2, TSR_ALG_HS256, NULL), TSR_OK);
    assert_int_equal(tsr_verifier_new(p2, set, &hs_only, NULL), TSR_ERR_KEY_NOT_FOUND);
    assert_null(hs_only);
    tsr_policy_free(p2);
    tsr_verifier_free(v);
    tsr_policy_free(pol);
    tsr_keyset_free(set);
    free_pemkey(&k);
}

/* Asymmetric cross-family: tokens for one family never reach another
 * family's key, even with a kid that names it. */
static void test_cross_family_asymmetric(void **state)
{
    (void)state;
    pemkey rsa = make_pemkey("RSA");
    pemkey ec = make_pemkey("EC");
    pemkey ed = make_pemkey("ED25519");
    tsr_key *keys[] = {ec.pub};
    tsr_verifier *v = ht_verifier(keys, 1, "ES256,RS256,PS256,EdDSA", 0);
    char *tok = ht_token(rsa.priv, TSR_ALG_RS256, "{\"alg\":\"RS256\"}", HT_CLAIMS);
    ht_expect(v, tok, TSR_ERR_KEY_NOT_FOUND, "RS256 token, EC key only");
    free(tok);
    tok = ht_token(ed.priv, TSR_ALG_EDDSA, "{\"alg\":\"EdDSA\"}", HT_CLAIMS);
    ht_expect(v, tok, TSR_ERR_KEY_NOT_FOUND, "EdDSA token, EC key only");
    free(tok);
    tok = ht_token(ec.priv, TSR_ALG_ES256, "{\"alg\":\"ES256\"}", HT_CLAIMS);
    ht_expect(v, tok, TSR_OK, "positive control");
    free(tok);
    tsr_verifier_free(v);
    /* RS256 and PS256 share a key family but are different algorithms: a
     * PKCS#1 signature presented as PS256 does not verify. */
    tsr_key *rk[] = {rsa.pub};
    v = ht_verifier(rk, 1, "RS256,PS256", 0);
    char *h = ht_b64("{\"alg\":\"PS256\"}", 15);
    char *p = ht_b64(HT_CLAIMS, strlen(HT_CLAIMS));
    char *input = ht_join(h, p, NULL);
    unsigned char sig[1024];
    size_t n = ht_sign_raw(rsa.priv, TSR_ALG_RS256, input, sig);
    char *s = ht_b64(sig, n);
    tok = ht_join(h, p, s);
    ht_expect(v, tok, TSR_ERR_BAD_SIGNATURE, "PKCS#1 signature labelled PS256");
    free(tok);
    free(s);
    free(input);
    free(h);
    free(p);
    tsr_verifier_free(v);
    free_pemkey(&rsa);
    free_pemkey(&ec);
    free_pemkey(&ed);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rs256_to_hs256),
        cmocka_unit_test(test_ps256_to_hs256),
        cmocka_unit_test(test_es256_to_hs256),
        cmocka_unit_test(test_eddsa_to_hs256),
        cmocka_unit_test(test_confusion_through_keyset_load),
        cmocka_unit_test(test_cross_family_asymmetric),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
