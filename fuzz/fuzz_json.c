/*
 * fuzz_json.c: the strict zero-copy JSON reader (lib/json_reader.c), checked
 * against itself and against the jansson path (lib/json_load.c).
 *
 * Properties:
 *  - parsing returns OK, MALFORMED or TOO_LARGE; a small token capacity can
 *    only turn an answer into TOO_LARGE, and when both succeed the tokens
 *    are identical;
 *  - every token of an accepted document lies inside the input, subtrees
 *    nest, and member/element counts match the layout;
 *  - every string token copies, compares equal to its copy (exactly and
 *    ignoring case), and every member name finds its own value;
 *  - every number converts or is rejected with MALFORMED, and
 *    tsr__json_int agrees with tsr__json_numdate;
 *  - tsr__json_load accepts exactly the documents the reader accepts, except
 *    for these documented differences, where jansson rejects and the reader
 *    accepts:
 *      1. a top-level scalar (json_load reads documents: objects or arrays);
 *      2. a member name containing "\u0000" (jansson cannot store one);
 *      3. an integer outside int64, or a number whose double overflows
 *         (jansson converts numbers when loading; the reader keeps text).
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "internal.h"

#define CHECK(cond)                                                                             \
    do {                                                                                        \
        if (!(cond)) {                                                                          \
            abort();                                                                            \
        }                                                                                       \
    } while (0)

#define SMALL_CAP 16

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Checks string token i: copy, compare, and the copy's length bounds. */
static void check_string(const tsr__jdoc *doc, size_t i, bool *nul_in_name, bool is_name)
{
    const tsr__jtok *t = &doc->toks[i];
    size_t cap = (size_t)t->len + 1;
    char *copy = malloc(cap);
    CHECK(copy != NULL);
    size_t n = 0;
    CHECK(tsr__json_str_copy(doc, i, copy, cap, &n) == TSR_OK);
    CHECK(n <= t->len && copy[n] == '\0');
    CHECK(t->escaped || (n == t->len && memcmp(copy, doc->buf + t->start, n) == 0));
    CHECK(tsr__json_str_eq(doc, i, copy, n));
    CHECK(tsr__json_str_eq_nocase(doc, i, copy, n));
    if (n > 0) {
        size_t k = 7;
        CHECK(!tsr__json_str_eq(doc, i, copy, n - 1));
        CHECK(tsr__json_str_copy(doc, i, copy, n, &k) == TSR_ERR_TOO_LARGE && k == 0);
    }
    if (is_name && memchr(copy, '\0', n) != NULL) {
        *nul_in_name = true;
    }
    free(copy);
}

/* Whether jansson can hold number token i (see difference 3 above). */
static bool jansson_can_hold(const tsr__jdoc *doc, size_t i)
{
    const tsr__jtok *t = &doc->toks[i];
    const char *p = doc->buf + t->start;
    bool integer = memchr(p, '.', t->len) == NULL && memchr(p, 'e', t->len) == NULL &&
                   memchr(p, 'E', t->len) == NULL;
    if (integer) {
        int64_t v;
        return tsr__json_int(doc, i, &v) == TSR_OK;
    }
    char *text = malloc((size_t)t->len + 1);
    CHECK(text != NULL);
    memcpy(text, p, t->len);
    text[t->len] = '\0';
    double d = strtod(text, NULL);
    free(text);
    return !isinf(d);
}

/* Checks number token i: both conversions agree and never misbehave. */
static void check_number(const tsr__jdoc *doc, size_t i)
{
    tsr__numdate nd = {1, true};
    int64_t v = 1;
    tsr_err rd = tsr__json_numdate(doc, i, &nd);
    tsr_err ri = tsr__json_int(doc, i, &v);
    CHECK(rd == TSR_OK || rd == TSR_ERR_MALFORMED);
    CHECK(ri == TSR_OK || ri == TSR_ERR_MALFORMED);
    if (rd != TSR_OK) {
        CHECK(nd.sec == 0 && !nd.frac && ri == TSR_ERR_MALFORMED && v == 0);
    } else if (nd.frac) {
        CHECK(ri == TSR_ERR_MALFORMED && v == 0);
    } else {
        CHECK(ri == TSR_OK && v == nd.sec);
    }
}

