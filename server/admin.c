/*
 * admin.c: `tesserad user|keys|sessions ...`, the admin CLI. It opens the
 * store directly (SQLite allows this while the service runs) and makes the
 * same writes the service would; changes that affect verification bump the
 * store's change sequence, so a running service picks them up within one
 * reload period. Passwords are read from stdin, never from arguments.
 */
#include "admin.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PASSWORD_MIN 8
#define PASSWORD_MAX 1024

static store *open_store(const config *cfg)
{
    char err[512];
    store *st = store_open(cfg->store_spec[0] ? cfg->store_spec : cfg->data_dir, err, sizeof(err));
    if (st == NULL) {
        fprintf(stderr, "tesserad: %s\n", err);
    }
    return st;
}

/* Reads one line (the password) from stdin without the line ending. */
static int read_password(char *buf, size_t cap, size_t *len)
{
    *len = 0;
    if (fgets(buf, (int)cap, stdin) == NULL) {
        fprintf(stderr, "tesserad: expected the password on stdin\n");
        return -1;
    }
    size_t n = strlen(buf);
    if (n == cap - 1 && buf[n - 1] != '\n') {
        fprintf(stderr, "tesserad: password too long (at most %d bytes)\n", PASSWORD_MAX);
        return -1;
    }
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r')) {
        buf[--n] = '\0';
    }
    if (n < PASSWORD_MIN) {
        fprintf(stderr, "tesserad: password too short (at least %d bytes)\n", PASSWORD_MIN);
        return -1;
    }
    *len = n;
    return 0;
}

static int hash_stdin_password(const config *cfg, char out[STORE_HASH_MAX])
{
    char pw[PASSWORD_MAX + 2];
    size_t len = 0;
    pwhasher h;
    int rc = -1;
    if (read_password(pw, sizeof(pw), &len) != 0) {
        goto out;
    }
    if (pw_init(&h, cfg) != 0) {
        fprintf(stderr, "tesserad: argon2 setup failed\n");
        goto out;
    }
    rc = pw_hash(&h, pw, len, out);
    pw_free(&h);
    if (rc != 0) {
        fprintf(stderr, "tesserad: hashing failed\n");
    }
out:
    OPENSSL_cleanse(pw, sizeof(pw));
    return rc;
}

static int user_add(store *st, const config *cfg, const char *name)
{
    store_user u;
    memset(&u, 0, sizeof(u));
    if (strlen(name) >= sizeof(u.name) || name[0] == '\0') {
        fprintf(stderr, "tesserad: invalid user name\n");
        return 1;
    }
    snprintf(u.name, sizeof(u.name), "%s", name);
    rand_id(u.sub, sizeof(u.sub), 16);
    u.auth_version = 1;
    u.created_at = now_s();
    if (hash_stdin_password(cfg, u.pwhash) != 0) {
        return 1;
    }
    store_rc rc = st->ops->user_add(st, &u);
    OPENSSL_cleanse(u.pwhash, sizeof(u.pwhash));
    if (rc == STORE_EXISTS) {
        fprintf(stderr, "tesserad: user %s already exists\n", name);
        return 1;
    }
    if (rc != STORE_OK) {
        fprintf(stderr, "tesserad: store error (%s)\n", store_rc_name(rc));
        return 1;
    }
    printf("user %s added (subject %s)\n", name, u.sub);
    return 0;
}

/* Ends every session of `name` after an auth_version bump. */
static int end_sessions(store *st, const char *name, const char *reason, int64_t version)
{
    store_user u;
    int n = 0;
    if (st->ops->user_get(st, name, &u) != STORE_OK ||
        st->ops->session_revoke_user(st, u.id, now_s(), reason, &n) != STORE_OK) {
        fprintf(stderr, "tesserad: store error\n");
        return 1;
    }
    log_audit("user_revoke_all", "user_id=%lld reason=%s sessions=%d auth_version=%lld",
              (long long)u.id, reason, n, (long long)version);
    printf("user %s: auth_version %lld, %d session(s) ended\n", name, (long long)version, n);
    return 0;
}

static int report(store_rc rc, const char *name)
{
    if (rc == STORE_NOT_FOUND) {
        fprintf(stderr, "tesserad: no user %s\n", name);
    } else if (rc != STORE_OK) {
        fprintf(stderr, "tesserad: store error (%s)\n", store_rc_name(rc));
    }
    return rc == STORE_OK ? 0 : 1;
}

