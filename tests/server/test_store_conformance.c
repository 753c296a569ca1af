/*
 * test_store_conformance.c: the one conformance suite of store.h.
 *
 * Every test talks to the store only through its ops table, so the same
 * tests run against every backend that is built (SQLite today; a new
 * backend adds one entry to `backends`). Each test gets a fresh store in a
 * fresh temporary directory.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store.h"

typedef struct fixture {
    char dir[64];
    char spec[128];
    store *st;
} fixture;

typedef struct backend {
    const char *name;
    const char *prefix; /* store spec prefix */
} backend;

static const backend backends[] = {
    {"sqlite", "sqlite:"},
};
static const backend *current = &backends[0];

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    snprintf(f->dir, sizeof(f->dir), "/tmp/tsr-store-XXXXXX");
    if (f == NULL || mkdtemp(f->dir) == NULL) {
        return -1;
    }
    snprintf(f->spec, sizeof(f->spec), "%s%s/t.db", current->prefix, f->dir);
    char err[256];
    f->st = store_open(f->spec, err, sizeof(err));
    if (f->st == NULL) {
        fprintf(stderr, "store_open: %s\n", err);
        return -1;
    }
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    char cmd[128];
    store_close(f->st);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
    int rc = system(cmd);
    free(f);
    return rc == 0 ? 0 : -1;
}

static store *S(void **state)
{
    return ((fixture *)*state)->st;
}

static store_user make_user(const char *name)
{
    store_user u;
    memset(&u, 0, sizeof(u));
    snprintf(u.name, sizeof(u.name), "%s", name);
    snprintf(u.sub, sizeof(u.sub), "sub-%s", name);
    snprintf(u.pwhash, sizeof(u.pwhash), "$argon2id$fake$%s", name);
    u.auth_version = 1;
    u.created_at = 1000;
    return u;
}

static int64_t seq(store *st)
{
    int64_t v = -1;
    assert_int_equal(st->ops->change_seq(st, &v), STORE_OK);
    return v;
}

static void hash_of(unsigned char h[32], int n)
{
    memset(h, 0, 32);
    h[0] = (unsigned char)n;
    h[31] = 0xA5;
}

/* A user with one session "s1" whose first refresh hash is hash_of(1). */
static int64_t seed_session(store *st, const char *sid, int hash_n, int64_t created)
{
    store_user u = make_user("alice");
    store_rc rc = st->ops->user_add(st, &u);
    if (rc == STORE_EXISTS) {
        assert_int_equal(st->ops->user_get(st, "alice", &u), STORE_OK);
    } else {
        assert_int_equal(rc, STORE_OK);
    }
    store_session s;
    memset(&s, 0, sizeof(s));
    snprintf(s.id, sizeof(s.id), "%s", sid);
    s.user_id = u.id;
    snprintf(s.client_id, sizeof(s.client_id), "web");
    snprintf(s.scope, sizeof(s.scope), "api");
    s.created_at = s.last_used_at = created;
    s.expires_at = created + 1000;
    unsigned char h[32];
    hash_of(h, hash_n);
    assert_int_equal(st->ops->session_create(st, &s, h), STORE_OK);
    return u.id;
}

/* ---- users ---- */

static void test_user_unknown_is_not_found(void **state)
{
    store_user u;
    int64_t v = 7;
    assert_int_equal(S(state)->ops->user_get(S(state), "nobody", &u), STORE_NOT_FOUND);
    assert_int_equal(S(state)->ops->user_get_by_id(S(state), 42, &u), STORE_NOT_FOUND);
    assert_int_equal(S(state)->ops->user_bump_version(S(state), "nobody", &v), STORE_NOT_FOUND);
    assert_int_equal(v, 0);
    assert_int_equal(S(state)->ops->user_set_password(S(state), "nobody", "x", NULL),
                     STORE_NOT_FOUND);
}

static void test_user_duplicate_name_is_refused(void **state)
{
    store_user a = make_user("alice");
    store_user b = make_user("alice");
    snprintf(b.sub, sizeof(b.sub), "other");
    assert_int_equal(S(state)->ops->user_add(S(state), &a), STORE_OK);
    assert_int_equal(S(state)->ops->user_add(S(state), &b), STORE_EXISTS);
}

