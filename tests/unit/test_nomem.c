/*
 * test_nomem.c: allocation failure in every major public call.
 *
 * With the fault-injection hook of the test library (lib/alloc.c), each
 * call is run with its 0th, 1st, 2nd, ... allocation failing until it
 * succeeds. Every failing run must return exactly TSR_ERR_NOMEM (with the
 * same code in the tsr_error and the outputs cleared), never crash, and
 * leak nothing: the ASan build's LeakSanitizer checks the whole program at
 * exit, so an allocation lost on any error path fails this test there.
 * OpenSSL's and jansson's own allocations are not hooked; only ours are.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

/* The tests link libtessera_testing, built with the hook. */
#define TSR_FAULT_INJECTION 1
#include "internal.h"
#include "support.h"

#define NOW 1700000000
#define MAX_STEPS 20000

/* One call under test: performs it, checks its outputs on failure, frees
 * them on success, and returns the call's result. */
typedef tsr_err (*op_fn)(void *ctx, tsr_error *err);

/* Runs `fn` with allocation n failing for n = 0, 1, ... until it succeeds. */
static void exhaust(const char *name, op_fn fn, void *ctx)
{
    long n;
    for (n = 0; n < MAX_STEPS; n++) {
        tsr_error e;
        memset(&e, 0, sizeof e);
        tsr_test_fail_alloc_after(n);
        tsr_err rc = fn(ctx, &e);
        tsr_test_fail_alloc_after(-1);
        if (rc == TSR_OK) {
            break;
        }
        if (rc != TSR_ERR_NOMEM) {
            fail_msg("%s: with allocation #%ld failing: %s (%s), want nomem", name, n,
                     tsr_err_name(rc), e.detail);
        }
        if (e.code != TSR_ERR_NOMEM) {
            fail_msg("%s: allocation #%ld: err->code is %s", name, n, tsr_err_name(e.code));
        }
    }
    if (n == MAX_STEPS) {
        fail_msg("%s: never succeeded", name);
    }
    printf("  %-28s ok after %ld injected failures\n", name, n);
}

/* ------------------------------------------------------------------ fixtures */

typedef struct fx {
    char *rsa_priv_jwk; /* private JWKs exported once, without injection */
    char *ec_priv_jwk;
    char *ed_priv_jwk;
    char *oct_jwk;
    char *jwks;         /* a set of all four public parts + the secret */
    char *pem_priv;     /* PKCS#8 and SPKI PEM made by OpenSSL */
    char *pem_pub;
    tsr_key *rsa;       /* loaded keys for the export/sign/verify steps */
    tsr_key *ec;
    tsr_key *hs;
    tsr_key *ed;
    tsr_keyset *set;
    char *token;        /* a long ES256 token the verifier accepts */
    char *text;         /* current input of the loader ops */
    tsr_alg alg;        /* current algorithm of the generate/sign ops */
    tsr_key *key;       /* current key of the export ops */
    tsr_verifier *v;
    tsr_signer *signer;
    tsr_claims *claims;
} fx;

static char *export_private(const tsr_key *k)
{
    char *out = NULL;
    assert_int_equal(tsr_key_export_jwk(k, true, &out, NULL), TSR_OK);
    return out;
}

static char *bio_to_string(BIO *b)
{
    char *data = NULL;
    long n = BIO_get_mem_data(b, &data);
    assert_true(n > 0);
    char *s = malloc((size_t)n + 1);
    assert_non_null(s);
    memcpy(s, data, (size_t)n);
    s[n] = '\0';
    return s;
}

static void make_pems(fx *f)
{
    EVP_PKEY *pk = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    assert_non_null(pk);
    BIO *a = BIO_new(BIO_s_mem());
    BIO *b = BIO_new(BIO_s_mem());
    assert_true(PEM_write_bio_PrivateKey(a, pk, NULL, NULL, 0, NULL, NULL) == 1);
    assert_true(PEM_write_bio_PUBKEY(b, pk) == 1);
    f->pem_priv = bio_to_string(a);
    f->pem_pub = bio_to_string(b);
    BIO_free(a);
    BIO_free(b);
    EVP_PKEY_free(pk);
}

