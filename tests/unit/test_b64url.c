/*
 * test_b64url.c: strict base64url (lib/b64url.c against
 * include/tessera/base64url.h). Every rule of the grammar has an input that
 * breaks it, tested first; then RFC 4648 test vectors, the capacity and
 * argument contract, and a round-trip property over random lengths.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "internal.h"

/* Decodes a NUL-terminated string into a roomy buffer. */
static tsr_err dec(const char *s, unsigned char *out, size_t *out_len)
{
    return tsr_b64url_decode(s, strlen(s), out, 256, out_len);
}

/* Asserts that `s` is rejected as malformed and nothing is reported. */
static void assert_rejects(const char *s)
{
    unsigned char out[256];
    size_t n = 99;
    tsr_err rc = dec(s, out, &n);
    if (rc != TSR_ERR_MALFORMED) {
        fail_msg("accepted or wrong code %d for \"%s\"", (int)rc, s);
    }
    assert_int_equal(n, 0);
}

/* ---------------------------------------------------------------- rejections */

static void test_rejects_padding(void **state)
{
    (void)state;
    assert_rejects("Zg==");
    assert_rejects("Zg=");
    assert_rejects("Zm8=");
    assert_rejects("====");
    assert_rejects("Zm9v====");
    assert_rejects("=");
}

static void test_rejects_standard_alphabet(void **state)
{
    (void)state;
    assert_rejects("+/8");   /* standard base64 of fb ff */
    assert_rejects("ab+c");
    assert_rejects("ab/c");
    assert_rejects("/w");
}

static void test_rejects_whitespace(void **state)
{
    (void)state;
    assert_rejects("Zm9v Zg");
    assert_rejects(" Zm9v");
    assert_rejects("Zm9v\n");
    assert_rejects("Zm\r\n9v");
    assert_rejects("Zm9\tv");
}

static void test_rejects_other_bytes(void **state)
{
    (void)state;
    assert_rejects("Zm9v.");
    assert_rejects("Zm9v!A");
    assert_rejects("Zm\x80v");
    assert_rejects("Zm\xffv");
    assert_rejects("\xc3\xa9\xc3\xa9");
    /* An embedded NUL is a byte like any other: rejected. */
    unsigned char out[8];
    size_t n = 7;
    assert_int_equal(tsr_b64url_decode("Zm\0v", 4, out, sizeof out, &n), TSR_ERR_MALFORMED);
    assert_int_equal(n, 0);
}

static void test_rejects_length_1_mod_4(void **state)
{
    (void)state;
    assert_rejects("A");
    assert_rejects("Zm9vA");
    assert_rejects("Zm9vYmFyA");
}

