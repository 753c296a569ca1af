/*
 * cmd_inspect.c: `tessera inspect`: decodes a token WITHOUT verifying it,
 * says so first and loudly, pretty-prints header and payload, shows the
 * registered times in human UTC form with their age, and lints the token
 * against a best-practice checklist, one PASS/WARN/FAIL line per check.
 *
 * Everything here treats the token as hostile: JSON goes through jansson
 * with non-ASCII escaped (no terminal tricks), depth is bounded by jansson,
 * and nothing is trusted or used to fetch anything. Exit 0 when the token
 * decodes, 2 when it is not a compact JWS at all.
 */
#include <ctype.h>
#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <jansson.h>

#include "cli.h"

static const char inspect_usage[] =
    "usage: tessera inspect [--now UNIX] [TOKEN]\n"
    "  Decodes a compact JWS/JWT WITHOUT verifying its signature, shows header,\n"
    "  payload and times, and lints it against best practice (PASS/WARN/FAIL).\n"
    "  TOKEN is read from stdin when absent. Exit 0 if it decodes, 2 if not.\n";

/* Sizes from common practice: browsers cap a cookie near 4 KiB. */
#define COOKIE_LIMIT 4096u
#define HOUR 3600
#define DAY 86400

/* ---- decoding ---- */

struct decoded {
    json_t *header;        /* object */
    json_t *payload;       /* object, or NULL when the payload is not JSON */
    size_t payload_len;    /* decoded bytes */
    size_t sig_len;        /* decoded bytes */
    bool sig_ok;           /* signature segment is valid base64url */
    bool header_dups, payload_dups; /* duplicate member names */
    size_t token_len;
};

/* Decodes one base64url segment into a new buffer (NUL-terminated). */
static unsigned char *b64_segment(const char *s, size_t n, size_t *out_len)
{
    size_t cap = tsr_b64url_decoded_max(n) + 1;
    unsigned char *buf = malloc(cap);
    *out_len = 0;
    if (buf == NULL) {
        return NULL;
    }
    if (tsr_b64url_decode(s, n, buf, cap, out_len) != TSR_OK) {
        free(buf);
        return NULL;
    }
    buf[*out_len] = '\0';
    return buf;
}

/* Parses strict JSON; on failure retries allowing duplicate names and sets *dups. */
static json_t *load_json(const unsigned char *buf, size_t len, bool *dups)
{
    json_t *j = json_loadb((const char *)buf, len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, NULL);
    *dups = false;
    if (j == NULL) {
        j = json_loadb((const char *)buf, len, JSON_ALLOW_NUL, NULL);
        *dups = j != NULL;
    }
    if (j != NULL && !json_is_object(j)) {
        json_decref(j);
        *dups = false;
        return NULL;
    }
    return j;
}

/* Splits and decodes the token; prints why and returns false if it is not one. */
static bool decode(const char *tok, size_t len, struct decoded *d)
{
    const char *dot1 = memchr(tok, '.', len), *dot2 = NULL;
    unsigned char *seg = NULL;
    size_t n = 0, dots = 0;
    for (size_t i = 0; i < len; i++) {
        dots += tok[i] == '.';
    }
    d->token_len = len;
    if (dots != 2) {
        cli_msg("malformed: not a compact JWS (%zu segments, need 3)%s", dots + 1,
                dots == 4 ? "; 5 segments is an encrypted JWE, which tessera does not read" : "");
        return false;
    }
    dot2 = memchr(dot1 + 1, '.', len - (size_t)(dot1 + 1 - tok));
    seg = b64_segment(tok, (size_t)(dot1 - tok), &n);
    d->header = seg != NULL ? load_json(seg, n, &d->header_dups) : NULL;
    free(seg);
    if (d->header == NULL) {
        cli_msg("malformed: the header is not base64url of a JSON object");
        return false;
    }
    seg = b64_segment(dot1 + 1, (size_t)(dot2 - dot1 - 1), &n);
    if (seg == NULL) {
        cli_msg("malformed: the payload is not valid base64url");
        return false;
    }
    d->payload_len = n;
    d->payload = load_json(seg, n, &d->payload_dups);
    free(seg);
    seg = b64_segment(dot2 + 1, len - (size_t)(dot2 + 1 - tok), &d->sig_len);
    d->sig_ok = seg != NULL;
    free(seg);
    return true;
}

/* ---- printing ---- */

