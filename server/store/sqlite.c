/*
 * sqlite.c: the SQLite backend of store.h, the embedded default.
 *
 * One database file in WAL mode. Writes go through a single writer
 * connection guarded by a mutex: SQLite allows one writer at a time anyway,
 * and queueing on a mutex in-process is far cheaper than SQLite's busy
 * handler, which sleeps. Other processes (the admin CLI) are covered by
 * busy_timeout. Reads use a small pool of reader connections, which WAL lets
 * run concurrently with the writer. Statements are prepared once per
 * connection (SQLITE_PREPARE_PERSISTENT) and reset after each use.
 *
 * synchronous=NORMAL: in WAL mode a committed transaction survives a crash
 * of the process (kill -9); only an OS crash or power loss may roll back the
 * last transactions. The hardening issue may switch this to FULL.
 *
 * Checkpoints: SQLite's automatic checkpoint runs inside the COMMIT of
 * whichever transaction crosses 1000 WAL pages, fsyncs the database file
 * there and so stalls the writer (and every refresh queued behind it) for
 * the length of an fsync. Connections here turn it off, and maintain(),
 * which the service's main loop calls about once a second, runs a PASSIVE
 * checkpoint on a connection of its own: it copies WAL frames while writers
 * go on appending. Measured on the 2-core bench machine: refresh went from
 * ~3,500/s (p99 ~37 ms) to ~5,200/s (p99 ~16 ms). A process without a main
 * loop (the admin CLI) leaves its few frames to the service or to SQLite's
 * checkpoint when the last connection closes.
 *
 * The schema is versioned in schema_migrations; migrations run in order at
 * open, each in its own transaction.
 */
#include "store.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NREADERS 8
#define BUSY_TIMEOUT_MS 5000

enum stmt_id {
    ST_USER_GET,
    ST_USER_GET_ID,
    ST_USER_LIST,
    ST_USER_ADD,
    ST_USER_SET_PW,
    ST_USER_SET_DISABLED,
    ST_USER_BUMP,
    ST_SEQ_BUMP,
    ST_SEQ_GET,
    ST_SESSION_INSERT,
    ST_SESSION_GET,
    ST_SESSION_REVOKE,
    ST_SESSION_REVOKE_USER,
    ST_SESSION_LIST_USER,
    ST_SESSION_LIST_ALL,
    ST_SESSION_LIST_REVOKED,
    ST_SESSION_TOUCH,
    ST_REFRESH_INSERT,
    ST_REFRESH_GET,
    ST_REFRESH_MARK,
    ST_DENY_ADD,
    ST_DENY_LIST,
    ST_KEY_ADD,
    ST_KEY_LIST,
    ST_KEY_SET_TIMES,
    ST_KEY_DELETE,
    ST_META_GET,
    ST_META_SET,
    ST_PURGE_DENY,
    ST_PURGE_SESSIONS,
    ST_PING,
    ST_BEGIN,
    ST_COMMIT,
    ST_ROLLBACK,
    ST__COUNT
};

#define USER_COLS "id,name,sub,pwhash,auth_version,disabled,created_at"
#define SESSION_COLS                                                                               \
    "id,user_id,client_id,scope,created_at,last_used_at,expires_at,revoked_at,revoke_reason"

