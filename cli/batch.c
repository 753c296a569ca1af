/*
 * batch.c: `tessera verify --batch`: tokens one per line on stdin, one
 * answer per line on stdout ("ok" or the rejection code), in input order.
 * This is the throughput benchmark's entry point, so the loop is lean:
 *
 *  - stdin is read with read(2) into one buffer; lines are found with memchr
 *    and verified in place (no copy, no allocation per token, no JSON library);
 *  - each worker reuses one tsr_jwt (the library's per-thread workspace);
 *  - answers go through a large, fully buffered stdout.
 *
 * A line longer than the policy's cap is answered "too_large" as soon as the
 * buffer shows it cannot fit, and the rest of it is discarded as it streams
 * past: memory stays bounded (buffer + cap) whatever the input.
 *
 * With --threads N the lines found in one buffer fill are split into N
 * contiguous ranges verified concurrently on the one shared, immutable
 * verifier; answers are still written in input order by the main thread.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

/* Bytes read from stdin per fill; the buffer holds one token cap more. */
#define FILL_BYTES ((size_t)1024 * 1024)
/* Most lines handled per round (a round is one buffer fill). */
#define MAX_LINES ((size_t)16384)

/* One input line: a slice of the buffer, then its answer. */
struct line {
    const char *ptr;
    size_t len;
    tsr_err rc;
    bool too_large; /* known too large without looking at it */
};

struct batch {
    const tsr_verifier *v;
    size_t max;     /* the policy's token size cap */
    int64_t now;    /* fixed --now, or refreshed per token */
    bool fixed_now;
    struct line *lines;
    size_t n_lines;
};

/* One worker's share of a round. */
struct worker {
    struct batch *b;
    tsr_jwt *jwt;
    size_t from, to;
    pthread_t tid;
};

static void verify_range(struct batch *b, tsr_jwt *jwt, size_t from, size_t to)
{
    for (size_t i = from; i < to; i++) {
        struct line *l = &b->lines[i];
        size_t len = l->len;
        if (len > 0 && l->ptr[len - 1] == '\r') {
            len--;
        }
        if (l->too_large || len > b->max) {
            l->rc = TSR_ERR_TOO_LARGE;
            continue;
        }
        l->rc = tsr_verifier_verify(b->v, l->ptr, len, b->fixed_now ? b->now : cli_now(), jwt, NULL);
    }
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    verify_range(w->b, w->jwt, w->from, w->to);
    return NULL;
}

/* Verifies every line of the round, on `n_workers` threads when above one. */
static int verify_round(struct batch *b, struct worker *w, unsigned n_workers)
{
    size_t per = (b->n_lines + n_workers - 1) / n_workers;
    unsigned started = 0;
    int status = CLI_EXIT_OK;
    if (n_workers == 1 || b->n_lines < (size_t)2 * n_workers) {
        verify_range(b, w[0].jwt, 0, b->n_lines);
        return CLI_EXIT_OK;
    }
    /* Worker 0 is the calling thread; the others are started per round (the
     * cost, tens of microseconds, is small against a round of verifies). */
    for (unsigned i = 0; i < n_workers; i++) {
        w[i].b = b;
        w[i].from = i * per < b->n_lines ? i * per : b->n_lines;
        w[i].to = w[i].from + per < b->n_lines ? w[i].from + per : b->n_lines;
    }
    for (unsigned i = 1; i < n_workers; i++, started++) {
        if (pthread_create(&w[i].tid, NULL, worker_main, &w[i]) != 0) {
            cli_msg("io: cannot start a thread");
            status = CLI_EXIT_USAGE;
            break;
        }
    }
    verify_range(b, w[0].jwt, w[0].from, w[0].to);
    for (unsigned i = 1; i <= started; i++) {
        pthread_join(w[i].tid, NULL);
    }
    return status;
}

static void write_round(const struct batch *b)
{
    for (size_t i = 0; i < b->n_lines; i++) {
        tsr_err rc = b->lines[i].rc;
        if (rc == TSR_OK) {
            fputs_unlocked("ok\n", stdout);
        } else {
            fputs_unlocked(tsr_err_name(rc), stdout);
            fputc_unlocked('\n', stdout);
        }
    }
}

