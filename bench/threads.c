/*
 * threads.c: does one tsr_verifier shared by several threads scale? The
 * issue's target: two threads sharing one verifier reach >= 1.9x the
 * throughput of one thread.
 *
 *   threads --key JWK --alg ALG --tokens FILE [--iss S] [--aud S]
 *           [--threads 1,2] [--reps R] [--floor]
 *
 * The token file is read into memory first. For each thread count T, T
 * threads (each with its own tsr_jwt, all on the same tsr_verifier) wait on a
 * barrier, then each verifies every token of the file; the wall time from
 * the barrier to the last join gives T*N/time tokens/s. Every verification
 * must succeed, or the run fails: a benchmark of rejections is worthless.
 *
 * --floor runs the same harness with one floor_core verifier per thread
 * instead: the control that shows how far this machine's cores scale at all
 * with OpenSSL doing the work and nothing shared.
 *
 * Wall-clock scaling needs two idle cores, which a shared, loaded machine
 * does not have. So each thread also measures its own CPU time
 * (CLOCK_THREAD_CPUTIME_ID) and voluntary context switches (lock waits):
 * if a token costs the same CPU time with two threads as with one and
 * nobody sleeps, the verifier has no contention, whatever the load.
 *
 * Thread counts are interleaved round by round (1, 2, 1, 2, ...) and the
 * ratios are medians of per-round ratios, so a change in the machine's load
 * between rounds does not decide the result.
 *
 * Output per thread count: "threads ALG IMPL T=t tokens/s", "cpu ALG IMPL
 * T=t ns/token nvcsw/thread", and for the later counts "ratio ALG IMPL
 * T=t/T=1 r" and "cpuratio ALG IMPL T=t/T=1 r" (CPU ns per token at T=1 over
 * that at T=t: 1.0 means no contention).
 */
#include <pthread.h>
#include <stdio.h>
#include <sys/resource.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <tessera.h>

#include "bench.h"

#define MAX_THREADS 16
#define MAX_REPS 101

typedef struct shared {
    const bench_lines *tokens;
    const tsr_verifier *v;    /* tessera mode */
    const bench_alg *alg;     /* floor mode */
    const bench_key *key;
    int64_t now;
    pthread_barrier_t start;
} shared;

typedef struct worker {
    shared *sh;
    pthread_t tid;
    tsr_jwt *jwt;
    floor_verifier *floor;
    size_t ok;
    double cpu;   /* seconds of this thread's CPU time in the timed loop */
    long nvcsw;   /* voluntary context switches in the timed loop */
} worker;

