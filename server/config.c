/*
 * config.c: tesserad's configuration: defaults, a config file, environment
 * variables and the command line, applied in that order (later wins).
 *
 * The file format is one `name = value` per line; blank lines and lines
 * starting with '#' are ignored; values run to the end of the line with
 * surrounding blanks trimmed. Every option can also be set from the
 * environment as TESSERAD_<NAME in upper case>. The master key is not an
 * option: it never comes from the config file (see secrets.c).
 *
 * Every option is listed once in `options`, which drives parsing, the
 * environment and --help, so the three cannot drift apart.
 */
#include "tesserad.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum opt_kind {
    OPT_STR,
    OPT_INT,
    OPT_U32,
    OPT_SIZE,
    OPT_ALG,
    OPT_LISTEN,
    OPT_CLIENT
} opt_kind;

typedef struct option {
    const char *name;
    opt_kind kind;
    size_t offset;
    size_t size; /* buffer size for OPT_STR */
    int64_t min, max;
    const char *help;
} option;

#define O(field) offsetof(config, field), sizeof(((config *)0)->field)

static const option options[] = {
    {"listen", OPT_LISTEN, O(listen_host), 0, 0, "ADDR:PORT to listen on (127.0.0.1:8080)"},
    {"data", OPT_STR, O(data_dir), 0, 0, "data directory (./var)"},
    {"store", OPT_STR, O(store_spec), 0, 0, "store spec, e.g. sqlite:/path/db (the data dir)"},
    {"issuer", OPT_STR, O(issuer), 0, 0, "iss of every token (http://LISTEN)"},
    {"audience", OPT_STR, O(audience), 0, 0, "aud of access tokens (tessera-api)"},
    {"client_id", OPT_STR, O(client_id), 0, 0,
     "client_id of tokens from /v1/login (tessera-login)"},
    {"scope", OPT_STR, O(scope), 0, 0, "scope granted at login (api)"},
    {"signing_alg", OPT_ALG, O(signing_alg), 0, 0, "ES256 (default), RS256 or EdDSA"},
    {"access_token_ttl", OPT_INT, O(access_ttl), 1, ACCESS_TTL_CAP, "seconds (900, at most 3600)"},
    {"refresh_grace", OPT_INT, O(refresh_grace), 0, 300, "seconds, 0 = off (10)"},
    {"session_idle_timeout", OPT_INT, O(session_idle), 1, 400LL * 86400, "seconds (14 days)"},
    {"session_lifetime", OPT_INT, O(session_lifetime), 1, 400LL * 86400, "seconds (30 days)"},
    {"key_rotation", OPT_INT, O(key_rotation), 60, 3650LL * 86400, "seconds (30 days)"},
    {"key_prepublish", OPT_INT, O(key_prepublish), 0, 30LL * 86400, "seconds (24 h)"},
    {"key_retire_margin", OPT_INT, O(key_retire_margin), 0, 86400,
     "seconds a retired key stays published after its last token expired (300)"},
    {"jwks_max_age", OPT_INT, O(jwks_max_age), 0, 86400, "seconds of JWKS caching (300)"},
    {"leeway", OPT_INT, O(leeway), 0, 300, "clock skew tolerated, seconds (5)"},
    {"reload_ms", OPT_INT, O(reload_ms), 50, 60000, "cache and key reload period, ms (1000)"},
    {"argon2_m_kib", OPT_U32, O(argon_m_kib), 8, 4LL * 1024 * 1024, "argon2id memory, KiB (19456)"},
    {"argon2_t", OPT_U32, O(argon_t), 1, 100, "argon2id passes (2)"},
    {"argon2_p", OPT_U32, O(argon_p), 1, 64, "argon2id lanes (1)"},
    {"max_body", OPT_SIZE, O(max_body), 256, 1024LL * 1024, "bytes of a request body (16384)"},
    {"workers", OPT_U32, O(workers), 0, 256, "HTTP worker threads, 0 = CPUs (0)"},
    {"introspect_client", OPT_CLIENT, 0, 0, 0, 0,
     "ID:SHA256HEX a resource server allowed to call /oauth/introspect (repeatable)"},
    {"argon2_concurrency", OPT_U32, O(argon_concurrency), 0, 64,
     "argon2id hashes run at once, 0 = CPUs (0)"},
    {"trusted_proxies", OPT_STR, O(trusted_proxies), 0, 0,
     "comma-separated proxy IPs/CIDRs whose X-Forwarded-For is believed (none)"},
    {"cookie_origins", OPT_STR, O(cookie_origins), 0, 0,
     "comma-separated Origins allowed in cookie mode (the issuer's origin)"},
    {"rate_ip_burst", OPT_U32, O(rate_ip_burst), 0, 100000,
     "login/token requests per client address in a burst, 0 = off (20)"},
    {"rate_ip_refill_ms", OPT_INT, O(rate_ip_refill_ms), 1, 86400000LL,
     "ms to regain one request per address (3000)"},
    {"rate_account_burst", OPT_U32, O(rate_account_burst), 0, 100000,
     "login/token requests per account in a burst, 0 = off (10)"},
    {"rate_account_refill_ms", OPT_INT, O(rate_account_refill_ms), 1, 86400000LL,
     "ms to regain one request per account (6000)"},
    {"lockout_threshold", OPT_U32, O(lockout_threshold), 0, 1000,
     "consecutive failed logins before an account locks, 0 = off (5)"},
    {"lockout_base_ms", OPT_INT, O(lockout_base_ms), 1, 86400000LL,
     "first lockout, doubled by each further failure (1000)"},
    {"lockout_max_ms", OPT_INT, O(lockout_max_ms), 1, 86400000LL, "longest lockout (900000)"},
    {"audit_log", OPT_STR, O(audit_log), 0, 0, "audit log file, JSON lines; - = stderr (-)"},
    {"tls_cert", OPT_STR, O(tls_cert), 0, 0, "PEM certificate chain: serve HTTPS (none)"},
    {"tls_key", OPT_STR, O(tls_key), 0, 0, "PEM private key of tls_cert (none)"},
    {"max_header_bytes", OPT_SIZE, O(max_header_bytes), 4096, 1024LL * 1024,
     "bytes of request line and headers per connection (16384)"},
    {"max_connections", OPT_U32, O(max_connections), 1, 1000000, "open connections (4096)"},
    {"per_ip_connections", OPT_U32, O(per_ip_connections), 0, 1000000,
     "open connections per client address, 0 = no limit (256)"},
    {"conn_timeout", OPT_U32, O(conn_timeout), 1, 3600,
     "seconds before an idle or trickling connection is closed (30)"},
    {"verify_cache_entries", OPT_SIZE, O(verify_cache_entries), 0, 1LL << 22,
     "verified tokens /v1/verify remembers, 0 = off (16384)"},
};

