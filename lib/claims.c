/*
 * claims.c: validation of the registered JWT claims (RFC 7519 section 4.1)
 * against a policy, on the payload already parsed by the strict reader.
 *
 * It runs only after the signature has verified, so nothing here can teach
 * a forger anything. Checks come in a fixed order and the first failure is
 * reported:
 *   1. the payload is a JSON object                          (malformed)
 *   2. types: exp/nbf/iat are NumericDates within int64, iss and sub are
 *      strings, aud is a string or an array of strings, whether or not the
 *      policy asks for them                                  (malformed)
 *   3. presence: exp, each required claim, iat when a maximum age is set,
 *      iss/sub/aud when the policy configures them          (missing_claim)
 *   4. times: exp, nbf, iat in the future, maximum age
 *   5. iss, sub, aud (aud present with no audience configured rejects,
 *      RFC 7519 4.1.3)
 *
 * Time arithmetic. A NumericDate is sec + f with f = 0 or 0 < f < 1 (the
 * reader converts exactly); `now` and the leeway are integers. Every
 * comparison is rewritten as an integer difference d compared with 0, and
 * the fraction only decides between "<" and "<=": for an integer d and
 * 0 < f < 1, d >= f <=> d > 0 and d < f <=> d <= 0. Differences of three
 * int64 values are computed in 128 bits, so dates near the int64 limits
 * cannot overflow.
 */
#include <string.h>

#include "internal.h"

__extension__ typedef __int128 wide;

enum claim { CL_OTHER = 0, CL_EXP, CL_NBF, CL_IAT, CL_ISS, CL_SUB, CL_AUD, CL__COUNT };

/* The dates come first in the enum, so a small array indexed by claim holds
 * them (index 0 unused). */
#define NDATES (CL_IAT + 1)

static const char *const cnames[CL__COUNT] = {
    [CL_OTHER] = "",  [CL_EXP] = "exp", [CL_NBF] = "nbf", [CL_IAT] = "iat",
    [CL_ISS] = "iss", [CL_SUB] = "sub", [CL_AUD] = "aud",
};

/* Which registered claim the raw name s[0..3) is. A switch on the first
 * byte: this runs for every member of every payload. */
static enum claim classify_raw(const char *s)
{
    switch (s[0]) {
    case 'e': return s[1] == 'x' && s[2] == 'p' ? CL_EXP : CL_OTHER;
    case 'n': return s[1] == 'b' && s[2] == 'f' ? CL_NBF : CL_OTHER;
    case 'i':
        if (s[1] == 'a' && s[2] == 't') {
            return CL_IAT;
        }
        return s[1] == 's' && s[2] == 's' ? CL_ISS : CL_OTHER;
    case 's': return s[1] == 'u' && s[2] == 'b' ? CL_SUB : CL_OTHER;
    case 'a': return s[1] == 'u' && s[2] == 'd' ? CL_AUD : CL_OTHER;
    default: return CL_OTHER;
    }
}

/* All registered names checked here are three bytes long; escaped names
 * (rare, but a name may legally be spelled "\u0065xp") go through the
 * reader's unescaping comparison. */
static enum claim classify(const tsr__jdoc *doc, size_t k)
{
    const tsr__jtok *t = &doc->toks[k];
    if (!t->escaped) {
        return t->len == 3 ? classify_raw(doc->buf + t->start) : CL_OTHER;
    }
    for (int c = CL_EXP; c < CL__COUNT; c++) {
        if (tsr__json_str_eq(doc, k, cnames[c], 3)) {
            return (enum claim)c;
        }
    }
    return CL_OTHER;
}

/* Value token index of each registered claim, -1 when absent. */
static void collect(const tsr__jdoc *doc, long idx[CL__COUNT])
{
    for (int c = 0; c < CL__COUNT; c++) {
        idx[c] = -1;
    }
    size_t k = 1;
    for (uint32_t m = 0; m < doc->toks[0].count; m++) {
        size_t v = k + 1;
        enum claim c = classify(doc, k);
        if (c != CL_OTHER) {
            idx[c] = (long)v;
        }
        k = doc->toks[v].end;
    }
}

/* Whether string token `i` equals s[0..n). Unescaped strings (nearly all)
 * are their own value, so a length check and memcmp decide; the reader's
 * unescaping comparison is for the rest. Measured on the verify hot path. */
static bool str_is(const tsr__jdoc *doc, size_t i, const char *s, size_t n)
{
    const tsr__jtok *t = &doc->toks[i];
    if (!t->escaped) {
        return t->len == n && memcmp(doc->buf + t->start, s, n) == 0;
    }
    return tsr__json_str_eq(doc, i, s, n);
}

