/*
 * floor.c: the minimal OpenSSL-only verifier, run exactly like
 * `tessera verify --batch`: tokens one per line on stdin, one line out per
 * token ("ok" or "bad"). The work per token is floor_verify() (floor_core.c).
 *
 *   floor --key JWK --alg ALG [--jansson] [--mode MODE] [--stats]
 *
 * --jansson additionally parses the claims with jansson (the "floor +
 * jansson" reference line). --stats prints the in-process count and time
 * (first byte read to last line written) on stderr.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

static int usage(void)
{
    fprintf(stderr, "usage: floor --key JWK --alg ALG [--jansson] "
                    "[--mode default|dup|reinit|manual|digestverify|pkeyverify] [--stats]\n");
    return 2;
}

/* The batch loop: same input/output contract as `tessera verify --batch`. */
static size_t run_batch(floor_verifier *f, size_t *total)
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
        bool good = floor_verify(f, line, len);
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
    bool jansson = false, stats = false;
    floor_mode mode = FLOOR_MODE_DEFAULT;
    bench_key key;
    floor_verifier *f = NULL;
    int rc = 2;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--key") == 0 && i + 1 < argc) {
            key_path = argv[++i];
        } else if (strcmp(argv[i], "--alg") == 0 && i + 1 < argc) {
            alg_name = argv[++i];
        } else if (strcmp(argv[i], "--mode") == 0 && i + 1 < argc) {
            if (floor_mode_parse(argv[++i], &mode) != 0) {
                return usage();
            }
        } else if (strcmp(argv[i], "--jansson") == 0) {
            jansson = true;
        } else if (strcmp(argv[i], "--stats") == 0) {
            stats = true;
        } else {
            return usage();
        }
    }
    const bench_alg *alg = alg_name ? bench_alg_get(alg_name) : NULL;
    if (key_path == NULL || alg == NULL) {
        return usage();
    }
    if (bench_key_load(key_path, &key) != 0) {
        return 2;
    }
    f = floor_new(alg, &key, mode, jansson);
    if (f != NULL) {
        static char obuf[1 << 16];
        size_t total = 0;
        setvbuf(stdout, obuf, _IOFBF, sizeof(obuf));
        double t0 = bench_now();
        size_t ok = run_batch(f, &total);
        fflush(stdout);
        double dt = bench_now() - t0;
        if (stats) {
            fprintf(stderr, "floor %s: %zu tokens, %zu ok, %.6f s, %.0f tokens/s\n", alg->name,
                    total, ok, dt, dt > 0 ? (double)total / dt : 0.0);
        }
        rc = 0;
    }
    floor_free(f);
    bench_key_clear(&key);
    return rc;
}