static const char *const stmt_sql[ST__COUNT] = {
    [ST_USER_GET] = "SELECT " USER_COLS " FROM users WHERE name=?1",
    [ST_USER_GET_ID] = "SELECT " USER_COLS " FROM users WHERE id=?1",
    [ST_USER_LIST] =
        "SELECT id,name,sub,'',auth_version,disabled,created_at FROM users ORDER BY id",
    [ST_USER_ADD] = "INSERT INTO users(name,sub,pwhash,auth_version,disabled,created_at) "
                    "VALUES(?1,?2,?3,?4,?5,?6)",
    [ST_USER_SET_PW] = "UPDATE users SET pwhash=?1, auth_version=auth_version+1 WHERE name=?2 "
                       "RETURNING auth_version",
    [ST_USER_SET_DISABLED] = "UPDATE users SET disabled=?1, auth_version=auth_version+1 "
                             "WHERE name=?2 RETURNING auth_version",
    [ST_USER_BUMP] = "UPDATE users SET auth_version=auth_version+1 WHERE name=?1 "
                     "RETURNING auth_version",
    [ST_SEQ_BUMP] = "UPDATE meta SET value=value+1 WHERE name='change_seq'",
    [ST_SEQ_GET] = "SELECT value FROM meta WHERE name='change_seq'",
    [ST_SESSION_INSERT] =
        "INSERT INTO sessions(" SESSION_COLS ") VALUES(?1,?2,?3,?4,?5,?6,?7,0,'')",
    [ST_SESSION_GET] = "SELECT " SESSION_COLS " FROM sessions WHERE id=?1",
    [ST_SESSION_REVOKE] = "UPDATE sessions SET revoked_at=?1, revoke_reason=?2 "
                          "WHERE id=?3 AND revoked_at=0",
    [ST_SESSION_REVOKE_USER] = "UPDATE sessions SET revoked_at=?1, revoke_reason=?2 "
                               "WHERE user_id=?3 AND revoked_at=0",
    [ST_SESSION_LIST_USER] = "SELECT " SESSION_COLS " FROM sessions WHERE user_id=?1 AND "
                             "revoked_at=0 AND expires_at>?2 ORDER BY created_at,id",
    [ST_SESSION_LIST_ALL] = "SELECT " SESSION_COLS " FROM sessions WHERE revoked_at=0 AND "
                            "expires_at>?1 ORDER BY created_at,id",
    [ST_SESSION_LIST_REVOKED] = "SELECT " SESSION_COLS " FROM sessions WHERE revoked_at>0 AND "
                                "revoked_at>=?1",
    [ST_SESSION_TOUCH] = "UPDATE sessions SET last_used_at=?1 WHERE id=?2",
    [ST_REFRESH_INSERT] = "INSERT INTO refresh_tokens(hash,session_id,issued_at,used_at) "
                          "VALUES(?1,?2,?3,0)",
    [ST_REFRESH_GET] = "SELECT session_id,issued_at,used_at FROM refresh_tokens WHERE hash=?1",
    [ST_REFRESH_MARK] = "UPDATE refresh_tokens SET used_at=?1 WHERE hash=?2 AND used_at=0 "
                        "RETURNING session_id",
    [ST_DENY_ADD] = "INSERT INTO denylist(jti,exp) VALUES(?1,?2) "
                    "ON CONFLICT(jti) DO UPDATE SET exp=max(exp,excluded.exp)",
    [ST_DENY_LIST] = "SELECT jti,exp FROM denylist WHERE exp>?1",
    [ST_KEY_ADD] = "INSERT INTO signing_keys(kid,alg,created_at,activate_at,remove_at,blob) "
                   "VALUES(?1,?2,?3,?4,?5,?6)",
    [ST_KEY_LIST] = "SELECT kid,alg,created_at,activate_at,remove_at,blob FROM signing_keys "
                    "ORDER BY activate_at,created_at,rowid",
    [ST_KEY_SET_TIMES] = "UPDATE signing_keys SET activate_at=?1, remove_at=?2 WHERE kid=?3",
    [ST_KEY_DELETE] = "DELETE FROM signing_keys WHERE kid=?1",
    [ST_META_GET] = "SELECT value FROM meta WHERE name=?1",
    [ST_META_SET] = "INSERT INTO meta(name,value) VALUES(?1,?2) "
                    "ON CONFLICT(name) DO UPDATE SET value=excluded.value",
    [ST_PURGE_DENY] = "DELETE FROM denylist WHERE exp<=?1",
    [ST_PURGE_SESSIONS] = "DELETE FROM sessions WHERE (revoked_at>0 AND revoked_at<?1) "
                          "OR expires_at<?1",
    [ST_PING] = "SELECT 1",
    /* Prepared once like the rest: sqlite3_exec would parse them again on
     * every write transaction (measured at ~3 % of a refresh's CPU). */
    [ST_BEGIN] = "BEGIN IMMEDIATE",
    [ST_COMMIT] = "COMMIT",
    [ST_ROLLBACK] = "ROLLBACK",
};

/* Schema migrations, applied in order; index + 1 is the version. */
static const char *const migrations[] = {
    "CREATE TABLE meta(name TEXT PRIMARY KEY, value NOT NULL);"
    "INSERT INTO meta(name,value) VALUES('change_seq',0);"
    "CREATE TABLE users(id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE,"
    " sub TEXT NOT NULL UNIQUE, pwhash TEXT NOT NULL, auth_version INTEGER NOT NULL,"
    " disabled INTEGER NOT NULL DEFAULT 0, created_at INTEGER NOT NULL);"
    "CREATE TABLE sessions(id TEXT PRIMARY KEY,"
    " user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
    " client_id TEXT NOT NULL, scope TEXT NOT NULL, created_at INTEGER NOT NULL,"
    " last_used_at INTEGER NOT NULL, expires_at INTEGER NOT NULL,"
    " revoked_at INTEGER NOT NULL DEFAULT 0, revoke_reason TEXT NOT NULL DEFAULT '');"
    "CREATE INDEX sessions_user ON sessions(user_id);"
    "CREATE INDEX sessions_revoked ON sessions(revoked_at) WHERE revoked_at>0;"
    "CREATE TABLE refresh_tokens(hash BLOB PRIMARY KEY,"
    " session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,"
    " issued_at INTEGER NOT NULL, used_at INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID;"
    "CREATE INDEX refresh_session ON refresh_tokens(session_id);"
    "CREATE TABLE denylist(jti TEXT PRIMARY KEY, exp INTEGER NOT NULL) WITHOUT ROWID;"
    "CREATE TABLE signing_keys(kid TEXT PRIMARY KEY, alg TEXT NOT NULL,"
    " created_at INTEGER NOT NULL, activate_at INTEGER NOT NULL,"
    " remove_at INTEGER NOT NULL DEFAULT 0, blob BLOB NOT NULL);",
};

typedef struct conn {
    sqlite3 *db;
    sqlite3_stmt *st[ST__COUNT];
} conn;

typedef struct sq_store {
    store base;
    char *path;
    pthread_mutex_t wlock; /* the writer connection */
    conn writer;
    pthread_mutex_t plock; /* the reader pool */
    pthread_cond_t pcond;
    conn readers[NREADERS];
    bool busy[NREADERS];
    conn ckpt; /* maintain() only: one thread, opened on first use */
} sq_store;

static sq_store *sq(store *st)
{
    return (sq_store *)(void *)st;
}

/* ---- connections ---- */

static void conn_close(conn *c)
{
    for (int i = 0; i < ST__COUNT; i++) {
        sqlite3_finalize(c->st[i]);
        c->st[i] = NULL;
    }
    if (c->db != NULL) {
        sqlite3_close(c->db);
    }
    c->db = NULL;
}

