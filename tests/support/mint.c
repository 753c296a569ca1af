/*
 * mint.c: test tokens signed by the crypto layer directly (see mint.h).
 */
#include "mint.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static void die(const char *what)
{
    fprintf(stderr, "mint: %s failed\n", what);
    abort();
}

char *tst_b64(const void *data, size_t len)
{
    size_t cap = tsr_b64url_encoded_len(len) + 1;
    char *out = malloc(cap);
    if (out == NULL || tsr_b64url_encode(data, len, out, cap, NULL) != TSR_OK) {
        die("base64url encode");
    }
    return out;
}

char *tst_join3(const char *a, const char *b, const char *c)
{
    size_t n = strlen(a) + strlen(b) + strlen(c) + 3;
    char *out = malloc(n);
    if (out == NULL) {
        die("malloc");
    }
    snprintf(out, n, "%s.%s.%s", a, b, c);
    return out;
}

char *tst_mint_raw(const tsr_key *key, tsr_alg alg, const char *h_b64, const char *p_b64)
{
    size_t in_len = strlen(h_b64) + 1 + strlen(p_b64);
    char *input = malloc(in_len + 1);
    if (input == NULL) {
        die("malloc");
    }
    snprintf(input, in_len + 1, "%s.%s", h_b64, p_b64);
    size_t sig_len = tsr__crypto_sig_max(key, alg);
    unsigned char *sig = malloc(sig_len ? sig_len : 1);
    if (sig == NULL || tsr__crypto_sign(key, alg, (const unsigned char *)input, in_len, sig,
                                        &sig_len, NULL) != TSR_OK) {
        die("tsr__crypto_sign");
    }
    char *s = tst_b64(sig, sig_len);
    char *tok = tst_join3(h_b64, p_b64, s);
    free(s);
    free(sig);
    free(input);
    return tok;
}

char *tst_mint(const tsr_key *key, tsr_alg alg, const char *header_json, const char *payload_json)
{
    char *h = tst_b64(header_json, strlen(header_json));
    char *p = tst_b64(payload_json, strlen(payload_json));
    char *tok = tst_mint_raw(key, alg, h, p);
    free(h);
    free(p);
    return tok;
}
