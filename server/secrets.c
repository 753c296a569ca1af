/*
 * secrets.c: the master key and the keys derived from it.
 *
 * The master key (32 random bytes, base64url) comes from, in order:
 * TESSERAD_MASTER_KEY, TESSERAD_MASTER_KEY_FILE, --master-key-file, and in
 * dev mode DATA/master.key (generated with mode 0600 on first start). It is
 * never read from the config file. HKDF-SHA256 derives one subkey per use,
 * so the master key itself never encrypts or MACs anything:
 *   k_keys    AES-256-GCM key for signing keys at rest (AAD = kid)
 *   k_refresh HMAC-SHA256 key for deterministic successor refresh tokens
 * The store records an HMAC check value of the master key on first use, so
 * starting with the wrong key fails loudly instead of failing every
 * decryption later.
 */
#include "tesserad.h"
#include "digest.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/kdf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define GCM_NONCE 12
#define GCM_TAG 16

static int hkdf(const unsigned char *ikm, size_t ikm_len, const char *info, unsigned char out[32])
{
    int rc = -1;
    EVP_KDF *kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
    EVP_KDF_CTX *ctx = kdf == NULL ? NULL : EVP_KDF_CTX_new(kdf);
    if (ctx == NULL) {
        goto out;
    }
    static const char salt[] = "tesserad-v1";
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)(uintptr_t) "SHA256", 0),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)(uintptr_t)ikm, ikm_len),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)(uintptr_t)salt,
                                          sizeof(salt) - 1),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *)(uintptr_t)info,
                                          strlen(info)),
        OSSL_PARAM_construct_end(),
    };
    if (EVP_KDF_derive(ctx, out, 32, params) == 1) {
        rc = 0;
    }
out:
    EVP_KDF_CTX_free(ctx);
    EVP_KDF_free(kdf);
    return rc;
}

static int decode_key(const char *text, size_t len, unsigned char out[MASTER_KEY_LEN])
{
    while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == '\r' || text[len - 1] == ' ')) {
        len--;
    }
    size_t n = 0;
    if (tsr_b64url_decode(text, len, out, MASTER_KEY_LEN, &n) != TSR_OK || n != MASTER_KEY_LEN) {
        OPENSSL_cleanse(out, MASTER_KEY_LEN);
        return -1;
    }
    return 0;
}

static int key_from_file(const char *path, unsigned char out[MASTER_KEY_LEN], char *err, size_t cap)
{
    size_t len = 0;
    char *text = read_file(path, 256, &len);
    if (text == NULL) {
        snprintf(err, cap, "cannot read master key file %s", path);
        return -1;
    }
    int rc = decode_key(text, len, out);
    OPENSSL_cleanse(text, len);
    free(text);
    if (rc != 0) {
        snprintf(err, cap, "master key file %s does not hold 32 bytes of base64url", path);
    }
    return rc;
}

/* Dev mode only: creates DATA/master.key (0600) with a fresh key. */
static int create_dev_key(const char *path, unsigned char out[MASTER_KEY_LEN], char *err,
                          size_t cap)
{
    char text[64];
    rand_bytes(out, MASTER_KEY_LEN);
    b64url_enc(out, MASTER_KEY_LEN, text, sizeof(text));
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        snprintf(err, cap, "cannot create %s: %s", path, strerror(errno));
        return -1;
    }
    size_t n = strlen(text);
    text[n++] = '\n';
    bool ok = write(fd, text, n) == (ssize_t)n && fsync(fd) == 0;
    close(fd);
    OPENSSL_cleanse(text, sizeof(text));
    if (!ok) {
        snprintf(err, cap, "cannot write %s", path);
        return -1;
    }
    log_info("dev mode: generated a new master key in %s (keep it secret; do not use dev mode "
             "in production)",
             path);
    return 0;
}

static int find_master(unsigned char out[MASTER_KEY_LEN], const config *cfg, bool allow_create,
                       char *err, size_t cap)
{
    const char *env = getenv("TESSERAD_MASTER_KEY");
    if (env != NULL && env[0] != '\0') {
        if (decode_key(env, strlen(env), out) != 0) {
            snprintf(err, cap, "TESSERAD_MASTER_KEY is not 32 bytes of base64url");
            return -1;
        }
        return 0;
    }
    const char *file = getenv("TESSERAD_MASTER_KEY_FILE");
    if (file != NULL && file[0] != '\0') {
        return key_from_file(file, out, err, cap);
    }
    if (cfg->master_key_file[0] != '\0') {
        return key_from_file(cfg->master_key_file, out, err, cap);
    }
    char path[CFG_PATH_MAX + 16];
    snprintf(path, sizeof(path), "%s/master.key", cfg->data_dir);
    if (access(path, F_OK) == 0 && (cfg->dev || !allow_create)) {
        /* The dev key, or an admin command run against a dev data dir. */
        return key_from_file(path, out, err, cap);
    }
    if (cfg->dev && allow_create) {
        return create_dev_key(path, out, err, cap);
    }
    snprintf(err, cap,
             "no master key: set TESSERAD_MASTER_KEY or TESSERAD_MASTER_KEY_FILE, "
             "or pass --master-key-file (or use --dev for development)");
    return -1;
}

