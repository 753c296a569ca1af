/*
 * password.c: argon2id password hashing (libargon2).
 *
 * Defaults follow the OWASP password storage advice (m = 19 MiB, t = 2,
 * p = 1) and are configurable. Verification of an unknown or disabled user
 * runs against a dummy hash with the same parameters, so the time a login
 * takes does not reveal whether the account exists.
 * A semaphore bounds how many hashes run at once (each holds m KiB), so a
 * login flood queues instead of exhausting memory (argon2_concurrency,
 * default the CPU count: more would not finish sooner anyway).
 *
 * The service does not hash on its HTTP workers: a login suspends its
 * connection and hands a pw_job to one of slots_n hash workers, which
 * resumes it when done. A worker blocked in a 20 ms hash (or queued behind
 * a flood of them) would stall every other connection it serves, /healthz
 * and /v1/verify included; the queue holds only suspended connections,
 * which the connection limit bounds.
 */
#include "tesserad.h"

#include <argon2.h>
#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define SALT_LEN 16
#define HASH_LEN 32

/* argon2's encoding: standard base64 without padding. */
static void b64_nopad(const unsigned char *in, size_t n, char *out, size_t cap)
{
    unsigned char tmp[64];
    if (4 * ((n + 2) / 3) + 1 > sizeof(tmp) || cap < sizeof(tmp)) {
        out[0] = '\0';
        return;
    }
    int len = EVP_EncodeBlock(tmp, in, (int)n);
    while (len > 0 && tmp[len - 1] == '=') {
        len--;
    }
    memcpy(out, tmp, (size_t)len);
    out[len] = '\0';
}

/*
 * The dummy hash: a well-formed argon2id string with the configured cost
 * and random salt and "hash" bytes. Verifying against it costs exactly one
 * real hash and never succeeds (no password maps to random bytes), and
 * building it costs nothing, which keeps start-up fast and its memory flat.
 */
static int make_dummy(pwhasher *h)
{
    unsigned char salt[SALT_LEN], hash[HASH_LEN];
    char s64[64], h64[64];
    rand_bytes(salt, sizeof(salt));
    rand_bytes(hash, sizeof(hash));
    b64_nopad(salt, sizeof(salt), s64, sizeof(s64));
    b64_nopad(hash, sizeof(hash), h64, sizeof(h64));
    int n = snprintf(h->dummy, sizeof(h->dummy), "$argon2id$v=19$m=%u,t=%u,p=%u$%s$%s",
                     (unsigned)h->m_kib, (unsigned)h->t, (unsigned)h->p, s64, h64);
    return n > 0 && (size_t)n < sizeof(h->dummy) ? 0 : -1;
}

int pw_init(pwhasher *h, const config *cfg)
{
    memset(h, 0, sizeof(*h));
    h->m_kib = cfg->argon_m_kib;
    h->t = cfg->argon_t;
    h->p = cfg->argon_p;
    /* Each running hash holds m KiB, so the slots bound the memory of a
     * login flood at about slots * m KiB; further logins queue here. */
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    unsigned slots = ncpu > 0 ? (unsigned)ncpu : 1u;
    if (cfg->argon_concurrency > 0) {
        slots = cfg->argon_concurrency;
    }
    h->slots_n = slots;
    if (sem_init(&h->slots, 0, slots) != 0) {
        return -1;
    }
    pthread_mutex_init(&h->qlock, NULL);
    pthread_cond_init(&h->qcond, NULL);
    pthread_cond_init(&h->qidle, NULL);
    return make_dummy(h);
}

void pw_free(pwhasher *h)
{
    pthread_mutex_lock(&h->qlock);
    h->quit = true;
    pthread_cond_broadcast(&h->qcond);
    pthread_mutex_unlock(&h->qlock);
    for (unsigned i = 0; i < h->nthreads; i++) {
        pthread_join(h->threads[i], NULL);
    }
    pthread_cond_destroy(&h->qidle);
    pthread_cond_destroy(&h->qcond);
    pthread_mutex_destroy(&h->qlock);
    sem_destroy(&h->slots);
}