static void print_json(const char *title, const json_t *j)
{
    /* ENSURE_ASCII: escapes anything a terminal could interpret (bidi, controls). */
    char *text = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_ENSURE_ASCII);
    printf("%s:\n%s\n", title, text != NULL ? text : "(out of memory)");
    free(text);
}

/* Formats |d| seconds as "3h 2m" into buf. */
static void fmt_span(int64_t d, char *buf, size_t cap)
{
    uint64_t a = d < 0 ? (uint64_t)(-(d + 1)) + 1 : (uint64_t)d;
    if (a < 60) {
        snprintf(buf, cap, "%llus", (unsigned long long)a);
    } else if (a < HOUR) {
        snprintf(buf, cap, "%llum %llus", (unsigned long long)(a / 60), (unsigned long long)(a % 60));
    } else if (a < DAY) {
        snprintf(buf, cap, "%lluh %llum", (unsigned long long)(a / HOUR), (unsigned long long)(a % HOUR / 60));
    } else {
        snprintf(buf, cap, "%llud %lluh", (unsigned long long)(a / DAY), (unsigned long long)(a % DAY / HOUR));
    }
}

/* A NumericDate claim as whole seconds; false when absent, not a number or
 * outside what a calendar can show (years 0..9999). */
static bool get_time(const json_t *claims, const char *name, int64_t *out)
{
    const json_t *v = json_object_get(claims, name);
    double r;
    *out = 0;
    if (json_is_integer(v)) {
        json_int_t i = json_integer_value(v);
        if (i < -62167219200LL || i > 253402300799LL) {
            return false;
        }
        *out = (int64_t)i;
        return true;
    }
    if (!json_is_real(v)) {
        return false;
    }
    r = json_real_value(v);
    if (!isfinite(r) || r < -62167219200.0 || r > 253402300799.0) {
        return false;
    }
    /* floor() without libm: truncation rounds toward zero. */
    *out = (int64_t)r;
    if ((double)*out > r) {
        (*out)--;
    }
    return true;
}

static void print_time(const json_t *claims, const char *name, int64_t now)
{
    const json_t *v = json_object_get(claims, name);
    char when[64], span[48];
    struct tm tm;
    int64_t t;
    time_t tt;
    if (v == NULL) {
        return;
    }
    if (!get_time(claims, name, &t)) {
        printf("  %-4s (not a usable NumericDate)\n", name);
        return;
    }
    tt = (time_t)t;
    if (gmtime_r(&tt, &tm) == NULL || strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S UTC", &tm) == 0) {
        printf("  %-4s %lld (out of calendar range)\n", name, (long long)t);
        return;
    }
    fmt_span(t - now, span, sizeof span);
    printf("  %-4s %lld  %s  (%s%s%s)\n", name, (long long)t, when, t > now ? "in " : "",
           t == now ? "now" : span, t < now ? " ago" : "");
}

/* ---- lint ---- */

enum level { PASS, WARN, FAIL };

struct lint {
    unsigned counts[3];
};