static int conn_open(conn *c, const char *path)
{
    static const char pragmas[] = "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
                                  "PRAGMA foreign_keys=ON; PRAGMA temp_store=MEMORY;"
                                  "PRAGMA wal_autocheckpoint=0;"
                                  "PRAGMA journal_size_limit=67108864;";
    memset(c, 0, sizeof(*c));
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
    if (sqlite3_open_v2(path, &c->db, flags, NULL) != SQLITE_OK) {
        conn_close(c);
        return -1;
    }
    sqlite3_busy_timeout(c->db, BUSY_TIMEOUT_MS);
    if (sqlite3_exec(c->db, pragmas, NULL, NULL, NULL) != SQLITE_OK) {
        conn_close(c);
        return -1;
    }
    return 0;
}

/* The prepared statement `id` on `c`, reset and unbound; NULL on failure. */
static sqlite3_stmt *stmt(conn *c, enum stmt_id id)
{
    if (c->st[id] == NULL) {
        if (sqlite3_prepare_v3(c->db, stmt_sql[id], -1, SQLITE_PREPARE_PERSISTENT, &c->st[id],
                               NULL) != SQLITE_OK) {
            c->st[id] = NULL;
            return NULL;
        }
    }
    sqlite3_reset(c->st[id]);
    sqlite3_clear_bindings(c->st[id]);
    return c->st[id];
}

static conn *reader_get(sq_store *s)
{
    pthread_mutex_lock(&s->plock);
    for (;;) {
        for (int i = 0; i < NREADERS; i++) {
            if (!s->busy[i]) {
                s->busy[i] = true;
                pthread_mutex_unlock(&s->plock);
                if (s->readers[i].db == NULL && conn_open(&s->readers[i], s->path) != 0) {
                    pthread_mutex_lock(&s->plock);
                    s->busy[i] = false;
                    pthread_mutex_unlock(&s->plock);
                    return NULL;
                }
                return &s->readers[i];
            }
        }
        pthread_cond_wait(&s->pcond, &s->plock);
    }
}

static void reader_put(sq_store *s, conn *c)
{
    pthread_mutex_lock(&s->plock);
    s->busy[c - s->readers] = false;
    pthread_cond_signal(&s->pcond);
    pthread_mutex_unlock(&s->plock);
}

/* ---- write transactions on the writer connection ---- */

/* Runs BEGIN IMMEDIATE, COMMIT or ROLLBACK as a prepared statement. */
static bool txn_control(conn *c, enum stmt_id id)
{
    sqlite3_stmt *q = stmt(c, id);
    if (q == NULL) {
        return false;
    }
    int rc = sqlite3_step(q);
    sqlite3_reset(q);
    return rc == SQLITE_DONE;
}

static conn *wbegin(sq_store *s)
{
    pthread_mutex_lock(&s->wlock);
    if (!txn_control(&s->writer, ST_BEGIN)) {
        pthread_mutex_unlock(&s->wlock);
        return NULL;
    }
    return &s->writer;
}

/* Commits when rc is STORE_OK, rolls back otherwise; returns the final rc. */
static store_rc wend(sq_store *s, store_rc rc)
{
    if (rc == STORE_OK) {
        if (!txn_control(&s->writer, ST_COMMIT)) {
            rc = STORE_ERROR;
        }
    }
    if (rc != STORE_OK) {
        txn_control(&s->writer, ST_ROLLBACK);
    }
    pthread_mutex_unlock(&s->wlock);
    return rc;
}

/* ---- binding and column helpers ---- */

static bool bind_text(sqlite3_stmt *q, int i, const char *v, size_t cap)
{
    size_t n = strnlen(v, cap);
    return n < cap && sqlite3_bind_text(q, i, v, (int)n, SQLITE_STATIC) == SQLITE_OK;
}

static bool bind_i64(sqlite3_stmt *q, int i, int64_t v)
{
    return sqlite3_bind_int64(q, i, v) == SQLITE_OK;
}

static bool bind_hash(sqlite3_stmt *q, int i, const unsigned char *h)
{
    return sqlite3_bind_blob(q, i, h, STORE_TOKEN_HASH_LEN, SQLITE_STATIC) == SQLITE_OK;
}

static bool col_text(sqlite3_stmt *q, int i, char *buf, size_t cap)
{
    const unsigned char *t = sqlite3_column_text(q, i);
    size_t n = (size_t)sqlite3_column_bytes(q, i);
    if (n >= cap) {
        buf[0] = '\0';
        return false;
    }
    if (n > 0) {
        memcpy(buf, t, n);
    }
    buf[n] = '\0';
    return true;
}

static store_rc step_done(sqlite3_stmt *q)
{
    int rc = sqlite3_step(q);
    sqlite3_reset(q);
    if (rc == SQLITE_DONE) {
        return STORE_OK;
    }
    if (rc == SQLITE_CONSTRAINT) {
        return STORE_EXISTS;
    }
    return STORE_ERROR;
}

static store_rc seq_bump(conn *c)
{
    sqlite3_stmt *q = stmt(c, ST_SEQ_BUMP);
    return q == NULL ? STORE_ERROR : step_done(q);
}

static bool read_user(sqlite3_stmt *q, store_user *u)
{
    memset(u, 0, sizeof(*u));
    u->id = sqlite3_column_int64(q, 0);
    u->auth_version = sqlite3_column_int64(q, 4);
    u->disabled = sqlite3_column_int64(q, 5) != 0;
    u->created_at = sqlite3_column_int64(q, 6);
    return col_text(q, 1, u->name, sizeof(u->name)) && col_text(q, 2, u->sub, sizeof(u->sub)) &&
           col_text(q, 3, u->pwhash, sizeof(u->pwhash));
}

