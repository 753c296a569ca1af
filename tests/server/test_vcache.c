/*
 * test_vcache.c: the in-memory view /v1/verify consults (server/vcache.c):
 * each verdict, expiry of denylist entries, versions that never move
 * backwards, and a rebuild from a real store.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tesserad.h"

static void test_unknown_subject_is_rejected(void **state)
{
    (void)state;
    vcache *vc = NULL;
    assert_int_equal(vcache_new(&vc), 0);
    assert_int_equal(vcache_check(vc, "nobody", 1, "j", "s", 100), VC_UNKNOWN_SUBJECT);
    vcache_free(vc);
}

static void test_verdicts(void **state)
{
    (void)state;
    vcache *vc = NULL;
    assert_int_equal(vcache_new(&vc), 0);
    vcache_set_user(vc, "u1", 3, false);
    vcache_set_user(vc, "u2", 1, true);
    assert_int_equal(vcache_check(vc, "u1", 2, "j", "s", 100), VC_STALE_VERSION);
    assert_int_equal(vcache_check(vc, "u2", 1, "j", "s", 100), VC_DISABLED);
    assert_int_equal(vcache_check(vc, "u1", 3, "j", "s", 100), VC_OK);
    assert_int_equal(vcache_check(vc, "u1", 4, "j", "s", 100), VC_OK); /* newer: another instance */
    vcache_deny(vc, "j", 200);
    assert_int_equal(vcache_check(vc, "u1", 3, "j", "s", 100), VC_DENIED);
    assert_int_equal(vcache_check(vc, "u1", 3, "j", "s", 200), VC_OK); /* past its exp */
    assert_int_equal(vcache_check(vc, "u1", 3, "other", "s", 100), VC_OK);
    vcache_revoke_session(vc, "s");
    assert_int_equal(vcache_check(vc, "u1", 3, "other", "s", 100), VC_SESSION_REVOKED);
    assert_int_equal(vcache_check(vc, "u1", 3, "other", "s2", 100), VC_OK);
    vcache_free(vc);
}

static void test_version_never_moves_backwards(void **state)
{
    (void)state;
    vcache *vc = NULL;
    assert_int_equal(vcache_new(&vc), 0);
    vcache_set_user(vc, "u1", 5, false);
    vcache_set_user(vc, "u1", 4, false); /* a stale read racing a bump */
    assert_int_equal(vcache_check(vc, "u1", 4, "j", "s", 100), VC_STALE_VERSION);
    vcache_free(vc);
}

static void test_many_entries_grow_the_maps(void **state)
{
    (void)state;
    vcache *vc = NULL;
    char id[32];
    assert_int_equal(vcache_new(&vc), 0);
    for (int i = 0; i < 5000; i++) {
        snprintf(id, sizeof(id), "user-%d", i);
        vcache_set_user(vc, id, i, false);
    }
    for (int i = 0; i < 5000; i += 97) {
        snprintf(id, sizeof(id), "user-%d", i);
        assert_int_equal(vcache_check(vc, id, i, "j", "s", 1), VC_OK);
        assert_int_equal(vcache_check(vc, id, i - 1, "j", "s", 1), VC_STALE_VERSION);
    }
    vcache_free(vc);
}

static void test_reload_reads_the_store(void **state)
{
    (void)state;
    char dir[] = "/tmp/tsr-vcache-XXXXXX";
    char spec[128], err[256];
    assert_non_null(mkdtemp(dir));
    snprintf(spec, sizeof(spec), "sqlite:%s/t.db", dir);
    store *st = store_open(spec, err, sizeof(err));
    assert_non_null(st);
    store_user u = {.name = "alice", .sub = "sub-a", .pwhash = "x", .auth_version = 1};
    assert_int_equal(st->ops->user_add(st, &u), STORE_OK);
    store_session s = {.id = "sid1",
                       .user_id = u.id,
                       .client_id = "c",
                       .scope = "api",
                       .created_at = 10,
                       .last_used_at = 10,
                       .expires_at = 5000};
    unsigned char h[32] = {1};
    assert_int_equal(st->ops->session_create(st, &s, h), STORE_OK);
    assert_int_equal(st->ops->deny_add(st, "jti1", 500), STORE_OK);
    assert_int_equal(st->ops->session_revoke(st, "sid1", 100, "logout"), STORE_OK);
    int64_t v = 0;
    assert_int_equal(st->ops->user_bump_version(st, "alice", &v), STORE_OK);

    vcache *vc = NULL;
    assert_int_equal(vcache_new(&vc), 0);
    vcache_set_user(vc, "gone", 1, false); /* not in the store: dropped by the reload */
    assert_int_equal(vcache_reload(vc, st, 200, 3600), 0);
    assert_int_equal(vcache_check(vc, "gone", 1, "j", "s", 200), VC_UNKNOWN_SUBJECT);
    assert_int_equal(vcache_check(vc, "sub-a", 1, "j", "x", 200), VC_STALE_VERSION);
    assert_int_equal(vcache_check(vc, "sub-a", 2, "jti1", "x", 200), VC_DENIED);
    assert_int_equal(vcache_check(vc, "sub-a", 2, "j", "sid1", 200), VC_SESSION_REVOKED);
    assert_int_equal(vcache_check(vc, "sub-a", 2, "j", "x", 200), VC_OK);
    /* Revocations older than the window no longer matter. */
    assert_int_equal(vcache_reload(vc, st, 100 + 3601, 3600), 0);
    assert_int_equal(vcache_check(vc, "sub-a", 2, "j", "sid1", 100 + 3601), VC_OK);
    vcache_free(vc);
    store_close(st);
    char cmd[64];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_unknown_subject_is_rejected),
        cmocka_unit_test(test_verdicts),
        cmocka_unit_test(test_version_never_moves_backwards),
        cmocka_unit_test(test_many_entries_grow_the_maps),
        cmocka_unit_test(test_reload_reads_the_store),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
