/*
 * json_load.c: strict JSON through jansson, for keys, key sets and the
 * claims builder (the cold paths; verification uses json_reader.c).
 *
 * jansson already rejects invalid UTF-8, lone surrogate escapes, trailing
 * data and (with JSON_REJECT_DUPLICATES) duplicate member names. What it
 * does not enforce is tessera's depth cap of 32 (its own is 2048), the
 * rejection of a byte-order mark and of raw NUL bytes; those are checked
 * here. fuzz/fuzz_json.c checks that this loader and the strict reader
 * agree on what is valid. "\u0000"
 * is allowed (JSON_ALLOW_NUL) and kept faithfully.
 */
#include <string.h>

#include <jansson.h>

#include "internal.h"

/* Depth of `v`, where a scalar is 0 and each container adds 1. Recursion is
 * bounded by jansson's own parser limit, and stops early past `limit`. */
static unsigned depth_of(const json_t *v, unsigned limit)
{
    unsigned deepest = 0;
    if (limit == 0) {
        return 1; /* already too deep; no need to look further */
    }
    if (json_is_object(v)) {
        const char *k;
        const json_t *member;
        json_object_foreach((json_t *)(uintptr_t)v, k, member) {
            unsigned d = depth_of(member, limit - 1);
            if (d > deepest) {
                deepest = d;
            }
        }
        return deepest + 1;
    }
    if (json_is_array(v)) {
        size_t i;
        const json_t *elem;
        json_array_foreach(v, i, elem) {
            unsigned d = depth_of(elem, limit - 1);
            if (d > deepest) {
                deepest = d;
            }
        }
        return deepest + 1;
    }
    return 0;
}

tsr_err tsr__json_load(const char *buf, size_t len, size_t max_len, json_t **out, tsr_error *err)
{
    if (out == NULL) {
        return tsr__fail(err, TSR_ERR_INVALID_ARGUMENT, "no output");
    }
    *out = NULL;
    if (buf == NULL) {
        return tsr__fail(err, TSR_ERR_INVALID_ARGUMENT, "no input");
    }
    if (len > max_len) {
        return tsr__fail(err, TSR_ERR_TOO_LARGE, "JSON longer than %zu bytes", max_len);
    }
    if (len >= 3 && memcmp(buf, "\xEF\xBB\xBF", 3) == 0) {
        return tsr__fail(err, TSR_ERR_MALFORMED, "JSON starts with a byte-order mark");
    }
    /* jansson skips a raw NUL byte after a number or literal ("[1\0,2]"
     * loads as [1,2]); no valid JSON text contains one, and the strict
     * reader of the hot path rejects it, so both parsers must. */
    if (memchr(buf, '\0', len) != NULL) {
        return tsr__fail(err, TSR_ERR_MALFORMED, "JSON contains a NUL byte");
    }
    json_error_t jerr;
    json_t *root = json_loadb(buf, len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &jerr);
    if (root == NULL) {
        if (json_error_code(&jerr) == json_error_out_of_memory) {
            return tsr__fail(err, TSR_ERR_NOMEM, "out of memory parsing JSON");
        }
        if (json_error_code(&jerr) == json_error_duplicate_key) {
            return tsr__fail(err, TSR_ERR_MALFORMED, "duplicate member name");
        }
        if (json_error_code(&jerr) == json_error_stack_overflow) {
            return tsr__fail(err, TSR_ERR_TOO_LARGE, "JSON nested too deeply");
        }
        return tsr__fail(err, TSR_ERR_MALFORMED, "invalid JSON at byte %d", jerr.position);
    }
    if (depth_of(root, TSR__JSON_MAX_DEPTH + 1) > TSR__JSON_MAX_DEPTH) {
        json_decref(root);
        return tsr__fail(err, TSR_ERR_TOO_LARGE, "JSON nested deeper than %d",
                         TSR__JSON_MAX_DEPTH);
    }
    *out = root;
    return TSR_OK;
}