static bool read_session(sqlite3_stmt *q, store_session *s)
{
    memset(s, 0, sizeof(*s));
    s->user_id = sqlite3_column_int64(q, 1);
    s->created_at = sqlite3_column_int64(q, 4);
    s->last_used_at = sqlite3_column_int64(q, 5);
    s->expires_at = sqlite3_column_int64(q, 6);
    s->revoked_at = sqlite3_column_int64(q, 7);
    return col_text(q, 0, s->id, sizeof(s->id)) &&
           col_text(q, 2, s->client_id, sizeof(s->client_id)) &&
           col_text(q, 3, s->scope, sizeof(s->scope)) &&
           col_text(q, 8, s->revoke_reason, sizeof(s->revoke_reason));
}

/* ---- users ---- */

static store_rc user_add(store *st, store_user *u)
{
    sq_store *s = sq(st);
    conn *c = wbegin(s);
    if (c == NULL) {
        return STORE_ERROR;
    }
    store_rc rc = STORE_INVALID;
    sqlite3_stmt *q = stmt(c, ST_USER_ADD);
    if (q == NULL) {
        rc = STORE_ERROR;
        goto out;
    }
    if (!bind_text(q, 1, u->name, sizeof(u->name)) || !bind_text(q, 2, u->sub, sizeof(u->sub)) ||
        !bind_text(q, 3, u->pwhash, sizeof(u->pwhash)) || !bind_i64(q, 4, u->auth_version) ||
        !bind_i64(q, 5, u->disabled ? 1 : 0) || !bind_i64(q, 6, u->created_at)) {
        goto out;
    }
    rc = step_done(q);
    if (rc == STORE_OK) {
        u->id = sqlite3_last_insert_rowid(c->db);
        rc = seq_bump(c);
    }
out:
    return wend(s, rc);
}

static store_rc user_get_common(store *st, enum stmt_id id, const char *name, int64_t uid,
                                store_user *out)
{
    sq_store *s = sq(st);
    memset(out, 0, sizeof(*out));
    conn *c = reader_get(s);
    if (c == NULL) {
        return STORE_ERROR;
    }
    store_rc rc = STORE_ERROR;
    sqlite3_stmt *q = stmt(c, id);
    if (q == NULL) {
        goto out;
    }
    if (name != NULL ? !bind_text(q, 1, name, STORE_NAME_MAX) : !bind_i64(q, 1, uid)) {
        rc = STORE_INVALID;
        goto out;
    }
    int r = sqlite3_step(q);
    if (r == SQLITE_ROW) {
        rc = read_user(q, out) ? STORE_OK : STORE_ERROR;
    } else if (r == SQLITE_DONE) {
        rc = STORE_NOT_FOUND;
    }
    sqlite3_reset(q);
out:
    reader_put(s, c);
    return rc;
}

static store_rc user_get(store *st, const char *name, store_user *out)
{
    return user_get_common(st, ST_USER_GET, name, 0, out);
}

static store_rc user_get_by_id(store *st, int64_t id, store_user *out)
{
    return user_get_common(st, ST_USER_GET_ID, NULL, id, out);
}

/* Runs one of the "UPDATE users ... RETURNING auth_version" statements,
 * whose last parameter is the name; `val` (text or int) binds ?1 if set. */
static store_rc user_update(store *st, enum stmt_id id, const char *name, const char *text1,
                            int int1, int64_t *new_version)
{
    sq_store *s = sq(st);
    if (new_version != NULL) {
        *new_version = 0;
    }
    conn *c = wbegin(s);
    if (c == NULL) {
        return STORE_ERROR;
    }
    store_rc rc = STORE_ERROR;
    sqlite3_stmt *q = stmt(c, id);
    if (q == NULL) {
        goto out;
    }
    int name_idx = 1;
    if (text1 != NULL) {
        if (!bind_text(q, 1, text1, STORE_HASH_MAX)) {
            rc = STORE_INVALID;
            goto out;
        }
        name_idx = 2;
    } else if (int1 >= 0) {
        bind_i64(q, 1, int1);
        name_idx = 2;
    }
    if (!bind_text(q, name_idx, name, STORE_NAME_MAX)) {
        rc = STORE_INVALID;
        goto out;
    }
    int r = sqlite3_step(q);
    if (r == SQLITE_ROW) {
        if (new_version != NULL) {
            *new_version = sqlite3_column_int64(q, 0);
        }
        r = sqlite3_step(q);
    } else if (r == SQLITE_DONE) {
        rc = STORE_NOT_FOUND;
        sqlite3_reset(q);
        goto out;
    }
    sqlite3_reset(q);
    if (r != SQLITE_DONE) {
        goto out;
    }
    rc = seq_bump(c);
out:
    rc = wend(s, rc);
    if (rc != STORE_OK && new_version != NULL) {
        *new_version = 0;
    }
    return rc;
}

static store_rc user_set_password(store *st, const char *name, const char *pwhash,
                                  int64_t *new_version)
{
    return user_update(st, ST_USER_SET_PW, name, pwhash, -1, new_version);
}

static store_rc user_set_disabled(store *st, const char *name, bool disabled, int64_t *new_version)
{
    return user_update(st, ST_USER_SET_DISABLED, name, NULL, disabled ? 1 : 0, new_version);
}

static store_rc user_bump_version(store *st, const char *name, int64_t *new_version)
{
    return user_update(st, ST_USER_BUMP, name, NULL, -1, new_version);
}

/* ---- generic listing on a reader ---- */

/* The callback of a listing; exactly one member is set. */
typedef struct list_cb {
    store_user_cb user;
    store_session_cb session;
    store_deny_cb deny;
    store_key_cb key;
    void *arg;
} list_cb;

typedef bool (*row_fn)(sqlite3_stmt *q, const list_cb *cb, int *stop);

