/*
 * ratelimit.c: rate limits and lockout for /v1/login and /oauth/token.
 *
 * Limits are token buckets kept as GCRA state: one "theoretical arrival
 * time" per key. A key may go ahead while tat - now <= (burst - 1) *
 * interval; each admitted request pushes tat one interval further. The
 * wait of a refused request is exactly when the next one will pass, which
 * becomes the Retry-After header.
 *
 * Lockout counts consecutive failed logins per account name; from the
 * threshold on, each failure locks the account for base * 2^(failures -
 * threshold), capped at max. A success clears the count. Unknown names are
 * counted and locked like known ones, so neither the limits nor the lockout
 * tell an attacker which accounts exist. A locked login is refused before
 * any password work.
 *
 * State lives in memory, in two fixed-size tables (addresses, accounts)
 * so a flood of distinct names cannot grow it. Keys are the first 16
 * bytes of SHA-256(salt || kind || name) with a per-process random salt,
 * so an attacker cannot aim names at one probe window to evict a lock;
 * when a window is full, a neutral entry (no debt, no lock) goes first,
 * else the least recently seen. A restart forgets all state: that is
 * accepted, as it only restarts the counting.
 */
#include "ratelimit.h"
#include "digest.h"
#include "transport.h"

#include "audit.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#define RL_SLOTS 8192u /* per table; a power of two */
#define RL_PROBE 16u
#define RL_MAX_PROXIES 16

typedef struct rl_entry {
    unsigned char key[16];
    bool used;
    uint32_t fails;
    int64_t tat_ms;
    int64_t last_ms;
    int64_t locked_until_ms;
} rl_entry;

typedef struct rl_table {
    pthread_mutex_t lock;
    rl_entry e[RL_SLOTS];
} rl_table;

typedef struct cidr {
    int family;
    unsigned char addr[16];
    unsigned bits;
} cidr;

struct ratelimit {
    unsigned char salt[16];
    rl_table ip, acct;
    cidr proxies[RL_MAX_PROXIES];
    size_t nproxies;
};

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- trusted proxies ---- */

static bool parse_addr(const char *s, int *family, unsigned char addr[16])
{
    memset(addr, 0, 16);
    if (inet_pton(AF_INET, s, addr) == 1) {
        *family = AF_INET;
        return true;
    }
    if (inet_pton(AF_INET6, s, addr) == 1) {
        *family = AF_INET6;
        return true;
    }
    return false;
}

/* "ADDR" or "ADDR/BITS". */
static bool parse_cidr(const char *s, cidr *c)
{
    char buf[CLIENT_ADDR_MAX];
    size_t n = strlen(s);
    if (n == 0 || n >= sizeof(buf)) {
        return false;
    }
    memcpy(buf, s, n + 1);
    char *slash = strchr(buf, '/');
    if (slash != NULL) {
        *slash = '\0';
    }
    if (!parse_addr(buf, &c->family, c->addr)) {
        return false;
    }
    unsigned max = c->family == AF_INET ? 32u : 128u;
    c->bits = max;
    if (slash != NULL) {
        char *end = NULL;
        unsigned long b = strtoul(slash + 1, &end, 10);
        if (end == slash + 1 || *end != '\0' || b > max) {
            return false;
        }
        c->bits = (unsigned)b;
    }
    return true;
}

static int parse_proxies(ratelimit *rl, const char *list, char *err, size_t errcap)
{
    char buf[CFG_STR_MAX];
    snprintf(buf, sizeof(buf), "%s", list);
    char *save = NULL;
    for (char *t = strtok_r(buf, ", ", &save); t != NULL; t = strtok_r(NULL, ", ", &save)) {
        if (rl->nproxies == RL_MAX_PROXIES || !parse_cidr(t, &rl->proxies[rl->nproxies])) {
            snprintf(err, errcap, "option trusted_proxies: bad or too many entries");
            return -1;
        }
        rl->nproxies++;
    }
    return 0;
}

static bool cidr_match(const cidr *c, int family, const unsigned char addr[16])
{
    if (c->family != family) {
        return false;
    }
    unsigned full = c->bits / 8, rest = c->bits % 8;
    if (memcmp(c->addr, addr, full) != 0) {
        return false;
    }
    unsigned char mask = (unsigned char)(0xffu << (8 - rest));
    return rest == 0 || (c->addr[full] & mask) == (addr[full] & mask);
}