/* NumericDate of number token `i`. Dates are nearly always plain
 * non-negative integers of at most 18 digits (no sign, fraction or
 * exponent), which cannot overflow int64 and are converted here directly;
 * every other spelling goes through the reader's exact conversion. */
static tsr_err numdate(const tsr__jdoc *doc, size_t i, tsr__numdate *out)
{
    const tsr__jtok *t = &doc->toks[i];
    const char *p = doc->buf + t->start;
    if (t->len > 18) {
        return tsr__json_numdate(doc, i, out);
    }
    int64_t v = 0;
    for (uint32_t k = 0; k < t->len; k++) {
        if (p[k] < '0' || p[k] > '9') {
            return tsr__json_numdate(doc, i, out);
        }
        v = v * 10 + (p[k] - '0');
    }
    out->sec = v;
    out->frac = false;
    return TSR_OK;
}

/* Step 2 for the dates: converts the ones present. */
static tsr_err read_dates(const tsr__jdoc *doc, const long idx[CL__COUNT], tsr__numdate d[NDATES],
                          tsr_error *err)
{
    static const enum claim dates[] = {CL_EXP, CL_NBF, CL_IAT};
    for (size_t i = 0; i < sizeof dates / sizeof dates[0]; i++) {
        enum claim c = dates[i];
        if (idx[c] < 0) {
            continue;
        }
        if (doc->toks[idx[c]].type != TSR__J_NUMBER) {
            return tsr__fail(err, TSR_ERR_MALFORMED, "claim '%s' is not a number", cnames[c]);
        }
        if (numdate(doc, (size_t)idx[c], &d[c]) != TSR_OK) {
            return tsr__fail(err, TSR_ERR_MALFORMED, "claim '%s' is out of range", cnames[c]);
        }
    }
    return TSR_OK;
}

/* Step 2 for iss, sub, aud. */
static tsr_err check_string_types(const tsr__jdoc *doc, const long idx[CL__COUNT], tsr_error *err)
{
    if (idx[CL_ISS] >= 0 && doc->toks[idx[CL_ISS]].type != TSR__J_STRING) {
        return tsr__fail(err, TSR_ERR_MALFORMED, "claim 'iss' is not a string");
    }
    if (idx[CL_SUB] >= 0 && doc->toks[idx[CL_SUB]].type != TSR__J_STRING) {
        return tsr__fail(err, TSR_ERR_MALFORMED, "claim 'sub' is not a string");
    }
    long a = idx[CL_AUD];
    if (a < 0 || doc->toks[a].type == TSR__J_STRING) {
        return TSR_OK;
    }
    if (doc->toks[a].type != TSR__J_ARRAY) {
        return tsr__fail(err, TSR_ERR_MALFORMED, "claim 'aud' is not a string or array");
    }
    for (size_t e = (size_t)a + 1; e < doc->toks[a].end; e = doc->toks[e].end) {
        if (doc->toks[e].type != TSR__J_STRING) {
            return tsr__fail(err, TSR_ERR_MALFORMED, "claim 'aud' holds a non-string");
        }
    }
    return TSR_OK;
}

/* Step 3. */
static tsr_err check_presence(const tsr__jdoc *doc, const long idx[CL__COUNT],
                              const struct tsr_policy *p, tsr_error *err)
{
    if (idx[CL_EXP] < 0) {
        return tsr__fail(err, TSR_ERR_MISSING_CLAIM, "claim 'exp' is missing");
    }
    for (size_t i = 0; i < p->nreq; i++) {
        if (tsr__json_find(doc, 0, p->req[i], p->req_len[i]) < 0) {
            /* The name comes from the policy, not from the token. */
            return tsr__fail(err, TSR_ERR_MISSING_CLAIM, "required claim '%.48s' is missing",
                             p->req[i]);
        }
    }
    if (p->max_age > 0 && idx[CL_IAT] < 0) {
        return tsr__fail(err, TSR_ERR_MISSING_CLAIM, "claim 'iat' is missing (maximum age set)");
    }
    if (p->iss != NULL && idx[CL_ISS] < 0) {
        return tsr__fail(err, TSR_ERR_MISSING_CLAIM, "claim 'iss' is missing");
    }
    if (p->sub != NULL && idx[CL_SUB] < 0) {
        return tsr__fail(err, TSR_ERR_MISSING_CLAIM, "claim 'sub' is missing");
    }
    if (p->naud > 0 && idx[CL_AUD] < 0) {
        return tsr__fail(err, TSR_ERR_MISSING_CLAIM, "claim 'aud' is missing");
    }
    return TSR_OK;
}

