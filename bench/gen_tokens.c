/*
 * gen_tokens.c: makes the benchmark's key and its fixed set of distinct
 * tokens with libtessera's public API (tsr_key, tsr_signer, tsr_claims).
 *
 *   gen_tokens --alg ALG --count N --key-out FILE --pub-out FILE > tokens
 *   gen_tokens --alg ALG --count N --key FILE > tokens    (reuse a key)
 *
 * Every token has the same shape (so every run measures the same work) but
 * distinct content (sub and jti change), so no verifier can benefit from a
 * cache:
 *   header  {"alg", "kid" (the key's RFC 7638 thumbprint), "typ":"JWT"}
 *   claims  iss, aud, sub, iat, nbf, exp (year 2100), jti, scope: ~250 bytes
 * The key file is the private JWK; the public one (for oct keys, the same
 * secret) is what the verifiers get. RSA keys are 2048 bits, the size the
 * issue's reference numbers were measured with.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tessera.h>

#define BENCH_ISS "https://auth.bench.tessera.example"
#define BENCH_AUD "https://api.bench.tessera.example"
#define BENCH_SCOPE "openid profile email orders:read orders:write invoices:read"
#define BENCH_IAT INT64_C(1764000000)   /* 2025-11-24 */
#define BENCH_EXP INT64_C(4102444800)   /* 2100-01-01 */

static int fail(const char *what, tsr_err rc, const tsr_error *err)
{
    fprintf(stderr, "gen_tokens: %s: %s: %s\n", what, tsr_err_name(rc),
            err != NULL ? err->detail : "");
    return -1;
}

static int write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (f == NULL || fprintf(f, "%s\n", text) < 0 || fclose(f) != 0) {
        fprintf(stderr, "gen_tokens: cannot write %s\n", path);
        return -1;
    }
    return 0;
}

/* A new key for `alg` with its thumbprint as kid; writes the JWK files. */
static int make_key(tsr_alg alg, const char *key_out, const char *pub_out, tsr_key **out)
{
    tsr_error err;
    tsr_key *key = NULL;
    char kid[TSR_THUMBPRINT_LEN + 1], *priv = NULL, *pub = NULL;
    tsr_err rc;
    bool is_rsa = alg >= TSR_ALG_RS256 && alg <= TSR_ALG_PS512;
    int ret = -1;

    rc = is_rsa ? tsr_key_generate_rsa(alg, 2048, &key, &err) : tsr_key_generate(alg, &key, &err);
    if (rc != TSR_OK) {
        return fail("generate", rc, &err);
    }
    if ((rc = tsr_key_thumbprint(key, kid, &err)) != TSR_OK ||
        (rc = tsr_key_set1_kid(key, kid, &err)) != TSR_OK ||
        (rc = tsr_key_export_jwk(key, true, &priv, &err)) != TSR_OK) {
        fail("key export", rc, &err);
        goto out;
    }
    if (tsr_key_get_kty(key) == TSR_KTY_OCT) {
        pub = NULL; /* a secret has no public part: verifiers get the same JWK */
    } else if ((rc = tsr_key_export_jwk(key, false, &pub, &err)) != TSR_OK) {
        fail("public export", rc, &err);
        goto out;
    }
    if (write_text(key_out, priv) != 0 || write_text(pub_out, pub ? pub : priv) != 0) {
        goto out;
    }
    *out = key;
    key = NULL;
    ret = 0;
out:
    if (priv != NULL) {
        tsr_free_secret(priv, strlen(priv));
    }
    tsr_free(pub);
    tsr_key_free(key);
    return ret;
}

static int load_key(const char *path, tsr_key **out)
{
    tsr_error err;
    char buf[TSR_KEY_JSON_MAX];
    FILE *f = fopen(path, "r");
    size_t n = f ? fread(buf, 1, sizeof(buf), f) : 0;
    tsr_err rc;

    if (f == NULL) {
        fprintf(stderr, "gen_tokens: cannot open %s\n", path);
        return -1;
    }
    fclose(f);
    rc = tsr_key_load_jwk(buf, n, out, &err);
    explicit_bzero(buf, n); /* the file holds the private key */
    return rc == TSR_OK ? 0 : fail("load key", rc, &err);
}

/* The claims that stay the same for every token. */
static tsr_err base_claims(tsr_claims **out, tsr_error *err)
{
    tsr_claims *c = NULL;
    tsr_err rc;

    if ((rc = tsr_claims_new(&c, err)) != TSR_OK ||
        (rc = tsr_claims_set_string(c, "iss", BENCH_ISS, err)) != TSR_OK ||
        (rc = tsr_claims_add_audience(c, BENCH_AUD, err)) != TSR_OK ||
        (rc = tsr_claims_set_int(c, "iat", BENCH_IAT, err)) != TSR_OK ||
        (rc = tsr_claims_set_int(c, "nbf", BENCH_IAT, err)) != TSR_OK ||
        (rc = tsr_claims_set_int(c, "exp", BENCH_EXP, err)) != TSR_OK) {
        tsr_claims_free(c);
        return rc;
    }
    *out = c;
    return TSR_OK;
}

