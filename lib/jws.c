/*
 * jws.c: the compact JWS serialization (RFC 7515 section 7.1) and the JOSE
 * header rules a tessera verifier enforces before it touches a key.
 *
 * Splitting never allocates and never decodes: it finds the two dots and
 * hands out slices of the caller's token. The header rules run on the
 * header already decoded and parsed by the strict JSON reader (verifier.c
 * does that with the tsr_jwt's buffers), in one pass over its members.
 *
 * Decisions worth knowing (issue 2, "Verifier" and "Policy details"):
 *  - alg must be a string. "none" in any spelling, an unknown name and a
 *    name outside the allowlist are all alg_not_allowed: an unknown name can
 *    never be in the allowlist, and the caller learns nothing more.
 *  - kid, typ and cty must be strings (malformed otherwise).
 *  - enc means a JWE: unsupported.
 *  - crit: a non-empty array of strings is the only well-formed
 *    value (anything else is malformed, an empty array crit_unsupported).
 *    tessera understands no extension that may be critical (b64 is refused),
 *    so every well-formed crit is crit_unsupported.
 *  - b64 must be a boolean; false is unsupported. true is what every JWS
 *    means anyway (RFC 7797 section 3), so a lone b64:true is ignored like
 *    any other non-critical parameter.
 *  - cty "JWT" (case-insensitive, "application/" prefix optional) announces
 *    a nested JWT: unsupported.
 *  - jwk, jku, x5u, x5c, x5t and every other parameter are ignored: keys come
 *    only from the verifier's key set.
 */
#include <string.h>

#include "internal.h"

/*
 * Compact grammar, byte level:
 *   token   = header "." payload "." sig [ "\n" | "\r\n" ]
 *   header  = 1*B64CHAR      payload = *B64CHAR      sig = 1*B64CHAR
 * The alphabet itself is checked by the base64url decoder; here only the
 * dots matter, so any third dot makes the token malformed.
 */
tsr_err tsr__jws_split(const char *token, size_t len, size_t max_len, tsr__jws_parts *out,
                       tsr_error *err)
{
    memset(out, 0, sizeof *out);
    if (len > 0 && token[len - 1] == '\n') {
        len--;
        if (len > 0 && token[len - 1] == '\r') {
            len--;
        }
    }
    /* The cap comes before anything else looks at the bytes. */
    if (len > max_len) {
        return tsr__fail(err, TSR_ERR_TOO_LARGE, "token is longer than %zu characters", max_len);
    }
    const char *d1 = memchr(token, '.', len);
    if (d1 == NULL) {
        return tsr__fail(err, TSR_ERR_MALFORMED, "token is not a compact JWS (no '.')");
    }
    size_t h_len = (size_t)(d1 - token);
    const char *rest = d1 + 1;
    size_t rest_len = len - h_len - 1;
    const char *d2 = memchr(rest, '.', rest_len);
    if (d2 == NULL) {
        return tsr__fail(err, TSR_ERR_MALFORMED, "token has two segments, not three");
    }
    size_t p_len = (size_t)(d2 - rest);
    const char *sig = d2 + 1;
    size_t s_len = rest_len - p_len - 1;
    if (memchr(sig, '.', s_len) != NULL) {
        return tsr__fail(err, TSR_ERR_MALFORMED, "token has more than three segments");
    }
    if (h_len == 0) {
        return tsr__fail(err, TSR_ERR_MALFORMED, "empty header segment");
    }
    out->header = (tsr_str){token, h_len};
    out->payload = (tsr_str){rest, p_len};
    out->sig = (tsr_str){sig, s_len};
    out->signing_input_len = h_len + 1 + p_len;
    return TSR_OK;
}

/* Header members the rules look at. */
enum hparam { HP_OTHER = 0, HP_ALG, HP_KID, HP_TYP, HP_CTY, HP_ENC, HP_CRIT, HP_B64, HP__COUNT };

