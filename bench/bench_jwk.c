/*
 * bench_jwk.c: turns a JWK file into what the baselines need: the raw secret
 * of an oct key, or a public EVP_PKEY built with OpenSSL 3.0's
 * EVP_PKEY_fromdata (RSA n/e, EC crv/x/y) or raw Ed25519 bytes. Private
 * members are ignored: the baselines only verify. Startup code, never timed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/core_names.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>

#include "bench.h"

static const bench_alg algs[] = {
    {"HS256", BENCH_HMAC, "SHA256", 0},      {"HS384", BENCH_HMAC, "SHA384", 0},
    {"HS512", BENCH_HMAC, "SHA512", 0},      {"RS256", BENCH_RSA_PKCS1, "SHA256", 0},
    {"RS384", BENCH_RSA_PKCS1, "SHA384", 0}, {"RS512", BENCH_RSA_PKCS1, "SHA512", 0},
    {"PS256", BENCH_RSA_PSS, "SHA256", 0},   {"PS384", BENCH_RSA_PSS, "SHA384", 0},
    {"PS512", BENCH_RSA_PSS, "SHA512", 0},   {"ES256", BENCH_ECDSA, "SHA256", 32},
    {"ES384", BENCH_ECDSA, "SHA384", 48},    {"ES512", BENCH_ECDSA, "SHA512", 66},
    {"EdDSA", BENCH_EDDSA, NULL, 0},
};

const bench_alg *bench_alg_get(const char *name)
{
    for (size_t i = 0; i < sizeof(algs) / sizeof(algs[0]); i++) {
        if (strcmp(algs[i].name, name) == 0) {
            return &algs[i];
        }
    }
    return NULL;
}

/* Decodes base64url member `name` of `jwk` into a new buffer. */
static unsigned char *member_bytes(json_t *jwk, const char *name, size_t *len)
{
    const char *s = json_string_value(json_object_get(jwk, name));
    if (s == NULL) {
        fprintf(stderr, "JWK member '%s' missing or not a string\n", name);
        return NULL;
    }
    size_t slen = strlen(s), cap = bench_b64url_decoded_max(slen);
    unsigned char *buf = malloc(cap);
    long n = buf != NULL ? bench_b64url_decode(s, slen, buf, cap) : -1;
    if (n < 0) {
        fprintf(stderr, "JWK member '%s' is not base64url\n", name);
        free(buf);
        return NULL;
    }
    *len = (size_t)n;
    return buf;
}

/* EVP_PKEY_fromdata for `type` ("RSA", "EC") from a parameter builder. */
static EVP_PKEY *pkey_fromdata(const char *type, OSSL_PARAM_BLD *bld)
{
    EVP_PKEY *pkey = NULL;
    OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(bld);
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL);

    if (params == NULL || ctx == NULL || EVP_PKEY_fromdata_init(ctx) <= 0 ||
        EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) <= 0) {
        pkey = NULL;
    }
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params);
    return pkey;
}

static EVP_PKEY *load_rsa(json_t *jwk)
{
    size_t nlen = 0, elen = 0;
    unsigned char *n = member_bytes(jwk, "n", &nlen), *e = member_bytes(jwk, "e", &elen);
    BIGNUM *bn = n ? BN_bin2bn(n, (int)nlen, NULL) : NULL;
    BIGNUM *be = e ? BN_bin2bn(e, (int)elen, NULL) : NULL;
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    EVP_PKEY *pkey = NULL;

    if (bn != NULL && be != NULL && bld != NULL &&
        OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn) &&
        OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, be)) {
        pkey = pkey_fromdata("RSA", bld);
    }
    OSSL_PARAM_BLD_free(bld);
    BN_free(bn);
    BN_free(be);
    free(n);
    free(e);
    return pkey;
}