static bool is_trusted(const ratelimit *rl, const char *text)
{
    int family = 0;
    unsigned char addr[16];
    if (!parse_addr(text, &family, addr)) {
        return false;
    }
    for (size_t i = 0; i < rl->nproxies; i++) {
        if (cidr_match(&rl->proxies[i], family, addr)) {
            return true;
        }
    }
    return false;
}

static void peer_addr(req *r, char out[CLIENT_ADDR_MAX])
{
    snprintf(out, CLIENT_ADDR_MAX, "unknown");
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    if (ci == NULL || ci->client_addr == NULL) {
        return;
    }
    const struct sockaddr *sa = ci->client_addr;
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)(const void *)sa;
        inet_ntop(AF_INET, &in->sin_addr, out, CLIENT_ADDR_MAX);
    } else if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)(const void *)sa;
        inet_ntop(AF_INET6, &in6->sin6_addr, out, CLIENT_ADDR_MAX);
    }
}

void client_addr(req *r, char out[CLIENT_ADDR_MAX])
{
    peer_addr(r, out);
    ratelimit *rl = r->a->rl;
    const char *xff = req_header(r, "X-Forwarded-For");
    if (rl == NULL || xff == NULL || !is_trusted(rl, out)) {
        return;
    }
    /* Walk from the right: each hop appended the address it saw. The first
     * entry not added by one of our proxies is the client; anything left
     * of it was written by the client and proves nothing. */
    const char *end = xff + strlen(xff);
    while (end > xff) {
        const char *start = end;
        while (start > xff && start[-1] != ',') {
            start--;
        }
        const char *a = start, *b = end;
        while (a < b && *a == ' ') {
            a++;
        }
        while (b > a && b[-1] == ' ') {
            b--;
        }
        char hop[CLIENT_ADDR_MAX];
        int family = 0;
        unsigned char bin[16];
        size_t n = (size_t)(b - a);
        if (n == 0 || n >= sizeof(hop)) {
            return; /* garbage: keep the last address we could trust */
        }
        memcpy(hop, a, n);
        hop[n] = '\0';
        if (!parse_addr(hop, &family, bin)) {
            return;
        }
        memcpy(out, hop, n + 1);
        if (!is_trusted(rl, hop)) {
            return;
        }
        end = start > xff ? start - 1 : xff;
    }
}

/* ---- tables ---- */

int ratelimit_new(ratelimit **out, const config *cfg, char *err, size_t errcap)
{
    ratelimit *rl = calloc(1, sizeof(*rl));
    *out = NULL;
    if (rl == NULL) {
        snprintf(err, errcap, "out of memory");
        return -1;
    }
    rand_bytes(rl->salt, sizeof(rl->salt));
    pthread_mutex_init(&rl->ip.lock, NULL);
    pthread_mutex_init(&rl->acct.lock, NULL);
    if (parse_proxies(rl, cfg->trusted_proxies, err, errcap) != 0) {
        ratelimit_free(rl);
        return -1;
    }
    *out = rl;
    return 0;
}

void ratelimit_free(ratelimit *rl)
{
    if (rl == NULL) {
        return;
    }
    pthread_mutex_destroy(&rl->ip.lock);
    pthread_mutex_destroy(&rl->acct.lock);
    free(rl);
}

static void rl_key(const ratelimit *rl, char kind, const char *name, unsigned char key[16])
{
    unsigned char buf[sizeof(rl->salt) + 1 + STORE_NAME_MAX + 8];
    size_t n = strnlen(name, STORE_NAME_MAX + 7);
    memcpy(buf, rl->salt, sizeof(rl->salt));
    buf[sizeof(rl->salt)] = (unsigned char)kind;
    memcpy(buf + sizeof(rl->salt) + 1, name, n);
    unsigned char h[32];
    digest_sha256(buf, sizeof(rl->salt) + 1 + n, h);
    memcpy(key, h, 16);
}

static bool neutral(const rl_entry *e, int64_t now)
{
    return e->tat_ms <= now && e->locked_until_ms <= now && e->fails == 0;
}