static void test_user_roundtrip_and_version_bumps(void **state)
{
    store *st = S(state);
    store_user u = make_user("alice"), got;
    int64_t s0 = seq(st);
    assert_int_equal(st->ops->user_add(st, &u), STORE_OK);
    assert_true(u.id > 0);
    assert_true(seq(st) > s0);
    assert_int_equal(st->ops->user_get(st, "alice", &got), STORE_OK);
    assert_string_equal(got.sub, "sub-alice");
    assert_string_equal(got.pwhash, "$argon2id$fake$alice");
    assert_int_equal(got.auth_version, 1);
    assert_false(got.disabled);
    assert_int_equal(st->ops->user_get_by_id(st, u.id, &got), STORE_OK);
    assert_string_equal(got.name, "alice");

    int64_t v = 0, s1 = seq(st);
    assert_int_equal(st->ops->user_set_password(st, "alice", "$argon2id$new", &v), STORE_OK);
    assert_int_equal(v, 2);
    assert_true(seq(st) > s1);
    assert_int_equal(st->ops->user_bump_version(st, "alice", &v), STORE_OK);
    assert_int_equal(v, 3);
    assert_int_equal(st->ops->user_set_disabled(st, "alice", true, &v), STORE_OK);
    assert_int_equal(v, 4);
    assert_int_equal(st->ops->user_get(st, "alice", &got), STORE_OK);
    assert_true(got.disabled);
    assert_string_equal(got.pwhash, "$argon2id$new");
    assert_int_equal(got.auth_version, 4);
}

static int count_user(void *arg, const store_user *u)
{
    assert_string_equal(u->pwhash, ""); /* listings never carry password hashes */
    (*(int *)arg)++;
    return 0;
}

static void test_user_list_omits_hashes(void **state)
{
    store *st = S(state);
    store_user a = make_user("a"), b = make_user("b");
    int n = 0;
    assert_int_equal(st->ops->user_add(st, &a), STORE_OK);
    assert_int_equal(st->ops->user_add(st, &b), STORE_OK);
    assert_int_equal(st->ops->user_list(st, count_user, &n), STORE_OK);
    assert_int_equal(n, 2);
}

static void test_overlong_strings_are_invalid(void **state)
{
    store *st = S(state);
    char longname[STORE_NAME_MAX + 10];
    memset(longname, 'x', sizeof(longname) - 1);
    longname[sizeof(longname) - 1] = '\0';
    store_user u;
    assert_int_equal(st->ops->user_get(st, longname, &u), STORE_INVALID);
    char longjti[STORE_ID_MAX + 5];
    memset(longjti, 'j', sizeof(longjti) - 1);
    longjti[sizeof(longjti) - 1] = '\0';
    assert_int_equal(st->ops->deny_add(st, longjti, 10), STORE_INVALID);
}

/* ---- sessions and refresh tokens ---- */

static int count_session(void *arg, const store_session *s)
{
    (void)s;
    (*(int *)arg)++;
    return 0;
}

static void test_session_lifecycle(void **state)
{
    store *st = S(state);
    int64_t uid = seed_session(st, "s1", 1, 100);
    seed_session(st, "s2", 2, 100);
    store_session s;
    assert_int_equal(st->ops->session_get(st, "nope", &s), STORE_NOT_FOUND);
    assert_int_equal(st->ops->session_get(st, "s1", &s), STORE_OK);
    assert_int_equal(s.user_id, uid);
    assert_string_equal(s.client_id, "web");
    assert_int_equal(s.expires_at, 1100);
    assert_int_equal(s.revoked_at, 0);

    int n = 0;
    assert_int_equal(st->ops->session_list(st, uid, 200, count_session, &n), STORE_OK);
    assert_int_equal(n, 2);
    n = 0; /* past the absolute lifetime nothing is live */
    assert_int_equal(st->ops->session_list(st, -1, 1100, count_session, &n), STORE_OK);
    assert_int_equal(n, 0);

    int64_t s0 = seq(st);
    assert_int_equal(st->ops->session_revoke(st, "s1", 300, "logout"), STORE_OK);
    assert_true(seq(st) > s0);
    assert_int_equal(st->ops->session_revoke(st, "s1", 301, "again"), STORE_OK); /* idempotent */
    assert_int_equal(st->ops->session_get(st, "s1", &s), STORE_OK);
    assert_int_equal(s.revoked_at, 300);
    assert_string_equal(s.revoke_reason, "logout");
    n = 0;
    assert_int_equal(st->ops->session_list(st, uid, 200, count_session, &n), STORE_OK);
    assert_int_equal(n, 1);
    n = 0;
    assert_int_equal(st->ops->session_list_revoked(st, 250, count_session, &n), STORE_OK);
    assert_int_equal(n, 1);
    n = 0;
    assert_int_equal(st->ops->session_list_revoked(st, 301, count_session, &n), STORE_OK);
    assert_int_equal(n, 0);

    int count = 0;
    assert_int_equal(st->ops->session_revoke_user(st, uid, 400, "revoke_all", &count), STORE_OK);
    assert_int_equal(count, 1); /* s1 was already revoked */
}

