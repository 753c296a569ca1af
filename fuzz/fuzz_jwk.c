/*
 * fuzz_jwk.c: libFuzzer target for key loading: the input goes to
 * tsr_keyset_load (JWK Set, JWK or PEM by content) and to
 * tsr_key_load_jwk. Whatever loads must survive a round trip: exported
 * (private and, except for HMAC secrets, public) and reloaded, it must give
 * the same RFC 7638 thumbprint, and a loaded set must re-export to a set
 * that loads. Any difference aborts, so the fuzzer reports it as a crash.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tessera.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Exports k (private or public), reloads it and checks the thumbprint. */
static void round_trip(const tsr_key *k, bool include_private, const char *want)
{
    char *jwk = NULL;
    tsr_key *back = NULL;
    char tp[TSR_THUMBPRINT_LEN + 1];
    if (tsr_key_export_jwk(k, include_private, &jwk, NULL) != TSR_OK) {
        abort(); /* a loaded key can always be exported */
    }
    if (tsr_key_load_jwk(jwk, strlen(jwk), &back, NULL) != TSR_OK ||
        tsr_key_thumbprint(back, tp, NULL) != TSR_OK || strcmp(tp, want) != 0 ||
        tsr_key_get_alg(back) != tsr_key_get_alg(k)) {
        abort();
    }
    tsr_key_free(back);
    tsr_free_secret(jwk, strlen(jwk));
}

static void check_key(const tsr_key *k)
{
    char tp[TSR_THUMBPRINT_LEN + 1];
    if (tsr_key_thumbprint(k, tp, NULL) != TSR_OK) {
        abort();
    }
    round_trip(k, true, tp);
    if (tsr_key_get_kty(k) != TSR_KTY_OCT) {
        round_trip(k, false, tp);
    }
}

static void check_set(const tsr_keyset *set)
{
    char *out = NULL;
    size_t n = tsr_keyset_count(set);
    size_t public_keys = 0;
    for (size_t i = 0; i < n; i++) {
        const tsr_key *k = tsr_keyset_get0_key(set, i);
        check_key(k);
        public_keys += tsr_key_get_kty(k) != TSR_KTY_OCT;
    }
    if (tsr_keyset_export_jwks(set, &out, NULL) != TSR_OK) {
        abort();
    }
    tsr_keyset *back = NULL;
    tsr_err rc = tsr_keyset_load_jwks(out, strlen(out), &back, NULL);
    /* a set of only HMAC secrets exports as empty, which does not load;
     * exported keys usable for neither operation are skipped on reload */
    if (rc == TSR_OK ? tsr_keyset_count(back) > public_keys
                     : (rc != TSR_ERR_KEY_NOT_FOUND)) {
        abort();
    }
    tsr_keyset_free(back);
    tsr_free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    tsr_keyset *set = NULL;
    if (tsr_keyset_load(text, size, &set, NULL) == TSR_OK) {
        check_set(set);
        tsr_keyset_free(set);
    }
    tsr_key *k = NULL;
    if (tsr_key_load_jwk(text, size, &k, NULL) == TSR_OK) {
        check_key(k);
        tsr_key_free(k);
    }
    return 0;
}
