/*
 * json_reader.c: the strict, zero-copy, non-allocating JSON reader that
 * verification uses for the JWS header and the JWT claims (the hot path; the
 * cold paths load JSON through jansson in json_load.c).
 *
 * One forward pass validates the whole document and writes a flat token
 * array into the caller's buffer: every value is one token, containers are
 * followed by their children, and each token records where its subtree ends,
 * so a member lookup skips whole values without re-parsing. Strings stay
 * escaped in the input; the accessors below unescape on the fly while
 * comparing or copying.
 *
 * The parser is iterative, so hostile nesting cannot exhaust the stack. While
 * a container is open its `end` field holds the index of its parent (the
 * open-container stack lives inside the token array); it gets its real value
 * when the container closes.
 *
 * Byte-level grammar (RFC 8259 plus tessera's rules; ABNF, RFC 5234):
 *
 *   document = ws value ws                      ; nothing may follow
 *   ws       = *( %x20 / %x09 / %x0A / %x0D )   ; so a BOM (EF BB BF) rejects
 *   value    = object / array / string / number / "true" / "false" / "null"
 *   object   = "{" ws [ member *( ws "," ws member ) ws ] "}"
 *   member   = string ws ":" ws value           ; names unique after unescaping
 *   array    = "[" ws [ value *( ws "," ws value ) ws ] "]"
 *            ; objects and arrays nest at most max_depth deep
 *   number   = [ "-" ] int [ frac ] [ exp ]
 *   int      = "0" / ( %x31-39 *DIGIT )         ; no leading zeros, no "+"
 *   frac     = "." 1*DIGIT
 *   exp      = ( "e" / "E" ) [ "-" / "+" ] 1*DIGIT
 *   string   = %x22 *char %x22
 *   char     = %x20-21 / %x23-5B / %x5D-7F      ; no control characters
 *            / utf8-2 / utf8-3 / utf8-4         ; well-formed UTF-8 only
 *            / "\" ( %x22 / "\" / "/" / "b" / "f" / "n" / "r" / "t" )
 *            / "\u" hex4-not-surrogate          ; "\u0000" is allowed
 *            / "\u" hex4-high "\u" hex4-low     ; D800-DBFF then DC00-DFFF
 *   utf8-2   = %xC2-DF tail
 *   utf8-3   = %xE0 %xA0-BF tail / %xE1-EC 2tail / %xED %x80-9F tail
 *            / %xEE-EF 2tail                    ; no overlongs, no surrogates
 *   utf8-4   = %xF0 %x90-BF 2tail / %xF1-F3 3tail / %xF4 %x80-8F 2tail
 *                                               ; nothing above U+10FFFF
 *   tail     = %x80-BF
 *
 * Duplicate names are found when an object closes, by comparing its member
 * names pairwise: quadratic in the member count, which the caller bounds
 * through the token capacity. Each name is first summarised (unescaped
 * length and edge bytes) so that only look-alike pairs are compared in
 * full, and unescaped names (the normal case) compare without unescaping.
 */
#include <string.h>

#include "internal.h"

#if defined(__SSE2__) && !defined(TSR_NO_SIMD)
#include <emmintrin.h>
#define HAVE_SSE2_PATH 1
#endif

#define NO_PARENT UINT32_MAX

typedef struct parser {
    const unsigned char *base; /* start of the document */
    const unsigned char *end;  /* one past its last byte */
    tsr__jtok *toks;
    size_t cap;
    size_t n;         /* tokens written */
    uint32_t cur;     /* index of the innermost open container, or NO_PARENT */
    unsigned depth;
    unsigned max_depth;
} parser;

/* 1 for bytes that may appear unescaped in a string and need no further
 * look: printable ASCII except '"' and '\'. Everything else (quote,
 * backslash, control, non-ASCII) leaves the fast loop. */
