/*
 * alg.c: JWS algorithm names (RFC 7518 section 3.1, RFC 8037) and the
 * properties the rest of the library needs: family, hash, curve, fixed
 * signature length.
 */
#include <string.h>

#include "internal.h"

static const struct {
    const char *name;
    tsr__alg_info info;
} algs[TSR_ALG__COUNT] = {
    [TSR_ALG_UNSPECIFIED] = {NULL, {TSR__FAM_NONE, TSR__HASH_NONE, 0, TSR__CRV_NONE, 0}},
    [TSR_ALG_HS256] = {"HS256", {TSR__FAM_HMAC, TSR__HASH_SHA256, 32, TSR__CRV_NONE, 32}},
    [TSR_ALG_HS384] = {"HS384", {TSR__FAM_HMAC, TSR__HASH_SHA384, 48, TSR__CRV_NONE, 48}},
    [TSR_ALG_HS512] = {"HS512", {TSR__FAM_HMAC, TSR__HASH_SHA512, 64, TSR__CRV_NONE, 64}},
    [TSR_ALG_RS256] = {"RS256", {TSR__FAM_RSA_PKCS1, TSR__HASH_SHA256, 32, TSR__CRV_NONE, 0}},
    [TSR_ALG_RS384] = {"RS384", {TSR__FAM_RSA_PKCS1, TSR__HASH_SHA384, 48, TSR__CRV_NONE, 0}},
    [TSR_ALG_RS512] = {"RS512", {TSR__FAM_RSA_PKCS1, TSR__HASH_SHA512, 64, TSR__CRV_NONE, 0}},
    [TSR_ALG_PS256] = {"PS256", {TSR__FAM_RSA_PSS, TSR__HASH_SHA256, 32, TSR__CRV_NONE, 0}},
    [TSR_ALG_PS384] = {"PS384", {TSR__FAM_RSA_PSS, TSR__HASH_SHA384, 48, TSR__CRV_NONE, 0}},
    [TSR_ALG_PS512] = {"PS512", {TSR__FAM_RSA_PSS, TSR__HASH_SHA512, 64, TSR__CRV_NONE, 0}},
    [TSR_ALG_ES256] = {"ES256", {TSR__FAM_ECDSA, TSR__HASH_SHA256, 32, TSR__CRV_P256, 64}},
    [TSR_ALG_ES384] = {"ES384", {TSR__FAM_ECDSA, TSR__HASH_SHA384, 48, TSR__CRV_P384, 96}},
    [TSR_ALG_ES512] = {"ES512", {TSR__FAM_ECDSA, TSR__HASH_SHA512, 64, TSR__CRV_P521, 132}},
    [TSR_ALG_EDDSA] = {"EdDSA", {TSR__FAM_EDDSA, TSR__HASH_NONE, 0, TSR__CRV_ED25519, 64}},
};

/* True when name[0..len) spells "none" in any letter case. */
static bool is_none(const char *name, size_t len)
{
    static const char none[] = "none";
    if (len != 4) {
        return false;
    }
    for (size_t i = 0; i < 4; i++) {
        char c = name[i];
        if (c >= 'A' && c <= 'Z') {
            c = (char)(c - 'A' + 'a');
        }
        if (c != none[i]) {
            return false;
        }
    }
    return true;
}

tsr_err tsr_alg_from_name(const char *name, size_t len, tsr_alg *out)
{
    if (out == NULL) {
        return TSR_ERR_INVALID_ARGUMENT;
    }
    *out = TSR_ALG_UNSPECIFIED;
    if (name == NULL) {
        return TSR_ERR_INVALID_ARGUMENT;
    }
    if (is_none(name, len)) {
        return TSR_ERR_ALG_NOT_ALLOWED;
    }
    for (int a = TSR_ALG_HS256; a < TSR_ALG__COUNT; a++) {
        const char *n = algs[a].name;
        if (strlen(n) == len && memcmp(n, name, len) == 0) {
            *out = (tsr_alg)a;
            return TSR_OK;
        }
    }
    /* RFC 9864 fully specified name; tessera's EdDSA is Ed25519 only. */
    if (len == 7 && memcmp(name, "Ed25519", 7) == 0) {
        *out = TSR_ALG_EDDSA;
        return TSR_OK;
    }
    return TSR_ERR_UNSUPPORTED;
}

const char *tsr_alg_name(tsr_alg alg)
{
    if ((int)alg <= TSR_ALG_UNSPECIFIED || (int)alg >= TSR_ALG__COUNT) {
        return NULL;
    }
    return algs[alg].name;
}

const tsr__alg_info *tsr__alg_get(tsr_alg alg)
{
    if ((int)alg <= TSR_ALG_UNSPECIFIED || (int)alg >= TSR_ALG__COUNT) {
        return NULL;
    }
    return &algs[alg].info;
}

size_t tsr__curve_field_len(tsr__curve c)
{
    switch (c) {
    case TSR__CRV_P256: return 32;
    case TSR__CRV_P384: return 48;
    case TSR__CRV_P521: return 66;
    case TSR__CRV_ED25519: return 32;
    case TSR__CRV_NONE: return 0;
    }
    return 0;
}
