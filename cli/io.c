/*
 * io.c: the CLI's shared plumbing: one-line error reports on stderr, reading
 * key files and tokens with hard size caps, and strict parsing of the numbers,
 * durations and algorithm lists that options carry.
 *
 * Every reader stops at its cap plus one byte, so hostile or mistaken input
 * (a multi-gigabyte "key file", an endless stdin) costs bounded memory.
 * Buffers that may have held key material are wiped before they are freed.
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "cli.h"

void cli_msg(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("tessera: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

/* Writes `s` to stderr with control bytes replaced, keeping reports on one line. */
static void put_clean(const char *s)
{
    for (; *s != '\0'; s++) {
        unsigned char c = (unsigned char)*s;
        fputc(c < 0x20 || c == 0x7f ? '?' : c, stderr);
    }
}

void cli_report_in(const char *ctx, tsr_err rc, const tsr_error *err)
{
    const char *msg = NULL;
    bool ours = err != NULL && err->code == rc;
    if (ours) {
        msg = err->message;
    }
    if (msg == NULL) {
        msg = tsr_strerror(rc);
    }
    fputs("tessera: ", stderr);
    fputs(tsr_err_name(rc), stderr);
    fputs(": ", stderr);
    if (ctx != NULL) {
        put_clean(ctx);
        fputs(": ", stderr);
    }
    put_clean(msg);
    if (ours && err->detail[0] != '\0') {
        /* detail is documented NUL-terminated within its array; be defensive anyway. */
        char detail[TSR_ERROR_DETAIL_MAX];
        memcpy(detail, err->detail, sizeof detail);
        detail[sizeof detail - 1] = '\0';
        if (strstr(msg, detail) != NULL) {
            fputc('\n', stderr); /* the detail only repeats the message */
            return;
        }
        fputs(" (", stderr);
        put_clean(detail);
        fputc(')', stderr);
    }
    fputc('\n', stderr);
}

void cli_report(tsr_err rc, const tsr_error *err)
{
    cli_report_in(NULL, rc, err);
}

int cli_usage_error(const char *cmd, const char *usage, const char *what, const char *arg)
{
    if (what != NULL) {
        if (arg != NULL) {
            fprintf(stderr, "tessera: %s: %s '%.64s'\n", cmd, what, arg);
        } else {
            fprintf(stderr, "tessera: %s: %s\n", cmd, what);
        }
    }
    fputs(usage, stderr);
    return CLI_EXIT_USAGE;
}

int cli_bad_option(const char *cmd, const char *usage, int c, char **argv)
{
    const char *opt = optind > 0 ? argv[optind - 1] : "?";
    if (c == ':') {
        return cli_usage_error(cmd, usage, "option needs a value:", opt);
    }
    if (optopt != 0) {
        char s[3] = {'-', (char)optopt, '\0'};
        return cli_usage_error(cmd, usage, "unknown option", s);
    }
    return cli_usage_error(cmd, usage, "unknown option", opt);
}

void cli_free_buf(char *buf, size_t len)
{
    if (buf != NULL) {
        explicit_bzero(buf, len);
        free(buf);
    }
}

/* Reads at most cap + 1 bytes of `f` into a new buffer; see cli_read_file. */
static tsr_err read_stream(FILE *f, size_t cap, char **out, size_t *len, tsr_error *err)
{
    size_t size = 0, alloc = 4096;
    char *buf = malloc(alloc);
    tsr_err rc = TSR_OK;
    if (buf == NULL) {
        rc = TSR_ERR_NOMEM;
        goto out;
    }
    for (;;) {
        if (size == alloc - 1) {
            /* Grow by doubling but never beyond cap + 2 (cap + 1 data bytes + NUL). */
            size_t next = alloc * 2 > cap + 2 ? cap + 2 : alloc * 2;
            char *nb;
            if (next <= alloc) {
                rc = TSR_ERR_TOO_LARGE;
                goto out;
            }
            nb = malloc(next);
            if (nb == NULL) {
                rc = TSR_ERR_NOMEM;
                goto out;
            }
            memcpy(nb, buf, size);
            explicit_bzero(buf, alloc);
            free(buf);
            buf = nb;
            alloc = next;
        }
        size_t n = fread(buf + size, 1, alloc - 1 - size, f);
        size += n;
        if (size > cap) {
            rc = TSR_ERR_TOO_LARGE;
            goto out;
        }
        if (n == 0) {
            if (ferror(f)) {
                rc = TSR_ERR_IO;
            }
            break;
        }
    }
out:
    if (rc != TSR_OK) {
        if (err != NULL) {
            err->code = rc;
            err->message = tsr_strerror(rc);
            snprintf(err->detail, sizeof err->detail, "%s",
                     rc == TSR_ERR_TOO_LARGE ? "input is longer than the limit" : "read failed");
        }
        cli_free_buf(buf, buf != NULL ? alloc : 0);
        *out = NULL;
        *len = 0;
        return rc;
    }
    buf[size] = '\0';
    *out = buf;
    *len = size;
    return TSR_OK;
}