/* The entry for key, created (or recycled) if absent. Table locked. */
static rl_entry *rl_find(rl_table *t, const unsigned char key[16], int64_t now)
{
    uint32_t idx =
        ((uint32_t)key[0] | (uint32_t)key[1] << 8 | (uint32_t)key[2] << 16) & (RL_SLOTS - 1);
    rl_entry *victim = NULL;
    for (uint32_t i = 0; i < RL_PROBE; i++) {
        rl_entry *e = &t->e[(idx + i) & (RL_SLOTS - 1)];
        if (e->used && memcmp(e->key, key, 16) == 0) {
            e->last_ms = now;
            return e;
        }
        bool better = victim == NULL || !e->used ||
                      (victim->used && neutral(e, now) && !neutral(victim, now)) ||
                      (victim->used && neutral(e, now) == neutral(victim, now) &&
                       e->last_ms < victim->last_ms);
        if (better) {
            victim = e;
        }
    }
    memset(victim, 0, sizeof(*victim));
    memcpy(victim->key, key, 16);
    victim->used = true;
    victim->last_ms = now;
    return victim;
}

/* GCRA: 0 when admitted, else the milliseconds until it would be. */
static int64_t gcra_take(rl_entry *e, int64_t now, uint32_t burst, int64_t interval)
{
    int64_t tat = e->tat_ms > now ? e->tat_ms : now;
    int64_t allowance = (int64_t)(burst - 1) * interval;
    if (tat - now > allowance) {
        return tat - now - allowance;
    }
    e->tat_ms = tat + interval;
    return 0;
}

static int64_t bucket_take(ratelimit *rl, rl_table *t, char kind, const char *name, uint32_t burst,
                           int64_t interval, int64_t now)
{
    if (burst == 0) {
        return 0;
    }
    unsigned char key[16];
    rl_key(rl, kind, name, key);
    pthread_mutex_lock(&t->lock);
    int64_t wait = gcra_take(rl_find(t, key, now), now, burst, interval);
    pthread_mutex_unlock(&t->lock);
    return wait;
}

/* ---- replies and audit ---- */

static enum MHD_Result reply_429(req *r, int64_t wait_ms, const char *code, const char *desc)
{
    char secs[24];
    snprintf(secs, sizeof(secs), "%lld", (long long)((wait_ms + 999) / 1000));
    json_t *o = json_pack("{s:s, s:s}", "error", code, "error_description", desc);
    char *text = o != NULL ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    if (text == NULL) {
        return MHD_NO;
    }
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
    if (resp == NULL) {
        free(text);
        return MHD_NO;
    }
    MHD_add_response_header(resp, "Content-Type", "application/json");
    MHD_add_response_header(resp, "Cache-Control", "no-store");
    MHD_add_response_header(resp, "Retry-After", secs);
    transport_add_headers(resp);
    enum MHD_Result ret = MHD_queue_response(r->conn, MHD_HTTP_TOO_MANY_REQUESTS, resp);
    MHD_destroy_response(resp);
    return ret;
}

/* User names are free text; the audit line gets them only when they are
 * plain identifiers, so a crafted name cannot forge log fields. */
static const char *safe_name(const char *s)
{
    size_t n = 0;
    for (const char *p = s; *p != '\0'; p++, n++) {
        char c = *p;
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '.' || c == '_' || c == '-' || c == '@';
        if (!ok || n >= 64) {
            return "-";
        }
    }
    return n > 0 ? s : "-";
}

/* Audits (and so counts in the metrics) one refusal. */
static void audit_refusal(const char *event, const char *reason, const char *addr, const char *fmt,
                          ...) __attribute__((format(printf, 4, 5)));
static void audit_refusal(const char *event, const char *reason, const char *addr, const char *fmt,
                          ...)
{
    char detail[160];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof(detail), fmt, ap);
    va_end(ap);
    audit_rec rec = {.event = event, .reason = reason, .client = addr, .detail = detail};
    audit_event(&rec);
}

static bool refuse(req *r, enum MHD_Result *ret, int64_t wait, const char *scope,
                   const char *endpoint, const char *addr)
{
    audit_refusal(AUDIT_RATE_LIMITED, scope, addr, "endpoint=%s retry_after_ms=%lld", endpoint,
                  (long long)wait);
    *ret = reply_429(r, wait, "temporarily_unavailable", "too many requests, retry later");
    return false;
}

/* ---- the guards ---- */