static void check(struct lint *l, enum level lv, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void check(struct lint *l, enum level lv, const char *name, const char *fmt, ...)
{
    static const char *const tags[] = {"PASS", "WARN", "FAIL"};
    va_list ap;
    l->counts[lv]++;
    printf("  %s %-10s ", tags[lv], name);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    fputc('\n', stdout);
}

static void lint_alg(struct lint *l, const json_t *h)
{
    const char *alg = json_string_value(json_object_get(h, "alg"));
    tsr_alg a = TSR_ALG_UNSPECIFIED;
    tsr_err rc;
    if (alg == NULL) {
        check(l, FAIL, "alg", "missing or not a string");
        return;
    }
    rc = tsr_alg_from_name(alg, strlen(alg), &a);
    if (rc == TSR_ERR_ALG_NOT_ALLOWED) {
        check(l, FAIL, "alg", "\"none\": the token is unsigned and must never be accepted");
    } else if (rc != TSR_OK) {
        check(l, FAIL, "alg", "unknown or unsupported algorithm");
    } else if (a >= TSR_ALG_HS256 && a <= TSR_ALG_HS512) {
        check(l, WARN, "alg", "%s: a shared HMAC secret lets every verifier mint tokens too", tsr_alg_name(a));
    } else {
        check(l, PASS, "alg", "%s (asymmetric)", tsr_alg_name(a));
    }
}

/* exp, lifetime and the token's current validity window. */
static void lint_times(struct lint *l, const json_t *c, int64_t now)
{
    int64_t exp, iat, nbf, start;
    bool has_exp = get_time(c, "exp", &exp), has_iat = get_time(c, "iat", &iat);
    bool has_nbf = get_time(c, "nbf", &nbf);
    char span[48];
    if (!has_exp) {
        check(l, FAIL, "exp", json_object_get(c, "exp") != NULL ? "present but not a usable NumericDate"
                                                                : "missing: the token never expires");
        check(l, FAIL, "lifetime", "unbounded (no exp)");
    } else {
        check(l, PASS, "exp", "present");
        start = has_iat ? iat : has_nbf ? nbf : now;
        fmt_span(exp - start, span, sizeof span);
        if (exp <= start) {
            check(l, WARN, "lifetime", "exp is not after %s", has_iat ? "iat" : has_nbf ? "nbf" : "now");
        } else if (exp - start <= HOUR) {
            check(l, PASS, "lifetime", "%s (at most 1 hour)", span);
        } else if (exp - start <= DAY) {
            check(l, PASS, "lifetime", "%s (over 1 hour: consider shorter-lived tokens)", span);
        } else {
            check(l, WARN, "lifetime", "%s: longer than 24 hours; a leaked token stays usable", span);
        }
    }
    if (has_exp && now >= exp) {
        check(l, WARN, "validity", "expired");
    } else if (has_nbf && now < nbf) {
        check(l, WARN, "validity", "not yet valid (nbf in the future)");
    } else if (has_iat && iat > now) {
        check(l, WARN, "validity", "issued in the future (iat)");
    } else {
        check(l, PASS, "validity", "within its time window at the inspection time");
    }
}

/* A claim that should be present; `kind` describes its required JSON type. */
static void lint_present(struct lint *l, const json_t *c, const char *name, bool type_ok, const char *why)
{
    if (json_object_get(c, name) == NULL) {
        check(l, WARN, name, "missing: %s", why);
    } else if (!type_ok) {
        check(l, FAIL, name, "has the wrong JSON type");
    } else {
        check(l, PASS, name, "present");
    }
}

static bool aud_ok(const json_t *aud)
{
    size_t i;
    const json_t *v;
    if (json_is_string(aud)) {
        return true;
    }
    if (!json_is_array(aud)) {
        return false;
    }
    json_array_foreach(aud, i, v) {
        if (!json_is_string(v)) {
            return false;
        }
    }
    return true;
}

static void lint_typ(struct lint *l, const json_t *h)
{
    const json_t *v = json_object_get(h, "typ");
    const char *t = json_string_value(v);
    if (v == NULL) {
        check(l, WARN, "typ", "missing: explicit typing (RFC 8725 3.11) prevents token confusion");
        return;
    }
    if (t == NULL) {
        check(l, FAIL, "typ", "not a string");
        return;
    }
    if (strncasecmp(t, "application/", 12) == 0) {
        t += 12;
    }
    if (strcasecmp(t, "JWT") == 0 || strcasecmp(t, "at+jwt") == 0) {
        check(l, PASS, "typ", "JWT or at+jwt");
    } else {
        check(l, WARN, "typ", "neither JWT nor at+jwt: check that verifiers expect this type");
    }
}

static void lint_header_keys(struct lint *l, const json_t *h)
{
    static const char *const embedded[] = {"jwk", "jku", "x5u", "x5c"};
    char found[32] = "";
    const json_t *kid = json_object_get(h, "kid");
    for (size_t i = 0; i < sizeof embedded / sizeof embedded[0]; i++) {
        if (json_object_get(h, embedded[i]) != NULL) {
            strncat(found, found[0] != '\0' ? "," : "", sizeof found - strlen(found) - 1);
            strncat(found, embedded[i], sizeof found - strlen(found) - 1);
        }
    }
    if (kid == NULL) {
        check(l, WARN, "kid", "missing: verifiers with several keys cannot select one");
    } else if (!json_is_string(kid)) {
        check(l, FAIL, "kid", "not a string");
    } else {
        check(l, PASS, "kid", "present");
    }
    if (found[0] != '\0') {
        check(l, FAIL, "key-header", "carries %s: key material chosen by the sender must never be trusted", found);
    } else {
        check(l, PASS, "key-header", "no embedded jwk/jku/x5u/x5c");
    }
    if (json_object_get(h, "crit") != NULL) {
        check(l, WARN, "crit", "critical extensions: most verifiers (tessera too) reject unknown ones");
    } else {
        check(l, PASS, "crit", "none");
    }
}

/* Lower-cases `name` dropping '_', '-' and ' ' ("Credit_Card" -> "creditcard"). */
static void squash(const char *name, char *out, size_t cap)
{
    size_t o = 0;
    for (; *name != '\0' && o + 1 < cap; name++) {
        if (*name != '_' && *name != '-' && *name != ' ') {
            out[o++] = (char)tolower((unsigned char)*name);
        }
    }
    out[o] = '\0';
}

static bool sensitive_name(const char *name)
{
    static const char *const words[] = {
        "password", "passwd", "pwd", "passphrase", "secret", "ssn", "socialsecurity", "creditcard",
        "cardnumber", "ccnumber", "cvv", "cvc", "pin", "privatekey", "apikey", "iban",
    };
    char s[64];
    squash(name, s, sizeof s);
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++) {
        if (strstr(s, words[i]) != NULL && (strcmp(words[i], "pin") != 0 || strcmp(s, "pin") == 0)) {
            return true;
        }
    }
    return false;
}