static void test_rejects_noncanonical_trailing_bits(void **state)
{
    (void)state;
    /* One final byte: the second character may only be one of A Q g w. */
    assert_rejects("Zh");
    assert_rejects("Zv");
    assert_rejects("ZB");
    assert_rejects("Z_");
    /* Two final bytes: the third character's low 2 bits must be zero. */
    assert_rejects("Zm9");  /* canonical is "Zm8" */
    assert_rejects("Zm-");
    assert_rejects("AAB");
    assert_rejects("Zm9vYmF");
    /* Every non-canonical last character of "Z?" and "Zm?" rejects. */
    static const char alpha[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    for (int v = 0; v < 64; v++) {
        char two[3] = {'Z', alpha[v], 0};
        char three[4] = {'Z', 'm', alpha[v], 0};
        unsigned char out[4];
        size_t n;
        tsr_err want2 = (v & 0x0F) ? TSR_ERR_MALFORMED : TSR_OK;
        tsr_err want3 = (v & 0x03) ? TSR_ERR_MALFORMED : TSR_OK;
        assert_int_equal(dec(two, out, &n), want2);
        assert_int_equal(dec(three, out, &n), want3);
    }
}

static void test_malformed_wins_over_small_buffer(void **state)
{
    (void)state;
    unsigned char out[2];
    size_t n = 5;
    /* Invalid input into a too-small buffer is still "malformed". */
    assert_int_equal(tsr_b64url_decode("Zm9v+mFy", 8, out, sizeof out, &n), TSR_ERR_MALFORMED);
    assert_int_equal(n, 0);
    assert_int_equal(tsr_b64url_decode("Zm9vYmF", 7, out, sizeof out, &n), TSR_ERR_MALFORMED);
    assert_int_equal(tsr_b64url_decode("Zm9vY", 5, out, 0, &n), TSR_ERR_MALFORMED);
}

static void test_decode_too_small(void **state)
{
    (void)state;
    unsigned char out[6];
    size_t n = 5;
    assert_int_equal(tsr_b64url_decode("Zm9vYmFy", 8, out, 5, &n), TSR_ERR_TOO_LARGE);
    assert_int_equal(n, 0);
    assert_int_equal(tsr_b64url_decode("Zm9vYmE", 7, out, 4, &n), TSR_ERR_TOO_LARGE);
    assert_int_equal(tsr_b64url_decode("Zg", 2, NULL, 0, &n), TSR_ERR_TOO_LARGE);
    /* Exactly enough is fine. */
    assert_int_equal(tsr_b64url_decode("Zm9vYmE", 7, out, 5, &n), TSR_OK);
    assert_int_equal(n, 5);
    assert_memory_equal(out, "fooba", 5);
}

static void test_failed_decode_leaves_no_partial_output(void **state)
{
    (void)state;
    unsigned char out[16];
    size_t n;
    memset(out, 0xAA, sizeof out);
    /* The bad character is in the last quad; earlier quads were decoded. */
    assert_int_equal(tsr_b64url_decode("Zm9vYmFyZm9v!mFy", 16, out, sizeof out, &n),
                     TSR_ERR_MALFORMED);
    for (size_t i = 0; i < 12; i++) {
        assert_int_equal(out[i], 0);
    }
}

static void test_invalid_arguments(void **state)
{
    (void)state;
    unsigned char out[8];
    char text[8];
    size_t n = 3;
    assert_int_equal(tsr_b64url_decode(NULL, 4, out, sizeof out, &n), TSR_ERR_INVALID_ARGUMENT);
    assert_int_equal(n, 0);
    assert_int_equal(tsr_b64url_decode("Zm9v", 4, NULL, 8, &n), TSR_ERR_INVALID_ARGUMENT);
    n = 3;
    assert_int_equal(tsr_b64url_encode(NULL, 3, text, sizeof text, &n), TSR_ERR_INVALID_ARGUMENT);
    assert_int_equal(n, 0);
    assert_int_equal(tsr_b64url_encode((const unsigned char *)"f", 1, NULL, 8, &n),
                     TSR_ERR_INVALID_ARGUMENT);
    /* Empty input with NULL pointers is fine. */
    assert_int_equal(tsr_b64url_decode(NULL, 0, NULL, 0, &n), TSR_OK);
    assert_int_equal(n, 0);
    /* out_len may be NULL. */
    assert_int_equal(tsr_b64url_decode("Zm9v", 4, out, sizeof out, NULL), TSR_OK);
    assert_memory_equal(out, "foo", 3);
}

static void test_encode_too_small(void **state)
{
    (void)state;
    char text[9];
    size_t n = 7;
    memset(text, 'x', sizeof text);
    /* "foobar" needs 8 characters plus the NUL. */
    assert_int_equal(tsr_b64url_encode((const unsigned char *)"foobar", 6, text, 8, &n),
                     TSR_ERR_TOO_LARGE);
    assert_int_equal(n, 0);
    for (size_t i = 0; i < sizeof text; i++) {
        assert_int_equal(text[i], 'x'); /* untouched */
    }
    assert_int_equal(tsr_b64url_encode((const unsigned char *)"", 0, text, 0, &n),
                     TSR_ERR_TOO_LARGE);
    assert_int_equal(tsr_b64url_encode((const unsigned char *)"foobar", 6, text, 9, &n), TSR_OK);
    assert_int_equal(n, 8);
    assert_string_equal(text, "Zm9vYmFy");
}

/* ---------------------------------------------------------------- acceptance */

/* RFC 4648 section 10 vectors, padding removed. */
static void test_rfc4648_vectors(void **state)
{
    (void)state;
    static const struct {
        const char *plain, *enc;
    } v[] = {{"", ""},         {"f", "Zg"},         {"fo", "Zm8"},       {"foo", "Zm9v"},
             {"foob", "Zm9vYg"}, {"fooba", "Zm9vYmE"}, {"foobar", "Zm9vYmFy"}};
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        char text[16];
        unsigned char raw[16];
        size_t n = 99;
        size_t plen = strlen(v[i].plain);
        assert_int_equal(tsr_b64url_encode((const unsigned char *)v[i].plain, plen, text,
                                           sizeof text, &n),
                         TSR_OK);
        assert_string_equal(text, v[i].enc);
        assert_int_equal(n, strlen(v[i].enc));
        assert_int_equal(dec(v[i].enc, raw, &n), TSR_OK);
        assert_int_equal(n, plen);
        assert_memory_equal(raw, v[i].plain, plen);
    }
}