static const struct {
    const char *name;
    size_t len;
} hnames[HP__COUNT] = {
    [HP_OTHER] = {"", 0},  [HP_ALG] = {"alg", 3}, [HP_KID] = {"kid", 3},   [HP_TYP] = {"typ", 3},
    [HP_CTY] = {"cty", 3}, [HP_ENC] = {"enc", 3}, [HP_CRIT] = {"crit", 4}, [HP_B64] = {"b64", 3},
};

/* Which parameter the member name at token `k` is. Unescaped names (the
 * common case) are compared as raw bytes; escaped ones through the reader. */
static enum hparam classify(const tsr__jdoc *doc, size_t k)
{
    const tsr__jtok *t = &doc->toks[k];
    for (int p = HP_ALG; p < HP__COUNT; p++) {
        if (t->escaped) {
            if (tsr__json_str_eq(doc, k, hnames[p].name, hnames[p].len)) {
                return (enum hparam)p;
            }
        } else if (t->len == hnames[p].len &&
                   memcmp(doc->buf + t->start, hnames[p].name, hnames[p].len) == 0) {
            return (enum hparam)p;
        }
    }
    return HP_OTHER;
}

/* alg: a string naming an allowed algorithm. The name is unescaped into a
 * small buffer; anything longer than every algorithm name is unknown. */
static tsr_err check_alg(const tsr__jdoc *doc, long i, uint32_t allowed, tsr_alg *out,
                         tsr_error *err)
{
    if (i < 0) {
        return tsr__fail(err, TSR_ERR_MALFORMED, "header has no alg");
    }
    if (doc->toks[i].type != TSR__J_STRING) {
        return tsr__fail(err, TSR_ERR_MALFORMED, "header alg is not a string");
    }
    char name[16];
    size_t n = 0;
    if (tsr__json_str_copy(doc, (size_t)i, name, sizeof name, &n) != TSR_OK) {
        return tsr__fail(err, TSR_ERR_ALG_NOT_ALLOWED, "header alg is not a known algorithm");
    }
    tsr_alg alg = TSR_ALG_UNSPECIFIED;
    tsr_err rc = tsr_alg_from_name(name, n, &alg);
    if (rc == TSR_ERR_ALG_NOT_ALLOWED) {
        return tsr__fail(err, TSR_ERR_ALG_NOT_ALLOWED, "alg \"none\" is never accepted");
    }
    if (rc != TSR_OK) {
        return tsr__fail(err, TSR_ERR_ALG_NOT_ALLOWED, "header alg is not a known algorithm");
    }
    if ((allowed & TSR_ALG_BIT(alg)) == 0) {
        return tsr__fail(err, TSR_ERR_ALG_NOT_ALLOWED, "alg %s is not in the allowlist",
                         tsr_alg_name(alg));
    }
    *out = alg;
    return TSR_OK;
}

/* crit: see the file comment. Every outcome is a rejection; the shape only
 * decides between malformed and crit_unsupported. */
static tsr_err check_crit(const tsr__jdoc *doc, long i, tsr_error *err)
{
    const tsr__jtok *c = &doc->toks[i];
    if (c->type != TSR__J_ARRAY) {
        return tsr__fail(err, TSR_ERR_MALFORMED, "header crit is not an array");
    }
    if (c->count == 0) {
        return tsr__fail(err, TSR_ERR_CRIT_UNSUPPORTED, "header crit is empty");
    }
    for (size_t e = (size_t)i + 1; e < c->end; e = doc->toks[e].end) {
        if (doc->toks[e].type != TSR__J_STRING) {
            return tsr__fail(err, TSR_ERR_MALFORMED, "header crit holds a non-string");
        }
    }
    return tsr__fail(err, TSR_ERR_CRIT_UNSUPPORTED,
                     "header crit names an extension tessera does not support");
}

/* ASCII-only case folding: strncasecmp would follow the caller's locale. */
static bool ascii_ieq(const char *a, const char *b, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char x = a[i];
        char y = b[i];
        x = (char)(x >= 'A' && x <= 'Z' ? x - 'A' + 'a' : x);
        y = (char)(y >= 'A' && y <= 'Z' ? y - 'A' + 'a' : y);
        if (x != y) {
            return false;
        }
    }
    return true;
}