static int setup(void **state)
{
    fx *f = calloc(1, sizeof *f);
    assert_non_null(f);
    assert_int_equal(tsr_key_generate_rsa(TSR_ALG_RS256, 2048, &f->rsa, NULL), TSR_OK);
    assert_int_equal(tsr_key_generate(TSR_ALG_ES256, &f->ec, NULL), TSR_OK);
    assert_int_equal(tsr_key_set1_kid(f->ec, "ec", NULL), TSR_OK);
    assert_int_equal(tsr_key_generate(TSR_ALG_HS256, &f->hs, NULL), TSR_OK);
    assert_int_equal(tsr_key_generate(TSR_ALG_EDDSA, &f->ed, NULL), TSR_OK);
    tsr_key *ed = f->ed;
    f->rsa_priv_jwk = export_private(f->rsa);
    f->ec_priv_jwk = export_private(f->ec);
    f->ed_priv_jwk = export_private(ed);
    f->oct_jwk = export_private(f->hs);
    assert_int_equal(tsr_keyset_new(&f->set, NULL), TSR_OK);
    assert_int_equal(tsr_keyset_add1_key(f->set, f->rsa, NULL), TSR_OK);
    assert_int_equal(tsr_keyset_add1_key(f->set, f->ec, NULL), TSR_OK);
    assert_int_equal(tsr_keyset_add1_key(f->set, ed, NULL), TSR_OK);
    assert_int_equal(tsr_keyset_export_jwks(f->set, &f->jwks, NULL), TSR_OK);
    make_pems(f);

    /* A token with ~3 KB of claims, so the verifier's buffers must grow. */
    tsr_signer *s = NULL;
    tsr_claims *c = NULL;
    assert_int_equal(tsr_signer_new(f->ec, TSR_ALG_ES256, NULL, NULL, &s, NULL), TSR_OK);
    assert_int_equal(tsr_claims_new(&c, NULL), TSR_OK);
    char big[3000];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    assert_int_equal(tsr_claims_set_string(c, "blob", big, NULL), TSR_OK);
    assert_int_equal(tsr_claims_set_string(c, "iss", "https://issuer.example", NULL), TSR_OK);
    assert_int_equal(tsr_claims_add_audience(c, "api", NULL), TSR_OK);
    assert_int_equal(tsr_signer_sign_claims(s, c, NOW, &f->token, NULL, NULL), TSR_OK);
    tsr_claims_free(c);
    tsr_signer_free(s);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    tsr_free_secret(f->rsa_priv_jwk, strlen(f->rsa_priv_jwk));
    tsr_free_secret(f->ec_priv_jwk, strlen(f->ec_priv_jwk));
    tsr_free_secret(f->ed_priv_jwk, strlen(f->ed_priv_jwk));
    tsr_free_secret(f->oct_jwk, strlen(f->oct_jwk));
    tsr_free(f->jwks);
    tsr_free(f->token);
    free(f->pem_priv);
    free(f->pem_pub);
    tsr_key_free(f->rsa);
    tsr_key_free(f->ec);
    tsr_key_free(f->hs);
    tsr_key_free(f->ed);
    tsr_keyset_free(f->set);
    free(f);
    return 0;
}

/* ------------------------------------------------------------------ keys */

static tsr_err op_load_jwk(void *ctx, tsr_error *err)
{
    fx *f = ctx;
    tsr_key *k = (tsr_key *)0x1;
    tsr_err rc = tsr_key_load_jwk(f->text, strlen(f->text), &k, err);
    if (rc != TSR_OK) {
        assert_null(k);
    }
    tsr_key_free(k);
    return rc;
}

static tsr_err op_load_pem(void *ctx, tsr_error *err)
{
    fx *f = ctx;
    tsr_key *k = (tsr_key *)0x1;
    tsr_err rc = tsr_key_load_pem(f->text, strlen(f->text), &k, err);
    if (rc != TSR_OK) {
        assert_null(k);
    }
    tsr_key_free(k);
    return rc;
}