static store_rc list_rows(store *st, enum stmt_id id, const int64_t *params, int nparams, row_fn fn,
                          const list_cb *cb)
{
    sq_store *s = sq(st);
    conn *c = reader_get(s);
    if (c == NULL) {
        return STORE_ERROR;
    }
    store_rc rc = STORE_ERROR;
    sqlite3_stmt *q = stmt(c, id);
    if (q == NULL) {
        goto out;
    }
    for (int i = 0; i < nparams; i++) {
        bind_i64(q, i + 1, params[i]);
    }
    int r;
    int stop = 0;
    while ((r = sqlite3_step(q)) == SQLITE_ROW) {
        if (!fn(q, cb, &stop)) {
            goto reset;
        }
        if (stop) {
            break;
        }
    }
    if (r == SQLITE_DONE || r == SQLITE_ROW) {
        rc = STORE_OK;
    }
reset:
    sqlite3_reset(q);
out:
    reader_put(s, c);
    return rc;
}

static bool user_row(sqlite3_stmt *q, const list_cb *cb, int *stop)
{
    store_user u;
    if (!read_user(q, &u)) {
        return false;
    }
    *stop = cb->user(cb->arg, &u);
    return true;
}

static store_rc user_list(store *st, store_user_cb cb, void *arg)
{
    list_cb c = {.user = cb, .arg = arg};
    return list_rows(st, ST_USER_LIST, NULL, 0, user_row, &c);
}

/* ---- sessions ---- */

static store_rc session_create(store *st, const store_session *se,
                               const unsigned char first_hash[STORE_TOKEN_HASH_LEN])
{
    sq_store *s = sq(st);
    conn *c = wbegin(s);
    if (c == NULL) {
        return STORE_ERROR;
    }
    store_rc rc = STORE_ERROR;
    sqlite3_stmt *q = stmt(c, ST_SESSION_INSERT);
    if (q == NULL) {
        goto out;
    }
    if (!bind_text(q, 1, se->id, sizeof(se->id)) || !bind_i64(q, 2, se->user_id) ||
        !bind_text(q, 3, se->client_id, sizeof(se->client_id)) ||
        !bind_text(q, 4, se->scope, sizeof(se->scope)) || !bind_i64(q, 5, se->created_at) ||
        !bind_i64(q, 6, se->last_used_at) || !bind_i64(q, 7, se->expires_at)) {
        rc = STORE_INVALID;
        goto out;
    }
    rc = step_done(q);
    if (rc != STORE_OK) {
        goto out;
    }
    q = stmt(c, ST_REFRESH_INSERT);
    if (q == NULL) {
        rc = STORE_ERROR;
        goto out;
    }
    bind_hash(q, 1, first_hash);
    bind_text(q, 2, se->id, sizeof(se->id));
    bind_i64(q, 3, se->created_at);
    rc = step_done(q);
out:
    return wend(s, rc);
}

static store_rc session_get(store *st, const char *id, store_session *out)
{
    sq_store *s = sq(st);
    memset(out, 0, sizeof(*out));
    conn *c = reader_get(s);
    if (c == NULL) {
        return STORE_ERROR;
    }
    store_rc rc = STORE_ERROR;
    sqlite3_stmt *q = stmt(c, ST_SESSION_GET);
    if (q == NULL) {
        goto out;
    }
    if (!bind_text(q, 1, id, STORE_ID_MAX)) {
        rc = STORE_INVALID;
        goto out;
    }
    int r = sqlite3_step(q);
    if (r == SQLITE_ROW) {
        rc = read_session(q, out) ? STORE_OK : STORE_ERROR;
    } else if (r == SQLITE_DONE) {
        rc = STORE_NOT_FOUND;
    }
    sqlite3_reset(q);
out:
    reader_put(s, c);
    return rc;
}

static store_rc session_revoke_common(store *st, enum stmt_id id, const char *sid, int64_t uid,
                                      int64_t now, const char *reason, int *count)
{
    sq_store *s = sq(st);
    if (count != NULL) {
        *count = 0;
    }
    conn *c = wbegin(s);
    if (c == NULL) {
        return STORE_ERROR;
    }
    store_rc rc = STORE_ERROR;
    sqlite3_stmt *q = stmt(c, id);
    if (q == NULL) {
        goto out;
    }
    bind_i64(q, 1, now);
    if (!bind_text(q, 2, reason, STORE_REASON_MAX) ||
        (sid != NULL ? !bind_text(q, 3, sid, STORE_ID_MAX) : !bind_i64(q, 3, uid))) {
        rc = STORE_INVALID;
        goto out;
    }
    rc = step_done(q);
    if (rc != STORE_OK) {
        goto out;
    }
    int n = sqlite3_changes(c->db);
    if (count != NULL) {
        *count = n;
    }
    if (n > 0) {
        rc = seq_bump(c);
    }
out:
    return wend(s, rc);
}

static store_rc session_revoke(store *st, const char *id, int64_t now, const char *reason)
{
    return session_revoke_common(st, ST_SESSION_REVOKE, id, 0, now, reason, NULL);
}

static store_rc session_revoke_user(store *st, int64_t user_id, int64_t now, const char *reason,
                                    int *count)
{
    return session_revoke_common(st, ST_SESSION_REVOKE_USER, NULL, user_id, now, reason, count);
}

static bool session_row(sqlite3_stmt *q, const list_cb *cb, int *stop)
{
    store_session se;
    if (!read_session(q, &se)) {
        return false;
    }
    *stop = cb->session(cb->arg, &se);
    return true;
}

