/*
 * b64url.c: strict base64url (RFC 4648 section 5, no padding) as JOSE uses
 * it. Every JWS segment and every binary JWK member passes through here, and
 * decoding the header, payload and signature is on the verify hot path.
 *
 * Accepted grammar (after which every byte string has exactly one spelling):
 *
 *   b64url   = *quad [ tail ]
 *   quad     = 4char                       ; 3 bytes
 *   tail     = char char2                  ; 1 byte  (length % 4 == 2)
 *            / char char char4             ; 2 bytes (length % 4 == 3)
 *   char     = %x41-5A / %x61-7A / %x30-39 / "-" / "_"   ; values 0..63
 *   char2    = a char whose value has its low 4 bits zero ; "AQgw"
 *   char4    = a char whose value has its low 2 bits zero ; "AEIMQUYcgkosw048"
 *
 * So: no "=", no "+" or "/", no whitespace, no length of 1 mod 4, and the
 * bits that the last character carries beyond the final byte must be zero.
 *
 * Decoding is table-driven: one lookup per character in a table per quad
 * position that holds the value already shifted into place; characters
 * outside the alphabet carry a BAD bit that is checked once per call. On
 * x86-64 CPUs with SSSE3 (checked at run time), 16 characters are decoded
 * per step with vector compares instead; the scalar code finishes the rest.
 * Define TSR_NO_SIMD to build the scalar code only (tests run both).
 */
#include <string.h>

#include "internal.h"

#if defined(__x86_64__) && defined(__GNUC__) && !defined(TSR_NO_SIMD)
#include <immintrin.h>
#define HAVE_SSSE3_PATH 1
#endif

/* The value of character c, or -1 outside the alphabet. Used only to build
 * the tables below at compile time. */
#define DEC(c)                                                                                  \
    ((c) >= 'A' && (c) <= 'Z'   ? (c) - 'A'                                                     \
     : (c) >= 'a' && (c) <= 'z' ? (c) - 'a' + 26                                                \
     : (c) >= '0' && (c) <= '9' ? (c) - '0' + 52                                                \
     : (c) == '-'               ? 62                                                            \
     : (c) == '_'               ? 63                                                            \
                                : -1)

/* Four tables, one per position in a quad, holding the 6-bit value already
 * shifted into place, so a quad decodes with four loads and three ORs.
 * Characters outside the alphabet map to BAD, a bit no valid quad sets. */
#define BAD 0x01000000u
#define SHIFTED(c, s) (DEC(c) < 0 ? BAD : (uint32_t)DEC(c) << (s))
#define D0(c) SHIFTED(c, 18)
#define D1(c) SHIFTED(c, 12)
#define D2(c) SHIFTED(c, 6)
#define D3(c) SHIFTED(c, 0)
#define E4(f, b) f(b), f((b) + 1), f((b) + 2), f((b) + 3)
#define E16(f, b) E4(f, b), E4(f, (b) + 4), E4(f, (b) + 8), E4(f, (b) + 12)
#define E64(f, b) E16(f, b), E16(f, (b) + 16), E16(f, (b) + 32), E16(f, (b) + 48)
#define E256(f) E64(f, 0), E64(f, 64), E64(f, 128), E64(f, 192)

static const uint32_t dec0[256] = {E256(D0)};
static const uint32_t dec1[256] = {E256(D1)};
static const uint32_t dec2[256] = {E256(D2)};
static const uint32_t dec3[256] = {E256(D3)};

static const char enc_table[64] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

size_t tsr_b64url_encoded_len(size_t n)
{
    /* Saturates instead of wrapping, so a caller comparing against a
     * capacity can never be fooled into a too-small buffer. */
    if (n / 3 > (SIZE_MAX - 3) / 4) {
        return SIZE_MAX;
    }
    size_t rem = n % 3;
    return n / 3 * 4 + (rem ? rem + 1 : 0);
}

size_t tsr_b64url_decoded_max(size_t n)
{
    /* Exact for every valid input; a remainder of 1 can never be valid. */
    size_t rem = n % 4;
    return n / 4 * 3 + (rem >= 2 ? rem - 1 : 0);
}

