/*
 * hostile.h: helpers shared by the security suite to forge tokens.
 *
 * Tokens are assembled by hand so that each test breaks exactly one rule:
 * the signature is computed (with the library's own crypto layer) over the
 * exact bytes sent, including any deliberately broken base64url, so the
 * only thing wrong with a token is the thing the test is about.
 * Test-only code; every helper aborts the test on an unexpected failure.
 */
#ifndef TSR_TESTS_HOSTILE_H
#define TSR_TESTS_HOSTILE_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "internal.h"
#include "support.h"

#define HT_UNUSED __attribute__((unused))

/* The clock every security test uses, and a payload valid at it. */
#define HT_NOW 1700000000
#define HT_CLAIMS "{\"iss\":\"https://issuer.example\",\"exp\":1700000600}"

/* base64url of p[0..n) (malloc'd, NUL-terminated). */
HT_UNUSED static char *ht_b64(const void *p, size_t n)
{
    size_t cap = tsr_b64url_encoded_len(n) + 1;
    char *out = malloc(cap);
    assert_non_null(out);
    assert_int_equal(tsr_b64url_encode(p, n, out, cap, NULL), TSR_OK);
    return out;
}

/* a "." b "." c, or a "." b when c is NULL (malloc'd). */
HT_UNUSED static char *ht_join(const char *a, const char *b, const char *c)
{
    size_t n = strlen(a) + 1 + strlen(b) + (c != NULL ? 1 + strlen(c) : 0) + 1;
    char *out = malloc(n);
    assert_non_null(out);
    (void)snprintf(out, n, c != NULL ? "%s.%s.%s" : "%s.%s", a, b, c != NULL ? c : "");
    return out;
}

/* Raw signature of `input` with `key` under `alg`, into sig (>= 1024). */
HT_UNUSED static size_t ht_sign_raw(const tsr_key *key, tsr_alg alg, const char *input,
                                    unsigned char sig[1024])
{
    size_t sig_len = tsr__crypto_sig_max(key, alg);
    assert_true(sig_len > 0 && sig_len <= 1024);
    tsr_error e;
    tsr_err rc = tsr__crypto_sign(key, alg, (const unsigned char *)input, strlen(input), sig,
                                  &sig_len, &e);
    if (rc != TSR_OK) {
        fail_msg("crypto sign %s: %s (%s)", tsr_alg_name(alg), tsr_err_name(rc), e.detail);
    }
    return sig_len;
}

/* h_b64 "." p_b64 "." sig, signed over the first two parts as given (so
 * they may be deliberately non-canonical). */
HT_UNUSED static char *ht_token_b64(const tsr_key *key, tsr_alg alg, const char *h_b64,
                                    const char *p_b64)
{
    char *input = ht_join(h_b64, p_b64, NULL);
    unsigned char sig[1024];
    size_t n = ht_sign_raw(key, alg, input, sig);
    char *s = ht_b64(sig, n);
    char *tok = ht_join(h_b64, p_b64, s);
    free(s);
    free(input);
    return tok;
}

/* A token with header hdr[0..hlen) and payload pl[0..plen), properly signed. */
HT_UNUSED static char *ht_token_n(const tsr_key *key, tsr_alg alg, const char *hdr, size_t hlen,
                                  const char *pl, size_t plen)
{
    char *h = ht_b64(hdr, hlen);
    char *p = ht_b64(pl, plen);
    char *tok = ht_token_b64(key, alg, h, p);
    free(h);
    free(p);
    return tok;
}

HT_UNUSED static char *ht_token(const tsr_key *key, tsr_alg alg, const char *hdr, const char *pl)
{
    return ht_token_n(key, alg, hdr, strlen(hdr), pl, strlen(pl));
}

/* A token with an arbitrary signature sig[0..n). */
HT_UNUSED static char *ht_token_sig(const char *hdr, const char *pl, const void *sig, size_t n)
{
    char *h = ht_b64(hdr, strlen(hdr));
    char *p = ht_b64(pl, strlen(pl));
    char *s = ht_b64(sig, n);
    char *tok = ht_join(h, p, s);
    free(h);
    free(p);
    free(s);
    return tok;
}

HT_UNUSED static tsr_key *ht_load_jwk(const char *jwk)
{
    tsr_key *k = NULL;
    tsr_error e;
    tsr_err rc = tsr_key_load_jwk(jwk, strlen(jwk), &k, &e);
    if (rc != TSR_OK) {
        fail_msg("JWK did not load: %s (%s)", tsr_err_name(rc), e.detail);
    }
    return k;
}

HT_UNUSED static tsr_key *ht_generate(tsr_alg alg, const char *kid)
{
    tsr_key *k = NULL;
    tsr_err rc = (alg >= TSR_ALG_RS256 && alg <= TSR_ALG_PS512)
                     ? tsr_key_generate_rsa(alg, 2048, &k, NULL)
                     : tsr_key_generate(alg, &k, NULL);
    assert_int_equal(rc, TSR_OK);
    if (kid != NULL) {
        assert_int_equal(tsr_key_set1_kid(k, kid, NULL), TSR_OK);
    }
    return k;
}

/* A verifier over keys[0..n) allowing the comma-separated `algs`, with
 * `leeway` seconds of leeway. */
HT_UNUSED static tsr_verifier *ht_verifier(tsr_key *const *keys, size_t n, const char *algs,
                                           int64_t leeway)
{
    tsr_keyset *set = NULL;
    tsr_policy *pol = NULL;
    tsr_verifier *v = NULL;
    tsr_error e;
    assert_int_equal(tsr_keyset_new(&set, NULL), TSR_OK);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(tsr_keyset_add1_key(set, keys[i], NULL), TSR_OK);
    }
    assert_int_equal(tsr_policy_new(&pol, NULL), TSR_OK);
    assert_int_equal(tsr_policy_allow_algs(pol, algs, NULL), TSR_OK);
    assert_int_equal(tsr_policy_set_leeway(pol, leeway, NULL), TSR_OK);
    tsr_err rc = tsr_verifier_new(pol, set, &v, &e);
    if (rc != TSR_OK) {
        fail_msg("verifier_new(%s): %s (%s)", algs, tsr_err_name(rc), e.detail);
    }
    tsr_policy_free(pol);
    tsr_keyset_free(set);
    return v;
}

/* Verifies tok[0..len) at `now` and fails the test unless the result is
 * exactly `want`; `what` names the case in the failure message. */
HT_UNUSED static void ht_expect_n(const tsr_verifier *v, const char *tok, size_t len,
                                  int64_t now, tsr_err want, const char *what)
{
    tsr_error e;
    memset(&e, 0, sizeof e);
    tsr_err rc = tsr_verifier_verify(v, tok, len, now, NULL, &e);
    if (rc != want) {
        fail_msg("%s: got %s (%s), want %s", what, tsr_err_name(rc), e.detail,
                 tsr_err_name(want));
    }
    if (rc != TSR_OK && e.code != rc) {
        fail_msg("%s: err->code %s differs from the return value", what, tsr_err_name(e.code));
    }
}

HT_UNUSED static void ht_expect(const tsr_verifier *v, const char *tok, tsr_err want,
                                const char *what)
{
    ht_expect_n(v, tok, strlen(tok), HT_NOW, want, what);
}

#endif