static void test_refresh_rotate_is_conditional(void **state)
{
    store *st = S(state);
    seed_session(st, "s1", 1, 100);
    unsigned char h1[32], h2[32], h3[32], unknown[32];
    hash_of(h1, 1);
    hash_of(h2, 2);
    hash_of(h3, 3);
    hash_of(unknown, 99);
    store_refresh r;
    int64_t s0 = seq(st);

    assert_int_equal(st->ops->refresh_rotate(st, unknown, h2, 150), STORE_NOT_FOUND);
    assert_int_equal(st->ops->refresh_get(st, h2, &r), STORE_NOT_FOUND);

    assert_int_equal(st->ops->refresh_get(st, h1, &r), STORE_OK);
    assert_int_equal(r.used_at, 0);
    assert_string_equal(r.session_id, "s1");
    assert_int_equal(st->ops->refresh_rotate(st, h1, h2, 150), STORE_OK);
    assert_int_equal(st->ops->refresh_rotate(st, h1, h3, 151), STORE_CONFLICT);
    assert_int_equal(st->ops->refresh_get(st, h3, &r), STORE_NOT_FOUND); /* loser inserts nothing */
    assert_int_equal(st->ops->refresh_get(st, h1, &r), STORE_OK);
    assert_int_equal(r.used_at, 150); /* anchored at the first use */
    assert_int_equal(st->ops->refresh_get(st, h2, &r), STORE_OK);
    assert_int_equal(r.used_at, 0);
    assert_int_equal(r.issued_at, 150);
    assert_string_equal(r.session_id, "s1");

    store_session s;
    assert_int_equal(st->ops->session_get(st, "s1", &s), STORE_OK);
    assert_int_equal(s.last_used_at, 150);
    assert_int_equal(seq(st), s0); /* rotation does not concern verification */
}

typedef struct race {
    store *st;
    pthread_barrier_t *bar;
    int index;
    store_rc rc;
} race;

static void *racer(void *arg)
{
    race *r = arg;
    unsigned char h1[32], next[32];
    hash_of(h1, 1);
    hash_of(next, 100 + r->index); /* each racer proposes its own successor */
    pthread_barrier_wait(r->bar);
    r->rc = r->st->ops->refresh_rotate(r->st, h1, next, 200);
    return NULL;
}

static void test_refresh_rotate_race_has_one_winner(void **state)
{
    enum { N = 16 };
    store *st = S(state);
    seed_session(st, "s1", 1, 100);
    pthread_t t[N];
    race r[N];
    pthread_barrier_t bar;
    pthread_barrier_init(&bar, NULL, N);
    for (int i = 0; i < N; i++) {
        r[i] = (race){st, &bar, i, STORE_ERROR};
        assert_int_equal(pthread_create(&t[i], NULL, racer, &r[i]), 0);
    }
    int ok = 0, conflict = 0;
    for (int i = 0; i < N; i++) {
        pthread_join(t[i], NULL);
        ok += r[i].rc == STORE_OK;
        conflict += r[i].rc == STORE_CONFLICT;
    }
    pthread_barrier_destroy(&bar);
    assert_int_equal(ok, 1);
    assert_int_equal(conflict, N - 1); /* and no STORE_ERROR: no serialization failures */
}

/* ---- denylist, keys, meta, purge ---- */

static int count_deny(void *arg, const char *jti, int64_t exp)
{
    assert_string_equal(jti, "live");
    assert_int_equal(exp, 500);
    (*(int *)arg)++;
    return 0;
}