tsr_err tsr_b64url_encode(const unsigned char *in, size_t n, char *out, size_t cap,
                          size_t *out_len)
{
    if (out_len != NULL) {
        *out_len = 0;
    }
    if ((in == NULL && n > 0) || (out == NULL && cap > 0)) {
        return TSR_ERR_INVALID_ARGUMENT;
    }
    size_t need = tsr_b64url_encoded_len(n);
    if (need == SIZE_MAX || cap <= need) {
        return TSR_ERR_TOO_LARGE;
    }
    char *o = out;
    size_t i = 0;
    for (; n - i >= 3; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
        o[0] = enc_table[v >> 18];
        o[1] = enc_table[(v >> 12) & 63];
        o[2] = enc_table[(v >> 6) & 63];
        o[3] = enc_table[v & 63];
        o += 4;
    }
    if (n - i == 1) {
        uint32_t v = in[i];
        o[0] = enc_table[v >> 2];
        o[1] = enc_table[(v << 4) & 63];
        o += 2;
    } else if (n - i == 2) {
        uint32_t v = (uint32_t)in[i] << 8 | in[i + 1];
        o[0] = enc_table[v >> 10];
        o[1] = enc_table[(v >> 4) & 63];
        o[2] = enc_table[(v << 2) & 63];
        o += 3;
    }
    *o = '\0';
    if (out_len != NULL) {
        *out_len = need;
    }
    return TSR_OK;
}

/* Decodes the last 2 or 3 characters (rem) into 1 or 2 bytes. The bits
 * beyond the final byte must be zero: that is the canonical-encoding rule
 * (dec3 holds the plain value of a character). Returns BAD or 0. */
static uint32_t decode_tail(const unsigned char *s, size_t rem, unsigned char *o)
{
    uint32_t x = dec0[s[0]] | dec1[s[1]];
    if (rem == 3) {
        uint32_t c = dec2[s[2]];
        x |= c | ((c & (0x03u << 6)) ? BAD : 0);
        o[1] = (unsigned char)(x >> 8);
    } else {
        x |= (dec1[s[1]] & (0x0Fu << 12)) ? BAD : 0;
    }
    o[0] = (unsigned char)(x >> 16);
    return x & BAD;
}

/* Whole quads, scalar: 4 characters to 3 bytes. Returns BAD or 0. */
static uint32_t decode_quads(const unsigned char *s, size_t nquads, unsigned char *o)
{
    /* `bad` is checked once at the end, which keeps the loop free of
     * data-dependent branches. */
    uint32_t bad = 0;
    for (size_t i = 0; i < nquads; i++, s += 4, o += 3) {
        uint32_t x = dec0[s[0]] | dec1[s[1]] | dec2[s[2]] | dec3[s[3]];
        bad |= x;
        o[0] = (unsigned char)(x >> 16);
        o[1] = (unsigned char)(x >> 8);
        o[2] = (unsigned char)x;
    }
    return bad & BAD;
}

#ifdef HAVE_SSSE3_PATH
/*
 * 16 characters to 12 bytes per step with SSSE3; returns how many
 * characters were consumed (a multiple of 16), stopping early at the first
 * block holding a character outside the alphabet (the scalar code then
 * reports it).
 *
 * Validation looks up each character's low and high nibble in two 16-entry
 * tables (pshufb); a character is invalid exactly when the two entries share
 * a bit. Each bit names one rectangle of invalid (high, low) pairs:
 *   1: high 0, 1, 8-F (controls, space, non-ASCII), any low
 *   2: high 2, low not D (everything in 0x20-0x2F but '-')
 *   4: high 3, low A-F (":;<=>?")
 *   8: high 4 or 6, low 0 ('@' and '`')
 *  16: high 5, low B-E ("[\]^")
 *  32: high 7, low B-F ("{|}~" and DEL)
 * The value is the character plus an offset chosen by the high nibble
 * ('-' +17, digits +4, 'A'-'Z' -65, 'a'-'z' -71), with '_' (high 5 like
 * 'P'-'Z') fixed up by +33 to -32. Packing: maddubs joins pairs into 12-bit
 * values (a<<6 | b), madd joins those into 24-bit values per 32-bit lane,
 * and a byte shuffle puts each lane's three bytes in big-endian order.
 */
