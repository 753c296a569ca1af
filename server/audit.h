/*
 * audit.h: the audit log of tesserad: one JSON object per line, to a file
 * (--audit-log FILE, config `audit_log`) or to stderr.
 *
 * Every security event goes through audit_event(). Fields are ids and
 * codes only: a user's opaque id, a session id, a kid, an alg, a jti, a
 * reason code. Never a token, password, secret, refresh token or
 * Authorization header. As a second line of defence the writer replaces any
 * value that looks like a compact JWS or a refresh token with "[redacted]".
 *
 * Line format (keys absent when empty):
 *   {"ts":"2026-11-25T16:20:01.123Z","event":"login","outcome":"ok",
 *    "reason":"...","user":"...","client":"127.0.0.1","session_id":"...",
 *    "kid":"...","alg":"ES256","jti":"...","detail":"..."}
 *
 * Thread safety: all functions may be called from any thread; each line is
 * one write(2) on an O_APPEND descriptor, so lines never interleave.
 */
#ifndef TESSERAD_AUDIT_H
#define TESSERAD_AUDIT_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* Event names. Use these constants so that the metrics (which count some
 * events) and the docs stay in step. */
#define AUDIT_LOGIN "login"
#define AUDIT_LOGIN_FAILED "login_failed"
#define AUDIT_LOCKOUT "lockout"
#define AUDIT_RATE_LIMITED "rate_limited"
#define AUDIT_TOKEN_ISSUED "token_issued"
#define AUDIT_REFRESH "refresh"
#define AUDIT_REFRESH_REUSE "refresh_reuse"
#define AUDIT_SESSION_REVOKED "session_revoked"
#define AUDIT_ACCESS_REVOKED "access_revoked"
#define AUDIT_LOGOUT "logout"
#define AUDIT_KEY_CREATED "key_created"
#define AUDIT_KEY_RETIRED "key_retired"
#define AUDIT_KEY_REMOVED "key_removed"
#define AUDIT_TOKEN_REJECTED "token_rejected"
#define AUDIT_USER_REVOKE_ALL "user_revoke_all"

/* One event. Every field but `event` is optional (NULL or ""). `client`
 * defaults to the address of the request the calling thread is serving
 * (see audit_set_client). */
typedef struct audit_rec {
    const char *event;
    const char *outcome; /* "ok", "failure", "rejected", "detected"; NULL = by event */
    const char *reason;  /* a code: "bad_password", "alg_not_allowed", ... */
    const char *user;    /* the opaque user id (`sub`), never a password */
    const char *client;  /* client address */
    const char *session_id;
    const char *kid;
    const char *alg;
    const char *jti;
    const char *detail; /* short free text without secrets */
} audit_rec;

/* Opens the destination: NULL, "" or "-" = stderr, else the file (created
 * 0600, appended). Returns 0, or -1 with a message in err. */
int audit_open(const char *path, char *err, size_t errcap);
void audit_close(void);

/* Writes one line, and counts the event in the metrics. */
void audit_event(const audit_rec *rec);

/* A rejected bearer token: logs its header's alg and kid (public parts,
 * escaped and truncated) with `reason`, never the token itself. */
void audit_token_rejected(const char *tok, size_t len, const char *reason);

/* The request the calling thread serves: `addr(ctx, out, cap)` writes its
 * client address, and audit_event calls it (only when a line is written)
 * for records without `client`. Set by the HTTP layer around each handler;
 * audit_set_client(NULL, NULL) when done. */
typedef void (*audit_addr_fn)(void *ctx, char *out, size_t cap);
void audit_set_client(audit_addr_fn addr, void *ctx);

/* The reason of the last failed verification on this thread, set by
 * access_verify (tsr_err_name of the verifier's error) and consumed by the
 * HTTP layer when it answers 401. Thread-local; no locking. */
void audit_note_verify_error(const char *code);
const char *audit_take_verify_error(void);

/* The old "k=v k=v" audit call (log_audit in tesserad.h) as a JSON line:
 * sub and user -> user, sid -> session_id, addr -> client, scope -> reason,
 * kid, alg, jti and reason kept; the other pairs go to detail. */
void audit_legacy(const char *event, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

#endif /* TESSERAD_AUDIT_H */