static void test_denylist_entries_expire(void **state)
{
    store *st = S(state);
    int64_t s0 = seq(st);
    assert_int_equal(st->ops->deny_add(st, "live", 500), STORE_OK);
    assert_int_equal(st->ops->deny_add(st, "old", 100), STORE_OK);
    assert_int_equal(st->ops->deny_add(st, "live", 400), STORE_OK); /* keeps the later exp */
    assert_true(seq(st) > s0);
    int n = 0;
    assert_int_equal(st->ops->deny_list(st, 200, count_deny, &n), STORE_OK);
    assert_int_equal(n, 1);
    assert_int_equal(st->ops->purge(st, 200, 0), STORE_OK);
    n = 0;
    assert_int_equal(st->ops->deny_list(st, 0, count_deny, &n), STORE_OK);
    assert_int_equal(n, 1); /* "old" is gone even when listing from time 0 */
}

typedef struct keyseen {
    int n;
    char kid[STORE_ID_MAX];
    int64_t remove_at;
    unsigned char blob[8];
    size_t blob_len;
} keyseen;

static int see_key(void *arg, const store_key *k)
{
    keyseen *s = arg;
    s->n++;
    snprintf(s->kid, sizeof(s->kid), "%s", k->kid);
    s->remove_at = k->remove_at;
    s->blob_len = k->blob_len;
    memcpy(s->blob, k->blob, k->blob_len < 8 ? k->blob_len : 8);
    return 0;
}

static void test_signing_keys(void **state)
{
    store *st = S(state);
    unsigned char blob[5] = {1, 2, 3, 0, 5};
    store_key k = {.kid = "k1",
                   .alg = "ES256",
                   .created_at = 10,
                   .activate_at = 20,
                   .remove_at = 0,
                   .blob = blob,
                   .blob_len = sizeof(blob)};
    int64_t s0 = seq(st);
    assert_int_equal(st->ops->key_add(st, &k), STORE_OK);
    assert_int_equal(st->ops->key_add(st, &k), STORE_EXISTS);
    assert_true(seq(st) > s0);
    keyseen seen = {0};
    assert_int_equal(st->ops->key_list(st, see_key, &seen), STORE_OK);
    assert_int_equal(seen.n, 1);
    assert_string_equal(seen.kid, "k1");
    assert_int_equal(seen.blob_len, sizeof(blob));
    assert_memory_equal(seen.blob, blob, sizeof(blob));
    assert_int_equal(st->ops->key_set_times(st, "k1", 20, 99), STORE_OK);
    assert_int_equal(st->ops->key_set_times(st, "nope", 20, 99), STORE_NOT_FOUND);
    memset(&seen, 0, sizeof(seen));
    assert_int_equal(st->ops->key_list(st, see_key, &seen), STORE_OK);
    assert_int_equal(seen.remove_at, 99);
    assert_int_equal(st->ops->key_delete(st, "k1"), STORE_OK);
    assert_int_equal(st->ops->key_delete(st, "k1"), STORE_NOT_FOUND);
    k.blob_len = 0;
    assert_int_equal(st->ops->key_add(st, &k), STORE_INVALID);
}

/* The keyring signs with the last active key listed, so the order is part
 * of the contract: activate_at, created_at, then insertion order. Kids are
 * random thumbprints; sorting by them made a key rotated in the same second
 * as the previous one lose about half the time. */
static void test_signing_key_order(void **state)
{
    store *st = S(state);
    unsigned char blob[1] = {7};
    store_key k = {.alg = "ES256", .created_at = 10, .activate_at = 10, .blob = blob,
                   .blob_len = sizeof(blob)};
    snprintf(k.kid, sizeof(k.kid), "zz-first");
    assert_int_equal(st->ops->key_add(st, &k), STORE_OK);
    snprintf(k.kid, sizeof(k.kid), "aa-second");
    assert_int_equal(st->ops->key_add(st, &k), STORE_OK);
    keyseen seen = {0};
    assert_int_equal(st->ops->key_list(st, see_key, &seen), STORE_OK);
    assert_int_equal(seen.n, 2);
    assert_string_equal(seen.kid, "aa-second"); /* same times: inserted last, listed last */
    snprintf(k.kid, sizeof(k.kid), "mm-earlier");
    k.activate_at = 5;
    assert_int_equal(st->ops->key_add(st, &k), STORE_OK);
    memset(&seen, 0, sizeof(seen));
    assert_int_equal(st->ops->key_list(st, see_key, &seen), STORE_OK);
    assert_int_equal(seen.n, 3);
    assert_string_equal(seen.kid, "aa-second"); /* activate_at orders first */
}