static store_rc session_list(store *st, int64_t user_id, int64_t now, store_session_cb cb,
                             void *arg)
{
    list_cb c = {.session = cb, .arg = arg};
    if (user_id < 0) {
        return list_rows(st, ST_SESSION_LIST_ALL, &now, 1, session_row, &c);
    }
    int64_t p[2] = {user_id, now};
    return list_rows(st, ST_SESSION_LIST_USER, p, 2, session_row, &c);
}

static store_rc session_list_revoked(store *st, int64_t since, store_session_cb cb, void *arg)
{
    list_cb c = {.session = cb, .arg = arg};
    return list_rows(st, ST_SESSION_LIST_REVOKED, &since, 1, session_row, &c);
}

/* ---- refresh tokens ---- */

static store_rc refresh_get_on(conn *c, const unsigned char hash[STORE_TOKEN_HASH_LEN],
                               store_refresh *out)
{
    sqlite3_stmt *q = stmt(c, ST_REFRESH_GET);
    if (q == NULL) {
        return STORE_ERROR;
    }
    bind_hash(q, 1, hash);
    store_rc rc = STORE_ERROR;
    int r = sqlite3_step(q);
    if (r == SQLITE_ROW) {
        memcpy(out->hash, hash, STORE_TOKEN_HASH_LEN);
        out->issued_at = sqlite3_column_int64(q, 1);
        out->used_at = sqlite3_column_int64(q, 2);
        rc = col_text(q, 0, out->session_id, sizeof(out->session_id)) ? STORE_OK : STORE_ERROR;
    } else if (r == SQLITE_DONE) {
        rc = STORE_NOT_FOUND;
    }
    sqlite3_reset(q);
    return rc;
}

static store_rc refresh_get(store *st, const unsigned char hash[STORE_TOKEN_HASH_LEN],
                            store_refresh *out)
{
    sq_store *s = sq(st);
    memset(out, 0, sizeof(*out));
    conn *c = reader_get(s);
    if (c == NULL) {
        return STORE_ERROR;
    }
    store_rc rc = refresh_get_on(c, hash, out);
    reader_put(s, c);
    return rc;
}

static store_rc refresh_rotate(store *st, const unsigned char old_hash[STORE_TOKEN_HASH_LEN],
                               const unsigned char new_hash[STORE_TOKEN_HASH_LEN], int64_t now)
{
    sq_store *s = sq(st);
    conn *c = wbegin(s);
    if (c == NULL) {
        return STORE_ERROR;
    }
    store_rc rc = STORE_ERROR;
    char sid[STORE_ID_MAX];
    sqlite3_stmt *q = stmt(c, ST_REFRESH_MARK);
    if (q == NULL) {
        goto out;
    }
    bind_i64(q, 1, now);
    bind_hash(q, 2, old_hash);
    int r = sqlite3_step(q);
    if (r == SQLITE_ROW) {
        bool ok = col_text(q, 0, sid, sizeof(sid));
        r = sqlite3_step(q);
        sqlite3_reset(q);
        if (!ok || r != SQLITE_DONE) {
            goto out;
        }
    } else {
        sqlite3_reset(q);
        if (r == SQLITE_DONE) { /* lost the race, or no such token */
            store_refresh cur;
            rc = refresh_get_on(c, old_hash, &cur);
            if (rc == STORE_OK) {
                rc = STORE_CONFLICT;
            }
        }
        goto out;
    }
    q = stmt(c, ST_REFRESH_INSERT);
    if (q == NULL) {
        goto out;
    }
    bind_hash(q, 1, new_hash);
    bind_text(q, 2, sid, sizeof(sid));
    bind_i64(q, 3, now);
    rc = step_done(q);
    if (rc != STORE_OK) {
        rc = STORE_ERROR; /* a duplicate successor hash means corruption, not a user error */
        goto out;
    }
    q = stmt(c, ST_SESSION_TOUCH);
    if (q == NULL) {
        rc = STORE_ERROR;
        goto out;
    }
    bind_i64(q, 1, now);
    bind_text(q, 2, sid, sizeof(sid));
    rc = step_done(q);
out:
    return wend(s, rc);
}

/* ---- denylist ---- */

static store_rc deny_add(store *st, const char *jti, int64_t exp)
{
    sq_store *s = sq(st);
    conn *c = wbegin(s);
    if (c == NULL) {
        return STORE_ERROR;
    }
    store_rc rc = STORE_ERROR;
    sqlite3_stmt *q = stmt(c, ST_DENY_ADD);
    if (q == NULL) {
        goto out;
    }
    if (!bind_text(q, 1, jti, STORE_ID_MAX)) {
        rc = STORE_INVALID;
        goto out;
    }
    bind_i64(q, 2, exp);
    rc = step_done(q);
    if (rc == STORE_OK) {
        rc = seq_bump(c);
    }
out:
    return wend(s, rc);
}

static bool deny_row(sqlite3_stmt *q, const list_cb *cb, int *stop)
{
    char jti[STORE_ID_MAX];
    if (!col_text(q, 0, jti, sizeof(jti))) {
        return false;
    }
    *stop = cb->deny(cb->arg, jti, sqlite3_column_int64(q, 1));
    return true;
}

static store_rc deny_list(store *st, int64_t now, store_deny_cb cb, void *arg)
{
    list_cb c = {.deny = cb, .arg = arg};
    return list_rows(st, ST_DENY_LIST, &now, 1, deny_row, &c);
}

/* ---- signing keys ---- */