/* True for 13..19 digits (spaces and dashes allowed between) passing Luhn. */
static bool card_number(const char *s, size_t len)
{
    unsigned digits = 0, sum = 0;
    for (size_t i = len; i-- > 0;) {
        char ch = s[i];
        if (ch == ' ' || ch == '-') {
            continue;
        }
        if (ch < '0' || ch > '9') {
            return false;
        }
        unsigned d = (unsigned)(ch - '0');
        if (digits % 2 == 1) {
            d *= 2;
            d = d > 9 ? d - 9 : d;
        }
        sum += d;
        digits++;
    }
    return digits >= 13 && digits <= 19 && sum % 10 == 0;
}

/* True for a US SSN shape "ddd-dd-dddd". */
static bool ssn_shape(const char *s, size_t len)
{
    static const char shape[] = "ddd-dd-dddd";
    if (len != sizeof shape - 1) {
        return false;
    }
    for (size_t i = 0; i < len; i++) {
        if (shape[i] == 'd' ? !isdigit((unsigned char)s[i]) : s[i] != '-') {
            return false;
        }
    }
    return true;
}

static bool sensitive_value(const json_t *v)
{
    char num[32];
    if (json_is_string(v)) {
        return card_number(json_string_value(v), json_string_length(v)) ||
               ssn_shape(json_string_value(v), json_string_length(v));
    }
    if (json_is_integer(v)) {
        int n = snprintf(num, sizeof num, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        return n > 0 && card_number(num, (size_t)n);
    }
    return false;
}

/* Walks `v` and appends suspicious claim names to `found`. Recursive, but
 * bounded: depth stops at 32 (jansson itself caps parse depth). */
static void scan_sensitive(json_t *v, const char *name, int depth, char *found, size_t cap, unsigned *hits)
{
    const char *k;
    json_t *m;
    size_t i;
    if (depth > 32) {
        return;
    }
    if (name != NULL && (sensitive_name(name) || sensitive_value(v))) {
        char clean[40];
        size_t o = 0;
        /* Only the name is shown, never the value, and only printable ASCII of it. */
        for (const char *p = name; *p != '\0' && o + 1 < sizeof clean; p++) {
            clean[o] = '?';
            if (*p > 0x20 && *p < 0x7f) {
                clean[o] = *p;
            }
            o++;
        }
        clean[o] = '\0';
        if (*hits < 8) {
            strncat(found, *hits > 0 ? ", " : "", cap - strlen(found) - 1);
            strncat(found, clean, cap - strlen(found) - 1);
        }
        (*hits)++;
    }
    if (json_is_object(v)) {
        json_object_foreach(v, k, m) {
            scan_sensitive(m, k, depth + 1, found, cap, hits);
        }
    } else if (json_is_array(v)) {
        json_array_foreach(v, i, m) {
            scan_sensitive(m, name, depth + 1, found, cap, hits);
        }
    }
}

static void lint_sensitive(struct lint *l, json_t *c)
{
    char found[400] = "";
    unsigned hits = 0;
    scan_sensitive(c, NULL, 0, found, sizeof found, &hits);
    if (hits > 0) {
        check(l, FAIL, "sensitive", "claims look like secrets or personal data (%s%s): a JWT is only "
              "encoded, anyone holding it can read them", found, hits > 8 ? ", ..." : "");
    } else {
        check(l, PASS, "sensitive", "no password, secret, SSN or card-number-like claims");
    }
}

static void lint_all(const struct decoded *d, int64_t now)
{
    struct lint l = {{0, 0, 0}};
    json_t *c = d->payload;
    puts("lint:");
    lint_alg(&l, d->header);
    if (d->header_dups || d->payload_dups) {
        check(&l, FAIL, "json", "duplicate member names: verifiers may disagree on which value wins");
    } else {
        check(&l, PASS, "json", "no duplicate member names");
    }
    if (c == NULL) {
        check(&l, FAIL, "claims", "payload is not a JSON object: this is not a JWT");
    } else {
        lint_times(&l, c, now);
        lint_present(&l, c, "iss", json_is_string(json_object_get(c, "iss")), "verifiers cannot check the issuer");
        lint_present(&l, c, "aud", aud_ok(json_object_get(c, "aud")), "the token is valid at every service that trusts the key");
        lint_present(&l, c, "jti", json_is_string(json_object_get(c, "jti")), "no id to revoke or detect replay");
        lint_sensitive(&l, c);
    }
    lint_typ(&l, d->header);
    lint_header_keys(&l, d->header);
    if (d->token_len > TSR_DEFAULT_MAX_TOKEN_SIZE) {
        check(&l, FAIL, "size", "%zu characters: over tessera's default cap of %u", d->token_len,
              TSR_DEFAULT_MAX_TOKEN_SIZE);
    } else if (d->token_len > COOKIE_LIMIT) {
        check(&l, WARN, "size", "%zu characters: over 4 KiB, too large for a cookie", d->token_len);
    } else {
        check(&l, PASS, "size", "%zu characters", d->token_len);
    }
    if (!d->sig_ok) {
        check(&l, FAIL, "signature", "not valid base64url");
    } else if (d->sig_len == 0) {
        check(&l, FAIL, "signature", "empty: the token is unsigned");
    } else {
        check(&l, PASS, "signature", "%zu bytes present (NOT verified)", d->sig_len);
    }
    printf("summary: %u pass, %u warn, %u fail (signature NOT verified)\n", l.counts[PASS], l.counts[WARN],
           l.counts[FAIL]);
}

static void report(const struct decoded *d, int64_t now)
{
    puts("WARNING: NOT VERIFIED. This is only a decoding: the signature was not checked and");
    puts("WARNING: nothing below can be trusted. Use 'tessera verify' to validate a token.");
    print_json("header", d->header);
    if (d->payload != NULL) {
        print_json("payload", d->payload);
        puts("times:");
        print_time(d->payload, "iat", now);
        print_time(d->payload, "nbf", now);
        print_time(d->payload, "exp", now);
    } else {
        printf("payload: not a JSON object (%zu bytes, not shown)\n", d->payload_len);
    }
    lint_all(d, now);
}

int cli_cmd_inspect(int argc, char **argv)
{
    static const struct option opts[] = {
        {"now", required_argument, NULL, 'n'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct decoded d = {0};
    tsr_error err = {0};
    const char *tok = NULL;
    char *owned = NULL;
    size_t len = 0;
    int64_t now = 0;
    bool have_now = false;
    int c, status = CLI_EXIT_USAGE;
    tsr_err rc;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (c) {
        case 'n':
            if (!cli_parse_i64(optarg, 0, INT64_MAX / 4, &now)) {
                return cli_usage_error(argv[0], inspect_usage, "--now needs Unix seconds:", optarg);
            }
            have_now = true;
            break;
        case 'h': fputs(inspect_usage, stdout); return CLI_EXIT_OK;
        default: return cli_bad_option(argv[0], inspect_usage, c, argv);
        }
    }
    if (argc - optind > 1) {
        return cli_usage_error(argv[0], inspect_usage, "unexpected argument", argv[argc - 1]);
    }
    rc = cli_get_token(optind < argc ? argv[optind] : NULL, TSR_MAX_TOKEN_SIZE_LIMIT, &tok, &len, &owned, &err);
    if (rc != TSR_OK) {
        cli_report_in("inspect", rc, &err);
        goto out;
    }
    if (decode(tok, len, &d)) {
        report(&d, have_now ? now : cli_now());
        status = CLI_EXIT_OK;
    }
out:
    json_decref(d.header);
    json_decref(d.payload);
    free(owned);
    return status;
}
