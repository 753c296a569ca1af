/*
 * error.c: the stable names and human messages of tsr_err, and the helper
 * every module uses to fill a caller's tsr_error.
 *
 * Both tables are switches without a default so that the compiler flags a
 * code added to the enum but not named here (-Wswitch under -Wall).
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"

const char *tsr_err_name(tsr_err e)
{
    switch (e) {
    case TSR_OK: return "ok";
    case TSR_ERR_MALFORMED: return "malformed";
    case TSR_ERR_TOO_LARGE: return "too_large";
    case TSR_ERR_ALG_NOT_ALLOWED: return "alg_not_allowed";
    case TSR_ERR_KEY_NOT_FOUND: return "key_not_found";
    case TSR_ERR_KEY_MISMATCH: return "key_mismatch";
    case TSR_ERR_BAD_SIGNATURE: return "bad_signature";
    case TSR_ERR_EXPIRED: return "expired";
    case TSR_ERR_NOT_YET_VALID: return "not_yet_valid";
    case TSR_ERR_ISSUED_IN_FUTURE: return "issued_in_future";
    case TSR_ERR_TOO_OLD: return "too_old";
    case TSR_ERR_MISSING_CLAIM: return "missing_claim";
    case TSR_ERR_ISS_MISMATCH: return "iss_mismatch";
    case TSR_ERR_AUD_MISMATCH: return "aud_mismatch";
    case TSR_ERR_SUB_MISMATCH: return "sub_mismatch";
    case TSR_ERR_TYP_MISMATCH: return "typ_mismatch";
    case TSR_ERR_CRIT_UNSUPPORTED: return "crit_unsupported";
    case TSR_ERR_UNSUPPORTED: return "unsupported";
    case TSR_ERR_INVALID_ARGUMENT: return "invalid_argument";
    case TSR_ERR_NOMEM: return "nomem";
    case TSR_ERR_KEY_INVALID: return "key_invalid";
    case TSR_ERR_KEY_WEAK: return "key_weak";
    case TSR_ERR_CRYPTO: return "crypto";
    case TSR_ERR_IO: return "io";
    case TSR_ERR_NOT_FOUND: return "not_found";
    }
    return "unknown";
}

const char *tsr_strerror(tsr_err e)
{
    switch (e) {
    case TSR_OK: return "success";
    case TSR_ERR_MALFORMED: return "input is not well-formed";
    case TSR_ERR_TOO_LARGE: return "input exceeds a size, depth or count limit";
    case TSR_ERR_ALG_NOT_ALLOWED: return "algorithm is not allowed";
    case TSR_ERR_KEY_NOT_FOUND: return "no single usable key for this token";
    case TSR_ERR_KEY_MISMATCH: return "key cannot be used with this algorithm or operation";
    case TSR_ERR_BAD_SIGNATURE: return "signature does not verify";
    case TSR_ERR_EXPIRED: return "token has expired";
    case TSR_ERR_NOT_YET_VALID: return "token is not yet valid";
    case TSR_ERR_ISSUED_IN_FUTURE: return "token is issued in the future";
    case TSR_ERR_TOO_OLD: return "token is older than the maximum age";
    case TSR_ERR_MISSING_CLAIM: return "a required claim is missing";
    case TSR_ERR_ISS_MISMATCH: return "issuer does not match";
    case TSR_ERR_AUD_MISMATCH: return "audience does not match";
    case TSR_ERR_SUB_MISMATCH: return "subject does not match";
    case TSR_ERR_TYP_MISMATCH: return "token type does not match";
    case TSR_ERR_CRIT_UNSUPPORTED: return "critical header parameter is not supported";
    case TSR_ERR_UNSUPPORTED: return "feature is not supported";
    case TSR_ERR_INVALID_ARGUMENT: return "invalid argument";
    case TSR_ERR_NOMEM: return "out of memory";
    case TSR_ERR_KEY_INVALID: return "key material is invalid";
    case TSR_ERR_KEY_WEAK: return "key is too weak for its algorithm";
    case TSR_ERR_CRYPTO: return "cryptographic backend failure";
    case TSR_ERR_IO: return "input/output error";
    case TSR_ERR_NOT_FOUND: return "not found";
    }
    return "unknown error";
}

tsr_err tsr__fail(tsr_error *err, tsr_err code, const char *fmt, ...)
{
    if (err == NULL) {
        return code;
    }
    err->code = code;
    err->message = tsr_strerror(code);
    err->detail[0] = '\0';
    if (fmt != NULL) {
        va_list ap;
        va_start(ap, fmt);
        (void)vsnprintf(err->detail, sizeof err->detail, fmt, ap);
        va_end(ap);
    }
    return code;
}

void tsr__ok(tsr_error *err)
{
    if (err != NULL) {
        err->code = TSR_OK;
        err->message = tsr_strerror(TSR_OK);
        err->detail[0] = '\0';
    }
}

const char *tsr_version(void)
{
    return TSR_VERSION_STRING;
}
