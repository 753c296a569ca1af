/*
 * tesserad.h: the interfaces between the modules of the token service.
 *
 * Reading order: config (what the operator chose), util (time, randomness,
 * encodings, logging), secrets (master key and the keys derived from it),
 * password (argon2id), keyring (signing keys and the shared verifier),
 * vcache (the in-memory view /v1/verify consults instead of the store),
 * tokens (issuing access tokens, refresh-token rotation), http (the
 * libmicrohttpd glue) and the handlers, then main and admin (the CLI).
 */
#ifndef TESSERAD_H
#define TESSERAD_H

#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <tessera.h>

#include "store/store.h"

/* ---- config.c ---- */

#define CFG_PATH_MAX 1024
#define CFG_STR_MAX 256
#define CFG_MAX_CLIENTS 16
#define ACCESS_TTL_CAP 3600

typedef struct cfg_client {
    char id[STORE_ID_MAX];
    unsigned char secret_sha256[32]; /* SHA-256 of the client secret */
} cfg_client;

typedef struct config {
    char listen_host[64];
    uint16_t listen_port;
    char data_dir[CFG_PATH_MAX];
    char store_spec[CFG_PATH_MAX];      /* "" = the data dir's SQLite file */
    char master_key_file[CFG_PATH_MAX]; /* command line or env only */
    bool dev;
    char issuer[CFG_STR_MAX]; /* "" = http://HOST:PORT */
    char audience[CFG_STR_MAX];
    char client_id[STORE_ID_MAX]; /* client_id claim of tokens from /v1/login */
    char scope[STORE_SCOPE_MAX];  /* scope granted at login */
    tsr_alg signing_alg;
    int64_t access_ttl;        /* seconds, 1..ACCESS_TTL_CAP */
    int64_t refresh_grace;     /* seconds, 0 = off */
    int64_t session_idle;      /* seconds */
    int64_t session_lifetime;  /* seconds */
    int64_t key_rotation;      /* seconds between automatic rotations */
    int64_t key_prepublish;    /* seconds a new key is published before it signs */
    int64_t key_retire_margin; /* extra publication after the last token expired */
    int64_t jwks_max_age;      /* Cache-Control max-age of the JWKS */
    int64_t leeway;            /* clock skew tolerated on verify */
    int64_t reload_ms;         /* period of the cache/key reload */
    uint32_t argon_m_kib;
    uint32_t argon_t;
    uint32_t argon_p;
    size_t max_body;
    unsigned workers; /* 0 = number of CPUs */
    cfg_client clients[CFG_MAX_CLIENTS];
    size_t nclients;
    /* brute-force defences and cookie mode (ratelimit.c, cookies.c) */
    uint32_t argon_concurrency;      /* concurrent argon2id hashes, 0 = CPUs */
    char trusted_proxies[CFG_STR_MAX]; /* comma-separated IPs or CIDRs */
    char cookie_origins[CFG_STR_MAX];  /* comma-separated; "" = the issuer's origin */
    uint32_t rate_ip_burst;          /* 0 = off */
    int64_t rate_ip_refill_ms;       /* one request regained every ... ms */
    uint32_t rate_account_burst;     /* 0 = off */
    int64_t rate_account_refill_ms;
    uint32_t lockout_threshold;      /* consecutive failures before a lock, 0 = off */
    int64_t lockout_base_ms;         /* first lock; doubles with each further failure */
    int64_t lockout_max_ms;
    /* observability and transport (audit.c, metrics.c, transport.c) */
    char audit_log[CFG_PATH_MAX]; /* "" or "-" = stderr */
    char tls_cert[CFG_PATH_MAX];  /* PEM chain; with tls_key: HTTPS */
    char tls_key[CFG_PATH_MAX];
    size_t max_header_bytes;      /* per-connection memory: request line + headers */
    uint32_t max_connections;
    uint32_t per_ip_connections;  /* 0 = no limit */
    uint32_t conn_timeout;        /* seconds a connection may stay idle */
    /* verified-token cache of /v1/verify (tcache.c) */
    size_t verify_cache_entries; /* 0 = off */
} config;

void config_defaults(config *c);
/* Sets one option by name ("access_token_ttl"); errors go to err. */
int config_set(config *c, const char *key, const char *value, char *err, size_t errcap);
int config_load_file(config *c, const char *path, char *err, size_t errcap);
/* Applies TESSERAD_<OPTION> environment variables. */
int config_apply_env(config *c, char *err, size_t errcap);
/* Fills derived defaults (issuer) and checks cross-option rules. */
int config_finish(config *c, char *err, size_t errcap);
/* Writes the documented option list (for --help). */
void config_print_options(void);

/* ---- util.c ---- */