static const uint8_t str_plain[256] = {
    ['\x20'] = 1, ['\x21'] = 1, /* '"' (0x22) is not plain */
    ['\x23'] = 1, ['\x24'] = 1, ['\x25'] = 1, ['\x26'] = 1, ['\x27'] = 1,
    ['\x28'] = 1, ['\x29'] = 1, ['\x2a'] = 1, ['\x2b'] = 1, ['\x2c'] = 1,
    ['\x2d'] = 1, ['\x2e'] = 1, ['\x2f'] = 1, ['0'] = 1, ['1'] = 1, ['2'] = 1,
    ['3'] = 1, ['4'] = 1, ['5'] = 1, ['6'] = 1, ['7'] = 1, ['8'] = 1, ['9'] = 1,
    [':'] = 1, [';'] = 1, ['<'] = 1, ['='] = 1, ['>'] = 1, ['?'] = 1, ['@'] = 1,
    ['A'] = 1, ['B'] = 1, ['C'] = 1, ['D'] = 1, ['E'] = 1, ['F'] = 1, ['G'] = 1,
    ['H'] = 1, ['I'] = 1, ['J'] = 1, ['K'] = 1, ['L'] = 1, ['M'] = 1, ['N'] = 1,
    ['O'] = 1, ['P'] = 1, ['Q'] = 1, ['R'] = 1, ['S'] = 1, ['T'] = 1, ['U'] = 1,
    ['V'] = 1, ['W'] = 1, ['X'] = 1, ['Y'] = 1, ['Z'] = 1, ['['] = 1,
    /* '\' (0x5C) is not plain */
    [']'] = 1, ['^'] = 1, ['_'] = 1, ['`'] = 1, ['a'] = 1, ['b'] = 1, ['c'] = 1,
    ['d'] = 1, ['e'] = 1, ['f'] = 1, ['g'] = 1, ['h'] = 1, ['i'] = 1, ['j'] = 1,
    ['k'] = 1, ['l'] = 1, ['m'] = 1, ['n'] = 1, ['o'] = 1, ['p'] = 1, ['q'] = 1,
    ['r'] = 1, ['s'] = 1, ['t'] = 1, ['u'] = 1, ['v'] = 1, ['w'] = 1, ['x'] = 1,
    ['y'] = 1, ['z'] = 1, ['{'] = 1, ['|'] = 1, ['}'] = 1, ['~'] = 1, ['\x7f'] = 1,
};

static bool is_ws(unsigned char c)
{
    return c == ' ' || c == '\n' || c == '\r' || c == '\t';
}

static bool is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

static const unsigned char *skip_ws(const unsigned char *p, const unsigned char *end)
{
    while (p < end && is_ws(*p)) {
        p++;
    }
    return p;
}

/* Value of one hex digit, or -1. */
static int hex_val(unsigned char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    c = (unsigned char)(c | 0x20); /* ASCII lower case */
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    return -1;
}

/* The 4 hex digits at p (p + 4 <= end checked by the caller), or -1. */
static long hex4(const unsigned char *p)
{
    long v = 0;
    for (int i = 0; i < 4; i++) {
        int d = hex_val(p[i]);
        if (d < 0) {
            return -1;
        }
        v = v << 4 | d;
    }
    return v;
}

/* ------------------------------------------------------------------ validation */

/* One well-formed UTF-8 sequence of 2 to 4 bytes starting at p (p[0] >=
 * 0x80); returns the byte after it, or NULL. */
static const unsigned char *scan_utf8(const unsigned char *p, const unsigned char *end)
{
    unsigned char c = p[0];
    unsigned char lo = 0x80, hi = 0xBF; /* allowed range of the second byte */
    size_t n;
    if (c < 0xC2 || c > 0xF4) {
        return NULL; /* continuation byte, overlong 2-byte lead, or beyond U+10FFFF */
    }
    if (c < 0xE0) {
        n = 2;
    } else if (c < 0xF0) {
        n = 3;
        lo = c == 0xE0 ? 0xA0 : 0x80; /* overlong */
        hi = c == 0xED ? 0x9F : 0xBF; /* UTF-16 surrogates */
    } else {
        n = 4;
        lo = c == 0xF0 ? 0x90 : 0x80; /* overlong */
        hi = c == 0xF4 ? 0x8F : 0xBF; /* above U+10FFFF */
    }
    if ((size_t)(end - p) < n || p[1] < lo || p[1] > hi) {
        return NULL;
    }
    for (size_t i = 2; i < n; i++) {
        if ((p[i] & 0xC0) != 0x80) {
            return NULL;
        }
    }
    return p + n;
}

/* One escape; p is just after the backslash. Returns the byte after it or
 * NULL. A high surrogate must be followed at once by a low one; a low one
 * on its own rejects. */
static const unsigned char *scan_escape(const unsigned char *p, const unsigned char *end)
{
    if (p == end) {
        return NULL;
    }
    switch (*p) {
    case '"': case '\\': case '/': case 'b': case 'f': case 'n': case 'r': case 't':
        return p + 1;
    case 'u':
        break;
    default:
        return NULL;
    }
    if (end - p < 5) {
        return NULL;
    }
    long cp = hex4(p + 1);
    p += 5;
    if (cp < 0 || (cp >= 0xDC00 && cp <= 0xDFFF)) {
        return NULL;
    }
    if (cp < 0xD800 || cp > 0xDBFF) {
        return p;
    }
    if (end - p < 6 || p[0] != '\\' || p[1] != 'u') {
        return NULL;
    }
    long low = hex4(p + 2);
    if (low < 0xDC00 || low > 0xDFFF) {
        return NULL;
    }
    return p + 6;
}