int cmd_user(cli *c, const char *sub)
{
    if (c->npos != 1) {
        fprintf(stderr, "usage: tesserad user add|passwd|disable|enable|revoke-all NAME\n");
        return 2;
    }
    const char *name = c->pos[0];
    store *st = open_store(&c->cfg);
    if (st == NULL) {
        return 1;
    }
    int rc = 1;
    int64_t ver = 0;
    if (strcmp(sub, "add") == 0) {
        rc = user_add(st, &c->cfg, name);
    } else if (strcmp(sub, "passwd") == 0) {
        char h[STORE_HASH_MAX];
        if (hash_stdin_password(&c->cfg, h) == 0 &&
            (rc = report(st->ops->user_set_password(st, name, h, &ver), name)) == 0) {
            rc = end_sessions(st, name, "password_changed", ver);
        }
        OPENSSL_cleanse(h, sizeof(h));
    } else if (strcmp(sub, "disable") == 0 || strcmp(sub, "enable") == 0) {
        bool dis = strcmp(sub, "disable") == 0;
        rc = report(st->ops->user_set_disabled(st, name, dis, &ver), name);
        if (rc == 0 && dis) {
            rc = end_sessions(st, name, "disabled", ver);
        } else if (rc == 0) {
            printf("user %s enabled\n", name);
        }
    } else if (strcmp(sub, "revoke-all") == 0) {
        rc = report(st->ops->user_bump_version(st, name, &ver), name);
        if (rc == 0) {
            rc = end_sessions(st, name, "revoke_all", ver);
        }
    } else {
        fprintf(stderr, "tesserad: unknown user command %s\n", sub);
        rc = 2;
    }
    store_close(st);
    return rc;
}

static void fmt_time(int64_t t, char *buf, size_t cap)
{
    if (t == 0) {
        snprintf(buf, cap, "-");
        return;
    }
    time_t tt = (time_t)t;
    struct tm tm;
    gmtime_r(&tt, &tm);
    strftime(buf, cap, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static int print_key(void *arg, const store_key *k)
{
    int64_t now = *(const int64_t *)arg;
    char c[32], a[32], r[32];
    fmt_time(k->created_at, c, sizeof(c));
    fmt_time(k->activate_at, a, sizeof(a));
    fmt_time(k->remove_at, r, sizeof(r));
    const char *state = k->activate_at > now ? "pending"
                        : k->remove_at != 0  ? "retiring"
                                             : "active";
    printf("%-44s %-6s %-9s created %s signs-from %s removed-at %s\n", k->kid, k->alg, state, c, a,
           r);
    return 0;
}

int cmd_keys(cli *c, const char *sub)
{
    store *st = open_store(&c->cfg);
    if (st == NULL) {
        return 1;
    }
    int rc = 1;
    int64_t now = now_s();
    if (strcmp(sub, "list") == 0) {
        rc = st->ops->key_list(st, print_key, &now) == STORE_OK ? 0 : 1;
    } else if (strcmp(sub, "rotate") == 0) {
        secrets sec;
        char err[512];
        char kid[STORE_ID_MAX];
        if (secrets_load(&sec, &c->cfg, st, false, err, sizeof(err)) != 0) {
            fprintf(stderr, "tesserad: %s\n", err);
        } else {
            int64_t at = c->now_flag ? now : now + c->cfg.key_prepublish;
            /* Only the key is added here: retiring the previous one is the
             * running service's schedule, which knows its token lifetime. */
            if (keyring_add_key(st, &sec, &c->cfg, now, at, kid) == 0) {
                printf("new key %s published now, signing %s\n", kid,
                       c->now_flag ? "now" : "after key_prepublish");
                rc = 0;
            }
            secrets_wipe(&sec);
        }
    } else {
        fprintf(stderr, "usage: tesserad keys list|rotate [--now]\n");
        rc = 2;
    }
    store_close(st);
    return rc;
}

static int print_session(void *arg, const store_session *s)
{
    (void)arg;
    char c[32], l[32], e[32];
    fmt_time(s->created_at, c, sizeof(c));
    fmt_time(s->last_used_at, l, sizeof(l));
    fmt_time(s->expires_at, e, sizeof(e));
    printf("%-24s user_id=%-6lld client=%s created %s last-used %s expires %s\n", s->id,
           (long long)s->user_id, s->client_id, c, l, e);
    return 0;
}

int cmd_sessions(cli *c)
{
    store *st = open_store(&c->cfg);
    if (st == NULL) {
        return 1;
    }
    int rc = 1;
    int64_t uid = -1;
    store_user u;
    if (c->npos > 1) {
        fprintf(stderr, "usage: tesserad sessions list [NAME]\n");
        rc = 2;
    } else if (c->npos == 1 && report(st->ops->user_get(st, c->pos[0], &u), c->pos[0]) != 0) {
        rc = 1;
    } else {
        uid = c->npos == 1 ? u.id : -1;
        rc = st->ops->session_list(st, uid, now_s(), print_session, NULL) == STORE_OK ? 0 : 1;
    }
    store_close(st);
    return rc;
}
