/*
 * store.h: the one storage interface of tesserad.
 *
 * Every backend (SQLite today; PostgreSQL and Redis later) implements the
 * ops table below, and nothing above this header knows which backend runs.
 * The handlers, the admin CLI and the conformance suite
 * (tests/server/test_store_conformance.c) only ever call through `ops`.
 *
 * Rules every backend keeps:
 *  - Every op is safe to call from many threads at once on one store.
 *  - Refresh tokens are stored only as 32-byte hashes; private keys only as
 *    opaque encrypted blobs. The store never sees a secret in the clear.
 *  - refresh_rotate is ONE conditional update per family ("mark used if not
 *    yet used"), atomic with inserting the successor, so concurrent rotations
 *    of one token have exactly one winner and never a serialization error.
 *  - Writes that change what /v1/verify must reject (auth_version, disabled,
 *    denylist, session revocation, signing keys) bump a change sequence, so a
 *    reader can reload its in-memory view only when something changed.
 *  - Strings in records are NUL-terminated and fit their fixed buffers; a
 *    longer input is refused with STORE_INVALID.
 */
#ifndef TESSERAD_STORE_H
#define TESSERAD_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum store_rc {
    STORE_OK = 0,
    STORE_NOT_FOUND, /* no such row */
    STORE_EXISTS,    /* unique name already taken */
    STORE_CONFLICT,  /* conditional update lost: the refresh token was already used */
    STORE_INVALID,   /* argument too long or otherwise unusable */
    STORE_ERROR,     /* the backend failed (I/O, corruption, busy beyond the timeout) */
} store_rc;

#define STORE_NAME_MAX 128 /* user names, bytes incl. NUL */
#define STORE_ID_MAX 48    /* subjects, session ids, kids, client ids, jtis (incl. NUL) */
#define STORE_HASH_MAX 256 /* encoded password hash incl. NUL */
#define STORE_SCOPE_MAX 256
#define STORE_REASON_MAX 32
#define STORE_ALG_MAX 16
#define STORE_TOKEN_HASH_LEN 32

typedef struct store_user {
    int64_t id;
    char name[STORE_NAME_MAX];
    char sub[STORE_ID_MAX];      /* opaque public subject, never the name */
    char pwhash[STORE_HASH_MAX]; /* argon2id encoded hash */
    int64_t auth_version;        /* bumped by passwd, disable, revoke-all */
    bool disabled;
    int64_t created_at;
} store_user;

typedef struct store_session {
    char id[STORE_ID_MAX];
    int64_t user_id;
    char client_id[STORE_ID_MAX];
    char scope[STORE_SCOPE_MAX];
    int64_t created_at;
    int64_t last_used_at;
    int64_t expires_at; /* absolute lifetime end */
    int64_t revoked_at; /* 0 while live */
    char revoke_reason[STORE_REASON_MAX];
} store_session;

typedef struct store_refresh {
    unsigned char hash[STORE_TOKEN_HASH_LEN];
    char session_id[STORE_ID_MAX];
    int64_t issued_at;
    int64_t used_at; /* 0 while unused; first use otherwise */
} store_refresh;

typedef struct store_key {
    char kid[STORE_ID_MAX];
    char alg[STORE_ALG_MAX];
    int64_t created_at;  /* published in the JWKS from here */
    int64_t activate_at; /* signs from here */
    int64_t remove_at;   /* unpublished from here; 0 = not scheduled */
    unsigned char *blob; /* encrypted private JWK (owned by the record) */
    size_t blob_len;
} store_key;

typedef struct store store;

/* Callbacks of the list operations; returning non-zero stops the listing. */
typedef int (*store_user_cb)(void *arg, const store_user *u);
typedef int (*store_session_cb)(void *arg, const store_session *s);
typedef int (*store_deny_cb)(void *arg, const char *jti, int64_t exp);
typedef int (*store_key_cb)(void *arg, const store_key *k);

struct store_ops {
    const char *name;
    void (*close)(store *st);

    /* Users. user_add fills u->id. The update ops bump auth_version. */
    store_rc (*user_add)(store *st, store_user *u);
    store_rc (*user_get)(store *st, const char *name, store_user *out);
    store_rc (*user_get_by_id)(store *st, int64_t id, store_user *out);
    store_rc (*user_set_password)(store *st, const char *name, const char *pwhash,
                                  int64_t *new_version);
    store_rc (*user_set_disabled)(store *st, const char *name, bool disabled, int64_t *new_version);
    store_rc (*user_bump_version)(store *st, const char *name, int64_t *new_version);
    /* Every user (pwhash left empty), for the verify cache. */
    store_rc (*user_list)(store *st, store_user_cb cb, void *arg);

