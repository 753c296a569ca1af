/*
 * util.c: small helpers every module of tesserad shares: the clock,
 * randomness, SHA-256, base64url and hex, whole-file reads and the stderr
 * log. Logging takes printf formats; callers pass only ids and counts,
 * never a token, password, secret or Authorization header.
 */
#include "tesserad.h"

#include "audit.h"

#include <errno.h>
#include <openssl/rand.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int64_t now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec;
}

void rand_bytes(unsigned char *buf, size_t n)
{
    if (n > 0 && RAND_bytes(buf, (int)n) != 1) {
        log_error("fatal: the system random generator failed");
        abort();
    }
}

void rand_id(char *out, size_t cap, size_t nbytes)
{
    unsigned char raw[64];
    if (nbytes > sizeof(raw)) {
        abort();
    }
    rand_bytes(raw, nbytes);
    if (!b64url_enc(raw, nbytes, out, cap)) {
        abort();
    }
}

bool b64url_enc(const unsigned char *in, size_t n, char *out, size_t cap)
{
    return tsr_b64url_encode(in, n, out, cap, NULL) == TSR_OK;
}

static int hexval(char c)
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

bool hex_decode(const char *hex, unsigned char *out, size_t n)
{
    if (strlen(hex) != 2 * n) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        int hi = hexval(hex[2 * i]);
        int lo = hexval(hex[2 * i + 1]);
        if (hi < 0 || lo < 0) {
            return false;
        }
        out[i] = (unsigned char)(hi * 16 + lo);
    }
    return true;
}

char *read_file(const char *path, size_t max, size_t *len)
{
    *len = 0;
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        return NULL;
    }
    char *buf = malloc(max + 1);
    size_t n = buf == NULL ? 0 : fread(buf, 1, max + 1, f);
    bool bad = buf == NULL || ferror(f) || n > max;
    fclose(f);
    if (bad) {
        free(buf);
        errno = EFBIG;
        return NULL;
    }
    buf[n] = '\0';
    *len = n;
    return buf;
}

__attribute__((format(printf, 3, 0))) static void vlog(const char *level, const char *event,
                                                       const char *fmt, va_list ap)
{
    char line[1024];
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    int n = snprintf(line, sizeof(line), "%04d-%02d-%02dT%02d:%02d:%02dZ %s%s%s ",
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                     level, event ? " event=" : "", event ? event : "");
    if (n < 0) {
        return;
    }
    size_t off = (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1;
    vsnprintf(line + off, sizeof(line) - off, fmt, ap);
    /* One fputs per line keeps lines from different threads whole. */
    size_t l = strnlen(line, sizeof(line) - 2);
    line[l] = '\n';
    line[l + 1] = '\0';
    fputs(line, stderr);
}

void log_info(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vlog("info", NULL, fmt, ap);
    va_end(ap);
}

void log_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vlog("error", NULL, fmt, ap);
    va_end(ap);
}

void log_audit(const char *event, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    audit_legacy(event, fmt, ap); /* a JSON line in the audit log (audit.c) */
    va_end(ap);
}