int64_t now_s(void);
/* Fills buf with n random bytes (OpenSSL RAND_bytes); aborts on failure,
 * because a service without randomness must not issue tokens. */
void rand_bytes(unsigned char *buf, size_t n);
/* base64url of n random bytes into out (cap >= encoded length + 1). */
void rand_id(char *out, size_t cap, size_t nbytes);
bool b64url_enc(const unsigned char *in, size_t n, char *out, size_t cap);
bool hex_decode(const char *hex, unsigned char *out, size_t n);
/* Reads a whole small file (<= max bytes); caller frees with free(). */
char *read_file(const char *path, size_t max, size_t *len);
/* Logging to stderr. Callers never pass tokens, passwords or secrets. */
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* One audit line from "k=v ..." pairs (a JSON line: audit_legacy in
 * audit.h; new code calls audit_event); values must be safe ids. */
void log_audit(const char *event, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- secrets.c ---- */

#define MASTER_KEY_LEN 32

typedef struct secrets {
    unsigned char master[MASTER_KEY_LEN];
    unsigned char k_keys[32];    /* AES-256-GCM key for private keys at rest */
    unsigned char k_refresh[32]; /* HMAC key for successor refresh tokens */
} secrets;

/* Finds the master key (env TESSERAD_MASTER_KEY, env TESSERAD_MASTER_KEY_FILE,
 * cfg->master_key_file, in dev mode DATA/master.key, created if absent) and
 * derives the subkeys. Checks it against the store's recorded check value. */
int secrets_load(secrets *s, const config *cfg, store *st, bool allow_create, char *err,
                 size_t errcap);
void secrets_wipe(secrets *s);
/* AES-256-GCM seal/open of a private key blob, bound to `aad` (the kid).
 * Output: nonce(12) || ciphertext || tag(16). Caller frees with free(). */
int secrets_seal(const secrets *s, const char *aad, const unsigned char *pt, size_t len,
                 unsigned char **out, size_t *out_len);
int secrets_open(const secrets *s, const char *aad, const unsigned char *blob, size_t len,
                 unsigned char **out, size_t *out_len);
/* HMAC-SHA256(k_refresh, data) */
void secrets_hmac(const secrets *s, const unsigned char *data, size_t len, unsigned char out[32]);

/* ---- password.c ---- */

/* A verification run off the HTTP workers (pw_submit). */
typedef struct pw_job {
    char encoded[STORE_HASH_MAX]; /* "" = the dummy hash (unknown user) */
    char pw[1024];                /* wiped once verified */
    size_t pw_len;
    bool result;
    bool cancelled;               /* dropped unverified by pw_drain */
    void (*on_queued)(void *arg); /* called under the queue lock, before any worker sees it */
    void (*on_done)(void *arg);   /* called by the worker after `result` is set */
    void *arg;
    struct pw_job *next;
} pw_job;

typedef struct pwhasher {
    uint32_t m_kib, t, p;
    char dummy[STORE_HASH_MAX]; /* hash of a random password, for unknown users */
    sem_t slots;                /* bounds concurrent hashes (memory) */
    unsigned slots_n;           /* its initial value = the number of hash workers */
    pthread_mutex_t qlock;
    pthread_cond_t qcond;  /* work arrived, or quit */
    pthread_cond_t qidle;  /* inflight dropped to 0 */
    pw_job *head, *tail;
    size_t inflight;       /* submitted, not yet done */
    bool draining, quit;
    unsigned nthreads;
    pthread_t threads[64];
} pwhasher;

int pw_init(pwhasher *h, const config *cfg);
void pw_free(pwhasher *h);
int pw_hash(pwhasher *h, const char *pw, size_t len, char out[STORE_HASH_MAX]);
/* Verifies against `encoded`, or against the dummy hash when encoded is NULL
 * (always false then), so unknown users cost the same time. */
bool pw_verify(pwhasher *h, const char *encoded, const char *pw, size_t len);
/* Queues `job` for the hash workers (started on first use). False, and
 * nothing queued, once pw_drain has begun: the caller verifies inline. */
bool pw_submit(pwhasher *h, pw_job *job);
/* Refuses new jobs, cancels the queued ones (on_done with `cancelled`) and
 * waits for those running (before the HTTP daemon stops: suspended
 * connections must all be resumed). */
void pw_drain(pwhasher *h);

/* ---- keyring.c ---- */

/* An immutable snapshot of the signing keys, shared by reference. */
typedef struct keyview {
    atomic_int refs;
    tsr_verifier *verifier;
    tsr_signer *signer; /* NULL if no key is active yet */
    char signing_kid[STORE_ID_MAX];
    char *jwks; /* public JWK Set JSON */
    size_t jwks_len;
    char jwks_etag[40];
} keyview;

typedef struct keyring keyring;

int keyring_new(keyring **out, store *st, const secrets *sec, const config *cfg);
void keyring_free(keyring *kr);
/* Runs the rotation schedule at `now` and rebuilds the view if anything
 * changed (or `force`). Thread-safe against readers. */
int keyring_tick(keyring *kr, int64_t now, bool force);
/* The current view with a reference taken; release it when done. */
keyview *keyring_acquire(keyring *kr);
void keyring_release(keyview *v);
/* Adds a new key: published now, signing from now (immediate) or from now +
 * prepublish. Used by the schedule, first start and `keys rotate`. */
int keyring_add_key(store *st, const secrets *sec, const config *cfg, int64_t now,
                    int64_t activate_at, char kid_out[STORE_ID_MAX]);
/* The schedule on the store alone (also used by the CLI). *changed is set
 * when keys were added, retired or removed. */
int keyring_schedule(store *st, const secrets *sec, const config *cfg, int64_t now, bool *changed);

/* ---- vcache.c ---- */

/* What /v1/verify checks besides the signature, kept in memory. */
typedef struct vcache vcache;

int vcache_new(vcache **out);
void vcache_free(vcache *vc);
/* Rebuilds from the store (users, live denylist, recent revocations). */
int vcache_reload(vcache *vc, store *st, int64_t now, int64_t revoked_window);
/* Writer paths call these right after their store write. */
void vcache_set_user(vcache *vc, const char *sub, int64_t version, bool disabled);
void vcache_deny(vcache *vc, const char *jti, int64_t exp);
void vcache_revoke_session(vcache *vc, const char *sid);

typedef enum vc_verdict {
    VC_OK = 0,
    VC_UNKNOWN_SUBJECT,
    VC_DISABLED,
    VC_STALE_VERSION,
    VC_DENIED,
    VC_SESSION_REVOKED,
} vc_verdict;

vc_verdict vcache_check(vcache *vc, const char *sub, int64_t ver, const char *jti, const char *sid,
                        int64_t now);
const char *vc_verdict_text(vc_verdict v);

/* ---- the service context ---- */

typedef struct grace_cache grace_cache;

typedef struct app {
    config cfg;
    store *st;
    secrets sec;
    pwhasher pw;
    keyring *kr;
    vcache *vc;
    grace_cache *gc;
    struct ratelimit *rl; /* ratelimit.c */
    struct tcache *tc;    /* tcache.c; NULL when turned off */
    int64_t last_seq;
    atomic_bool stopping;
} app;

/* ---- tokens.c ---- */

#define REFRESH_TOKEN_LEN 43 /* base64url of 32 bytes */
#define JTI_MAX 48

typedef struct token_pair {
    char *access; /* malloc'd compact JWS */
    char refresh[REFRESH_TOKEN_LEN + 1];
    int64_t expires_in;
    char scope[STORE_SCOPE_MAX];
} token_pair;

void token_pair_clear(token_pair *tp);

typedef enum tok_rc {
    TOK_OK = 0,
    TOK_INVALID_GRANT, /* unknown, used (reuse), expired or revoked */
    TOK_SERVER_ERROR,
} tok_rc;

int grace_cache_new(grace_cache **out);
void grace_cache_free(grace_cache *gc);

/* Signs an access token for the session; writes its jti to jti_out. */
int tokens_issue_access(app *a, const store_user *u, const store_session *s, int64_t now,
                        char **out, char jti_out[JTI_MAX]);
/* Starts a session for `u` and fills `tp` (login). */
tok_rc tokens_login(app *a, const store_user *u, int64_t now, token_pair *tp);
/* The refresh grant: rotation, grace window and reuse detection. */
tok_rc tokens_refresh(app *a, const char *refresh, const char *client_id, int64_t now,
                      token_pair *tp, const char **why);
/* Parses a refresh token into its hash; false if it is not shaped like one. */
bool tokens_refresh_hash(const char *tok, size_t len, unsigned char hash[32]);

/* ---- shared verification of access tokens (handlers_verify.c) ---- */

typedef struct access_info {
    char sub[STORE_ID_MAX];
    char sid[STORE_ID_MAX];
    char jti[JTI_MAX];
    char scope[STORE_SCOPE_MAX];
    char client_id[STORE_ID_MAX];
    int64_t ver, exp, iat, nbf;
} access_info;

/* Full check of a bearer token: signature, claims, denylist, auth_version,
 * session. Never touches the store. On failure *why is a safe message. */
bool access_verify(app *a, const char *tok, size_t len, int64_t now, access_info *info,
                   const char **why);

/* Re-reads caches and keys when the store's change sequence moved. */
void app_reload(app *a, bool force);

#endif /* TESSERAD_H */