bool guard_login(req *r, const char *username, enum MHD_Result *ret)
{
    ratelimit *rl = r->a->rl;
    const config *c = &r->a->cfg;
    if (rl == NULL) {
        return true;
    }
    char addr[CLIENT_ADDR_MAX];
    client_addr(r, addr);
    int64_t now = mono_ms();
    int64_t wait = bucket_take(rl, &rl->ip, 'L', addr, c->rate_ip_burst, c->rate_ip_refill_ms, now);
    if (wait > 0) {
        return refuse(r, ret, wait, "address", "login", addr);
    }
    wait = bucket_take(rl, &rl->acct, 'L', username, c->rate_account_burst,
                       c->rate_account_refill_ms, now);
    if (wait > 0) {
        return refuse(r, ret, wait, "account", "login", addr);
    }
    unsigned char key[16];
    rl_key(rl, 'F', username, key);
    pthread_mutex_lock(&rl->acct.lock);
    rl_entry *e = rl_find(&rl->acct, key, now);
    wait = e->locked_until_ms > now ? e->locked_until_ms - now : 0;
    pthread_mutex_unlock(&rl->acct.lock);
    if (wait > 0) {
        audit_refusal("login_locked", "account_locked", addr, "account=%s retry_after_ms=%lld",
                      safe_name(username), (long long)wait);
        *ret = reply_429(r, wait, "temporarily_unavailable",
                         "too many failed logins for this account, retry later");
        return false;
    }
    return true;
}

void guard_login_result(req *r, const char *username, bool ok)
{
    ratelimit *rl = r->a->rl;
    const config *c = &r->a->cfg;
    if (rl == NULL || c->lockout_threshold == 0) {
        return;
    }
    int64_t now = mono_ms();
    unsigned char key[16];
    rl_key(rl, 'F', username, key);
    int64_t lock = 0;
    pthread_mutex_lock(&rl->acct.lock);
    rl_entry *e = rl_find(&rl->acct, key, now);
    if (ok) {
        e->fails = 0;
        e->locked_until_ms = 0;
    } else if (++e->fails >= c->lockout_threshold) {
        uint32_t shift = e->fails - c->lockout_threshold;
        lock = c->lockout_base_ms;
        for (uint32_t i = 0; i < shift && lock < c->lockout_max_ms; i++) {
            lock *= 2;
        }
        lock = lock < c->lockout_max_ms ? lock : c->lockout_max_ms;
        e->locked_until_ms = now + lock;
    }
    uint32_t fails = e->fails;
    pthread_mutex_unlock(&rl->acct.lock);
    if (lock > 0) {
        char addr[CLIENT_ADDR_MAX];
        client_addr(r, addr);
        audit_refusal(AUDIT_LOCKOUT, "repeated_failures", addr,
                      "account=%s failures=%u lock_ms=%lld", safe_name(username), (unsigned)fails,
                      (long long)lock);
    }
}

/* The numeric user id owning a refresh token, or -1. */
static int64_t refresh_owner(app *a, const char *refresh)
{
    char sid[STORE_ID_MAX];
    store_session s;
    if (!refresh_session_id(a, refresh, sid) ||
        a->st->ops->session_get(a->st, sid, &s) != STORE_OK) {
        return -1;
    }
    return s.user_id;
}

bool guard_token(req *r, const char *refresh, enum MHD_Result *ret)
{
    ratelimit *rl = r->a->rl;
    const config *c = &r->a->cfg;
    if (rl == NULL) {
        return true;
    }
    char addr[CLIENT_ADDR_MAX];
    client_addr(r, addr);
    int64_t now = mono_ms();
    int64_t wait = bucket_take(rl, &rl->ip, 'T', addr, c->rate_ip_burst, c->rate_ip_refill_ms, now);
    if (wait > 0) {
        return refuse(r, ret, wait, "address", "token", addr);
    }
    int64_t uid = c->rate_account_burst > 0 && refresh != NULL ? refresh_owner(r->a, refresh) : -1;
    if (uid >= 0) {
        char name[32];
        snprintf(name, sizeof(name), "%lld", (long long)uid);
        wait = bucket_take(rl, &rl->acct, 'T', name, c->rate_account_burst,
                           c->rate_account_refill_ms, now);
        if (wait > 0) {
            return refuse(r, ret, wait, "account", "token", addr);
        }
    }
    return true;
}