static void test_meta_roundtrip(void **state)
{
    store *st = S(state);
    char buf[32];
    assert_int_equal(st->ops->meta_get(st, "x", buf, sizeof(buf)), STORE_NOT_FOUND);
    assert_int_equal(st->ops->meta_set(st, "x", "one"), STORE_OK);
    assert_int_equal(st->ops->meta_set(st, "x", "two"), STORE_OK);
    assert_int_equal(st->ops->meta_get(st, "x", buf, sizeof(buf)), STORE_OK);
    assert_string_equal(buf, "two");
    assert_int_equal(st->ops->meta_get(st, "x", buf, 3), STORE_INVALID); /* does not fit */
    assert_int_equal(st->ops->ping(st), STORE_OK);
    /* Housekeeping (the SQLite checkpoint) keeps every committed write. */
    if (st->ops->maintain != NULL) {
        assert_int_equal(st->ops->maintain(st), STORE_OK);
        assert_int_equal(st->ops->meta_set(st, "x", "three"), STORE_OK);
        assert_int_equal(st->ops->maintain(st), STORE_OK);
        assert_int_equal(st->ops->meta_get(st, "x", buf, sizeof(buf)), STORE_OK);
        assert_string_equal(buf, "three");
    }
}

static void test_purge_removes_ended_sessions_and_their_tokens(void **state)
{
    store *st = S(state);
    seed_session(st, "s1", 1, 100); /* expires at 1100 */
    seed_session(st, "s2", 2, 5000);
    unsigned char h1[32], h2[32];
    hash_of(h1, 1);
    hash_of(h2, 2);
    store_refresh r;
    assert_int_equal(st->ops->purge(st, 1200, 50), STORE_OK);
    store_session s;
    assert_int_equal(st->ops->session_get(st, "s1", &s), STORE_NOT_FOUND);
    assert_int_equal(st->ops->refresh_get(st, h1, &r), STORE_NOT_FOUND);
    assert_int_equal(st->ops->session_get(st, "s2", &s), STORE_OK);
    assert_int_equal(st->ops->refresh_get(st, h2, &r), STORE_OK);
}

static void test_reopen_keeps_data(void **state)
{
    fixture *f = *state;
    store_user u = make_user("alice");
    assert_int_equal(f->st->ops->user_add(f->st, &u), STORE_OK);
    store_close(f->st);
    char err[256];
    f->st = store_open(f->spec, err, sizeof(err)); /* migrations are idempotent */
    assert_non_null(f->st);
    assert_int_equal(f->st->ops->user_get(f->st, "alice", &u), STORE_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_user_unknown_is_not_found, setup, teardown),
        cmocka_unit_test_setup_teardown(test_user_duplicate_name_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_overlong_strings_are_invalid, setup, teardown),
        cmocka_unit_test_setup_teardown(test_user_roundtrip_and_version_bumps, setup, teardown),
        cmocka_unit_test_setup_teardown(test_user_list_omits_hashes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_session_lifecycle, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refresh_rotate_is_conditional, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refresh_rotate_race_has_one_winner, setup, teardown),
        cmocka_unit_test_setup_teardown(test_denylist_entries_expire, setup, teardown),
        cmocka_unit_test_setup_teardown(test_signing_key_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_signing_keys, setup, teardown),
        cmocka_unit_test_setup_teardown(test_meta_roundtrip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_purge_removes_ended_sessions_and_their_tokens, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_reopen_keeps_data, setup, teardown),
    };
    int failed = 0;
    for (size_t b = 0; b < sizeof(backends) / sizeof(backends[0]); b++) {
        current = &backends[b];
        printf("# store backend: %s\n", current->name);
        failed += cmocka_run_group_tests_name(current->name, tests, NULL, NULL);
    }
    return failed == 0 ? 0 : 1;
}