static void test_url_alphabet(void **state)
{
    (void)state;
    static const unsigned char bytes[] = {0xfb, 0xff, 0xbf, 0xf8, 0x3e, 0x00};
    char text[16];
    size_t n;
    assert_int_equal(tsr_b64url_encode(bytes, sizeof bytes, text, sizeof text, &n), TSR_OK);
    assert_string_equal(text, "-_-_-D4A");
    unsigned char raw[8];
    assert_int_equal(dec("-_-_-D4A", raw, &n), TSR_OK);
    assert_int_equal(n, sizeof bytes);
    assert_memory_equal(raw, bytes, sizeof bytes);
    /* The JWS header of RFC 7515 A.1. */
    static const char hdr[] = "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9";
    static const char json[] = "{\"typ\":\"JWT\",\r\n \"alg\":\"HS256\"}";
    unsigned char out[64];
    assert_int_equal(dec(hdr, out, &n), TSR_OK);
    assert_int_equal(n, strlen(json));
    assert_memory_equal(out, json, n);
}

static void test_lengths(void **state)
{
    (void)state;
    static const size_t enc[] = {0, 2, 3, 4, 6, 7, 8};
    for (size_t n = 0; n < 7; n++) {
        assert_int_equal(tsr_b64url_encoded_len(n), enc[n]);
    }
    assert_int_equal(tsr_b64url_decoded_max(0), 0);
    assert_int_equal(tsr_b64url_decoded_max(2), 1);
    assert_int_equal(tsr_b64url_decoded_max(3), 2);
    assert_int_equal(tsr_b64url_decoded_max(4), 3);
    assert_int_equal(tsr_b64url_decoded_max(5), 3);
    assert_int_equal(tsr_b64url_decoded_max(342), 256);
    /* Huge sizes saturate instead of wrapping to something small. */
    assert_int_equal(tsr_b64url_encoded_len(SIZE_MAX), SIZE_MAX);
    assert_true(tsr_b64url_encoded_len(SIZE_MAX / 4 * 3) >= SIZE_MAX / 4 * 3);
}

/* Every single byte value and every 2-byte pair round-trips. */
static void test_all_short_inputs_round_trip(void **state)
{
    (void)state;
    for (unsigned v = 0; v < 65536; v++) {
        unsigned char in[2] = {(unsigned char)(v >> 8), (unsigned char)v};
        size_t len = v < 256 ? 1 : 2;
        const unsigned char *src = v < 256 ? in + 1 : in;
        char text[8];
        unsigned char back[4];
        size_t n, m;
        assert_int_equal(tsr_b64url_encode(src, len, text, sizeof text, &n), TSR_OK);
        assert_int_equal(tsr_b64url_decode(text, n, back, sizeof back, &m), TSR_OK);
        assert_int_equal(m, len);
        assert_memory_equal(back, src, len);
    }
}

/* Property: for random byte strings of length 0..300, encoding gives
 * encoded_len characters of the URL alphabet only, and decoding gives the
 * input back; flipping any character to a non-alphabet byte rejects. */