static tsr_err op_keyset_load(void *ctx, tsr_error *err)
{
    fx *f = ctx;
    tsr_keyset *s = (tsr_keyset *)0x1;
    tsr_err rc = tsr_keyset_load(f->text, strlen(f->text), &s, err);
    if (rc != TSR_OK) {
        assert_null(s);
    }
    tsr_keyset_free(s);
    return rc;
}

static tsr_err op_keyset_load_jwks(void *ctx, tsr_error *err)
{
    fx *f = ctx;
    tsr_keyset *s = (tsr_keyset *)0x1;
    tsr_err rc = tsr_keyset_load_jwks(f->text, strlen(f->text), &s, err);
    if (rc != TSR_OK) {
        assert_null(s);
    }
    tsr_keyset_free(s);
    return rc;
}

static tsr_err op_generate(void *ctx, tsr_error *err)
{
    fx *f = ctx;
    tsr_key *k = (tsr_key *)0x1;
    tsr_err rc = (f->alg >= TSR_ALG_RS256 && f->alg <= TSR_ALG_PS512)
                     ? tsr_key_generate_rsa(f->alg, 2048, &k, err)
                     : tsr_key_generate(f->alg, &k, err);
    if (rc != TSR_OK) {
        assert_null(k);
    }
    tsr_key_free(k);
    return rc;
}

static tsr_err op_from_secret(void *ctx, tsr_error *err)
{
    (void)ctx;
    static const unsigned char secret[32] = {7};
    tsr_key *k = (tsr_key *)0x1;
    tsr_err rc = tsr_key_from_secret(secret, sizeof secret, TSR_ALG_HS256, &k, err);
    if (rc == TSR_OK) {
        rc = tsr_key_set1_kid(k, "a kid", err);
    } else {
        assert_null(k);
    }
    tsr_key_free(k);
    return rc;
}

static tsr_err op_export(void *ctx, tsr_error *err)
{
    fx *f = ctx;
    char *pub = (char *)0x1;
    char *priv = (char *)0x1;
    tsr_err rc = tsr_key_export_jwk(f->key, true, &priv, err);
    if (rc != TSR_OK) {
        assert_null(priv);
        return rc;
    }
    if (tsr_key_get_kty(f->key) != TSR_KTY_OCT) {
        rc = tsr_key_export_jwk(f->key, false, &pub, err);
        if (rc != TSR_OK) {
            assert_null(pub);
            pub = NULL;
        }
    } else {
        pub = NULL;
    }
    tsr_free(pub);
    tsr_free_secret(priv, strlen(priv));
    return rc;
}

static tsr_err op_export_jwks(void *ctx, tsr_error *err)
{
    fx *f = ctx;
    char *out = (char *)0x1;
    tsr_err rc = tsr_keyset_export_jwks(f->set, &out, err);
    if (rc != TSR_OK) {
        assert_null(out);
        out = NULL;
    }
    tsr_free(out);
    return rc;
}

static tsr_err op_thumbprint(void *ctx, tsr_error *err)
{
    fx *f = ctx;
    char tp[TSR_THUMBPRINT_LEN + 1];
    return tsr_key_thumbprint(f->key, tp, err);
}