/* Walks an accepted document; returns whether jansson may reject it (one
 * of the documented differences applies). */
static bool check_document(const tsr__jdoc *doc, size_t size)
{
    bool nul_in_name = false;
    bool beyond_jansson = false;
    const tsr__jtok *toks = doc->toks;
    CHECK(doc->ntoks >= 1 && toks[0].end == doc->ntoks);
    for (size_t i = 0; i < doc->ntoks; i++) {
        const tsr__jtok *t = &toks[i];
        CHECK(t->end > i && t->end <= doc->ntoks);
        CHECK((size_t)t->start + t->len <= size);
        switch (t->type) {
        case TSR__J_OBJECT: {
            size_t k = i + 1;
            for (uint32_t m = 0; m < t->count; m++) {
                CHECK(k + 1 < t->end && toks[k].type == TSR__J_STRING);
                check_string(doc, k, &nul_in_name, true);
                /* Names are unique, so each finds exactly its own value. */
                char name[64];
                size_t n;
                if (tsr__json_str_copy(doc, k, name, sizeof name, &n) == TSR_OK) {
                    CHECK(tsr__json_find(doc, i, name, n) == (long)(k + 1));
                }
                k = toks[k + 1].end;
            }
            CHECK(k == t->end);
            break;
        }
        case TSR__J_ARRAY: {
            size_t k = i + 1;
            for (uint32_t m = 0; m < t->count; m++) {
                CHECK(k < t->end);
                k = toks[k].end;
            }
            CHECK(k == t->end);
            break;
        }
        case TSR__J_STRING:
            CHECK(t->end == i + 1);
            check_string(doc, i, &nul_in_name, false);
            break;
        case TSR__J_NUMBER:
            CHECK(t->end == i + 1);
            check_number(doc, i);
            beyond_jansson |= !jansson_can_hold(doc, i);
            break;
        case TSR__J_TRUE: case TSR__J_FALSE: case TSR__J_NULL:
            CHECK(t->end == i + 1);
            break;
        default:
            CHECK(false);
        }
    }
    bool scalar = toks[0].type != TSR__J_OBJECT && toks[0].type != TSR__J_ARRAY;
    return scalar || nul_in_name || beyond_jansson;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *buf = (const char *)data;
    size_t cap = size + 1; /* every token takes at least one byte */
    tsr__jtok *big = malloc(cap * sizeof *big);
    tsr__jtok small[SMALL_CAP];
    CHECK(big != NULL);
    tsr__jdoc doc, sdoc;
    tsr_err rc = tsr__json_parse(buf, size, big, cap, TSR__JSON_MAX_DEPTH, &doc);
    tsr_err rs = tsr__json_parse(buf, size, small, SMALL_CAP, TSR__JSON_MAX_DEPTH, &sdoc);
    CHECK(rc == TSR_OK || rc == TSR_ERR_MALFORMED || rc == TSR_ERR_TOO_LARGE);
    CHECK(rs == rc || rs == TSR_ERR_TOO_LARGE);
    if (rc == TSR_OK && rs == TSR_OK) {
        CHECK(sdoc.ntoks == doc.ntoks);
        for (size_t i = 0; i < doc.ntoks; i++) {
            /* Field by field: the struct has padding. */
            CHECK(small[i].type == big[i].type && small[i].escaped == big[i].escaped &&
                  small[i].start == big[i].start && small[i].len == big[i].len &&
                  small[i].count == big[i].count && small[i].end == big[i].end);
        }
    }
    bool may_differ = false;
    if (rc == TSR_OK) {
        may_differ = check_document(&doc, size);
    }

    json_t *j = NULL;
    tsr_err rj = tsr__json_load(buf, size, size, &j, NULL);
    CHECK(rj == TSR_OK || rj == TSR_ERR_MALFORMED || rj == TSR_ERR_TOO_LARGE);
    if (rc == TSR_OK) {
        CHECK(rj == TSR_OK || may_differ);
    } else {
        CHECK(rj != TSR_OK);
    }
    json_decref(j);
    free(big);
    return 0;
}
