/*
 * test_tcache.c: the verified-token cache of /v1/verify (server/tcache.c):
 * misses before hits, exact-key matching, the key-view generation (a key
 * rotation or removal misses every older entry), expiry at exp + leeway with
 * the entry dropped, the size bound with eviction, the disabled cache, and
 * concurrent use (every hit returns the claims stored for its own key);
 * and the digests of server/digest.c against published vectors.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "digest.h"
#include "tcache.h"

#define VIEW_A "\"view-a\""
#define VIEW_B "\"view-b\""

static access_info info_for(unsigned n, int64_t exp)
{
    access_info i;
    memset(&i, 0, sizeof(i));
    snprintf(i.sub, sizeof(i.sub), "sub-%u", n);
    snprintf(i.sid, sizeof(i.sid), "sid-%u", n);
    snprintf(i.jti, sizeof(i.jti), "jti-%u", n);
    snprintf(i.scope, sizeof(i.scope), "api");
    snprintf(i.client_id, sizeof(i.client_id), "tessera-login");
    i.ver = 1;
    i.iat = i.nbf = exp - 900;
    i.exp = exp;
    return i;
}

static void key_for(unsigned n, unsigned char key[TCACHE_KEY_LEN])
{
    char tok[64];
    int len = snprintf(tok, sizeof(tok), "token-%u", n);
    tcache_key(tok, (size_t)len, key);
}

static void test_key_is_sha256_of_the_exact_bytes(void **state)
{
    (void)state;
    unsigned char k1[TCACHE_KEY_LEN], k2[TCACHE_KEY_LEN];
    /* SHA-256("abc"), FIPS 180-2 appendix B.1 */
    static const unsigned char abc[TCACHE_KEY_LEN] = {
        0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea, 0x41, 0x41, 0x40, 0xde, 0x5d, 0xae, 0x22, 0x23,
        0xb0, 0x03, 0x61, 0xa3, 0x96, 0x17, 0x7a, 0x9c, 0xb4, 0x10, 0xff, 0x61, 0xf2, 0x00, 0x15, 0xad};
    tcache_key("abc", 3, k1);
    assert_memory_equal(k1, abc, TCACHE_KEY_LEN);
    tcache_key("abd", 3, k2);
    assert_memory_not_equal(k1, k2, TCACHE_KEY_LEN);
    tcache_key("abc", 2, k2); /* a prefix is another token */
    assert_memory_not_equal(k1, k2, TCACHE_KEY_LEN);
}

static unsigned nibble(char c)
{
    return c <= '9' ? (unsigned)(c - '0') : (unsigned)(c - 'a' + 10);
}

static void unhex(const char *hex, unsigned char *out)
{
    for (size_t i = 0; hex[2 * i] != '\0'; i++) {
        out[i] = (unsigned char)(nibble(hex[2 * i]) << 4 | nibble(hex[2 * i + 1]));
    }
}

/* RFC 4231 test cases 1 and 2, alternating, so that re-keying the
 * per-thread context is exercised. */
static void test_hmac_sha256_vectors(void **state)
{
    (void)state;
    unsigned char key1[20], want1[DIGEST_LEN], want2[DIGEST_LEN], out[DIGEST_LEN];
    memset(key1, 0x0b, sizeof(key1));
    unhex("b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7", want1);
    unhex("5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843", want2);
    for (int i = 0; i < 3; i++) {
        digest_hmac_sha256(key1, sizeof(key1), "Hi There", 8, out);
        assert_memory_equal(out, want1, DIGEST_LEN);
        digest_hmac_sha256((const unsigned char *)"Jefe", 4, "what do ya want for nothing?", 28,
                           out);
        assert_memory_equal(out, want2, DIGEST_LEN);
    }
    digest_sha256("", 0, out); /* SHA-256 of the empty string */
    unhex("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", want1);
    assert_memory_equal(out, want1, DIGEST_LEN);
}

static void test_miss_then_hit(void **state)
{
    (void)state;
    tcache *tc = NULL;
    unsigned char key[TCACHE_KEY_LEN], other[TCACHE_KEY_LEN];
    access_info in = info_for(1, 1000), out;
    assert_int_equal(tcache_new(&tc, 64), 0);
    key_for(1, key);
    key_for(2, other);
    assert_false(tcache_get(tc, key, VIEW_A, 100, 5, &out));
    tcache_put(tc, key, VIEW_A, &in);
    assert_false(tcache_get(tc, other, VIEW_A, 100, 5, &out));
    memset(&out, 0xAA, sizeof(out));
    assert_true(tcache_get(tc, key, VIEW_A, 100, 5, &out));
    assert_memory_equal(&out, &in, sizeof(in));
    tcache_stats st;
    tcache_get_stats(tc, &st);
    assert_int_equal(st.hits, 1);
    assert_int_equal(st.misses, 2);
    assert_int_equal(st.inserts, 1);
    tcache_free(tc);
}