void config_defaults(config *c)
{
    memset(c, 0, sizeof(*c));
    snprintf(c->listen_host, sizeof(c->listen_host), "127.0.0.1");
    c->listen_port = 8080;
    snprintf(c->data_dir, sizeof(c->data_dir), "./var");
    snprintf(c->audience, sizeof(c->audience), "tessera-api");
    snprintf(c->client_id, sizeof(c->client_id), "tessera-login");
    snprintf(c->scope, sizeof(c->scope), "api");
    c->signing_alg = TSR_ALG_ES256;
    c->access_ttl = 900;
    c->refresh_grace = 10;
    c->session_idle = 14LL * 86400;
    c->session_lifetime = 30LL * 86400;
    c->key_rotation = 30LL * 86400;
    c->key_prepublish = 86400;
    c->key_retire_margin = 300;
    c->jwks_max_age = 300;
    c->leeway = 5;
    c->reload_ms = 1000;
    c->argon_m_kib = 19456; /* OWASP: argon2id m=19 MiB, t=2, p=1 */
    c->argon_t = 2;
    c->argon_p = 1;
    c->max_body = 16384;
    c->workers = 0;
    c->rate_ip_burst = 20;
    c->rate_ip_refill_ms = 3000;
    c->rate_account_burst = 10;
    c->rate_account_refill_ms = 6000;
    c->lockout_threshold = 5;
    c->lockout_base_ms = 1000;
    c->lockout_max_ms = 900000;
    c->max_header_bytes = 16384;
    c->max_connections = 4096;
    c->per_ip_connections = 256;
    c->conn_timeout = 30;
    c->verify_cache_entries = 16384;
}

static int fail(char *err, size_t cap, const char *name, const char *why)
{
    snprintf(err, cap, "option %s: %s", name, why);
    return -1;
}

static int parse_i64(const char *v, int64_t *out)
{
    char *end = NULL;
    errno = 0;
    long long x = strtoll(v, &end, 10);
    if (errno != 0 || end == v || *end != '\0') {
        return -1;
    }
    *out = x;
    return 0;
}

static int set_listen(config *c, const char *v, char *err, size_t cap)
{
    const char *colon = strrchr(v, ':');
    int64_t port = 0;
    if (colon == NULL || colon == v || (size_t)(colon - v) >= sizeof(c->listen_host) ||
        parse_i64(colon + 1, &port) != 0 || port < 0 || port > 65535) {
        return fail(err, cap, "listen", "expected ADDR:PORT");
    }
    memcpy(c->listen_host, v, (size_t)(colon - v));
    c->listen_host[colon - v] = '\0';
    c->listen_port = (uint16_t)port;
    return 0;
}

static int add_client(config *c, const char *v, char *err, size_t cap)
{
    const char *colon = strchr(v, ':');
    if (c->nclients >= CFG_MAX_CLIENTS) {
        return fail(err, cap, "introspect_client", "too many clients");
    }
    cfg_client *cl = &c->clients[c->nclients];
    if (colon == NULL || colon == v || (size_t)(colon - v) >= sizeof(cl->id) ||
        !hex_decode(colon + 1, cl->secret_sha256, sizeof(cl->secret_sha256))) {
        return fail(err, cap, "introspect_client", "expected ID:SHA256HEX");
    }
    memcpy(cl->id, v, (size_t)(colon - v));
    cl->id[colon - v] = '\0';
    c->nclients++;
    return 0;
}

