/*
 * digest.c: SHA-256 and HMAC-SHA256 with algorithms fetched once and one
 * context of each kind per thread (see digest.h for why).
 *
 * The contexts live in thread-specific slots and are freed by the slot
 * destructors when a thread exits. The HMAC context is given its digest
 * once, when it is created; each call then only sets the key, which for
 * HMAC is two compression-function calls, far cheaper than a fetch. Any
 * failure aborts: a service that cannot hash cannot protect its tokens, and
 * a wrong hash would be worse than stopping.
 */
#include "digest.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdlib.h>

static EVP_MD *md;
static EVP_MAC *mac;
static pthread_key_t md_key, mac_key;
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void md_ctx_destroy(void *p)
{
    EVP_MD_CTX_free(p);
}

static void mac_ctx_destroy(void *p)
{
    EVP_MAC_CTX_free(p);
}

static void fetch_once(void)
{
    md = EVP_MD_fetch(NULL, "SHA2-256", NULL);
    mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    if (md == NULL || mac == NULL || pthread_key_create(&md_key, md_ctx_destroy) != 0 ||
        pthread_key_create(&mac_key, mac_ctx_destroy) != 0) {
        abort();
    }
}

static EVP_MD_CTX *thread_md_ctx(void)
{
    pthread_once(&once, fetch_once);
    EVP_MD_CTX *ctx = pthread_getspecific(md_key);
    if (ctx == NULL) {
        ctx = EVP_MD_CTX_new();
        if (ctx == NULL || pthread_setspecific(md_key, ctx) != 0) {
            abort();
        }
    }
    return ctx;
}

static EVP_MAC_CTX *thread_mac_ctx(void)
{
    pthread_once(&once, fetch_once);
    EVP_MAC_CTX *ctx = pthread_getspecific(mac_key);
    if (ctx == NULL) {
        char name[] = "SHA2-256";
        OSSL_PARAM params[] = {
            OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, name, 0),
            OSSL_PARAM_construct_end(),
        };
        ctx = EVP_MAC_CTX_new(mac);
        if (ctx == NULL || EVP_MAC_CTX_set_params(ctx, params) != 1 ||
            pthread_setspecific(mac_key, ctx) != 0) {
            abort();
        }
    }
    return ctx;
}

void digest_sha256(const void *data, size_t len, unsigned char out[DIGEST_LEN])
{
    EVP_MD_CTX *ctx = thread_md_ctx();
    unsigned int n = 0;
    if (EVP_DigestInit_ex(ctx, md, NULL) != 1 || EVP_DigestUpdate(ctx, data, len) != 1 ||
        EVP_DigestFinal_ex(ctx, out, &n) != 1 || n != DIGEST_LEN) {
        abort();
    }
}

void digest_hmac_sha256(const unsigned char *key, size_t keylen, const void *data, size_t len,
                        unsigned char out[DIGEST_LEN])
{
    EVP_MAC_CTX *ctx = thread_mac_ctx();
    size_t n = 0;
    if (EVP_MAC_init(ctx, key, keylen, NULL) != 1 || EVP_MAC_update(ctx, data, len) != 1 ||
        EVP_MAC_final(ctx, out, &n, DIGEST_LEN) != 1 || n != DIGEST_LEN) {
        abort();
    }
}