tsr_err cli_read_file(const char *path, size_t cap, char **out, size_t *len, tsr_error *err)
{
    FILE *f;
    tsr_err rc;
    *out = NULL;
    *len = 0;
    if (strcmp(path, "-") == 0) {
        return read_stream(stdin, cap, out, len, err);
    }
    f = fopen(path, "rb");
    if (f == NULL) {
        if (err != NULL) {
            err->code = TSR_ERR_IO;
            err->message = tsr_strerror(TSR_ERR_IO);
            snprintf(err->detail, sizeof err->detail, "%s", strerror(errno));
        }
        return TSR_ERR_IO;
    }
    rc = read_stream(f, cap, out, len, err);
    fclose(f);
    return rc;
}

tsr_err cli_get_token(const char *arg, size_t cap, const char **tok, size_t *len, char **owned,
                      tsr_error *err)
{
    char *buf = NULL;
    size_t n = 0;
    tsr_err rc;
    *owned = NULL;
    if (arg != NULL && strcmp(arg, "-") != 0) {
        *tok = arg;
        *len = strlen(arg);
        return TSR_OK;
    }
    *tok = NULL;
    *len = 0;
    /* Room for the token plus the "\r\n" that is stripped. */
    rc = read_stream(stdin, cap + 2, &buf, &n, err);
    if (rc != TSR_OK) {
        return rc;
    }
    if (n > 0 && buf[n - 1] == '\n') {
        n--;
        if (n > 0 && buf[n - 1] == '\r') {
            n--;
        }
    }
    if (n > cap) {
        free(buf);
        if (err != NULL) {
            err->code = TSR_ERR_TOO_LARGE;
            err->message = tsr_strerror(TSR_ERR_TOO_LARGE);
            snprintf(err->detail, sizeof err->detail, "token is longer than %zu characters", cap);
        }
        return TSR_ERR_TOO_LARGE;
    }
    buf[n] = '\0';
    *tok = buf;
    *len = n;
    *owned = buf;
    return TSR_OK;
}

tsr_keyset *cli_load_keyfile(const char *path)
{
    tsr_error err = {0};
    tsr_keyset *set = NULL;
    char *data = NULL;
    size_t len = 0;
    tsr_err rc = cli_read_file(path, TSR_KEYSET_JSON_MAX, &data, &len, &err);
    if (rc == TSR_OK) {
        rc = tsr_keyset_load(data, len, &set, &err);
    }
    cli_free_buf(data, len);
    if (rc != TSR_OK) {
        cli_report_in(path, rc, &err);
        tsr_keyset_free(set);
        return NULL;
    }
    return set;
}

bool cli_parse_i64(const char *s, int64_t min, int64_t max, int64_t *out)
{
    char *end = NULL;
    long long v;
    *out = 0;
    if (s == NULL || *s == '\0' || *s == ' ' || *s == '+') {
        return false;
    }
    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < min || v > max) {
        return false;
    }
    *out = (int64_t)v;
    return true;
}