/* Whether string token `i` equals s[0..n) ignoring ASCII case. Unescaped
 * strings (nearly all) compare in place; the reader handles the rest. */
static bool str_is_nocase(const tsr__jdoc *doc, size_t i, const char *s, size_t n)
{
    const tsr__jtok *t = &doc->toks[i];
    if (!t->escaped) {
        return t->len == n && ascii_ieq(doc->buf + t->start, s, n);
    }
    return tsr__json_str_eq_nocase(doc, i, s, n);
}

/* Whether string token `i` is s, or "application/" + s, ignoring case. */
static bool media_type_is(const tsr__jdoc *doc, size_t i, const char *s, size_t n,
                          const char *app_s, size_t app_n)
{
    return str_is_nocase(doc, i, s, n) || str_is_nocase(doc, i, app_s, app_n);
}

bool tsr__jws_typ_matches(const tsr__jdoc *doc, long typ, const char *short_form, size_t short_len,
                          const char *long_form, size_t long_len)
{
    if (typ < 0) {
        return false;
    }
    return media_type_is(doc, (size_t)typ, short_form, short_len, long_form, long_len);
}

/* One pass collecting the member indices; the name classification is the
 * only per-member cost. Duplicate names were already refused by the reader. */
static void collect(const tsr__jdoc *doc, long idx[HP__COUNT])
{
    for (int p = 0; p < HP__COUNT; p++) {
        idx[p] = -1;
    }
    const tsr__jtok *obj = &doc->toks[0];
    size_t k = 1;
    for (uint32_t m = 0; m < obj->count; m++) {
        size_t v = k + 1;
        enum hparam p = classify(doc, k);
        if (p != HP_OTHER) {
            idx[p] = (long)v;
        }
        k = doc->toks[v].end;
    }
}

static bool is_string_or_absent(const tsr__jdoc *doc, long i)
{
    return i < 0 || doc->toks[i].type == TSR__J_STRING;
}

tsr_err tsr__jws_check_header(const tsr__jdoc *doc, uint32_t allowed, tsr__jws_header *out,
                              tsr_error *err)
{
    out->alg = TSR_ALG_UNSPECIFIED;
    out->kid = -1;
    out->typ = -1;
    if (doc->ntoks == 0 || doc->toks[0].type != TSR__J_OBJECT) {
        return tsr__fail(err, TSR_ERR_MALFORMED, "header is not a JSON object");
    }
    long idx[HP__COUNT];
    collect(doc, idx);

    tsr_alg alg = TSR_ALG_UNSPECIFIED;
    tsr_err rc = check_alg(doc, idx[HP_ALG], allowed, &alg, err);
    if (rc != TSR_OK) {
        return rc;
    }
    if (!is_string_or_absent(doc, idx[HP_KID]) || !is_string_or_absent(doc, idx[HP_TYP]) ||
        !is_string_or_absent(doc, idx[HP_CTY])) {
        return tsr__fail(err, TSR_ERR_MALFORMED, "header kid, typ or cty is not a string");
    }
    if (idx[HP_ENC] >= 0) {
        return tsr__fail(err, TSR_ERR_UNSUPPORTED, "header has enc: JWE is not supported");
    }
    if (idx[HP_CRIT] >= 0) {
        return check_crit(doc, idx[HP_CRIT], err);
    }
    if (idx[HP_B64] >= 0) {
        uint8_t t = doc->toks[idx[HP_B64]].type;
        if (t == TSR__J_FALSE) {
            return tsr__fail(err, TSR_ERR_UNSUPPORTED, "header b64:false is not supported");
        }
        if (t != TSR__J_TRUE) {
            return tsr__fail(err, TSR_ERR_MALFORMED, "header b64 is not a boolean");
        }
    }
    if (idx[HP_CTY] >= 0 &&
        media_type_is(doc, (size_t)idx[HP_CTY], "JWT", 3, "application/JWT", 15)) {
        return tsr__fail(err, TSR_ERR_UNSUPPORTED, "nested JWT (cty JWT) is not supported");
    }
    out->alg = alg;
    out->kid = idx[HP_KID];
    out->typ = idx[HP_TYP];
    return TSR_OK;
}