static store_rc key_add(store *st, const store_key *k)
{
    sq_store *s = sq(st);
    conn *c = wbegin(s);
    if (c == NULL) {
        return STORE_ERROR;
    }
    store_rc rc = STORE_ERROR;
    sqlite3_stmt *q = stmt(c, ST_KEY_ADD);
    if (q == NULL) {
        goto out;
    }
    if (!bind_text(q, 1, k->kid, sizeof(k->kid)) || !bind_text(q, 2, k->alg, sizeof(k->alg)) ||
        k->blob == NULL || k->blob_len == 0 || k->blob_len > (size_t)1024 * 1024) {
        rc = STORE_INVALID;
        goto out;
    }
    bind_i64(q, 3, k->created_at);
    bind_i64(q, 4, k->activate_at);
    bind_i64(q, 5, k->remove_at);
    sqlite3_bind_blob(q, 6, k->blob, (int)k->blob_len, SQLITE_STATIC);
    rc = step_done(q);
    if (rc == STORE_OK) {
        rc = seq_bump(c);
    }
out:
    return wend(s, rc);
}

static bool key_row(sqlite3_stmt *q, const list_cb *cb, int *stop)
{
    store_key k;
    memset(&k, 0, sizeof(k));
    if (!col_text(q, 0, k.kid, sizeof(k.kid)) || !col_text(q, 1, k.alg, sizeof(k.alg))) {
        return false;
    }
    k.created_at = sqlite3_column_int64(q, 2);
    k.activate_at = sqlite3_column_int64(q, 3);
    k.remove_at = sqlite3_column_int64(q, 4);
    /* The blob is borrowed from SQLite for the duration of the callback. */
    k.blob = (unsigned char *)(uintptr_t)sqlite3_column_blob(q, 5);
    k.blob_len = (size_t)sqlite3_column_bytes(q, 5);
    *stop = cb->key(cb->arg, &k);
    return true;
}

static store_rc key_list(store *st, store_key_cb cb, void *arg)
{
    list_cb c = {.key = cb, .arg = arg};
    return list_rows(st, ST_KEY_LIST, NULL, 0, key_row, &c);
}

static store_rc key_write(store *st, enum stmt_id id, const char *kid, int64_t a, int64_t b)
{
    sq_store *s = sq(st);
    conn *c = wbegin(s);
    if (c == NULL) {
        return STORE_ERROR;
    }
    store_rc rc = STORE_ERROR;
    sqlite3_stmt *q = stmt(c, id);
    if (q == NULL) {
        goto out;
    }
    int kid_idx = 1;
    if (id == ST_KEY_SET_TIMES) {
        bind_i64(q, 1, a);
        bind_i64(q, 2, b);
        kid_idx = 3;
    }
    if (!bind_text(q, kid_idx, kid, STORE_ID_MAX)) {
        rc = STORE_INVALID;
        goto out;
    }
    rc = step_done(q);
    if (rc == STORE_OK) {
        rc = sqlite3_changes(c->db) == 0 ? STORE_NOT_FOUND : seq_bump(c);
    }
out:
    return wend(s, rc);
}

static store_rc key_set_times(store *st, const char *kid, int64_t activate_at, int64_t remove_at)
{
    return key_write(st, ST_KEY_SET_TIMES, kid, activate_at, remove_at);
}

static store_rc key_delete(store *st, const char *kid)
{
    return key_write(st, ST_KEY_DELETE, kid, 0, 0);
}

/* ---- meta, change sequence, purge, ping ---- */

static store_rc meta_get(store *st, const char *name, char *buf, size_t cap)
{
    sq_store *s = sq(st);
    if (cap > 0) {
        buf[0] = '\0';
    }
    conn *c = reader_get(s);
    if (c == NULL) {
        return STORE_ERROR;
    }
    store_rc rc = STORE_ERROR;
    sqlite3_stmt *q = stmt(c, ST_META_GET);
    if (q == NULL) {
        goto out;
    }
    if (!bind_text(q, 1, name, STORE_NAME_MAX)) {
        rc = STORE_INVALID;
        goto out;
    }
    int r = sqlite3_step(q);
    if (r == SQLITE_ROW) {
        rc = col_text(q, 0, buf, cap) ? STORE_OK : STORE_INVALID;
    } else if (r == SQLITE_DONE) {
        rc = STORE_NOT_FOUND;
    }
    sqlite3_reset(q);
out:
    reader_put(s, c);
    return rc;
}

static store_rc meta_set(store *st, const char *name, const char *value)
{
    sq_store *s = sq(st);
    conn *c = wbegin(s);
    if (c == NULL) {
        return STORE_ERROR;
    }
    store_rc rc = STORE_ERROR;
    sqlite3_stmt *q = stmt(c, ST_META_SET);
    if (q == NULL) {
        goto out;
    }
    if (!bind_text(q, 1, name, STORE_NAME_MAX) || !bind_text(q, 2, value, 4096)) {
        rc = STORE_INVALID;
        goto out;
    }
    rc = step_done(q);
out:
    return wend(s, rc);
}

static store_rc change_seq(store *st, int64_t *out)
{
    sq_store *s = sq(st);
    *out = 0;
    conn *c = reader_get(s);
    if (c == NULL) {
        return STORE_ERROR;
    }
    store_rc rc = STORE_ERROR;
    sqlite3_stmt *q = stmt(c, ST_SEQ_GET);
    if (q != NULL && sqlite3_step(q) == SQLITE_ROW) {
        *out = sqlite3_column_int64(q, 0);
        rc = STORE_OK;
    }
    if (q != NULL) {
        sqlite3_reset(q);
    }
    reader_put(s, c);
    return rc;
}