static void slot_take(pwhasher *h)
{
    while (sem_wait(&h->slots) != 0 && errno == EINTR) {
    }
}

int pw_hash(pwhasher *h, const char *pw, size_t len, char out[STORE_HASH_MAX])
{
    unsigned char salt[SALT_LEN];
    rand_bytes(salt, sizeof(salt));
    size_t need = argon2_encodedlen(h->t, h->m_kib, h->p, SALT_LEN, HASH_LEN, Argon2_id);
    if (need > STORE_HASH_MAX) {
        return -1;
    }
    slot_take(h);
    int rc = argon2id_hash_encoded(h->t, h->m_kib, h->p, pw, len, salt, SALT_LEN, HASH_LEN, out,
                                   STORE_HASH_MAX);
    sem_post(&h->slots);
    return rc == ARGON2_OK ? 0 : -1;
}

bool pw_verify(pwhasher *h, const char *encoded, const char *pw, size_t len)
{
    /* argon2id_verify recomputes the hash with the parameters stored in the
     * encoded string and compares in constant time. */
    slot_take(h);
    int rc = argon2id_verify(encoded != NULL ? encoded : h->dummy, pw, len);
    sem_post(&h->slots);
    return encoded != NULL && rc == ARGON2_OK;
}

static void *hash_worker(void *arg)
{
    pwhasher *h = arg;
    pthread_mutex_lock(&h->qlock);
    for (;;) {
        while (h->head == NULL && !h->quit) {
            pthread_cond_wait(&h->qcond, &h->qlock);
        }
        if (h->head == NULL) {
            break; /* quit, and nothing left */
        }
        pw_job *j = h->head;
        h->head = j->next;
        if (h->head == NULL) {
            h->tail = NULL;
        }
        pthread_mutex_unlock(&h->qlock);
        j->result = pw_verify(h, j->encoded[0] != '\0' ? j->encoded : NULL, j->pw, j->pw_len);
        OPENSSL_cleanse(j->pw, sizeof(j->pw));
        j->on_done(j->arg); /* j may be gone after this */
        pthread_mutex_lock(&h->qlock);
        if (--h->inflight == 0) {
            pthread_cond_broadcast(&h->qidle);
        }
    }
    pthread_mutex_unlock(&h->qlock);
    return NULL;
}

/* Starts the workers on first use, so the CLI (which only hashes inline)
 * never runs threads. Queue locked. */
static bool start_workers(pwhasher *h)
{
    unsigned want = h->slots_n < 64 ? h->slots_n : 64;
    while (h->nthreads < want) {
        if (pthread_create(&h->threads[h->nthreads], NULL, hash_worker, h) != 0) {
            break;
        }
        h->nthreads++;
    }
    return h->nthreads > 0;
}

bool pw_submit(pwhasher *h, pw_job *job)
{
    pthread_mutex_lock(&h->qlock);
    bool ok = !h->draining && !h->quit && start_workers(h);
    if (ok) {
        job->next = NULL;
        job->on_queued(job->arg);
        if (h->tail != NULL) {
            h->tail->next = job;
        } else {
            h->head = job;
        }
        h->tail = job;
        h->inflight++;
        pthread_cond_signal(&h->qcond);
    }
    pthread_mutex_unlock(&h->qlock);
    return ok;
}

void pw_drain(pwhasher *h)
{
    pthread_mutex_lock(&h->qlock);
    h->draining = true;
    /* A long queue would take minutes to hash; its logins are answered 503
     * at once instead. Lock order here as in pw_submit: ours, then MHD's. */
    while (h->head != NULL) {
        pw_job *j = h->head;
        h->head = j->next;
        OPENSSL_cleanse(j->pw, sizeof(j->pw));
        j->cancelled = true;
        h->inflight--;
        j->on_done(j->arg);
    }
    h->tail = NULL;
    while (h->inflight > 0) {
        pthread_cond_wait(&h->qidle, &h->qlock);
    }
    pthread_mutex_unlock(&h->qlock);
}