static void test_keys(void **state)
{
    fx *f = *state;
    const struct {
        const char *name;
        char *text;
        op_fn fn;
    } loads[] = {
        {"load_jwk RSA private", f->rsa_priv_jwk, op_load_jwk},
        {"load_jwk EC private", f->ec_priv_jwk, op_load_jwk},
        {"load_jwk Ed25519 private", f->ed_priv_jwk, op_load_jwk},
        {"load_jwk oct", f->oct_jwk, op_load_jwk},
        {"load_pem PKCS#8", f->pem_priv, op_load_pem},
        {"load_pem SPKI", f->pem_pub, op_load_pem},
        {"keyset_load_jwks", f->jwks, op_keyset_load_jwks},
        {"keyset_load JWK Set", f->jwks, op_keyset_load},
        {"keyset_load JWK", f->ec_priv_jwk, op_keyset_load},
        {"keyset_load PEM", f->pem_pub, op_keyset_load},
    };
    for (size_t i = 0; i < sizeof loads / sizeof loads[0]; i++) {
        f->text = loads[i].text;
        exhaust(loads[i].name, loads[i].fn, f);
    }
    for (int a = TSR_ALG_HS256; a < TSR_ALG__COUNT; a++) {
        if (a > TSR_ALG_RS256 && a <= TSR_ALG_PS512) {
            continue; /* the same code path as RS256; RSA keygen is slow */
        }
        f->alg = (tsr_alg)a;
        char name[40];
        (void)snprintf(name, sizeof name, "generate %s", tsr_alg_name(f->alg));
        exhaust(name, op_generate, f);
    }
    exhaust("from_secret + set1_kid", op_from_secret, f);
    tsr_key *keys[] = {f->rsa, f->ec, f->hs, f->ed};
    for (size_t i = 0; i < 4; i++) {
        f->key = keys[i];
        exhaust("export_jwk", op_export, f);
        exhaust("thumbprint", op_thumbprint, f);
    }
    exhaust("keyset_export_jwks", op_export_jwks, f);
}

/* ------------------------------------------------------------------ verify */

static tsr_err op_verifier_new(void *ctx, tsr_error *err)
{
    fx *f = ctx;
    tsr_policy *p = NULL;
    tsr_verifier *v = (tsr_verifier *)0x1;
    tsr_err rc = tsr_policy_new(&p, err);
    if (rc == TSR_OK) {
        rc = tsr_policy_allow_algs(p, "RS256,ES256,EdDSA", err);
    }
    if (rc == TSR_OK) {
        rc = tsr_policy_set_issuer(p, "https://issuer.example", err);
    }
    if (rc == TSR_OK) {
        rc = tsr_policy_add_audience(p, "api", err);
    }
    if (rc == TSR_OK) {
        rc = tsr_policy_set_typ(p, "JWT", err);
    }
    if (rc == TSR_OK) {
        rc = tsr_policy_require_claim(p, "jti", err);
    }
    if (rc == TSR_OK) {
        rc = tsr_verifier_new(p, f->set, &v, err);
        if (rc != TSR_OK) {
            assert_null(v);
        }
    }
    if (rc == TSR_OK) {
        f->v = v; /* kept for the verify steps */
    }
    tsr_policy_free(p);
    return rc;
}

static tsr_err op_verify_fresh_jwt(void *ctx, tsr_error *err)
{
    fx *f = ctx;
    tsr_jwt *jwt = NULL;
    tsr_err rc = tsr_jwt_new(&jwt, err);
    if (rc == TSR_OK) {
        rc = tsr_verifier_verify(f->v, f->token, strlen(f->token), NOW, jwt, err);
    }
    if (rc == TSR_OK) {
        char iss[64];
        assert_int_equal(tsr_jwt_get_string(jwt, "iss", iss, sizeof iss, NULL), TSR_OK);
        assert_string_equal(iss, "https://issuer.example");
    }
    tsr_jwt_free(jwt);
    return rc;
}

static tsr_err op_verify_no_jwt(void *ctx, tsr_error *err)
{
    fx *f = ctx;
    return tsr_verifier_verify(f->v, f->token, strlen(f->token), NOW, NULL, err);
}

static void test_verify(void **state)
{
    fx *f = *state;
    exhaust("policy + verifier_new", op_verifier_new, f);
    assert_non_null(f->v);
    exhaust("jwt_new + verify", op_verify_fresh_jwt, f);
    exhaust("verify (temporary jwt)", op_verify_no_jwt, f);
    tsr_verifier_free(f->v);
    f->v = NULL;
}

/* ------------------------------------------------------------------ sign */

