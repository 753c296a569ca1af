/*
 * fuzz_verify.c: libFuzzer target for token verification. The input is
 * the token bytes. Two fixed verifiers (built once) run on every input:
 * a permissive one allowing HS256 and ES256 with the RFC 7515 A.1 HMAC key
 * and the A.3 P-256 key and audience "api", and a strict one adding issuer, typ,
 * maximum age and a required claim. The clock is fixed at the RFC examples'
 * "now", so the RFC tokens in the corpus are valid.
 *
 * Besides "never crash, never leak", it checks the result contract: a
 * success has a non-empty header and payload and a known alg; a failure
 * leaves every getter empty and returns a known error code.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tessera.h"

#define FUZZ_NOW 1300819300

static const char hs_jwk[] = "{\"kty\":\"oct\",\"k\":\"AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_"
                             "T-1qS0gZH75aKtMN3Yj0iPS4hcgUu"
                             "TwjAzZr1Z9CAow\"}";
static const char es_jwk[] =
    "{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU\","
    "\"y\":\"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0\"}";

typedef struct fixture {
    tsr_verifier *loose;
    tsr_verifier *strict;
    tsr_jwt *jwt;
} fixture;

static void must(tsr_err rc)
{
    if (rc != TSR_OK) {
        abort();
    }
}

static tsr_keyset *load_keys(void)
{
    tsr_key *hk = NULL;
    tsr_key *ek = NULL;
    tsr_keyset *set = NULL;
    must(tsr_key_load_jwk(hs_jwk, sizeof hs_jwk - 1, &hk, NULL));
    must(tsr_key_load_jwk(es_jwk, sizeof es_jwk - 1, &ek, NULL));
    /* kids exercise selection; tokens without kid still find the one key
     * usable for their alg. */
    must(tsr_key_set1_kid(hk, "hs", NULL));
    must(tsr_key_set1_kid(ek, "es", NULL));
    must(tsr_keyset_new(&set, NULL));
    must(tsr_keyset_add1_key(set, hk, NULL));
    must(tsr_keyset_add1_key(set, ek, NULL));
    tsr_key_free(hk);
    tsr_key_free(ek);
    return set;
}

static tsr_verifier *build(const tsr_keyset *set, int strict)
{
    tsr_policy *p = NULL;
    tsr_verifier *v = NULL;
    must(tsr_policy_new(&p, NULL));
    must(tsr_policy_allow_algs(p, "HS256,ES256", NULL));
    /* Both accept audience "api", so the strict verifier's acceptances are
     * a subset of the permissive one's (checked below). */
    must(tsr_policy_add_audience(p, "api", NULL));
    if (strict) {
        must(tsr_policy_set_issuer(p, "joe", NULL));
        must(tsr_policy_set_typ(p, "JWT", NULL));
        must(tsr_policy_set_max_age(p, 3600, NULL));
        must(tsr_policy_set_leeway(p, 30, NULL));
        must(tsr_policy_require_claim(p, "jti", NULL));
        must(tsr_policy_set_max_token_size(p, 4096, NULL));
    }
    must(tsr_verifier_new(p, set, &v, NULL));
    tsr_policy_free(p);
    return v;
}

static fixture *get_fixture(void)
{
    /* Built once per fuzzing process and deliberately never freed: the
     * harness has no teardown hook. */
    static fixture f;
    if (f.jwt == NULL) {
        tsr_keyset *set = load_keys();
        f.loose = build(set, 0);
        f.strict = build(set, 1);
        tsr_keyset_free(set);
        must(tsr_jwt_new(&f.jwt, NULL));
    }
    return &f;
}

static void check_contract(tsr_err rc, const tsr_error *e, const tsr_jwt *jwt)
{
    if (e->code != rc || rc == TSR_ERR_INVALID_ARGUMENT || (int)rc >= TSR_ERR__COUNT) {
        abort();
    }
    if (strlen(e->detail) >= TSR_ERROR_DETAIL_MAX) {
        abort();
    }
    tsr_str h = tsr_jwt_get0_header(jwt);
    tsr_str p = tsr_jwt_get0_payload(jwt);
    if (rc == TSR_OK) {
        if (h.len == 0 || p.len == 0 || tsr_jwt_get_alg(jwt) == TSR_ALG_UNSPECIFIED) {
            abort();
        }
        /* Touch the claim getters on real output. */
        char buf[64];
        int64_t n = 0;
        tsr_str raw;
        tsr_err g1 = tsr_jwt_get_string(jwt, "iss", buf, sizeof buf, NULL);
        tsr_err g2 = tsr_jwt_get_int(jwt, "exp", &n);
        tsr_err g3 = tsr_jwt_get0_claim(jwt, "aud", &raw);
        /* exp is required, so it is there; iss and aud may be anything. */
        if (g2 == TSR_ERR_NOT_FOUND || g1 == TSR_ERR_INVALID_ARGUMENT ||
            g3 == TSR_ERR_INVALID_ARGUMENT) {
            abort();
        }
    } else if (h.ptr != NULL || p.len != 0 || tsr_jwt_get0_kid(jwt) != NULL ||
               tsr_jwt_get_alg(jwt) != TSR_ALG_UNSPECIFIED) {
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fixture *f = get_fixture();
    tsr_error e;
    const char *token = (const char *)data;
    tsr_err rc = tsr_verifier_verify(f->loose, token, size, FUZZ_NOW, f->jwt, &e);
    check_contract(rc, &e, f->jwt);
    tsr_err rc2 = tsr_verifier_verify(f->strict, token, size, FUZZ_NOW, f->jwt, &e);
    check_contract(rc2, &e, f->jwt);
    /* Whatever the strict verifier accepts, the loose one accepts too. */
    if (rc2 == TSR_OK && rc != TSR_OK) {
        abort();
    }
    return 0;
}