/* Per-token claims: sub, jti, scope (set last so the member order of the
 * output is iss, aud, iat, nbf, exp, sub, jti, scope whatever the builder
 * does with replaced values). */
static tsr_err token_claims(tsr_claims *c, tsr_alg alg, unsigned long i, tsr_error *err)
{
    char sub[64], jti[32];
    unsigned char raw[16];
    tsr_err rc;

    snprintf(sub, sizeof(sub), "user-%08lu@bench.tessera.example", i);
    /* A distinct, deterministic 128-bit jti: index, algorithm and a fixed
     * pattern, base64url-encoded like the library's random ones. */
    for (size_t k = 0; k < sizeof(raw); k++) {
        raw[k] = (unsigned char)(0xa5u ^ (k * 37u));
    }
    for (size_t k = 0; k < 8; k++) {
        raw[k] = (unsigned char)(i >> (8 * k));
    }
    raw[8] = (unsigned char)alg;
    if ((rc = tsr_b64url_encode(raw, sizeof(raw), jti, sizeof(jti), NULL)) != TSR_OK) {
        return rc;
    }
    if ((rc = tsr_claims_set_string(c, "sub", sub, err)) != TSR_OK ||
        (rc = tsr_claims_set_string(c, "jti", jti, err)) != TSR_OK ||
        (rc = tsr_claims_set_string(c, "scope", BENCH_SCOPE, err)) != TSR_OK) {
        return rc;
    }
    return TSR_OK;
}

static int generate(const tsr_signer *s, tsr_alg alg, unsigned long count)
{
    tsr_error err;
    tsr_claims *c = NULL;
    tsr_err rc = base_claims(&c, &err);
    size_t total_len = 0;

    if (rc != TSR_OK) {
        return fail("claims", rc, &err);
    }
    for (unsigned long i = 0; i < count && rc == TSR_OK; i++) {
        char *tok = NULL;
        size_t len = 0;
        if ((rc = token_claims(c, alg, i, &err)) != TSR_OK ||
            (rc = tsr_signer_sign_claims(s, c, BENCH_IAT, &tok, &len, &err)) != TSR_OK) {
            break;
        }
        total_len += len;
        if (fwrite(tok, 1, len, stdout) != len || putchar('\n') == EOF) {
            rc = TSR_ERR_IO;
        }
        tsr_free(tok);
    }
    tsr_claims_free(c);
    if (rc != TSR_OK) {
        return fail("sign", rc, &err);
    }
    if (fflush(stdout) != 0) {
        return -1;
    }
    fprintf(stderr, "gen_tokens: %lu %s tokens, %.0f characters on average\n", count,
            tsr_alg_name(alg), count ? (double)total_len / (double)count : 0.0);
    return 0;
}

static int usage(void)
{
    fprintf(stderr, "usage: gen_tokens --alg ALG --count N (--key-out FILE --pub-out FILE | "
                    "--key FILE) > tokens\n");
    return 2;
}

int main(int argc, char **argv)
{
    const char *alg_name = NULL, *key_in = NULL, *key_out = NULL, *pub_out = NULL;
    unsigned long count = 0;
    tsr_alg alg = TSR_ALG_UNSPECIFIED;
    tsr_key *key = NULL;
    tsr_signer *s = NULL;
    tsr_error err;
    int ret = 1;

    for (int i = 1; i < argc; i++) {
        if (i + 1 >= argc) {
            return usage();
        }
        if (strcmp(argv[i], "--alg") == 0) {
            alg_name = argv[++i];
        } else if (strcmp(argv[i], "--count") == 0) {
            count = strtoul(argv[++i], NULL, 10);
        } else if (strcmp(argv[i], "--key") == 0) {
            key_in = argv[++i];
        } else if (strcmp(argv[i], "--key-out") == 0) {
            key_out = argv[++i];
        } else if (strcmp(argv[i], "--pub-out") == 0) {
            pub_out = argv[++i];
        } else {
            return usage();
        }
    }
    if (alg_name == NULL || count == 0 || (key_in == NULL && (key_out == NULL || pub_out == NULL)) ||
        tsr_alg_from_name(alg_name, strlen(alg_name), &alg) != TSR_OK) {
        return usage();
    }
    if ((key_in ? load_key(key_in, &key) : make_key(alg, key_out, pub_out, &key)) != 0) {
        return 1;
    }
    tsr_err rc = tsr_signer_new(key, alg, NULL, "JWT", &s, &err);
    if (rc != TSR_OK) {
        fail("signer", rc, &err);
    } else if (generate(s, alg, count) == 0) {
        ret = 0;
    }
    tsr_signer_free(s);
    tsr_key_free(key);
    return ret;
}