static EVP_PKEY *load_ec(json_t *jwk)
{
    const char *crv = json_string_value(json_object_get(jwk, "crv"));
    const char *group = NULL;
    size_t xlen = 0, ylen = 0;
    unsigned char *x = member_bytes(jwk, "x", &xlen), *y = member_bytes(jwk, "y", &ylen);
    unsigned char point[1 + 2 * 66];
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    EVP_PKEY *pkey = NULL;

    if (crv != NULL) {
        group = strcmp(crv, "P-256") == 0   ? "P-256"
                : strcmp(crv, "P-384") == 0 ? "P-384"
                : strcmp(crv, "P-521") == 0 ? "P-521"
                                            : NULL;
    }
    if (group != NULL && x != NULL && y != NULL && bld != NULL && xlen == ylen && xlen <= 66) {
        /* Uncompressed SEC1 point: 0x04 || x || y. */
        point[0] = 4;
        memcpy(point + 1, x, xlen);
        memcpy(point + 1 + xlen, y, ylen);
        if (OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, group, 0) &&
            OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point, 1 + 2 * xlen)) {
            pkey = pkey_fromdata("EC", bld);
        }
    }
    OSSL_PARAM_BLD_free(bld);
    free(x);
    free(y);
    return pkey;
}

static EVP_PKEY *load_okp(json_t *jwk)
{
    const char *crv = json_string_value(json_object_get(jwk, "crv"));
    size_t xlen = 0;
    unsigned char *x = NULL;
    EVP_PKEY *pkey = NULL;

    if (crv == NULL || strcmp(crv, "Ed25519") != 0) {
        fprintf(stderr, "only OKP Ed25519 keys are supported\n");
        return NULL;
    }
    x = member_bytes(jwk, "x", &xlen);
    if (x != NULL && xlen == 32) {
        pkey = EVP_PKEY_new_raw_public_key_ex(NULL, "ED25519", NULL, x, xlen);
    }
    free(x);
    return pkey;
}

int bench_key_load(const char *path, bench_key *out)
{
    json_error_t jerr;
    json_t *jwk = json_load_file(path, 0, &jerr);
    const char *kty = NULL;
    int rc = -1;

    memset(out, 0, sizeof(*out));
    if (jwk == NULL) {
        fprintf(stderr, "%s: %s\n", path, jerr.text);
        return -1;
    }
    /* A JWK Set with one key is accepted too: take its first member. */
    if (json_is_array(json_object_get(jwk, "keys"))) {
        json_t *first = json_incref(json_array_get(json_object_get(jwk, "keys"), 0));
        json_decref(jwk);
        jwk = first;
    }
    kty = json_string_value(json_object_get(jwk, "kty"));
    if (kty == NULL) {
        fprintf(stderr, "%s: no kty\n", path);
    } else if (strcmp(kty, "oct") == 0) {
        out->secret = member_bytes(jwk, "k", &out->secret_len);
        rc = out->secret != NULL ? 0 : -1;
    } else {
        out->pkey = strcmp(kty, "RSA") == 0  ? load_rsa(jwk)
                    : strcmp(kty, "EC") == 0 ? load_ec(jwk)
                    : strcmp(kty, "OKP") == 0 ? load_okp(jwk)
                                              : NULL;
        rc = out->pkey != NULL ? 0 : -1;
        if (rc != 0) {
            fprintf(stderr, "%s: cannot load %s key\n", path, kty);
        }
    }
    json_decref(jwk);
    return rc;
}

void bench_key_clear(bench_key *k)
{
    if (k->secret != NULL) {
        OPENSSL_cleanse(k->secret, k->secret_len);
        free(k->secret);
    }
    EVP_PKEY_free(k->pkey);
    memset(k, 0, sizeof(*k));
}

char *bench_key_public_pem(const bench_key *k, size_t *len)
{
    BIO *bio = NULL;
    char *data = NULL, *out = NULL;
    long n = 0;

    if (k->pkey == NULL || (bio = BIO_new(BIO_s_mem())) == NULL) {
        return NULL;
    }
    if (PEM_write_bio_PUBKEY(bio, k->pkey) == 1 && (n = BIO_get_mem_data(bio, &data)) > 0 &&
        (out = malloc((size_t)n + 1)) != NULL) {
        memcpy(out, data, (size_t)n);
        out[n] = '\0';
        *len = (size_t)n;
    }
    BIO_free(bio);
    return out;
}
