/*
 * fuzz_b64url.c: strict base64url decoding (lib/b64url.c).
 *
 * Properties checked on every input:
 *  - decoding returns OK or MALFORMED, and reports length 0 on failure;
 *  - whatever the capacity, the answer for malformed input is MALFORMED, and
 *    for valid input with too little room TOO_LARGE;
 *  - an accepted input re-encodes to exactly itself (one spelling per byte
 *    string: the strictness the header promises);
 *  - any byte string encodes and decodes back to itself.
 * Violations abort, which both libFuzzer and the replay driver report.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tessera.h"

#define CHECK(cond)                                                                             \
    do {                                                                                        \
        if (!(cond)) {                                                                          \
            abort();                                                                            \
        }                                                                                       \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Decodes `data` as text and checks the answer against the properties. */
static void check_decode(const uint8_t *data, size_t size)
{
    size_t cap = tsr_b64url_decoded_max(size);
    unsigned char *out = malloc(cap + 1);
    char *again = malloc(size + 1);
    CHECK(out != NULL && again != NULL);
    size_t n = 12345;
    tsr_err rc = tsr_b64url_decode((const char *)data, size, out, cap, &n);
    CHECK(rc == TSR_OK || rc == TSR_ERR_MALFORMED);
    if (rc == TSR_OK) {
        CHECK(n == cap);
        size_t m = 0;
        CHECK(tsr_b64url_encode(out, n, again, size + 1, &m) == TSR_OK);
        CHECK(m == size && memcmp(again, data, size) == 0);
        if (cap > 0) {
            size_t k = 1;
            CHECK(tsr_b64url_decode((const char *)data, size, out, cap - 1, &k) ==
                  TSR_ERR_TOO_LARGE);
            CHECK(k == 0);
        }
    } else {
        CHECK(n == 0);
        size_t k = 1;
        CHECK(tsr_b64url_decode((const char *)data, size, out, cap / 2, &k) == TSR_ERR_MALFORMED);
        CHECK(k == 0);
    }
    free(again);
    free(out);
}

/* Encodes `data` as bytes; the text must decode back to them. */
static void check_encode(const uint8_t *data, size_t size)
{
    size_t len = tsr_b64url_encoded_len(size);
    char *text = malloc(len + 1);
    unsigned char *back = malloc(size + 1);
    CHECK(text != NULL && back != NULL);
    size_t n = 0, m = 0;
    CHECK(tsr_b64url_encode(data, size, text, len + 1, &n) == TSR_OK);
    CHECK(n == len && text[len] == '\0');
    CHECK(tsr_b64url_decode(text, n, back, size, &m) == TSR_OK);
    CHECK(m == size && memcmp(back, data, size) == 0);
    free(back);
    free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check_decode(data, size);
    check_encode(data, size);
    return 0;
}