__attribute__((target("ssse3"))) static size_t decode_ssse3(const unsigned char *s,
                                                             size_t len, unsigned char *o)
{
    const __m128i lut_lo = _mm_setr_epi8(1 | 2 | 8, 1 | 2, 1 | 2, 1 | 2, 1 | 2, 1 | 2, 1 | 2,
                                         1 | 2, 1 | 2, 1 | 2, 1 | 2 | 4, 1 | 2 | 4 | 16 | 32,
                                         1 | 2 | 4 | 16 | 32, 1 | 4 | 16 | 32,
                                         1 | 2 | 4 | 16 | 32, 1 | 2 | 4 | 32);
    const __m128i lut_hi = _mm_setr_epi8(1, 1, 2, 4, 8, 16, 8, 32, 1, 1, 1, 1, 1, 1, 1, 1);
    const __m128i lut_off = _mm_setr_epi8(0, 0, 17, 4, -65, -65, -71, -71, 0, 0, 0, 0, 0, 0, 0, 0);
    const __m128i shuffle = _mm_setr_epi8(2, 1, 0, 6, 5, 4, 10, 9, 8, 14, 13, 12, -1, -1, -1, -1);
    const __m128i nibble = _mm_set1_epi8(0x0F);
    size_t done = 0;
    for (; len - done >= 16; done += 16, o += 12) {
        __m128i x = _mm_loadu_si128((const __m128i *)(const void *)(s + done));
        __m128i hi = _mm_and_si128(_mm_srli_epi32(x, 4), nibble);
        __m128i lo = _mm_and_si128(x, nibble);
        __m128i bad = _mm_and_si128(_mm_shuffle_epi8(lut_lo, lo), _mm_shuffle_epi8(lut_hi, hi));
        if (_mm_movemask_epi8(_mm_cmpeq_epi8(bad, _mm_setzero_si128())) != 0xFFFF) {
            break;
        }
        __m128i underscore = _mm_cmpeq_epi8(x, _mm_set1_epi8('_'));
        __m128i off = _mm_add_epi8(_mm_shuffle_epi8(lut_off, hi),
                                   _mm_and_si128(underscore, _mm_set1_epi8(33)));
        __m128i v = _mm_add_epi8(x, off);
        __m128i pairs = _mm_maddubs_epi16(v, _mm_set1_epi32(0x01400140));
        __m128i lanes = _mm_madd_epi16(pairs, _mm_set1_epi32(0x00011000));
        __m128i bytes = _mm_shuffle_epi8(lanes, shuffle);
        /* Exactly 12 bytes: never write past the decoded length. */
        _mm_storel_epi64((__m128i *)(void *)o, bytes);
        int32_t last4 = _mm_cvtsi128_si32(_mm_srli_si128(bytes, 8));
        memcpy(o + 8, &last4, 4);
    }
    return done;
}

static bool have_ssse3(void)
{
#ifdef __SSSE3__
    return true;
#else
    /* Reads the CPU model libgcc filled in at startup: no state of ours. */
    return __builtin_cpu_supports("ssse3");
#endif
}
#endif

tsr_err tsr_b64url_decode(const char *in, size_t len, unsigned char *out, size_t cap,
                          size_t *out_len)
{
    if (out_len != NULL) {
        *out_len = 0;
    }
    if ((in == NULL && len > 0) || (out == NULL && cap > 0)) {
        return TSR_ERR_INVALID_ARGUMENT;
    }
    if (len == 0) {
        return TSR_OK; /* in and out may both be NULL here */
    }
    const unsigned char *s = (const unsigned char *)in;
    size_t rem = len % 4;
    if (rem == 1) {
        return TSR_ERR_MALFORMED;
    }
    size_t need = tsr_b64url_decoded_max(len);
    /* out == NULL implies cap == 0 < need here; said explicitly so no
     * path can ever write through it. */
    bool too_small = cap < need || out == NULL;
    unsigned char scratch[3];
    size_t quads_len = len - rem;
    size_t done = 0;
#ifdef HAVE_SSSE3_PATH
    if (!too_small && quads_len >= 16 && have_ssse3()) {
        done = decode_ssse3(s, quads_len, out);
    }
#endif
    uint32_t bad = 0;
    if (too_small) {
        /* Validate without writing, so malformed input is reported as such
         * whatever capacity the caller guessed. */
        for (size_t i = 0; i < quads_len; i += 4) {
            bad |= decode_quads(s + i, 1, scratch);
        }
    } else {
        bad = decode_quads(s + done, (quads_len - done) / 4, out + done / 4 * 3);
    }
    if (rem != 0) {
        bad |= decode_tail(s + quads_len, rem, too_small ? scratch : out + quads_len / 4 * 3);
    }
    if (bad) {
        /* Do not leave half-decoded bytes (possibly key material) behind. */
        if (!too_small && need > 0) {
            memset(out, 0, need);
        }
        return TSR_ERR_MALFORMED;
    }
    if (too_small) {
        return TSR_ERR_TOO_LARGE;
    }
    if (out_len != NULL) {
        *out_len = need;
    }
    return TSR_OK;
}
