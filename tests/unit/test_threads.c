/*
 * test_threads.c: one verifier shared by several threads without locks,
 * each thread with its own tsr_jwt, verifying a mix of valid and invalid
 * tokens (HS256 and ES256) and checking every verdict and, for valid ones,
 * the claims read back. Meant to run under ASan and TSan as well.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "internal.h"
#include "mint.h"

#define NOW 1700000000
#define THREADS 4
#define ROUNDS 400
#define NTOKENS 8

typedef struct shared {
    const tsr_verifier *v;
    char *tokens[NTOKENS];
    tsr_err expect[NTOKENS];
    const char *subs[NTOKENS];
} shared;

typedef struct worker {
    const shared *sh;
    unsigned seed;
    long failures;
} worker;

static void *run(void *arg)
{
    worker *w = arg;
    tsr_jwt *jwt = NULL;
    if (tsr_jwt_new(&jwt, NULL) != TSR_OK) {
        w->failures++;
        return NULL;
    }
    for (int r = 0; r < ROUNDS; r++) {
        /* Each thread walks the tokens in its own order. */
        size_t i = (size_t)(r * 7 + (int)w->seed) % NTOKENS;
        const char *t = w->sh->tokens[i];
        tsr_error e;
        tsr_err rc = tsr_verifier_verify(w->sh->v, t, strlen(t), NOW, jwt, &e);
        if (rc != w->sh->expect[i] || e.code != rc) {
            w->failures++;
            continue;
        }
        char sub[32];
        size_t len = 0;
        tsr_err grc = tsr_jwt_get_string(jwt, "sub", sub, sizeof sub, &len);
        if (rc == TSR_OK) {
            if (grc != TSR_OK || strcmp(sub, w->sh->subs[i]) != 0) {
                w->failures++;
            }
        } else if (grc != TSR_ERR_NOT_FOUND) {
            w->failures++;
        }
    }
    tsr_jwt_free(jwt);
    return NULL;
}

static void shared_verifier(void **state)
{
    (void)state;
    static const unsigned char secret[32] = "0123456789abcdef0123456789abcdef";
    tsr_key *hk = NULL;
    tsr_key *ek = NULL;
    assert_int_equal(tsr_key_from_secret(secret, 32, TSR_ALG_HS256, &hk, NULL), TSR_OK);
    assert_int_equal(tsr_key_set1_kid(hk, "h", NULL), TSR_OK);
    assert_int_equal(tsr_key_generate(TSR_ALG_ES256, &ek, NULL), TSR_OK);
    assert_int_equal(tsr_key_set1_kid(ek, "e", NULL), TSR_OK);
    tsr_keyset *set = NULL;
    assert_int_equal(tsr_keyset_new(&set, NULL), TSR_OK);
    assert_int_equal(tsr_keyset_add1_key(set, hk, NULL), TSR_OK);
    assert_int_equal(tsr_keyset_add1_key(set, ek, NULL), TSR_OK);
    tsr_policy *p = NULL;
    assert_int_equal(tsr_policy_new(&p, NULL), TSR_OK);
    assert_int_equal(tsr_policy_allow_algs(p, "HS256,ES256", NULL), TSR_OK);
    assert_int_equal(tsr_policy_add_audience(p, "api", NULL), TSR_OK);
    tsr_verifier *v = NULL;
    assert_int_equal(tsr_verifier_new(p, set, &v, NULL), TSR_OK);
    tsr_policy_free(p);
    tsr_keyset_free(set);

    shared sh = {.v = v};
    const char *hh = "{\"alg\":\"HS256\",\"kid\":\"h\"}";
    const char *eh = "{\"alg\":\"ES256\",\"kid\":\"e\"}";
    size_t n = 0;
    sh.tokens[n] =
        tst_mint(hk, TSR_ALG_HS256, hh, "{\"sub\":\"s0\",\"aud\":\"api\",\"exp\":1800000000}");
    sh.expect[n] = TSR_OK;
    sh.subs[n++] = "s0";
    sh.tokens[n] =
        tst_mint(ek, TSR_ALG_ES256, eh, "{\"sub\":\"s1\",\"aud\":\"api\",\"exp\":1800000000}");
    sh.expect[n] = TSR_OK;
    sh.subs[n++] = "s1";
    sh.tokens[n] = tst_mint(hk, TSR_ALG_HS256, hh, "{\"sub\":\"s2\",\"aud\":\"api\",\"exp\":1}");
    sh.expect[n++] = TSR_ERR_EXPIRED;
    sh.tokens[n] =
        tst_mint(ek, TSR_ALG_ES256, eh, "{\"sub\":\"s3\",\"aud\":\"x\",\"exp\":1800000000}");
    sh.expect[n++] = TSR_ERR_AUD_MISMATCH;
    sh.tokens[n] = tst_mint(hk, TSR_ALG_HS256, eh, "{\"sub\":\"s4\",\"exp\":1800000000}");
    sh.expect[n++] = TSR_ERR_BAD_SIGNATURE;
    sh.tokens[n] = tst_mint(hk, TSR_ALG_HS256, "{\"alg\":\"none\"}", "{\"exp\":1800000000}");
    sh.expect[n++] = TSR_ERR_ALG_NOT_ALLOWED;
    sh.tokens[n] = tst_mint(hk, TSR_ALG_HS256, "{\"alg\":\"HS256\",\"kid\":\"zz\"}", "{}");
    sh.expect[n++] = TSR_ERR_KEY_NOT_FOUND;
    sh.tokens[n] = tst_join3("e30", "e30", "AA==");
    sh.expect[n++] = TSR_ERR_MALFORMED;
    assert_int_equal(n, NTOKENS);
    tsr_key_free(hk);
    tsr_key_free(ek);

    pthread_t th[THREADS];
    worker w[THREADS];
    for (unsigned i = 0; i < THREADS; i++) {
        w[i] = (worker){.sh = &sh, .seed = i, .failures = 0};
        assert_int_equal(pthread_create(&th[i], NULL, run, &w[i]), 0);
    }
    long failures = 0;
    for (unsigned i = 0; i < THREADS; i++) {
        assert_int_equal(pthread_join(th[i], NULL), 0);
        failures += w[i].failures;
    }
    assert_int_equal(failures, 0);
    for (size_t i = 0; i < NTOKENS; i++) {
        free(sh.tokens[i]);
    }
    tsr_verifier_free(v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(shared_verifier),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