/* Step 4; see the file comment for the arithmetic. L = leeway. */
static tsr_err check_times(const long idx[CL__COUNT], const tsr__numdate d[NDATES],
                           const struct tsr_policy *p, int64_t now, tsr_error *err)
{
    wide n = now;
    wide lw = p->leeway;
    /* now >= exp + L  <=>  (now - exp.sec - L) >= f */
    wide de = n - d[CL_EXP].sec - lw;
    if (d[CL_EXP].frac ? de > 0 : de >= 0) {
        return tsr__fail(err, TSR_ERR_EXPIRED, "token expired");
    }
    if (idx[CL_NBF] >= 0) {
        /* now < nbf - L  <=>  (now - nbf.sec + L) < f */
        wide dn = n - d[CL_NBF].sec + lw;
        if (d[CL_NBF].frac ? dn <= 0 : dn < 0) {
            return tsr__fail(err, TSR_ERR_NOT_YET_VALID, "token is not yet valid (nbf)");
        }
    }
    if (idx[CL_IAT] >= 0) {
        /* iat > now + L  <=>  (iat.sec - now - L) > -f */
        wide di = (wide)d[CL_IAT].sec - n - lw;
        if (d[CL_IAT].frac ? di >= 0 : di > 0) {
            return tsr__fail(err, TSR_ERR_ISSUED_IN_FUTURE, "token is issued in the future");
        }
        /* now - iat > M + L  <=>  (now - iat.sec - M - L) > f, which for
         * an integer difference is "> 0" whether f is zero or not. */
        if (p->max_age > 0) {
            wide da = n - d[CL_IAT].sec - p->max_age - lw;
            if (da > 0) {
                return tsr__fail(err, TSR_ERR_TOO_OLD, "token is older than the maximum age");
            }
        }
    }
    return TSR_OK;
}

/* Whether any audience of the token equals any configured one. */
static bool aud_matches(const tsr__jdoc *doc, long a, const struct tsr_policy *p)
{
    size_t first = (size_t)a;
    size_t end = (size_t)a + 1;
    if (doc->toks[a].type == TSR__J_ARRAY) {
        first = (size_t)a + 1;
        end = doc->toks[a].end;
    }
    for (size_t e = first; e < end; e = doc->toks[e].end) {
        for (size_t i = 0; i < p->naud; i++) {
            if (str_is(doc, e, p->aud[i], p->aud_len[i])) {
                return true;
            }
        }
    }
    return false;
}

/* Step 5. */
static tsr_err check_identities(const tsr__jdoc *doc, const long idx[CL__COUNT],
                                const struct tsr_policy *p, tsr_error *err)
{
    if (p->iss != NULL && !str_is(doc, (size_t)idx[CL_ISS], p->iss, p->iss_len)) {
        return tsr__fail(err, TSR_ERR_ISS_MISMATCH, "claim 'iss' does not match");
    }
    if (p->sub != NULL && !str_is(doc, (size_t)idx[CL_SUB], p->sub, p->sub_len)) {
        return tsr__fail(err, TSR_ERR_SUB_MISMATCH, "claim 'sub' does not match");
    }
    if (idx[CL_AUD] >= 0) {
        if (p->naud == 0) {
            return tsr__fail(err, TSR_ERR_AUD_MISMATCH,
                             "token has 'aud' but no audience is configured");
        }
        if (!aud_matches(doc, idx[CL_AUD], p)) {
            return tsr__fail(err, TSR_ERR_AUD_MISMATCH, "claim 'aud' does not match");
        }
    }
    return TSR_OK;
}

tsr_err tsr__claims_check(const tsr__jdoc *doc, const struct tsr_policy *p, int64_t now,
                          tsr_error *err)
{
    if (doc->ntoks == 0 || doc->toks[0].type != TSR__J_OBJECT) {
        return tsr__fail(err, TSR_ERR_MALFORMED, "payload is not a JSON object");
    }
    long idx[CL__COUNT];
    collect(doc, idx);
    tsr__numdate d[NDATES] = {{0, false}, {0, false}, {0, false}, {0, false}};
    tsr_err rc = read_dates(doc, idx, d, err);
    if (rc == TSR_OK) {
        rc = check_string_types(doc, idx, err);
    }
    if (rc == TSR_OK) {
        rc = check_presence(doc, idx, p, err);
    }
    if (rc == TSR_OK) {
        rc = check_times(idx, d, p, now, err);
    }
    if (rc == TSR_OK) {
        rc = check_identities(doc, idx, p, err);
    }
    return rc;
}