static double thread_cpu(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long thread_nvcsw(void)
{
    struct rusage ru;
    return getrusage(RUSAGE_THREAD, &ru) == 0 ? ru.ru_nvcsw : 0;
}

static void *run_worker(void *arg)
{
    worker *w = arg;
    const bench_lines *t = w->sh->tokens;
    size_t ok = 0;

    pthread_barrier_wait(&w->sh->start);
    double c0 = thread_cpu();
    long v0 = thread_nvcsw();
    for (size_t i = 0; i < t->count; i++) {
        if (w->floor != NULL) {
            ok += floor_verify(w->floor, t->line[i], t->len[i]);
        } else {
            ok += tsr_verifier_verify(w->sh->v, t->line[i], t->len[i], w->sh->now, w->jwt, NULL) ==
                  TSR_OK;
        }
    }
    w->cpu = thread_cpu() - c0;
    w->nvcsw = thread_nvcsw() - v0;
    w->ok = ok;
    return NULL;
}

/* One timed run with `nthreads` workers; tokens/s, or -1 on any failure.
 * `cpu_ns` gets CPU nanoseconds per token, `nvcsw` switches per thread. */
static double run_once(shared *sh, int nthreads, double *cpu_ns, double *nvcsw)
{
    worker w[MAX_THREADS];
    int started = 0;
    double rate = -1, t0 = 0;

    memset(w, 0, sizeof(w));
    if (pthread_barrier_init(&sh->start, NULL, (unsigned)nthreads + 1) != 0) {
        return -1;
    }
    for (int i = 0; i < nthreads; i++) {
        w[i].sh = sh;
        /* Workspaces are made before the clock starts: setup is not timed. */
        if (sh->v != NULL ? tsr_jwt_new(&w[i].jwt, NULL) != TSR_OK
                          : (w[i].floor = floor_new(sh->alg, sh->key, FLOOR_MODE_DEFAULT,
                                                    false)) == NULL) {
            break;
        }
        if (pthread_create(&w[i].tid, NULL, run_worker, &w[i]) != 0) {
            break;
        }
        started++;
    }
    if (started == nthreads) {
        pthread_barrier_wait(&sh->start);
        t0 = bench_now();
    } else {
        fprintf(stderr, "threads: cannot start %d threads\n", nthreads);
        exit(1); /* started workers wait on the barrier forever */
    }
    size_t ok = 0;
    double cpu = 0, sw = 0;
    for (int i = 0; i < started; i++) {
        pthread_join(w[i].tid, NULL);
        ok += w[i].ok;
        cpu += w[i].cpu;
        sw += (double)w[i].nvcsw;
    }
    double dt = bench_now() - t0;
    size_t want = (size_t)nthreads * sh->tokens->count;
    *cpu_ns = want ? cpu * 1e9 / (double)want : 0;
    *nvcsw = sw / nthreads;
    if (ok != want) {
        fprintf(stderr, "threads: only %zu of %zu verifications succeeded\n", ok, want);
    } else if (dt > 0) {
        rate = (double)want / dt;
    }
    for (int i = 0; i < nthreads; i++) {
        tsr_jwt_free(w[i].jwt);
        floor_free(w[i].floor);
    }
    pthread_barrier_destroy(&sh->start);
    return rate;
}

static tsr_verifier *make_verifier(const char *key_path, const char *alg, const char *iss,
                                   const char *aud)
{
    tsr_error err;
    tsr_keyset *keys = NULL;
    tsr_policy *p = NULL;
    tsr_verifier *v = NULL;
    size_t len = 0;
    char *data = bench_read_file(key_path, &len);
    tsr_err rc = data ? tsr_keyset_load(data, len, &keys, &err) : TSR_ERR_IO;

    if (rc == TSR_OK && (rc = tsr_policy_new(&p, &err)) == TSR_OK &&
        (rc = tsr_policy_allow_algs(p, alg, &err)) == TSR_OK &&
        (iss == NULL || (rc = tsr_policy_set_issuer(p, iss, &err)) == TSR_OK) &&
        (aud == NULL || (rc = tsr_policy_add_audience(p, aud, &err)) == TSR_OK)) {
        rc = tsr_verifier_new(p, keys, &v, &err);
    }
    if (rc != TSR_OK) {
        fprintf(stderr, "threads: verifier: %s\n", tsr_err_name(rc));
    }
    tsr_policy_free(p);
    tsr_keyset_free(keys);
    free(data);
    return v;
}

#define MAX_COUNTS 8

typedef struct series {
    long threads;
    double rate[MAX_REPS], cpu[MAX_REPS], sw[MAX_REPS];
} series;

/* Prints the lines described at the top for series `k` (ratios against
 * series 0, as the median of the per-round ratios). */
static void report(const char *alg, const char *impl, series *all, size_t k, int reps)
{
    series *s = &all[k];
    double ratio[MAX_REPS], cratio[MAX_REPS];

    for (int r = 0; r < reps; r++) {
        ratio[r] = s->rate[r] / all[0].rate[r];
        cratio[r] = all[0].cpu[r] / s->cpu[r];
    }
    printf("threads %s %s T=%ld %.0f\n", alg, impl, s->threads, bench_median(s->rate, (size_t)reps));
    printf("cpu %s %s T=%ld %.0f %.0f\n", alg, impl, s->threads,
           bench_median(s->cpu, (size_t)reps), bench_median(s->sw, (size_t)reps));
    if (k > 0) {
        printf("ratio %s %s T=%ld/T=%ld %.3f\n", alg, impl, s->threads, all[0].threads,
               bench_median(ratio, (size_t)reps));
        printf("cpuratio %s %s T=%ld/T=%ld %.3f\n", alg, impl, s->threads, all[0].threads,
               bench_median(cratio, (size_t)reps));
    }
}

/* Runs every thread count of `tlist` once per round, REPS rounds: the
 * counts are interleaved so that the machine's load drift hits them alike
 * (running all 1-thread rounds first, then all 2-thread rounds, let a load
 * change between them decide the ratio). */
static int run_all(shared *sh, const char *alg, const char *impl, const char *tlist, int reps)
{
    static series all[MAX_COUNTS];
    size_t n = 0;

    for (const char *p = tlist; *p != '\0';) {
        char *next = NULL;
        long t = strtol(p, &next, 10);
        if (next == p || t < 1 || t > MAX_THREADS || n == MAX_COUNTS) {
            fprintf(stderr, "threads: bad --threads list\n");
            return 2;
        }
        all[n++].threads = t;
        p = *next == ',' ? next + 1 : next;
    }
    for (int r = 0; r < reps; r++) {
        for (size_t k = 0; k < n; k++) {
            series *s = &all[k];
            s->rate[r] = run_once(sh, (int)s->threads, &s->cpu[r], &s->sw[r]);
            if (s->rate[r] < 0) {
                return 1;
            }
        }
    }
    for (size_t k = 0; k < n; k++) {
        report(alg, impl, all, k, reps);
    }
    fflush(stdout);
    return 0;
}

static int usage(void)
{
    fprintf(stderr, "usage: threads --key JWK --alg ALG --tokens FILE [--iss S] [--aud S] "
                    "[--threads 1,2] [--reps R] [--floor]\n");
    return 2;
}

int main(int argc, char **argv)
{
    const char *key_path = NULL, *alg = NULL, *tok_path = NULL, *iss = NULL, *aud = NULL;
    const char *tlist = "1,2";
    int reps = 5;
    bool use_floor = false;
    bench_lines tokens;
    bench_key bkey;
    shared sh;
    tsr_verifier *verifier = NULL; /* owned; sh.v borrows it */
    int rc = 1;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--floor") == 0) {
            use_floor = true;
            continue;
        }
        if (val == NULL) {
            return usage();
        }
        i++;
        if (strcmp(a, "--key") == 0) key_path = val;
        else if (strcmp(a, "--alg") == 0) alg = val;
        else if (strcmp(a, "--tokens") == 0) tok_path = val;
        else if (strcmp(a, "--iss") == 0) iss = val;
        else if (strcmp(a, "--aud") == 0) aud = val;
        else if (strcmp(a, "--threads") == 0) tlist = val;
        else if (strcmp(a, "--reps") == 0) reps = (int)strtol(val, NULL, 10);
        else return usage();
    }
    if (key_path == NULL || alg == NULL || tok_path == NULL || reps < 1 || reps > MAX_REPS) {
        return usage();
    }
    memset(&sh, 0, sizeof(sh));
    memset(&bkey, 0, sizeof(bkey));
    sh.now = (int64_t)time(NULL);
    if (bench_lines_read(tok_path, &tokens) != 0) {
        return 1;
    }
    sh.tokens = &tokens;
    if (use_floor) {
        sh.alg = bench_alg_get(alg);
        if (sh.alg == NULL || bench_key_load(key_path, &bkey) != 0) {
            goto out;
        }
        sh.key = &bkey;
    } else if ((verifier = make_verifier(key_path, alg, iss, aud)) == NULL) {
        goto out;
    }
    sh.v = verifier;
    rc = run_all(&sh, alg, use_floor ? "floor" : "tessera", tlist, reps);
out:
    tsr_verifier_free(verifier);
    bench_key_clear(&bkey);
    bench_lines_free(&tokens);
    return rc;
}