/* read(2) that retries on EINTR; returns bytes read, 0 at EOF, -1 on error. */
static ssize_t read_some(char *buf, size_t n)
{
    for (;;) {
        ssize_t r = read(STDIN_FILENO, buf, n);
        if (r >= 0 || errno != EINTR) {
            return r;
        }
    }
}

static void add_line(struct batch *b, const char *ptr, size_t len, bool too_large)
{
    struct line *l = &b->lines[b->n_lines++];
    l->ptr = ptr;
    l->len = len;
    l->too_large = too_large;
    l->rc = TSR_OK;
}

/*
 * The round loop. buf[start..end) holds unread input. Complete lines are
 * collected (up to MAX_LINES), verified and answered; then the remainder is
 * moved to the front and the buffer refilled. A partial line of more than
 * max + 1 bytes (room for one "\r") is already known to be too large: it is
 * answered and its bytes are dropped until its newline arrives.
 */
static int batch_loop(struct batch *b, struct worker *w, unsigned n_workers, char *buf, size_t cap)
{
    size_t start = 0, end = 0;
    bool discarding = false, eof = false;
    for (;;) {
        b->n_lines = 0;
        while (b->n_lines < MAX_LINES) {
            char *nl = memchr(buf + start, '\n', end - start);
            if (nl == NULL) {
                break;
            }
            size_t len = (size_t)(nl - (buf + start));
            if (!discarding) {
                add_line(b, buf + start, len, false);
            }
            discarding = false;
            start += len + 1;
        }
        bool full = b->n_lines == MAX_LINES;
        if (!full && !discarding && end - start > b->max + 1) {
            add_line(b, NULL, 0, true);
            discarding = true;
        }
        if (!full && discarding) {
            end = start; /* drop the overlong line's bytes seen so far */
        }
        bool done = !full && eof;
        if (done && end > start && b->n_lines < MAX_LINES) {
            add_line(b, buf + start, end - start, false); /* last line, no newline */
        }
        if (verify_round(b, w, n_workers) != CLI_EXIT_OK) {
            return CLI_EXIT_USAGE;
        }
        write_round(b);
        if (done) {
            return CLI_EXIT_OK;
        }
        memmove(buf, buf + start, end - start);
        end -= start;
        start = 0;
        if (full) {
            continue; /* more complete lines may be waiting in the buffer */
        }
        ssize_t r = read_some(buf + end, cap - end);
        if (r < 0) {
            cli_msg("io: cannot read standard input: %s", strerror(errno));
            return CLI_EXIT_USAGE;
        }
        eof = r == 0;
        end += (size_t)r;
    }
}

int cli_verify_batch(const tsr_verifier *v, size_t max, bool fixed_now, int64_t now, unsigned threads)
{
    static char outbuf[1u << 16];
    struct batch b = {v, max, now, fixed_now, NULL, 0};
    struct worker *w = calloc(threads, sizeof *w);
    /* A partial line of max + 1 bytes must fit with a whole fill still free. */
    size_t cap = max + 2 + FILL_BYTES;
    char *buf = malloc(cap);
    int status = CLI_EXIT_USAGE;
    setvbuf(stdout, outbuf, _IOFBF, sizeof outbuf);
    b.lines = calloc(MAX_LINES, sizeof *b.lines);
    if (buf == NULL || w == NULL || b.lines == NULL) {
        cli_msg("nomem: out of memory");
        goto out;
    }
    for (unsigned i = 0; i < threads; i++) {
        tsr_error err = {0};
        tsr_err rc = tsr_jwt_new(&w[i].jwt, &err);
        if (rc != TSR_OK) {
            cli_report(rc, &err);
            goto out;
        }
    }
    status = batch_loop(&b, w, threads, buf, cap);
out:
    for (unsigned i = 0; w != NULL && i < threads; i++) {
        tsr_jwt_free(w[i].jwt);
    }
    free(w);
    free(b.lines);
    free(buf);
    return status;
}
