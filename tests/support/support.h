/*
 * support.h: small helpers shared by the test programs. Test-only code.
 */
#ifndef TSR_TEST_SUPPORT_H
#define TSR_TEST_SUPPORT_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

/* Reads a whole file; returns a malloc'd NUL-terminated buffer (free with
 * free()) and its length in *len, or NULL. */
char *tst_read_file(const char *path, size_t *len);

/* Path of a file under the shared vectors directory ($TSR_VECTORS), in a
 * static buffer (not thread-safe). */
const char *tst_vector_path(const char *rel);

/* Loads a vectors JSON file; aborts the test program loudly when missing:
 * a vector file that vanished must fail, not skip. New reference. */
json_t *tst_load_vector_json(const char *rel);

/* Decodes lowercase/uppercase hex into a malloc'd buffer (*len bytes).
 * Returns NULL on odd length or bad digits. Empty input gives a 1-byte
 * allocation and *len 0. */
unsigned char *tst_hex_decode(const char *hex, size_t *len);

#endif