    /* Sessions (refresh families). */
    store_rc (*session_create)(store *st, const store_session *s,
                               const unsigned char first_hash[STORE_TOKEN_HASH_LEN]);
    store_rc (*session_get)(store *st, const char *id, store_session *out);
    /* Revokes one session (no-op when already revoked, still STORE_OK). */
    store_rc (*session_revoke)(store *st, const char *id, int64_t now, const char *reason);
    /* Revokes every live session of a user; *count (may be NULL) gets how many. */
    store_rc (*session_revoke_user)(store *st, int64_t user_id, int64_t now, const char *reason,
                                    int *count);
    /* Live sessions (not revoked, not past expires_at) of one user, or of
     * every user when user_id < 0, oldest first. */
    store_rc (*session_list)(store *st, int64_t user_id, int64_t now, store_session_cb cb,
                             void *arg);
    /* Sessions revoked at or after `since`, for the verify cache. */
    store_rc (*session_list_revoked)(store *st, int64_t since, store_session_cb cb, void *arg);

    /* Refresh tokens. */
    store_rc (*refresh_get)(store *st, const unsigned char hash[STORE_TOKEN_HASH_LEN],
                            store_refresh *out);
    /*
     * The conditional update: marks `old_hash` used at `now` if and only if
     * it is unused, and in the same transaction inserts `new_hash` into the
     * same session and sets the session's last_used_at. STORE_OK for the one
     * winner, STORE_CONFLICT if it was already used, STORE_NOT_FOUND if absent.
     */
    store_rc (*refresh_rotate)(store *st, const unsigned char old_hash[STORE_TOKEN_HASH_LEN],
                               const unsigned char new_hash[STORE_TOKEN_HASH_LEN], int64_t now);

    /* Access-token denylist: entries live until `exp`. */
    store_rc (*deny_add)(store *st, const char *jti, int64_t exp);
    store_rc (*deny_list)(store *st, int64_t now, store_deny_cb cb, void *arg);

    /* Signing keys. key_add copies the blob. key_list gives them ordered by
     * activate_at, then created_at, then insertion order: the keyring signs
     * with the last active one, so a key added within the same second as
     * another (a forced rotation right after start) must still come last. */
    store_rc (*key_add)(store *st, const store_key *k);
    store_rc (*key_list)(store *st, store_key_cb cb, void *arg);
    store_rc (*key_set_times)(store *st, const char *kid, int64_t activate_at, int64_t remove_at);
    store_rc (*key_delete)(store *st, const char *kid);

    /* Small named values (master key check, schema facts). */
    store_rc (*meta_get)(store *st, const char *name, char *buf, size_t cap);
    store_rc (*meta_set)(store *st, const char *name, const char *value);

    /* The change sequence (see above). */
    store_rc (*change_seq)(store *st, int64_t *out);

    /* Deletes expired denylist entries and sessions (with their refresh
     * tokens) that ended more than `keep` seconds before `now`. */
    store_rc (*purge)(store *st, int64_t now, int64_t keep);

    /* Cheap liveness probe for /readyz. */
    store_rc (*ping)(store *st);

    /* Backend housekeeping that must stay off the request path, run about
     * once per reload period by the service's main loop (one thread). May be
     * NULL when a backend has none. */
    store_rc (*maintain)(store *st);
};

struct store {
    const struct store_ops *ops;
};

/*
 * Opens the store named by `spec`: "sqlite:PATH" or a plain directory (the
 * SQLite file DIR/tesserad.db). Creates and migrates the schema. On failure
 * returns NULL and writes a reason (never secret) into errbuf.
 */
store *store_open(const char *spec, char *errbuf, size_t errcap);

/* Closes `st`; accepts NULL. */
void store_close(store *st);

/* The SQLite backend (server/store/sqlite.c). */
store *store_sqlite_open(const char *path, char *errbuf, size_t errcap);

/* Static name of a return code ("conflict"). */
const char *store_rc_name(store_rc rc);

#endif /* TESSERAD_STORE_H */