static void test_random_round_trip(void **state)
{
    (void)state;
    uint64_t x = 0x9E3779B97F4A7C15u; /* xorshift64: deterministic, no rand() */
    unsigned char in[300], back[300];
    char text[402];
    for (int iter = 0; iter < 3000; iter++) {
        size_t len = (size_t)(iter % 301);
        for (size_t i = 0; i < len; i++) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            in[i] = (unsigned char)x;
        }
        size_t n, m;
        assert_int_equal(tsr_b64url_encode(in, len, text, sizeof text, &n), TSR_OK);
        assert_int_equal(n, tsr_b64url_encoded_len(len));
        assert_int_equal(strlen(text), n);
        assert_int_equal(strspn(text, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                      "0123456789-_"),
                         n);
        assert_int_equal(tsr_b64url_decoded_max(n), len);
        assert_int_equal(tsr_b64url_decode(text, n, back, len, &m), TSR_OK);
        assert_int_equal(m, len);
        assert_memory_equal(back, in, len);
        if (n > 0) {
            size_t at = (size_t)(x % n);
            char saved = text[at];
            text[at] = "=+/ \n."[x % 6];
            assert_int_equal(tsr_b64url_decode(text, n, back, len, &m), TSR_ERR_MALFORMED);
            text[at] = saved;
        }
    }
}

/* Every byte value at every position of a 48-character input (three
 * 16-character vector blocks on CPUs that have them, plus the scalar code
 * elsewhere) is accepted exactly when it is in the alphabet, and decodes to
 * the same bytes that re-encode to the input. */
static void test_every_byte_at_every_position(void **state)
{
    (void)state;
    static const char alpha[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    static const size_t lens[] = {48, 50, 51, 20};
    for (size_t li = 0; li < sizeof lens / sizeof lens[0]; li++) {
        size_t len = lens[li];
        for (size_t pos = 0; pos + (len % 4 ? 1 : 0) < len; pos++) {
            for (int c = 0; c < 256; c++) {
                char text[64];
                char again[64];
                unsigned char raw[48];
                size_t n = 1, m;
                for (size_t i = 0; i < len; i++) {
                    text[i] = alpha[(i * 7 + 3) % 64];
                }
                /* Keep the last character canonical so only `c` decides. */
                if (len % 4 == 2) {
                    text[len - 1] = 'A';
                } else if (len % 4 == 3) {
                    text[len - 1] = 'E';
                }
                text[pos] = (char)c;
                bool in_alpha = c != 0 && strchr(alpha, c) != NULL;
                tsr_err rc = tsr_b64url_decode(text, len, raw, sizeof raw, &n);
                if (rc != (in_alpha ? TSR_OK : TSR_ERR_MALFORMED)) {
                    fail_msg("byte %d at %zu of %zu: %d", c, pos, len, (int)rc);
                }
                if (in_alpha) {
                    assert_int_equal(tsr_b64url_encode(raw, n, again, sizeof again, &m), TSR_OK);
                    assert_int_equal(m, len);
                    assert_memory_equal(again, text, len);
                } else {
                    assert_int_equal(n, 0);
                }
            }
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rejects_padding),
        cmocka_unit_test(test_rejects_standard_alphabet),
        cmocka_unit_test(test_rejects_whitespace),
        cmocka_unit_test(test_rejects_other_bytes),
        cmocka_unit_test(test_rejects_length_1_mod_4),
        cmocka_unit_test(test_rejects_noncanonical_trailing_bits),
        cmocka_unit_test(test_malformed_wins_over_small_buffer),
        cmocka_unit_test(test_decode_too_small),
        cmocka_unit_test(test_failed_decode_leaves_no_partial_output),
        cmocka_unit_test(test_invalid_arguments),
        cmocka_unit_test(test_encode_too_small),
        cmocka_unit_test(test_rfc4648_vectors),
        cmocka_unit_test(test_url_alphabet),
        cmocka_unit_test(test_lengths),
        cmocka_unit_test(test_all_short_inputs_round_trip),
        cmocka_unit_test(test_random_round_trip),
        cmocka_unit_test(test_every_byte_at_every_position),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
