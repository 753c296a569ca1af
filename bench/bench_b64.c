/*
 * bench_b64.c: the floor's base64url decoder. Deliberately independent of
 * libtessera's b64url.c (the floor must not share code with what it is the
 * floor of), but just as strict as any verifier has to be: no padding or
 * whitespace, no length of 1 mod 4, and the unused low bits of the last
 * character must be zero.
 *
 * It is the standard fast scalar decoder: four 256-entry tables hold each
 * character's 6-bit value already shifted into its place in a quad's 24
 * bits, and every character outside the alphabet maps to bit 31, so a quad
 * is four loads ORed together and one running OR catches every bad
 * character with a single test at the end. (libtessera adds an SSSE3 path
 * on top; a straightforward floor does not.)
 */
#include "bench.h"

/* The 6-bit value of character c, or 64 when c is not in the alphabet. */
#define VAL(c)                                                                                     \
    ((c) >= 'A' && (c) <= 'Z'   ? (c) - 'A'                                                        \
     : (c) >= 'a' && (c) <= 'z' ? (c) - 'a' + 26                                                   \
     : (c) >= '0' && (c) <= '9' ? (c) - '0' + 52                                                   \
     : (c) == '-'               ? 62                                                               \
     : (c) == '_'               ? 63                                                               \
                                : 64)
#define BAD 0x80000000u
#define ENT(c, sh) (VAL(c) == 64 ? BAD : (uint32_t)VAL(c) << (sh))
#define R4(c, sh) ENT(c, sh), ENT((c) + 1, sh), ENT((c) + 2, sh), ENT((c) + 3, sh)
#define R16(c, sh) R4(c, sh), R4((c) + 4, sh), R4((c) + 8, sh), R4((c) + 12, sh)
#define R64(c, sh) R16(c, sh), R16((c) + 16, sh), R16((c) + 32, sh), R16((c) + 48, sh)
#define TABLE(sh) {R64(0, sh), R64(64, sh), R64(128, sh), R64(192, sh)}

static const uint32_t d0[256] = TABLE(18), d1[256] = TABLE(12), d2[256] = TABLE(6),
                      d3[256] = TABLE(0);

long bench_b64url_decode(const char *in, size_t len, unsigned char *out, size_t cap)
{
    const unsigned char *s = (const unsigned char *)in;
    size_t rem = len % 4, full = len - rem, o = 0;
    uint32_t bad = 0;

    if (rem == 1 || full / 4 * 3 + (rem ? rem - 1 : 0) > cap) {
        return -1;
    }
    for (size_t i = 0; i < full; i += 4, o += 3) {
        uint32_t v = d0[s[i]] | d1[s[i + 1]] | d2[s[i + 2]] | d3[s[i + 3]];
        bad |= v;
        out[o] = (unsigned char)(v >> 16);
        out[o + 1] = (unsigned char)(v >> 8);
        out[o + 2] = (unsigned char)v;
    }
    if (rem >= 2) {
        uint32_t v = d0[s[full]] | d1[s[full + 1]];
        if (rem == 3) {
            v |= d2[s[full + 2]];
            bad |= (v & 0xc0u) ? BAD : 0; /* 2 unused bits of char 3 */
            out[o + 1] = (unsigned char)(v >> 8);
        } else {
            bad |= (v & 0xf000u) ? BAD : 0; /* 4 unused bits of char 2 */
        }
        out[o] = (unsigned char)(v >> 16);
        bad |= v;
        o += rem - 1;
    }
    return bad & BAD ? -1 : (long)o;
}
