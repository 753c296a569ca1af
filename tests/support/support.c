/*
 * support.c: helpers for the test programs (file loading, hex, vectors).
 */
#include "support.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char *tst_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        return NULL;
    }
    size_t cap = 4096;
    size_t n = 0;
    char *buf = malloc(cap);
    while (buf != NULL) {
        size_t got = fread(buf + n, 1, cap - n - 1, f);
        n += got;
        if (got == 0) {
            break;
        }
        if (n + 1 == cap) {
            cap *= 2;
            char *grown = realloc(buf, cap);
            if (grown == NULL) {
                free(buf);
                buf = NULL;
            }
            buf = grown;
        }
    }
    fclose(f);
    if (buf == NULL) {
        return NULL;
    }
    buf[n] = '\0';
    if (len != NULL) {
        *len = n;
    }
    return buf;
}

const char *tst_vector_path(const char *rel)
{
    static char path[4096];
    const char *root = getenv("TSR_VECTORS");
    if (root == NULL || root[0] == '\0') {
        root = "../shared/vectors";
    }
    (void)snprintf(path, sizeof path, "%s/%s", root, rel);
    return path;
}

json_t *tst_load_vector_json(const char *rel)
{
    const char *path = tst_vector_path(rel);
    json_error_t jerr;
    json_t *root = json_load_file(path, 0, &jerr);
    if (root == NULL) {
        fprintf(stderr, "FATAL: cannot load vector file %s: %s\n", path, jerr.text);
        abort();
    }
    return root;
}

static int hex_digit(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

unsigned char *tst_hex_decode(const char *hex, size_t *len)
{
    size_t n = strlen(hex);
    if (n % 2 != 0) {
        return NULL;
    }
    unsigned char *out = malloc(n / 2 + 1);
    if (out == NULL) {
        return NULL;
    }
    for (size_t i = 0; i < n / 2; i++) {
        int hi = hex_digit(hex[2 * i]);
        int lo = hex_digit(hex[2 * i + 1]);
        if (hi < 0 || lo < 0) {
            free(out);
            return NULL;
        }
        out[i] = (unsigned char)(hi * 16 + lo);
    }
    *len = n / 2;
    return out;
}