/* Skips bytes that need no attention inside a string; returns the first
 * quote, backslash, control or non-ASCII byte, or end. With SSE2 (every
 * x86-64 CPU) 16 bytes are checked per step: a signed compare against 0x20
 * catches both the controls and every byte >= 0x80. */
static const unsigned char *skip_plain(const unsigned char *p, const unsigned char *end)
{
#ifdef HAVE_SSE2_PATH
    const __m128i space = _mm_set1_epi8(0x20);
    const __m128i quote = _mm_set1_epi8('"');
    const __m128i backslash = _mm_set1_epi8('\\');
    while (end - p >= 16) {
        __m128i x = _mm_loadu_si128((const __m128i *)(const void *)p);
        __m128i special = _mm_or_si128(_mm_cmplt_epi8(x, space),
                                       _mm_or_si128(_mm_cmpeq_epi8(x, quote),
                                                    _mm_cmpeq_epi8(x, backslash)));
        unsigned mask = (unsigned)_mm_movemask_epi8(special);
        if (mask != 0) {
            return p + __builtin_ctz(mask);
        }
        p += 16;
    }
#endif
    while (p < end && str_plain[*p]) {
        p++;
    }
    return p;
}

/* The body of a string; p is just after the opening quote. Returns the
 * position of the closing quote, or NULL. */
static const unsigned char *scan_string(const unsigned char *p, const unsigned char *end,
                                        bool *escaped)
{
    for (;;) {
        p = skip_plain(p, end);
        if (p == end) {
            return NULL;
        }
        unsigned char c = *p;
        if (c == '"') {
            return p;
        }
        if (c == '\\') {
            *escaped = true;
            p = scan_escape(p + 1, end);
        } else if (c < 0x20) {
            return NULL;
        } else {
            p = scan_utf8(p, end);
        }
        if (p == NULL) {
            return NULL;
        }
    }
}

/* A number per the grammar above; returns the byte after it or NULL. What
 * may follow it is the caller's business ("01" fails there, at the "1"). */
static const unsigned char *scan_number(const unsigned char *p, const unsigned char *end)
{
    if (p < end && *p == '-') {
        p++;
    }
    if (p == end) {
        return NULL;
    }
    if (*p == '0') {
        p++;
    } else if (*p >= '1' && *p <= '9') {
        while (p < end && is_digit(*p)) {
            p++;
        }
    } else {
        return NULL;
    }
    if (p < end && *p == '.') {
        p++;
        if (p == end || !is_digit(*p)) {
            return NULL;
        }
        while (p < end && is_digit(*p)) {
            p++;
        }
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        p++;
        if (p < end && (*p == '+' || *p == '-')) {
            p++;
        }
        if (p == end || !is_digit(*p)) {
            return NULL;
        }
        while (p < end && is_digit(*p)) {
            p++;
        }
    }
    return p;
}

/* "true", "false" or "null" at p; returns the byte after it or NULL. */
static const unsigned char *scan_literal(const unsigned char *p, const unsigned char *end,
                                         uint8_t *type)
{
    static const struct {
        const char *text;
        size_t len;
        uint8_t type;
    } lits[] = {{"true", 4, TSR__J_TRUE}, {"false", 5, TSR__J_FALSE}, {"null", 4, TSR__J_NULL}};
    for (size_t i = 0; i < sizeof lits / sizeof lits[0]; i++) {
        if ((size_t)(end - p) >= lits[i].len && memcmp(p, lits[i].text, lits[i].len) == 0) {
            *type = lits[i].type;
            return p + lits[i].len;
        }
    }
    return NULL;
}

/* ------------------------------------------------------------------ unescaping */

/* Streams the unescaped bytes of a (validated) string token. */
typedef struct ustream {
    const unsigned char *p, *end;
    unsigned char pend[4]; /* UTF-8 of the current \u escape not yet returned */
    unsigned npend, ipend;
} ustream;

static void us_init(ustream *u, const tsr__jdoc *doc, const tsr__jtok *t)
{
    u->p = (const unsigned char *)doc->buf + t->start;
    u->end = u->p + t->len;
    u->npend = u->ipend = 0;
}

