/*
 * libjwt_verify.c: the second baseline, Debian's libjwt (1.10.2), run like
 * `tessera verify --batch`: tokens one per line on stdin, "ok" or "bad" per
 * line. Per token: jwt_decode(&jwt, token, key, keylen) (which parses header
 * and claims with jansson and checks the signature) and a check that the
 * header alg is the expected one (libjwt 1.10 trusts the header's alg).
 *
 *   libjwt_verify --key JWK --alg ALG [--stats]
 *
 * The JWK is converted once at startup into what libjwt takes: the raw
 * secret for HS*, a PEM SPKI public key for RS* and ES*. libjwt 1.10 has no
 * PS* and no EdDSA.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jwt.h>

#include "bench.h"

static int usage(void)
{
    fprintf(stderr, "usage: libjwt_verify --key JWK --alg ALG [--stats]\n");
    return 2;
}

static size_t run_batch(const unsigned char *key, size_t key_len, jwt_alg_t want,
                        size_t *total)
{
    char *line = NULL;
    size_t cap = 0, ok = 0;
    ssize_t n;

    while ((n = getline(&line, &cap, stdin)) >= 0) {
        size_t len = (size_t)n;
        if (len > 0 && line[len - 1] == '\n') {
            len--;
        }
        if (len > 0 && line[len - 1] == '\r') {
            len--;
        }
        line[len] = '\0';
        jwt_t *jwt = NULL;
        bool good = jwt_decode(&jwt, line, key, (int)key_len) == 0 && jwt_get_alg(jwt) == want;
        jwt_free(jwt);
        ok += good;
        fputs(good ? "ok\n" : "bad\n", stdout);
        (*total)++;
    }
    free(line);
    return ok;
}

int main(int argc, char **argv)
{
    const char *key_path = NULL, *alg_name = NULL;
    bool stats = false;
    bench_key key;
    unsigned char *raw = NULL;
    size_t raw_len = 0;
    int rc = 2;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--key") == 0 && i + 1 < argc) {
            key_path = argv[++i];
        } else if (strcmp(argv[i], "--alg") == 0 && i + 1 < argc) {
            alg_name = argv[++i];
        } else if (strcmp(argv[i], "--stats") == 0) {
            stats = true;
        } else {
            return usage();
        }
    }
    if (key_path == NULL || alg_name == NULL) {
        return usage();
    }
    jwt_alg_t want = jwt_str_alg(alg_name);
    if (want == JWT_ALG_INVAL || want == JWT_ALG_NONE) {
        fprintf(stderr, "libjwt_verify: libjwt %s does not support %s\n", "1.10", alg_name);
        return 3; /* "not applicable": run-bench.sh reports n/a */
    }
    if (bench_key_load(key_path, &key) != 0) {
        return 2;
    }
    if (key.secret != NULL) {
        raw = key.secret;
        raw_len = key.secret_len;
    } else {
        raw = (unsigned char *)bench_key_public_pem(&key, &raw_len);
    }
    if (raw != NULL) {
        static char obuf[1 << 16];
        size_t total = 0;
        setvbuf(stdout, obuf, _IOFBF, sizeof(obuf));
        double t0 = bench_now();
        size_t ok = run_batch(raw, raw_len, want, &total);
        fflush(stdout);
        double dt = bench_now() - t0;
        if (stats) {
            fprintf(stderr, "libjwt %s: %zu tokens, %zu ok, %.6f s, %.0f tokens/s\n", alg_name,
                    total, ok, dt, dt > 0 ? (double)total / dt : 0.0);
        }
        rc = 0;
    }
    if (raw != key.secret) {
        free(raw);
    }
    bench_key_clear(&key);
    return rc;
}