static tsr_err op_signer_new(void *ctx, tsr_error *err)
{
    fx *f = ctx;
    tsr_signer *s = (tsr_signer *)0x1;
    tsr_err rc = tsr_signer_new(f->key, f->alg, "kid-1", "at+jwt", &s, err);
    if (rc != TSR_OK) {
        assert_null(s);
    }
    tsr_signer_free(s);
    return rc;
}

static tsr_err op_claims_build(void *ctx, tsr_error *err)
{
    (void)ctx;
    tsr_claims *c = (tsr_claims *)0x1;
    tsr_err rc = tsr_claims_new(&c, err);
    if (rc != TSR_OK) {
        assert_null(c);
        return rc;
    }
    static const char extra[] = "{\"scope\":\"read write\",\"n\":[1,2,3]}";
    rc = tsr_claims_set_string(c, "iss", "https://issuer.example", err);
    if (rc == TSR_OK) {
        rc = tsr_claims_set_int(c, "n2", 42, err);
    }
    if (rc == TSR_OK) {
        rc = tsr_claims_add_audience(c, "a", err);
    }
    if (rc == TSR_OK) {
        rc = tsr_claims_add_audience(c, "b", err);
    }
    if (rc == TSR_OK) {
        rc = tsr_claims_merge_json(c, extra, sizeof extra - 1, err);
    }
    if (rc == TSR_OK) {
        rc = tsr_claims_set_ttl(c, 60, err);
    }
    tsr_claims_free(c);
    return rc;
}

static tsr_err op_sign_claims(void *ctx, tsr_error *err)
{
    fx *f = ctx;
    char *tok = (char *)0x1;
    size_t len = 99;
    tsr_err rc = tsr_signer_sign_claims(f->signer, f->claims, NOW, &tok, &len, err);
    if (rc != TSR_OK) {
        assert_null(tok);
        assert_int_equal(len, 0);
        return rc;
    }
    assert_int_equal(len, strlen(tok));
    tsr_free(tok);
    return rc;
}

static tsr_err op_sign(void *ctx, tsr_error *err)
{
    fx *f = ctx;
    static const char payload[] = "{\"sub\":\"x\",\"exp\":1700000600}";
    char *tok = (char *)0x1;
    tsr_err rc = tsr_signer_sign(f->signer, payload, sizeof payload - 1, &tok, NULL, err);
    if (rc != TSR_OK) {
        assert_null(tok);
        return rc;
    }
    tsr_free(tok);
    return rc;
}

static void test_sign(void **state)
{
    fx *f = *state;
    const struct {
        tsr_key *key;
        tsr_alg alg;
    } cases[] = {
        {f->hs, TSR_ALG_HS256}, {f->rsa, TSR_ALG_RS256}, {f->ec, TSR_ALG_ES256},
        {f->ed, TSR_ALG_EDDSA},
    };
    exhaust("claims building", op_claims_build, f);
    assert_int_equal(tsr_claims_new(&f->claims, NULL), TSR_OK);
    assert_int_equal(tsr_claims_set_string(f->claims, "iss", "https://issuer.example", NULL),
                     TSR_OK);
    assert_int_equal(tsr_claims_add_audience(f->claims, "api", NULL), TSR_OK);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        f->key = cases[i].key;
        f->alg = cases[i].alg;
        char name[40];
        (void)snprintf(name, sizeof name, "signer_new %s", tsr_alg_name(f->alg));
        exhaust(name, op_signer_new, f);
        assert_int_equal(tsr_signer_new(f->key, f->alg, NULL, NULL, &f->signer, NULL), TSR_OK);
        (void)snprintf(name, sizeof name, "sign_claims %s", tsr_alg_name(f->alg));
        exhaust(name, op_sign_claims, f);
        (void)snprintf(name, sizeof name, "sign %s", tsr_alg_name(f->alg));
        exhaust(name, op_sign, f);
        tsr_signer_free(f->signer);
        f->signer = NULL;
    }
    tsr_claims_free(f->claims);
    f->claims = NULL;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_keys, setup, teardown),
        cmocka_unit_test_setup_teardown(test_verify, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sign, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