/* Appends the UTF-8 form of code point cp (<= 0x10FFFF) to u->pend. */
static void us_put_utf8(ustream *u, unsigned long cp)
{
    unsigned char *o = u->pend;
    if (cp < 0x80) {
        o[0] = (unsigned char)cp;
        u->npend = 1;
    } else if (cp < 0x800) {
        o[0] = (unsigned char)(0xC0 | cp >> 6);
        o[1] = (unsigned char)(0x80 | (cp & 0x3F));
        u->npend = 2;
    } else if (cp < 0x10000) {
        o[0] = (unsigned char)(0xE0 | cp >> 12);
        o[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
        o[2] = (unsigned char)(0x80 | (cp & 0x3F));
        u->npend = 3;
    } else {
        o[0] = (unsigned char)(0xF0 | cp >> 18);
        o[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
        o[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
        o[3] = (unsigned char)(0x80 | (cp & 0x3F));
        u->npend = 4;
    }
    u->ipend = 0;
}

/* Decodes the escape at u->p (a backslash) into u->pend. The token was
 * validated by the parser, so the escape is well-formed. */
static void us_escape(ustream *u)
{
    unsigned char c = u->p[1];
    u->p += 2;
    switch (c) {
    case 'b': c = '\b'; break;
    case 'f': c = '\f'; break;
    case 'n': c = '\n'; break;
    case 'r': c = '\r'; break;
    case 't': c = '\t'; break;
    case 'u': {
        unsigned long cp = (unsigned long)hex4(u->p);
        u->p += 4;
        if (cp >= 0xD800 && cp <= 0xDBFF) {
            unsigned long low = (unsigned long)hex4(u->p + 2);
            u->p += 6;
            cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
        }
        us_put_utf8(u, cp);
        return;
    }
    default: break; /* '"', '\' and '/' stand for themselves */
    }
    u->pend[0] = c;
    u->npend = 1;
    u->ipend = 0;
}

/* The next unescaped byte, or -1 at the end. */
static int us_next(ustream *u)
{
    if (u->ipend < u->npend) {
        return u->pend[u->ipend++];
    }
    if (u->p == u->end) {
        return -1;
    }
    if (*u->p != '\\') {
        return *u->p++;
    }
    us_escape(u);
    return u->pend[u->ipend++];
}

/* Member names are short: an inline loop beats a call to memcmp, and the
 * duplicate check runs it for every pair of names. */
static bool bytes_equal(const char *a, const char *b, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (a[i] != b[i]) {
            return false;
        }
    }
    return true;
}

static bool tokens_equal(const tsr__jdoc *doc, const tsr__jtok *a, const tsr__jtok *b)
{
    if (!a->escaped && !b->escaped) {
        return a->len == b->len && bytes_equal(doc->buf + a->start, doc->buf + b->start, a->len);
    }
    ustream ua, ub;
    us_init(&ua, doc, a);
    us_init(&ub, doc, b);
    for (;;) {
        int ca = us_next(&ua);
        if (ca != us_next(&ub)) {
            return false;
        }
        if (ca < 0) {
            return true;
        }
    }
}

/* ------------------------------------------------------------------ parser */

/* Appends a token; NULL when the capacity is exhausted. */
static tsr__jtok *push(parser *ps, uint8_t type, const unsigned char *start)
{
    if (ps->n == ps->cap) {
        return NULL;
    }
    tsr__jtok *t = &ps->toks[ps->n++];
    t->type = type;
    t->escaped = 0;
    t->start = (uint32_t)(start - ps->base);
    t->len = 0;
    t->count = 0;
    t->end = (uint32_t)ps->n;
    return t;
}

/* A summary of a member name after unescaping: its length and its first
 * and last two bytes. Equal names have equal summaries, so only names whose
 * summaries match need a full comparison. */
static uint64_t name_summary(const tsr__jdoc *doc, const tsr__jtok *t)
{
    const unsigned char *p = (const unsigned char *)doc->buf + t->start;
    uint64_t n = t->len;
    unsigned f0 = 0, f1 = 0, l0 = 0, l1 = 0;
    if (!t->escaped) {
        if (n >= 1) {
            f0 = p[0];
            l1 = p[n - 1];
        }
        if (n >= 2) {
            f1 = p[1];
            l0 = p[n - 2];
        }
    } else {
        ustream u;
        us_init(&u, doc, t);
        n = 0;
        for (int c = us_next(&u); c >= 0; c = us_next(&u), n++) {
            f0 = n == 0 ? (unsigned)c : f0;
            f1 = n == 1 ? (unsigned)c : f1;
            l0 = l1;
            l1 = (unsigned)c;
        }
    }
    return n << 32 | f0 << 24 | f1 << 16 | l0 << 8 | l1;
}

/* Up to this many members, names are summarised into local arrays and
 * compared pairwise from there; beyond it, pairwise by walking the tokens. */
#define NAMES_FAST 32

/* Whether the object at token `obj`, just closed, repeats a member name.
 * Quadratic in the member count, which the token capacity bounds. */
static bool has_duplicate_name(const parser *ps, size_t obj)
{
    const tsr__jdoc doc = {(const char *)ps->base, (size_t)(ps->end - ps->base), ps->toks, ps->n};
    const tsr__jtok *toks = ps->toks;
    uint32_t count = toks[obj].count;
    if (count > NAMES_FAST) {
        for (size_t i = obj + 1, m = 0; m + 1 < count; i = toks[i + 1].end, m++) {
            for (size_t j = toks[i + 1].end, r = m + 1; r < count; j = toks[j + 1].end, r++) {
                if (tokens_equal(&doc, &toks[i], &toks[j])) {
                    return true;
                }
            }
        }
        return false;
    }
    uint64_t sum[NAMES_FAST];
    uint32_t at[NAMES_FAST];
    size_t k = obj + 1;
    for (uint32_t m = 0; m < count; m++, k = toks[k + 1].end) {
        at[m] = (uint32_t)k;
        sum[m] = name_summary(&doc, &toks[k]);
    }
    for (uint32_t i = 0; i + 1 < count; i++) {
        for (uint32_t j = i + 1; j < count; j++) {
            if (sum[i] == sum[j] && tokens_equal(&doc, &toks[at[i]], &toks[at[j]])) {
                return true;
            }
        }
    }
    return false;
}

/* Parses a string token at p (the opening quote); returns the byte after
 * the closing quote or NULL with *rc set. */
static const unsigned char *parse_string(parser *ps, const unsigned char *p, tsr_err *rc)
{
    tsr__jtok *t = push(ps, TSR__J_STRING, p + 1);
    if (t == NULL) {
        *rc = TSR_ERR_TOO_LARGE;
        return NULL;
    }
    bool escaped = false;
    const unsigned char *close = scan_string(p + 1, ps->end, &escaped);
    if (close == NULL) {
        *rc = TSR_ERR_MALFORMED;
        return NULL;
    }
    t->escaped = escaped;
    t->len = (uint32_t)(close - (p + 1));
    return close + 1;
}

/* Parses a member name and the colon after it; p is at the name. */
static const unsigned char *parse_name(parser *ps, const unsigned char *p, tsr_err *rc)
{
    if (p == ps->end || *p != '"') {
        *rc = TSR_ERR_MALFORMED;
        return NULL;
    }
    p = parse_string(ps, p, rc);
    if (p == NULL) {
        return NULL;
    }
    ps->toks[ps->cur].count++;
    p = skip_ws(p, ps->end);
    if (p == ps->end || *p != ':') {
        *rc = TSR_ERR_MALFORMED;
        return NULL;
    }
    return skip_ws(p + 1, ps->end);
}

/* Opens an object or array at p. The parent index is parked in `end`. */
static const unsigned char *open_container(parser *ps, const unsigned char *p, tsr_err *rc)
{
    tsr__jtok *t = push(ps, *p == '{' ? TSR__J_OBJECT : TSR__J_ARRAY, p);
    if (t == NULL || ++ps->depth > ps->max_depth) {
        *rc = TSR_ERR_TOO_LARGE;
        return NULL;
    }
    t->end = ps->cur;
    ps->cur = (uint32_t)(ps->n - 1);
    return p + 1;
}

/* Closes the innermost container at p (its closing bracket). Member names
 * are checked for duplicates here, once the object is complete. */
static const unsigned char *close_container(parser *ps, const unsigned char *p, tsr_err *rc)
{
    size_t i = ps->cur;
    tsr__jtok *t = &ps->toks[i];
    ps->cur = t->end;
    t->end = (uint32_t)ps->n;
    t->len = (uint32_t)(p + 1 - ps->base) - t->start;
    ps->depth--;
    if (t->type == TSR__J_OBJECT && t->count > 1 && has_duplicate_name(ps, i)) {
        *rc = TSR_ERR_MALFORMED;
        return NULL;
    }
    return p + 1;
}

/* Parses one value at p: a scalar completely, a container only its opening
 * bracket (the main loop does the rest). */
static const unsigned char *parse_value(parser *ps, const unsigned char *p, tsr_err *rc)
{
    if (ps->cur != NO_PARENT && ps->toks[ps->cur].type == TSR__J_ARRAY) {
        ps->toks[ps->cur].count++;
    }
    if (p == ps->end) {
        *rc = TSR_ERR_MALFORMED;
        return NULL;
    }
    if (*p == '{' || *p == '[') {
        return open_container(ps, p, rc);
    }
    if (*p == '"') {
        return parse_string(ps, p, rc);
    }
    uint8_t type = TSR__J_NUMBER;
    const unsigned char *after =
        (*p == '-' || is_digit(*p)) ? scan_number(p, ps->end) : scan_literal(p, ps->end, &type);
    if (after == NULL) {
        *rc = TSR_ERR_MALFORMED;
        return NULL;
    }
    tsr__jtok *t = push(ps, type, p);
    if (t == NULL) {
        *rc = TSR_ERR_TOO_LARGE;
        return NULL;
    }
    t->len = (uint32_t)(after - p);
    return after;
}

/* After a value: a comma, the innermost container's closing bracket, or
 * (at top level) the end of the document. Sets *want_value when a value
 * must follow; returns NULL with *rc set on error, or `end` when done. */
static const unsigned char *after_value(parser *ps, const unsigned char *p, bool *want_value,
                                        tsr_err *rc)
{
    for (;;) {
        p = skip_ws(p, ps->end);
        if (ps->cur == NO_PARENT) {
            if (p != ps->end) {
                *rc = TSR_ERR_MALFORMED; /* trailing data */
                return NULL;
            }
            *want_value = false;
            return p;
        }
        bool in_object = ps->toks[ps->cur].type == TSR__J_OBJECT;
        if (p == ps->end) {
            *rc = TSR_ERR_MALFORMED;
            return NULL;
        }
        if (*p == ',') {
            p = skip_ws(p + 1, ps->end);
            *want_value = true;
            return in_object ? parse_name(ps, p, rc) : p;
        }
        if (*p != (in_object ? '}' : ']')) {
            *rc = TSR_ERR_MALFORMED;
            return NULL;
        }
        p = close_container(ps, p, rc);
        if (p == NULL) {
            return NULL;
        }
    }
}

/* The main loop: values and separators alternate until the document ends. */
static tsr_err parse_document(parser *ps)
{
    tsr_err rc = TSR_OK;
    const unsigned char *p = skip_ws(ps->base, ps->end);
    bool want_value = true;
    while (want_value) {
        size_t before = ps->n;
        p = parse_value(ps, p, &rc);
        if (p == NULL) {
            return rc;
        }
        bool opened = ps->n > before && ps->cur == before;
        if (opened) {
            /* A fresh container: it may be empty, or starts with a member
             * name or an element. */
            p = skip_ws(p, ps->end);
            unsigned char close = ps->toks[ps->cur].type == TSR__J_OBJECT ? '}' : ']';
            if (p == ps->end || *p != close) {
                if (close == '}') {
                    p = parse_name(ps, p, &rc);
                    if (p == NULL) {
                        return rc;
                    }
                }
                continue;
            }
            p = close_container(ps, p, &rc);
            if (p == NULL) {
                return rc;
            }
        }
        p = after_value(ps, p, &want_value, &rc);
        if (p == NULL) {
            return rc;
        }
    }
    return TSR_OK;
}

tsr_err tsr__json_parse(const char *buf, size_t len, tsr__jtok *toks, size_t cap,
                        unsigned max_depth, tsr__jdoc *doc)
{
    if (doc == NULL) {
        return TSR_ERR_INVALID_ARGUMENT;
    }
    memset(doc, 0, sizeof *doc);
    if ((buf == NULL && len > 0) || (toks == NULL && cap > 0)) {
        return TSR_ERR_INVALID_ARGUMENT;
    }
    if (len >= UINT32_MAX) {
        return TSR_ERR_TOO_LARGE; /* offsets are 32-bit */
    }
    if (len == 0) {
        return TSR_ERR_MALFORMED; /* (and buf may be NULL) */
    }
    parser ps = {
        .base = (const unsigned char *)buf,
        .end = (const unsigned char *)buf + len,
        .toks = toks,
        .cap = cap < UINT32_MAX ? cap : UINT32_MAX - 1,
        .n = 0,
        .cur = NO_PARENT,
        .depth = 0,
        .max_depth = max_depth,
    };
    tsr_err rc = parse_document(&ps);
    if (rc != TSR_OK) {
        return rc;
    }
    doc->buf = buf;
    doc->len = len;
    doc->toks = toks;
    doc->ntoks = ps.n;
    return TSR_OK;
}

/* ------------------------------------------------------------------ accessors */

/* Token i if it exists and is a string, else NULL. */
static const tsr__jtok *string_tok(const tsr__jdoc *doc, size_t i)
{
    if (doc == NULL || i >= doc->ntoks || doc->toks[i].type != TSR__J_STRING) {
        return NULL;
    }
    return &doc->toks[i];
}

bool tsr__json_str_eq(const tsr__jdoc *doc, size_t i, const char *s, size_t len)
{
    const tsr__jtok *t = string_tok(doc, i);
    if (t == NULL || (s == NULL && len > 0)) {
        return false;
    }
    if (!t->escaped) {
        return t->len == len && bytes_equal(doc->buf + t->start, s, len);
    }
    if (len > t->len) {
        return false; /* unescaping never lengthens a string */
    }
    ustream u;
    us_init(&u, doc, t);
    for (size_t k = 0; k < len; k++) {
        if (us_next(&u) != (unsigned char)s[k]) {
            return false;
        }
    }
    return us_next(&u) < 0;
}

static int ascii_lower(int c)
{
    return (c >= 'A' && c <= 'Z') ? c - 'A' + 'a' : c;
}

bool tsr__json_str_eq_nocase(const tsr__jdoc *doc, size_t i, const char *s, size_t len)
{
    const tsr__jtok *t = string_tok(doc, i);
    if (t == NULL || (s == NULL && len > 0) || len > t->len) {
        return false;
    }
    ustream u;
    us_init(&u, doc, t);
    for (size_t k = 0; k < len; k++) {
        int c = us_next(&u);
        if (c < 0 || ascii_lower(c) != ascii_lower((unsigned char)s[k])) {
            return false;
        }
    }
    return us_next(&u) < 0;
}

long tsr__json_find(const tsr__jdoc *doc, size_t obj, const char *name, size_t name_len)
{
    if (doc == NULL || obj >= doc->ntoks || doc->toks[obj].type != TSR__J_OBJECT) {
        return -1;
    }
    size_t k = obj + 1;
    for (uint32_t m = 0; m < doc->toks[obj].count; m++) {
        if (tsr__json_str_eq(doc, k, name, name_len)) {
            return (long)(k + 1);
        }
        k = doc->toks[k + 1].end;
    }
    return -1;
}

tsr_err tsr__json_str_copy(const tsr__jdoc *doc, size_t i, char *out, size_t cap,
                           size_t *out_len)
{
    if (out_len != NULL) {
        *out_len = 0;
    }
    if (out == NULL && cap > 0) {
        return TSR_ERR_INVALID_ARGUMENT;
    }
    if (cap > 0) {
        out[0] = '\0';
    }
    const tsr__jtok *t = string_tok(doc, i);
    if (t == NULL) {
        return TSR_ERR_MALFORMED; /* not a string: the document has the wrong shape */
    }
    ustream u;
    us_init(&u, doc, t);
    size_t n = 0;
    for (int c = us_next(&u); c >= 0; c = us_next(&u)) {
        if (n + 1 >= cap) {
            if (cap > 0) {
                memset(out, 0, cap);
            }
            return TSR_ERR_TOO_LARGE;
        }
        out[n++] = (char)c;
    }
    if (cap == 0) {
        return TSR_ERR_TOO_LARGE; /* no room even for the NUL */
    }
    out[n] = '\0';
    if (out_len != NULL) {
        *out_len = n;
    }
    return TSR_OK;
}

/* ------------------------------------------------------------------ numbers
 * A JSON number is sign * 0.DIGITS * 10^point in disguise: the digits of the
 * integer and fraction parts concatenated, and the position of the decimal
 * point within them (integer length + exponent). Working on that digit
 * string with integers keeps every conversion exact, whatever the spelling
 * ("1300819380.5", "13008193805e-1", "1.3008193805e9"). */

/* Exponents beyond this only decide "zero integer part" or "too large"; the
 * clamp keeps the point arithmetic far from overflow. */
#define EXP_CLAMP ((int64_t)1 << 40)

typedef struct digits {
    const unsigned char *ip; /* integer digits */
    size_t ilen;
    const unsigned char *fp; /* fraction digits (may be empty) */
    size_t flen;
} digits;

static unsigned digit_at(const digits *d, size_t k)
{
    return (unsigned)(k < d->ilen ? d->ip[k] : d->fp[k - d->ilen]) - '0';
}

/* Splits validated number text into sign, digits and clamped exponent. */
static void split_number(const unsigned char *p, const unsigned char *end, bool *neg, digits *d,
                         int64_t *exp)
{
    *neg = *p == '-';
    p += *neg;
    d->ip = p;
    while (p < end && is_digit(*p)) {
        p++;
    }
    d->ilen = (size_t)(p - d->ip);
    d->fp = p;
    d->flen = 0;
    if (p < end && *p == '.') {
        d->fp = ++p;
        while (p < end && is_digit(*p)) {
            p++;
        }
        d->flen = (size_t)(p - d->fp);
    }
    *exp = 0;
    if (p < end) { /* 'e' or 'E' */
        p++;
        bool eneg = *p == '-';
        p += (*p == '-' || *p == '+');
        for (; p < end; p++) {
            if (*exp < EXP_CLAMP) {
                *exp = *exp * 10 + (*p - '0');
            }
        }
        if (eneg) {
            *exp = -*exp;
        }
    }
}

/* Fast path for the common case, a plain integer of at most 18 digits
 * (every realistic NumericDate): it cannot overflow int64, so it needs none
 * of the digit-string analysis below. */
static bool small_integer(const unsigned char *p, size_t len, int64_t *out)
{
    size_t i = (len > 0 && p[0] == '-') ? 1 : 0;
    if (len - i == 0 || len - i > 18) {
        return false;
    }
    int64_t v = 0;
    for (size_t k = i; k < len; k++) {
        if (!is_digit(p[k])) {
            return false; /* a fraction or an exponent */
        }
        v = v * 10 + (p[k] - '0');
    }
    *out = i ? -v : v;
    return true;
}

tsr_err tsr__json_numdate(const tsr__jdoc *doc, size_t i, tsr__numdate *out)
{
    if (out == NULL) {
        return TSR_ERR_INVALID_ARGUMENT;
    }
    out->sec = 0;
    out->frac = false;
    if (doc == NULL || i >= doc->ntoks || doc->toks[i].type != TSR__J_NUMBER) {
        return TSR_ERR_MALFORMED;
    }
    const unsigned char *p = (const unsigned char *)doc->buf + doc->toks[i].start;
    if (small_integer(p, doc->toks[i].len, &out->sec)) {
        return TSR_OK;
    }
    bool neg;
    digits d;
    int64_t exp;
    split_number(p, p + doc->toks[i].len, &neg, &d, &exp);

    /* Significant digits are [first, last); the point sits before digit
     * `point` (it may lie outside the digit string on either side). */
    size_t nd = d.ilen + d.flen, first = 0, last = nd;
    while (first < nd && digit_at(&d, first) == 0) {
        first++;
    }
    if (first == nd) {
        return TSR_OK; /* zero, however spelled: 0, -0.0, 0e99 */
    }
    while (digit_at(&d, last - 1) == 0) {
        last--;
    }
    int64_t point = (int64_t)d.ilen + exp;
    if (point - (int64_t)first > 19) {
        return TSR_ERR_MALFORMED; /* at least 10^19: beyond int64 */
    }
    /* Integer part: at most 19 digits, so it fits in uint64 without checks. */
    uint64_t mag = 0;
    for (int64_t k = (int64_t)first; k < point; k++) {
        mag = mag * 10 + ((size_t)k < last ? digit_at(&d, (size_t)k) : 0);
    }
    bool frac = (int64_t)last > point;
    /* The value itself must lie in [INT64_MIN, INT64_MAX]. */
    const uint64_t two63 = (uint64_t)1 << 63;
    if (neg ? (frac ? mag >= two63 : mag > two63) : (frac ? mag >= two63 - 1 : mag >= two63)) {
        return TSR_ERR_MALFORMED;
    }
    if (!neg) {
        out->sec = (int64_t)mag;
    } else if (mag == two63) {
        out->sec = INT64_MIN;
    } else {
        out->sec = -(int64_t)mag - (frac ? 1 : 0);
    }
    out->frac = frac;
    return TSR_OK;
}

tsr_err tsr__json_int(const tsr__jdoc *doc, size_t i, int64_t *out)
{
    if (out == NULL) {
        return TSR_ERR_INVALID_ARGUMENT;
    }
    /* Integral values in any spelling are integers ("1.0", "1e3", "-0"):
     * JSON does not distinguish them and producers differ. */
    tsr__numdate nd;
    tsr_err rc = tsr__json_numdate(doc, i, &nd);
    if (rc != TSR_OK || nd.frac) {
        *out = 0;
        return TSR_ERR_MALFORMED;
    }
    *out = nd.sec;
    return TSR_OK;
}