static int set_option(config *c, const option *o, const char *v, char *err, size_t cap)
{
    char *field = (char *)c + o->offset;
    int64_t x = 0;
    switch (o->kind) {
    case OPT_STR:
        if (strlen(v) >= o->size) {
            return fail(err, cap, o->name, "too long");
        }
        memcpy(field, v, strlen(v) + 1);
        return 0;
    case OPT_LISTEN: return set_listen(c, v, err, cap);
    case OPT_CLIENT: return add_client(c, v, err, cap);
    case OPT_ALG: {
        tsr_alg alg = TSR_ALG_UNSPECIFIED;
        if (tsr_alg_from_name(v, strlen(v), &alg) != TSR_OK ||
            (alg != TSR_ALG_ES256 && alg != TSR_ALG_RS256 && alg != TSR_ALG_EDDSA)) {
            return fail(err, cap, o->name, "must be ES256, RS256 or EdDSA");
        }
        memcpy(field, &alg, sizeof(alg));
        return 0;
    }
    case OPT_INT:
    case OPT_U32:
    case OPT_SIZE:
        if (parse_i64(v, &x) != 0 || x < o->min || x > o->max) {
            return fail(err, cap, o->name, "not a number in range");
        }
        if (o->kind == OPT_INT) {
            memcpy(field, &x, sizeof(int64_t));
        } else if (o->kind == OPT_U32) {
            uint32_t u = (uint32_t)x;
            memcpy(field, &u, sizeof(u));
        } else {
            size_t z = (size_t)x;
            memcpy(field, &z, sizeof(z));
        }
        return 0;
    }
    return fail(err, cap, o->name, "internal error");
}

int config_set(config *c, const char *key, const char *value, char *err, size_t errcap)
{
    for (size_t i = 0; i < sizeof(options) / sizeof(options[0]); i++) {
        if (strcmp(options[i].name, key) == 0) {
            return set_option(c, &options[i], value, err, errcap);
        }
    }
    if (strcmp(key, "master_key") == 0 || strcmp(key, "master_key_file") == 0) {
        return fail(err, errcap, key, "the master key never comes from the config file");
    }
    return fail(err, errcap, key, "unknown option");
}

static char *trim(char *s)
{
    while (isspace((unsigned char)*s)) {
        s++;
    }
    size_t n = strlen(s);
    while (n > 0 && isspace((unsigned char)s[n - 1])) {
        s[--n] = '\0';
    }
    return s;
}

int config_load_file(config *c, const char *path, char *err, size_t errcap)
{
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        snprintf(err, errcap, "cannot open config file %s", path);
        return -1;
    }
    char line[2048];
    int lineno = 0;
    int rc = 0;
    while (rc == 0 && fgets(line, sizeof(line), f) != NULL) {
        lineno++;
        char *s = trim(line);
        if (*s == '\0' || *s == '#') {
            continue;
        }
        char *eq = strchr(s, '=');
        if (eq == NULL) {
            snprintf(err, errcap, "%s:%d: expected name = value", path, lineno);
            rc = -1;
            break;
        }
        *eq = '\0';
        char sub[512];
        rc = config_set(c, trim(s), trim(eq + 1), sub, sizeof(sub));
        if (rc != 0) {
            snprintf(err, errcap, "%s:%d: %s", path, lineno, sub);
        }
    }
    fclose(f);
    return rc;
}

int config_apply_env(config *c, char *err, size_t errcap)
{
    for (size_t i = 0; i < sizeof(options) / sizeof(options[0]); i++) {
        char name[64] = "TESSERAD_";
        size_t off = strlen(name);
        for (const char *p = options[i].name; *p != '\0' && off < sizeof(name) - 1; p++) {
            name[off++] = (char)toupper((unsigned char)*p);
        }
        name[off] = '\0';
        const char *v = getenv(name);
        if (v != NULL && config_set(c, options[i].name, v, err, errcap) != 0) {
            return -1;
        }
    }
    return 0;
}

int config_finish(config *c, char *err, size_t errcap)
{
    if (c->issuer[0] == '\0') {
        snprintf(c->issuer, sizeof(c->issuer), "%s://%s:%u", c->tls_cert[0] ? "https" : "http",
                 c->listen_host, (unsigned)c->listen_port);
    }
    if (c->session_idle > c->session_lifetime) {
        c->session_idle = c->session_lifetime;
    }
    if (c->jwks_max_age >= c->key_prepublish && c->key_prepublish > 0) {
        snprintf(err, errcap, "jwks_max_age must be shorter than key_prepublish");
        return -1;
    }
    return 0;
}

void config_print_options(void)
{
    fprintf(stderr, "config file options (name = value), also env TESSERAD_<NAME>:\n");
    for (size_t i = 0; i < sizeof(options) / sizeof(options[0]); i++) {
        fprintf(stderr, "  %-22s %s\n", options[i].name, options[i].help);
    }
}