static void test_another_key_view_misses(void **state)
{
    (void)state;
    tcache *tc = NULL;
    unsigned char key[TCACHE_KEY_LEN];
    access_info in = info_for(1, 1000), out;
    assert_int_equal(tcache_new(&tc, 64), 0);
    key_for(1, key);
    tcache_put(tc, key, VIEW_A, &in);
    /* The published keys changed (rotation or removal): a full check again. */
    assert_false(tcache_get(tc, key, VIEW_B, 100, 5, &out));
    assert_false(tcache_get(tc, key, "", 100, 5, &out));
    /* Re-verified under the new view, it is stored for that view only. */
    tcache_put(tc, key, VIEW_B, &in);
    assert_true(tcache_get(tc, key, VIEW_B, 100, 5, &out));
    assert_false(tcache_get(tc, key, VIEW_A, 100, 5, &out));
    /* A view id too long to store is never cached. */
    char longview[TCACHE_VIEW_MAX + 8];
    memset(longview, 'v', sizeof(longview) - 1);
    longview[sizeof(longview) - 1] = '\0';
    unsigned char k2[TCACHE_KEY_LEN];
    key_for(2, k2);
    tcache_put(tc, k2, longview, &in);
    assert_false(tcache_get(tc, k2, longview, 100, 5, &out));
    tcache_free(tc);
}

static void test_expiry_drops_the_entry(void **state)
{
    (void)state;
    tcache *tc = NULL;
    unsigned char key[TCACHE_KEY_LEN];
    access_info in = info_for(1, 1000), out;
    assert_int_equal(tcache_new(&tc, 64), 0);
    key_for(1, key);
    tcache_put(tc, key, VIEW_A, &in);
    /* expired when now >= exp + leeway, as the verifier says */
    assert_true(tcache_get(tc, key, VIEW_A, 1004, 5, &out));
    assert_false(tcache_get(tc, key, VIEW_A, 1005, 5, &out));
    /* dropped: not even an earlier clock finds it again */
    assert_false(tcache_get(tc, key, VIEW_A, 900, 5, &out));
    tcache_put(tc, key, VIEW_A, &in);
    assert_false(tcache_get(tc, key, VIEW_A, 1000, 0, &out));
    tcache_stats st;
    tcache_get_stats(tc, &st);
    assert_int_equal(st.expired, 2);
    tcache_free(tc);
}

static void test_size_is_bounded(void **state)
{
    (void)state;
    tcache *tc = NULL;
    unsigned char key[TCACHE_KEY_LEN];
    access_info out;
    assert_int_equal(tcache_new(&tc, 100), 0);
    tcache_stats st;
    tcache_get_stats(tc, &st);
    assert_true(st.capacity >= 100 && st.capacity <= 256);
    const unsigned n = 5000;
    for (unsigned i = 0; i < n; i++) {
        access_info in = info_for(i, 10000 + i);
        key_for(i, key);
        tcache_put(tc, key, VIEW_A, &in);
    }
    unsigned hits = 0;
    for (unsigned i = 0; i < n; i++) {
        key_for(i, key);
        if (tcache_get(tc, key, VIEW_A, 100, 5, &out)) {
            access_info want = info_for(i, 10000 + i);
            assert_memory_equal(&out, &want, sizeof(want)); /* never another token's claims */
            hits++;
        }
    }
    tcache_get_stats(tc, &st);
    assert_true(hits <= st.capacity);
    assert_true(hits > 0);
    assert_int_equal(st.evictions, n - st.capacity);
    tcache_free(tc);
}

static void test_disabled_cache(void **state)
{
    (void)state;
    tcache *tc = (tcache *)1;
    unsigned char key[TCACHE_KEY_LEN];
    access_info in = info_for(1, 1000), out;
    assert_int_equal(tcache_new(&tc, 0), 0);
    assert_null(tc);
    key_for(1, key);
    tcache_put(tc, key, VIEW_A, &in);
    assert_false(tcache_get(tc, key, VIEW_A, 100, 5, &out));
    tcache_free(tc);
}

#define THREADS 4
#define ROUNDS 20000

static tcache *shared;

static void *worker(void *arg)
{
    unsigned seed = *(const unsigned *)arg;
    unsigned char key[TCACHE_KEY_LEN];
    access_info out;
    for (unsigned r = 0; r < ROUNDS; r++) {
        seed = seed * 1103515245u + 12345u;
        unsigned n = (seed >> 8) % 3000;
        key_for(n, key);
        if (tcache_get(shared, key, VIEW_A, 100, 5, &out)) {
            access_info want = info_for(n, 10000 + n);
            if (memcmp(&out, &want, sizeof(want)) != 0) {
                return (void *)1;
            }
        } else {
            access_info in = info_for(n, 10000 + n);
            tcache_put(shared, key, VIEW_A, &in);
        }
    }
    return NULL;
}

static void test_concurrent_use(void **state)
{
    (void)state;
    pthread_t t[THREADS];
    assert_int_equal(tcache_new(&shared, 1024), 0);
    static unsigned seeds[THREADS];
    for (size_t i = 0; i < THREADS; i++) {
        seeds[i] = (unsigned)i + 1;
        assert_int_equal(pthread_create(&t[i], NULL, worker, &seeds[i]), 0);
    }
    for (size_t i = 0; i < THREADS; i++) {
        void *rv = (void *)1;
        pthread_join(t[i], &rv);
        assert_null(rv);
    }
    tcache_stats st;
    tcache_get_stats(shared, &st);
    assert_int_equal(st.hits + st.misses, (uint64_t)THREADS * ROUNDS);
    assert_true(st.hits > 0);
    tcache_free(shared);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_key_is_sha256_of_the_exact_bytes),
        cmocka_unit_test(test_hmac_sha256_vectors),
        cmocka_unit_test(test_miss_then_hit),
        cmocka_unit_test(test_another_key_view_misses),
        cmocka_unit_test(test_expiry_drops_the_entry),
        cmocka_unit_test(test_size_is_bounded),
        cmocka_unit_test(test_disabled_cache),
        cmocka_unit_test(test_concurrent_use),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