bool cli_parse_duration(const char *s, int64_t max, int64_t *out)
{
    int64_t unit = 1, v = 0;
    size_t n;
    char num[24];
    *out = 0;
    if (s == NULL) {
        return false;
    }
    n = strlen(s);
    if (n == 0 || n >= sizeof num) {
        return false;
    }
    switch (s[n - 1]) {
    case 's': unit = 1; n--; break;
    case 'm': unit = 60; n--; break;
    case 'h': unit = 3600; n--; break;
    case 'd': unit = 86400; n--; break;
    default: break;
    }
    memcpy(num, s, n);
    num[n] = '\0';
    for (size_t i = 0; i < n; i++) {
        if (num[i] < '0' || num[i] > '9') {
            return false;
        }
    }
    if (!cli_parse_i64(num, 1, max / unit, &v)) {
        return false;
    }
    *out = v * unit;
    return true;
}

tsr_err cli_parse_alg_list(const char *list, unsigned *mask, const char **bad, size_t *bad_len)
{
    const char *p = list;
    *mask = 0;
    *bad = list;
    *bad_len = 0;
    for (;;) {
        const char *comma = strchr(p, ',');
        size_t n = comma != NULL ? (size_t)(comma - p) : strlen(p);
        tsr_alg alg = TSR_ALG_UNSPECIFIED;
        tsr_err rc = n == 0 ? TSR_ERR_MALFORMED : tsr_alg_from_name(p, n, &alg);
        if (rc != TSR_OK) {
            *mask = 0;
            *bad = p;
            *bad_len = n;
            return rc;
        }
        *mask |= TSR_ALG_BIT(alg);
        if (comma == NULL) {
            return TSR_OK;
        }
        p = comma + 1;
    }
}

int64_t cli_now(void)
{
    return (int64_t)time(NULL);
}

/* Where a JWK Set holds exactly one member, the text of that member as a
 * new string (wipe and free it); NULL when `data` is not such a set. */
static char *lone_set_member(const char *data, size_t len, bool *is_set, size_t *count)
{
    json_t *doc = json_loadb(data, len, JSON_REJECT_DUPLICATES, NULL);
    json_t *keys = json_object_get(doc, "keys");
    char *text = NULL;
    *is_set = json_is_array(keys);
    *count = *is_set ? json_array_size(keys) : 0;
    if (*is_set && *count == 1) {
        text = json_dumps(json_array_get(keys, 0), JSON_COMPACT | JSON_PRESERVE_ORDER);
    }
    json_decref(doc);
    return text;
}

/* Loads the one key of `data`: a JWK, a JWK Set of one member, or PEM. */
static tsr_err load_one(const char *data, size_t len, tsr_key **key, tsr_error *err)
{
    size_t i = 0, count = 0;
    bool is_set = false;
    char *member;
    tsr_err rc;
    while (i < len && (data[i] == ' ' || data[i] == '\t' || data[i] == '\r' || data[i] == '\n')) {
        i++;
    }
    if (i == len || data[i] != '{') {
        return tsr_key_load_pem(data, len, key, err);
    }
    member = lone_set_member(data, len, &is_set, &count);
    if (!is_set) {
        return tsr_key_load_jwk(data, len, key, err);
    }
    if (member == NULL) {
        *key = NULL;
        if (err != NULL) {
            err->code = TSR_ERR_INVALID_ARGUMENT;
            err->message = "a single key is needed";
            snprintf(err->detail, sizeof err->detail, "the JWK Set holds %zu keys", count);
        }
        return TSR_ERR_INVALID_ARGUMENT;
    }
    rc = tsr_key_load_jwk(member, strlen(member), key, err);
    explicit_bzero(member, strlen(member));
    free(member);
    return rc;
}

tsr_key *cli_load_one_key(const char *path)
{
    tsr_error err = {0};
    tsr_key *key = NULL;
    char *data = NULL;
    size_t len = 0;
    tsr_err rc = cli_read_file(path, TSR_KEYSET_JSON_MAX, &data, &len, &err);
    if (rc == TSR_OK) {
        rc = load_one(data, len, &key, &err);
    }
    cli_free_buf(data, len);
    if (rc != TSR_OK) {
        cli_report_in(path, rc, &err);
        tsr_key_free(key);
        return NULL;
    }
    return key;
}