static store_rc purge(store *st, int64_t now, int64_t keep)
{
    sq_store *s = sq(st);
    conn *c = wbegin(s);
    if (c == NULL) {
        return STORE_ERROR;
    }
    store_rc rc = STORE_ERROR;
    sqlite3_stmt *q = stmt(c, ST_PURGE_DENY);
    if (q == NULL) {
        goto out;
    }
    bind_i64(q, 1, now);
    if ((rc = step_done(q)) != STORE_OK) {
        goto out;
    }
    q = stmt(c, ST_PURGE_SESSIONS);
    if (q == NULL) {
        rc = STORE_ERROR;
        goto out;
    }
    bind_i64(q, 1, now - keep);
    rc = step_done(q);
out:
    return wend(s, rc);
}

static store_rc maintain(store *st)
{
    sq_store *s = sq(st);
    if (s->ckpt.db == NULL && conn_open(&s->ckpt, s->path) != 0) {
        return STORE_ERROR;
    }
    int rc = sqlite3_wal_checkpoint_v2(s->ckpt.db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
    return rc == SQLITE_OK || rc == SQLITE_BUSY ? STORE_OK : STORE_ERROR;
}

static store_rc ping(store *st)
{
    sq_store *s = sq(st);
    conn *c = reader_get(s);
    if (c == NULL) {
        return STORE_ERROR;
    }
    sqlite3_stmt *q = stmt(c, ST_PING);
    store_rc rc = (q != NULL && sqlite3_step(q) == SQLITE_ROW) ? STORE_OK : STORE_ERROR;
    if (q != NULL) {
        sqlite3_reset(q);
    }
    reader_put(s, c);
    return rc;
}

/* ---- open, migrate, close ---- */

static void sq_close(store *st)
{
    sq_store *s = sq(st);
    conn_close(&s->writer);
    conn_close(&s->ckpt);
    for (int i = 0; i < NREADERS; i++) {
        conn_close(&s->readers[i]);
    }
    pthread_mutex_destroy(&s->wlock);
    pthread_mutex_destroy(&s->plock);
    pthread_cond_destroy(&s->pcond);
    free(s->path);
    free(s);
}

static const struct store_ops sqlite_ops = {
    .name = "sqlite",
    .close = sq_close,
    .user_add = user_add,
    .user_get = user_get,
    .user_get_by_id = user_get_by_id,
    .user_set_password = user_set_password,
    .user_set_disabled = user_set_disabled,
    .user_bump_version = user_bump_version,
    .user_list = user_list,
    .session_create = session_create,
    .session_get = session_get,
    .session_revoke = session_revoke,
    .session_revoke_user = session_revoke_user,
    .session_list = session_list,
    .session_list_revoked = session_list_revoked,
    .refresh_get = refresh_get,
    .refresh_rotate = refresh_rotate,
    .deny_add = deny_add,
    .deny_list = deny_list,
    .key_add = key_add,
    .key_list = key_list,
    .key_set_times = key_set_times,
    .key_delete = key_delete,
    .meta_get = meta_get,
    .meta_set = meta_set,
    .change_seq = change_seq,
    .purge = purge,
    .maintain = maintain,
    .ping = ping,
};

/* Applies every migration newer than the recorded version, each in its
 * own IMMEDIATE transaction so two processes starting at once agree. */
static int migrate(sqlite3 *db, char *errbuf, size_t errcap)
{
    if (sqlite3_exec(db,
                     "CREATE TABLE IF NOT EXISTS schema_migrations("
                     "version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)",
                     NULL, NULL, NULL) != SQLITE_OK) {
        snprintf(errbuf, errcap, "cannot create schema_migrations: %s", sqlite3_errmsg(db));
        return -1;
    }
    size_t n = sizeof(migrations) / sizeof(migrations[0]);
    for (size_t v = 1; v <= n; v++) {
        if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
            snprintf(errbuf, errcap, "cannot lock database: %s", sqlite3_errmsg(db));
            return -1;
        }
        sqlite3_stmt *q = NULL;
        bool have = false;
        if (sqlite3_prepare_v2(db, "SELECT 1 FROM schema_migrations WHERE version=?1", -1, &q,
                               NULL) == SQLITE_OK) {
            sqlite3_bind_int64(q, 1, (sqlite3_int64)v);
            have = sqlite3_step(q) == SQLITE_ROW;
        }
        sqlite3_finalize(q);
        char rec[96];
        snprintf(rec, sizeof(rec),
                 "INSERT INTO schema_migrations(version,applied_at) VALUES(%zu,unixepoch())", v);
        if (!have && (sqlite3_exec(db, migrations[v - 1], NULL, NULL, NULL) != SQLITE_OK ||
                      sqlite3_exec(db, rec, NULL, NULL, NULL) != SQLITE_OK)) {
            snprintf(errbuf, errcap, "migration %zu failed: %s", v, sqlite3_errmsg(db));
            sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
            return -1;
        }
        if (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
            snprintf(errbuf, errcap, "cannot commit migration: %s", sqlite3_errmsg(db));
            return -1;
        }
    }
    return 0;
}

store *store_sqlite_open(const char *path, char *errbuf, size_t errcap)
{
    sq_store *s = calloc(1, sizeof(*s));
    if (s == NULL || (s->path = strdup(path)) == NULL) {
        snprintf(errbuf, errcap, "out of memory");
        free(s);
        return NULL;
    }
    s->base.ops = &sqlite_ops;
    pthread_mutex_init(&s->wlock, NULL);
    pthread_mutex_init(&s->plock, NULL);
    pthread_cond_init(&s->pcond, NULL);
    if (conn_open(&s->writer, path) != 0) {
        snprintf(errbuf, errcap, "cannot open database %s", path);
        sq_close(&s->base);
        return NULL;
    }
    if (migrate(s->writer.db, errbuf, errcap) != 0) {
        sq_close(&s->base);
        return NULL;
    }
    return &s->base;
}
