/*
 * example.c: the library example from README.md, compiled and run by the
 * test suite so that the README never shows code that does not work.
 *
 * It makes an ES256 key, signs a token for "alice", then verifies it the
 * way a resource server would: a verifier built once from a key set and a
 * policy, and a per-thread tsr_jwt workspace.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <tessera.h>

static int fail(const char *what, const tsr_error *err)
{
    fprintf(stderr, "%s: %s: %s (%s)\n", what, tsr_err_name(err->code), err->message,
            err->detail);
    return 1;
}

int main(void)
{
    tsr_error err;
    tsr_key *key = NULL;
    tsr_signer *signer = NULL;
    tsr_claims *claims = NULL;
    tsr_keyset *keys = NULL;
    tsr_policy *policy = NULL;
    tsr_verifier *verifier = NULL;
    tsr_jwt *jwt = NULL;
    char *token = NULL;
    int rc = 1;
    int64_t now = (int64_t)time(NULL);

    /* Issuer side: a key bound to ES256, a signer, and claims. */
    if (tsr_key_generate(TSR_ALG_ES256, &key, &err) != TSR_OK ||
        tsr_key_set1_kid(key, "2026-11", &err) != TSR_OK ||
        tsr_signer_new(key, TSR_ALG_ES256, NULL, "at+jwt", &signer, &err) != TSR_OK ||
        tsr_claims_new(&claims, &err) != TSR_OK ||
        tsr_claims_set_string(claims, "iss", "https://auth.example", &err) != TSR_OK ||
        tsr_claims_set_string(claims, "sub", "alice", &err) != TSR_OK ||
        tsr_claims_add_audience(claims, "api", &err) != TSR_OK ||
        tsr_signer_sign_claims(signer, claims, now, &token, NULL, &err) != TSR_OK) {
        rc = fail("sign", &err);
        goto out;
    }

    /* Verifier side: built once, shared by every thread. */
    if (tsr_keyset_new(&keys, &err) != TSR_OK ||
        tsr_keyset_add1_key(keys, key, &err) != TSR_OK ||
        tsr_policy_new(&policy, &err) != TSR_OK ||
        tsr_policy_allow_alg(policy, TSR_ALG_ES256, &err) != TSR_OK ||
        tsr_policy_set_issuer(policy, "https://auth.example", &err) != TSR_OK ||
        tsr_policy_add_audience(policy, "api", &err) != TSR_OK ||
        tsr_policy_set_typ(policy, "at+jwt", &err) != TSR_OK ||
        tsr_verifier_new(policy, keys, &verifier, &err) != TSR_OK) {
        rc = fail("setup", &err);
        goto out;
    }

    /* Per thread: one workspace, reused for every token. */
    if (tsr_jwt_new(&jwt, &err) != TSR_OK ||
        tsr_verifier_verify(verifier, token, strlen(token), now, jwt, &err) != TSR_OK) {
        rc = fail("verify", &err);
        goto out;
    }
    char sub[64];
    if (tsr_jwt_get_string(jwt, "sub", sub, sizeof sub, NULL) != TSR_OK) {
        goto out;
    }
    printf("verified token for %s\n", sub);
    rc = 0;
out:
    tsr_jwt_free(jwt);
    tsr_verifier_free(verifier);
    tsr_policy_free(policy);
    tsr_keyset_free(keys);
    tsr_free(token);
    tsr_claims_free(claims);
    tsr_signer_free(signer);
    tsr_key_free(key);
    return rc;
}