static int check_value(const secrets *s, char out[64])
{
    static const char label[] = "tesserad master key check v1";
    unsigned char mac[32];
    unsigned int n = 0;
    if (HMAC(EVP_sha256(), s->master, MASTER_KEY_LEN, (const unsigned char *)label,
             sizeof(label) - 1, mac, &n) == NULL) {
        return -1;
    }
    return b64url_enc(mac, sizeof(mac), out, 64) ? 0 : -1;
}

int secrets_load(secrets *s, const config *cfg, store *st, bool allow_create, char *err,
                 size_t errcap)
{
    memset(s, 0, sizeof(*s));
    if (find_master(s->master, cfg, allow_create, err, errcap) != 0) {
        return -1;
    }
    if (hkdf(s->master, MASTER_KEY_LEN, "signing keys at rest", s->k_keys) != 0 ||
        hkdf(s->master, MASTER_KEY_LEN, "refresh successor", s->k_refresh) != 0) {
        snprintf(err, errcap, "key derivation failed");
        goto fail;
    }
    char want[64], have[64];
    if (check_value(s, want) != 0) {
        snprintf(err, errcap, "key check failed");
        goto fail;
    }
    store_rc rc = st->ops->meta_get(st, "master_key_check", have, sizeof(have));
    if (rc == STORE_NOT_FOUND) {
        rc = st->ops->meta_set(st, "master_key_check", want);
    } else if (rc == STORE_OK && strcmp(have, want) != 0) {
        snprintf(err, errcap, "the master key does not match the one this store was created with");
        goto fail;
    }
    if (rc != STORE_OK) {
        snprintf(err, errcap, "store error recording the master key check");
        goto fail;
    }
    return 0;
fail:
    secrets_wipe(s);
    return -1;
}

void secrets_wipe(secrets *s)
{
    OPENSSL_cleanse(s, sizeof(*s));
}

static int gcm(const secrets *s, bool enc, const unsigned char *nonce, const char *aad,
               const unsigned char *in, size_t len, unsigned char *out, unsigned char *tag)
{
    int rc = -1;
    int n = 0;
    EVP_CIPHER *c = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL);
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    if (c == NULL || ctx == NULL || len > INT32_MAX ||
        EVP_CipherInit_ex2(ctx, c, s->k_keys, nonce, enc ? 1 : 0, NULL) != 1 ||
        EVP_CipherUpdate(ctx, NULL, &n, (const unsigned char *)aad, (int)strlen(aad)) != 1 ||
        EVP_CipherUpdate(ctx, out, &n, in, (int)len) != 1) {
        goto out;
    }
    if (!enc && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, GCM_TAG, tag) != 1) {
        goto out;
    }
    if (EVP_CipherFinal_ex(ctx, out + n, &n) != 1) {
        goto out;
    }
    if (enc && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, GCM_TAG, tag) != 1) {
        goto out;
    }
    rc = 0;
out:
    EVP_CIPHER_CTX_free(ctx);
    EVP_CIPHER_free(c);
    return rc;
}

int secrets_seal(const secrets *s, const char *aad, const unsigned char *pt, size_t len,
                 unsigned char **out, size_t *out_len)
{
    *out = NULL;
    *out_len = 0;
    size_t total = GCM_NONCE + len + GCM_TAG;
    unsigned char *b = malloc(total);
    if (b == NULL) {
        return -1;
    }
    rand_bytes(b, GCM_NONCE);
    if (gcm(s, true, b, aad, pt, len, b + GCM_NONCE, b + GCM_NONCE + len) != 0) {
        free(b);
        return -1;
    }
    *out = b;
    *out_len = total;
    return 0;
}

int secrets_open(const secrets *s, const char *aad, const unsigned char *blob, size_t len,
                 unsigned char **out, size_t *out_len)
{
    *out = NULL;
    *out_len = 0;
    if (len < GCM_NONCE + GCM_TAG) {
        return -1;
    }
    size_t n = len - GCM_NONCE - GCM_TAG;
    unsigned char *p = malloc(n + 1);
    unsigned char tag[GCM_TAG];
    if (p == NULL) {
        return -1;
    }
    memcpy(tag, blob + GCM_NONCE + n, GCM_TAG);
    if (gcm(s, false, blob, aad, blob + GCM_NONCE, n, p, tag) != 0) {
        OPENSSL_cleanse(p, n);
        free(p);
        return -1;
    }
    p[n] = '\0';
    *out = p;
    *out_len = n;
    return 0;
}

void secrets_hmac(const secrets *s, const unsigned char *data, size_t len, unsigned char out[32])
{
    digest_hmac_sha256(s->k_refresh, sizeof(s->k_refresh), data, len, out);
}
