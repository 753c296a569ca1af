/*
 * bench_util.c: the plumbing every benchmark program needs: a monotonic
 * clock, a token file read into memory once (so that threads.c measures
 * verification, not I/O), whole-file reads for keys, and a median.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench.h"

double bench_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

char *bench_read_file(const char *path, size_t *len)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    char *buf = NULL;
    size_t n = 0, cap = 0;

    if (f == NULL) {
        fprintf(stderr, "cannot open %s: %s\n", path, strerror(errno));
        return NULL;
    }
    for (;;) {
        if (cap - n < 65536) {
            /* Doubling keeps a 100 MB token file at ~27 reallocations. */
            size_t ncap = cap ? cap * 2 : 1u << 20;
            char *nbuf = realloc(buf, ncap + 1);
            if (nbuf == NULL) {
                fprintf(stderr, "out of memory reading %s\n", path);
                free(buf);
                buf = NULL;
                goto out;
            }
            buf = nbuf;
            cap = ncap;
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0) {
            break;
        }
    }
    if (ferror(f)) {
        fprintf(stderr, "cannot read %s\n", path);
        free(buf);
        buf = NULL;
        goto out;
    }
    buf[n] = '\0';
    if (len != NULL) {
        *len = n;
    }
out:
    if (f != stdin) {
        fclose(f);
    }
    return buf;
}

int bench_lines_read(const char *path, bench_lines *out)
{
    size_t n = 0, count = 0;
    char *text = bench_read_file(path, &n);

    memset(out, 0, sizeof(*out));
    if (text == NULL) {
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        count += text[i] == '\n';
    }
    if (n > 0 && text[n - 1] != '\n') {
        count++;
    }
    out->line = calloc(count + 1, sizeof(*out->line));
    out->len = calloc(count + 1, sizeof(*out->len));
    if (out->line == NULL || out->len == NULL) {
        fprintf(stderr, "out of memory\n");
        free(text);
        bench_lines_free(out);
        return -1;
    }
    out->text = text;
    char *p = text, *end = text + n;
    while (p < end) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        char *stop = nl != NULL ? nl : end;
        size_t len = (size_t)(stop - p);
        if (len > 0 && p[len - 1] == '\r') {
            len--;
        }
        p[len] = '\0';
        out->line[out->count] = p;
        out->len[out->count] = len;
        out->count++;
        p = stop + 1;
    }
    return 0;
}

void bench_lines_free(bench_lines *l)
{
    free(l->text);
    free(l->line);
    free(l->len);
    memset(l, 0, sizeof(*l));
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double bench_median(double *v, size_t n)
{
    if (n == 0) {
        return 0.0;
    }
    qsort(v, n, sizeof(*v), cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2.0;
}
