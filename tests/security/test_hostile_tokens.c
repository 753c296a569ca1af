/*
 * test_hostile_tokens.c: one named test per attack class of issue 2, each
 * asserting the exact error code a hostile token gets.
 *
 * Every forged token is correctly signed over the bytes it carries unless
 * the signature itself is the attack, so the rejection can only come from
 * the rule under test. A positive control in each test shows the same
 * verifier accepting the honest variant, so no test passes by rejecting
 * everything.
 */
#include "hostile.h"

/* 32-byte HS256 secret (RFC 7520 3.5) with kid "hs". */
#define HS_JWK                                                                                     \
    "{\"kty\":\"oct\",\"kid\":\"hs\",\"alg\":\"HS256\","                                          \
    "\"k\":\"hJtXIZ2uSN5kbQfbtTNWbpdmhkV8FJG-Onbc6mxCcYg\"}"

typedef struct fixture {
    tsr_key *hs;        /* HS256, kid "hs" */
    tsr_key *ec;        /* ES256, kid "ec" */
    tsr_verifier *v;    /* both keys, allowlist HS256,ES256, no leeway */
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    f->hs = ht_load_jwk(HS_JWK);
    f->ec = ht_generate(TSR_ALG_ES256, "ec");
    tsr_key *keys[] = {f->hs, f->ec};
    f->v = ht_verifier(keys, 2, "HS256,ES256", 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    tsr_verifier_free(f->v);
    tsr_key_free(f->hs);
    tsr_key_free(f->ec);
    free(f);
    return 0;
}

/* An HS256 token with header {"alg":"HS256"} + extra and payload pl. */
static char *hs_token(const fixture *f, const char *hdr, const char *pl)
{
    return ht_token(f->hs, TSR_ALG_HS256, hdr, pl);
}

static void expect_hs(const fixture *f, const char *hdr, const char *pl, tsr_err want,
                      const char *what)
{
    char *tok = hs_token(f, hdr, pl);
    ht_expect(f->v, tok, want, what);
    free(tok);
}

/* ------------------------------------------------------------------ alg */

static void test_alg_none_every_spelling(void **state)
{
    fixture *f = *state;
    static const char *const spellings[] = {
        "none", "None", "NONE", "nOnE", "NoNe", "none ", " none", "none\\u0000", "\\u006eone",
        "", "HS256 ", "hs256", "Hs256", "HS 256", "RS256\\u0000",
    };
    expect_hs(f, "{\"alg\":\"HS256\"}", HT_CLAIMS, TSR_OK, "positive control");
    for (size_t i = 0; i < sizeof spellings / sizeof spellings[0]; i++) {
        char hdr[64];
        (void)snprintf(hdr, sizeof hdr, "{\"alg\":\"%s\"}", spellings[i]);
        /* A real HMAC as the signature: the alg alone must reject it. */
        expect_hs(f, hdr, HT_CLAIMS, TSR_ERR_ALG_NOT_ALLOWED, hdr);
        /* The unsecured form, with an empty signature, is refused for its
         * alg too (the empty signature is only looked at afterwards). */
        char *h = ht_b64(hdr, strlen(hdr));
        char *p = ht_b64(HT_CLAIMS, strlen(HT_CLAIMS));
        char *tok = ht_join(h, p, "");
        ht_expect(f->v, tok, TSR_ERR_ALG_NOT_ALLOWED, "unsecured form");
        free(tok);
        free(h);
        free(p);
    }
    /* alg must be a string and present. */
    expect_hs(f, "{\"alg\":null}", HT_CLAIMS, TSR_ERR_MALFORMED, "alg null");
    expect_hs(f, "{\"alg\":[\"HS256\"]}", HT_CLAIMS, TSR_ERR_MALFORMED, "alg array");
    expect_hs(f, "{\"typ\":\"JWT\"}", HT_CLAIMS, TSR_ERR_MALFORMED, "alg absent");
    /* "none" cannot even be put in a policy. */
    tsr_policy *p = NULL;
    assert_int_equal(tsr_policy_new(&p, NULL), TSR_OK);
    assert_int_equal(tsr_policy_allow_algs(p, "none", NULL), TSR_ERR_ALG_NOT_ALLOWED);
    assert_int_equal(tsr_policy_allow_algs(p, "HS256,None", NULL), TSR_ERR_ALG_NOT_ALLOWED);
    assert_int_equal(tsr_policy_allow_algs(p, "NONE", NULL), TSR_ERR_ALG_NOT_ALLOWED);
    assert_int_equal(tsr_policy_allow_algs(p, "hs256", NULL), TSR_ERR_UNSUPPORTED);
    assert_int_equal(tsr_policy_allow_alg(p, TSR_ALG_UNSPECIFIED, NULL), TSR_ERR_INVALID_ARGUMENT);
    tsr_policy_free(p);
}

/* RFC 7515 A.5 verbatim, against a verifier that allows everything. */
static void test_alg_none_rfc7515_a5(void **state)
{
    fixture *f = *state;
    static const char a5[] =
        "eyJhbGciOiJub25lIn0.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxl"
        "LmNvbS9pc19yb290Ijp0cnVlfQ.";
    tsr_key *keys[] = {f->hs, f->ec};
    tsr_verifier *all = ht_verifier(keys, 2, "HS256,HS384,HS512,ES256,ES384,ES512,EdDSA", 0);
    ht_expect_n(all, a5, strlen(a5), 1300819300, TSR_ERR_ALG_NOT_ALLOWED, "A.5 as published");
    /* With any non-empty signature the alg is what rejects it. */
    char buf[sizeof a5 + 4];
    (void)snprintf(buf, sizeof buf, "%sAAAA", a5);
    ht_expect_n(all, buf, strlen(buf), 1300819300, TSR_ERR_ALG_NOT_ALLOWED, "A.5 + signature");
    tsr_verifier_free(all);
}

static void test_alg_not_in_allowlist(void **state)
{
    fixture *f = *state;
    tsr_key *hs512 = ht_load_jwk("{\"kty\":\"oct\",\"k\":\"AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-"
                                 "EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow\"}");
    tsr_key *keys[] = {hs512};
    tsr_verifier *v = ht_verifier(keys, 1, "HS512", 0);
    char *tok = ht_token(hs512, TSR_ALG_HS256, "{\"alg\":\"HS256\"}", HT_CLAIMS);
    ht_expect(v, tok, TSR_ERR_ALG_NOT_ALLOWED, "HS256 with only HS512 allowed");
    free(tok);
    tok = ht_token(hs512, TSR_ALG_HS512, "{\"alg\":\"HS512\"}", HT_CLAIMS);
    ht_expect(v, tok, TSR_OK, "positive control");
    free(tok);
    tsr_verifier_free(v);
    tsr_key_free(hs512);
    (void)f;
}

/* ------------------------------------------------------------------ embedded keys */

static void test_embedded_jwk_jku_x5u_x5c_ignored(void **state)
{
    fixture *f = *state;
    tsr_key *attacker = ht_generate(TSR_ALG_ES256, "attacker");
    char *pub = NULL;
    assert_int_equal(tsr_key_export_jwk(attacker, false, &pub, NULL), TSR_OK);
    char hdr[1024];
    /* Each header is prefix + the attacker's public JWK + "}". */
    static const char *const fmts[] = {
        "{\"alg\":\"ES256\",\"jwk\":",
        "{\"alg\":\"ES256\",\"kid\":\"ec\",\"jwk\":",
        "{\"alg\":\"ES256\",\"jku\":\"https://attacker.example/jwks.json\",\"x\":",
        "{\"alg\":\"ES256\",\"x5u\":\"https://attacker.example/cert.pem\",\"x\":",
        "{\"alg\":\"ES256\",\"x5c\":[\"MIIBszCCAVmgAwIBAgIUAA==\"],\"x\":",
        "{\"alg\":\"ES256\",\"x5t#S256\":\"AAAA\",\"x5t\":\"AAAA\",\"x\":",
    };
    for (size_t i = 0; i < sizeof fmts / sizeof fmts[0]; i++) {
        (void)snprintf(hdr, sizeof hdr, "%s%s}", fmts[i], pub);
        /* Signed by the attacker: the verifier's own "ec" key is used, and
         * the signature does not verify under it. */
        char *tok = ht_token(attacker, TSR_ALG_ES256, hdr, HT_CLAIMS);
        ht_expect(f->v, tok, TSR_ERR_BAD_SIGNATURE, fmts[i]);
        free(tok);
        /* The same header on an honest token is simply ignored. */
        tok = ht_token(f->ec, TSR_ALG_ES256, hdr, HT_CLAIMS);
        ht_expect(f->v, tok, TSR_OK, "honest token with embedded key material");
        free(tok);
    }
    /* A kid that names only the embedded key finds nothing. */
    (void)snprintf(hdr, sizeof hdr, "{\"alg\":\"ES256\",\"kid\":\"attacker\",\"jwk\":%s}", pub);
    char *tok = ht_token(attacker, TSR_ALG_ES256, hdr, HT_CLAIMS);
    ht_expect(f->v, tok, TSR_ERR_KEY_NOT_FOUND, "kid of the embedded jwk");
    free(tok);
    tsr_free(pub);
    tsr_key_free(attacker);
}

/* ------------------------------------------------------------------ kid */

static void test_kid_injection(void **state)
{
    fixture *f = *state;
    static const char *const kids[] = {
        "../../../../../../dev/null",
        "/etc/passwd",
        "' OR '1'='1",
        "hs' --",
        "hs\\u0000",
        "\\u0000hs",
        "HS",
        "hs ",
        "",
        "*",
        "ec",            /* names the EC key: not usable for HS256 */
        "|cat /etc/passwd",
    };
    expect_hs(f, "{\"alg\":\"HS256\",\"kid\":\"hs\"}", HT_CLAIMS, TSR_OK, "positive control");
    expect_hs(f, "{\"alg\":\"HS256\",\"kid\":\"\\u0068s\"}", HT_CLAIMS, TSR_OK,
              "escaped kid equals after unescaping");
    for (size_t i = 0; i < sizeof kids / sizeof kids[0]; i++) {
        char hdr[128];
        (void)snprintf(hdr, sizeof hdr, "{\"alg\":\"HS256\",\"kid\":\"%s\"}", kids[i]);
        expect_hs(f, hdr, HT_CLAIMS, TSR_ERR_KEY_NOT_FOUND, hdr);
    }
    /* The EC key's kid on an ES256 token signed with the HMAC key's bytes
     * cannot help either: the signature is checked with the EC key. */
    char *tok = ht_token(f->ec, TSR_ALG_ES256, "{\"alg\":\"ES256\",\"kid\":\"hs\"}", HT_CLAIMS);
    ht_expect(f->v, tok, TSR_ERR_KEY_NOT_FOUND, "ES256 token naming the HMAC key");
    free(tok);
    /* Very long kids: up to TSR_KID_MAX bytes a kid just matches nothing;
     * beyond it the header exceeds a cap (too_large), as a kid that long
     * can never name a key. */
    static const size_t lens[] = {TSR_KID_MAX, TSR_KID_MAX + 1, 8000};
    for (size_t i = 0; i < 3; i++) {
        size_t n = lens[i];
        char *hdr = malloc(n + 40);
        assert_non_null(hdr);
        static const char head[] = "{\"alg\":\"HS256\",\"kid\":\"";
        memcpy(hdr, head, sizeof head - 1);
        memset(hdr + sizeof head - 1, 'k', n);
        memcpy(hdr + sizeof head - 1 + n, "\"}", 3);
        expect_hs(f, hdr, HT_CLAIMS, n <= TSR_KID_MAX ? TSR_ERR_KEY_NOT_FOUND : TSR_ERR_TOO_LARGE,
                  "very long kid");
        free(hdr);
    }
    /* kid must be a string. */
    expect_hs(f, "{\"alg\":\"HS256\",\"kid\":1}", HT_CLAIMS, TSR_ERR_MALFORMED, "kid number");
    expect_hs(f, "{\"alg\":\"HS256\",\"kid\":[\"hs\"]}", HT_CLAIMS, TSR_ERR_MALFORMED, "kid array");
    expect_hs(f, "{\"alg\":\"HS256\",\"kid\":null}", HT_CLAIMS, TSR_ERR_MALFORMED, "kid null");
}

/* ------------------------------------------------------------------ ECDSA */

/* Big-endian order n of each NIST curve, for r = n / s = n forgeries. */
static const char *const p256_n =
    "ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551";

static void test_psychic_ecdsa(void **state)
{
    fixture *f = *state;
    static const char hdr[] = "{\"alg\":\"ES256\",\"kid\":\"ec\"}";
    unsigned char sig[64];
    size_t nlen = 0;
    unsigned char *n = tst_hex_decode(p256_n, &nlen);
    assert_int_equal(nlen, 32);

    /* All-zero 64 bytes: r = s = 0 (CVE-2022-21449). */
    memset(sig, 0, sizeof sig);
    char *tok = ht_token_sig(hdr, HT_CLAIMS, sig, 64);
    ht_expect(f->v, tok, TSR_ERR_BAD_SIGNATURE, "r = s = 0");
    free(tok);
    /* r = s = n (reduces to zero mod n). */
    memcpy(sig, n, 32);
    memcpy(sig + 32, n, 32);
    tok = ht_token_sig(hdr, HT_CLAIMS, sig, 64);
    ht_expect(f->v, tok, TSR_ERR_BAD_SIGNATURE, "r = s = n");
    free(tok);

    /* A genuine signature with r or s replaced by 0 or n. */
    char *input = ht_join("eyJhbGciOiJFUzI1NiIsImtpZCI6ImVjIn0", "e30", NULL);
    unsigned char good[1024];
    assert_int_equal(ht_sign_raw(f->ec, TSR_ALG_ES256, input, good), 64);
    for (int which = 0; which < 4; which++) {
        memcpy(sig, good, 64);
        unsigned char *part = sig + (which % 2 == 0 ? 0 : 32);
        if (which < 2) {
            memset(part, 0, 32);
        } else {
            memcpy(part, n, 32);
        }
        tok = ht_token_sig(hdr, HT_CLAIMS, sig, 64);
        ht_expect(f->v, tok, TSR_ERR_BAD_SIGNATURE, "r or s zero or n");
        free(tok);
    }
    /* Wrong lengths: 63, 65 and 0-padded 66 bytes. */
    memset(sig, 1, sizeof sig);
    tok = ht_token_sig(hdr, HT_CLAIMS, sig, 63);
    ht_expect(f->v, tok, TSR_ERR_BAD_SIGNATURE, "63-byte signature");
    free(tok);
    unsigned char longer[66] = {0};
    tok = ht_token_sig(hdr, HT_CLAIMS, longer, 66);
    ht_expect(f->v, tok, TSR_ERR_BAD_SIGNATURE, "66 zero bytes");
    free(tok);
    free(input);
    free(n);
}

/* DER length-prefixed INTEGER of a 32-byte big-endian value. */
static size_t der_int(const unsigned char *v, unsigned char *out)
{
    size_t skip = 0;
    while (skip < 31 && v[skip] == 0) {
        skip++;
    }
    size_t len = 32 - skip;
    bool pad = (v[skip] & 0x80) != 0;
    out[0] = 0x02;
    out[1] = (unsigned char)(len + (pad ? 1 : 0));
    size_t o = 2;
    if (pad) {
        out[o++] = 0;
    }
    memcpy(out + o, v + skip, len);
    return o + len;
}

static void test_der_ecdsa_signature(void **state)
{
    fixture *f = *state;
    char *h = ht_b64("{\"alg\":\"ES256\"}", 15);
    char *p = ht_b64(HT_CLAIMS, strlen(HT_CLAIMS));
    char *input = ht_join(h, p, NULL);
    unsigned char raw[1024];
    assert_int_equal(ht_sign_raw(f->ec, TSR_ALG_ES256, input, raw), 64);
    char *s = ht_b64(raw, 64);
    char *tok = ht_join(h, p, s);
    ht_expect(f->v, tok, TSR_OK, "raw r||s positive control");
    free(tok);
    free(s);
    unsigned char der[80];
    size_t rl = der_int(raw, der + 2);
    size_t sl = der_int(raw + 32, der + 2 + rl);
    der[0] = 0x30;
    der[1] = (unsigned char)(rl + sl);
    s = ht_b64(der, 2 + rl + sl);
    tok = ht_join(h, p, s);
    ht_expect(f->v, tok, TSR_ERR_BAD_SIGNATURE, "DER-encoded ECDSA signature");
    free(tok);
    free(s);
    free(input);
    free(h);
    free(p);
}

/* ------------------------------------------------------------------ JSON */

static void test_duplicate_members(void **state)
{
    fixture *f = *state;
    expect_hs(f, "{\"alg\":\"HS256\",\"alg\":\"HS256\"}", HT_CLAIMS, TSR_ERR_MALFORMED,
              "duplicate alg");
    expect_hs(f, "{\"alg\":\"HS256\",\"kid\":\"hs\",\"kid\":\"ec\"}", HT_CLAIMS,
              TSR_ERR_MALFORMED, "duplicate kid");
    expect_hs(f, "{\"alg\":\"HS256\",\"\\u0061lg\":\"none\"}", HT_CLAIMS, TSR_ERR_MALFORMED,
              "duplicate alg after unescaping");
    expect_hs(f, "{\"alg\":\"HS256\"}",
              "{\"exp\":1700000600,\"iss\":\"a\",\"exp\":9999999999}", TSR_ERR_MALFORMED,
              "duplicate exp");
    expect_hs(f, "{\"alg\":\"HS256\"}", "{\"exp\":1700000600,\"sub\":\"a\",\"s\\u0075b\":\"b\"}",
              TSR_ERR_MALFORMED, "duplicate escaped sub");
    expect_hs(f, "{\"alg\":\"HS256\"}", "{\"exp\":1700000600,\"x\":{\"a\":1,\"a\":2}}",
              TSR_ERR_MALFORMED, "duplicate in a nested object");
}

static void test_deeply_nested_json(void **state)
{
    fixture *f = *state;
    static const size_t depths[] = {32, 33, 1000};
    for (size_t d = 0; d < 3; d++) {
        size_t depth = depths[d];
        /* {"exp":...,"x": + (depth - 1) arrays: the object is level 1. */
        size_t cap = 64 + 2 * depth;
        char *pl = malloc(cap);
        assert_non_null(pl);
        int off = snprintf(pl, cap, "{\"exp\":1700000600,\"x\":");
        size_t n = (size_t)off;
        for (size_t i = 1; i < depth; i++) {
            pl[n++] = '[';
        }
        for (size_t i = 1; i < depth; i++) {
            pl[n++] = ']';
        }
        pl[n++] = '}';
        pl[n] = '\0';
        expect_hs(f, "{\"alg\":\"HS256\"}", pl, depth <= 32 ? TSR_OK : TSR_ERR_TOO_LARGE,
                  depth == 32 ? "payload depth 32" : "payload too deep");
        free(pl);
    }
    /* The header is capped the same way. */
    char hdr[128];
    int n = snprintf(hdr, sizeof hdr, "{\"alg\":\"HS256\",\"x\":");
    for (int i = 0; i < 32; i++) {
        hdr[n++] = '[';
    }
    for (int i = 0; i < 32; i++) {
        hdr[n++] = ']';
    }
    hdr[n++] = '}';
    hdr[n] = '\0';
    expect_hs(f, hdr, HT_CLAIMS, TSR_ERR_TOO_LARGE, "header depth 33");
}

static void test_claim_type_errors(void **state)
{
    fixture *f = *state;
    static const char *const bad[] = {
        "{\"exp\":\"1700000600\"}",
        "{\"exp\":1e400}",
        "{\"exp\":-1e400}",
        "{\"exp\":9223372036854775808}",
        "{\"exp\":true}",
        "{\"exp\":null}",
        "{\"exp\":[1700000600]}",
        "{\"exp\":1700000600,\"nbf\":\"0\"}",
        "{\"exp\":1700000600,\"iat\":{}}",
        "{\"exp\":1700000600,\"iss\":1}",
        "{\"exp\":1700000600,\"iss\":null}",
        "{\"exp\":1700000600,\"sub\":false}",
        "{\"exp\":1700000600,\"aud\":{}}",
        "{\"exp\":1700000600,\"aud\":{\"a\":\"b\"}}",
        "{\"exp\":1700000600,\"aud\":[\"a\",1]}",
        "{\"exp\":1700000600,\"aud\":[[\"a\"]]}",
        "{\"exp\":1700000600,\"aud\":7}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        expect_hs(f, "{\"alg\":\"HS256\"}", bad[i], TSR_ERR_MALFORMED, bad[i]);
    }
    /* Not a JSON object at all. */
    expect_hs(f, "{\"alg\":\"HS256\"}", "[1700000600]", TSR_ERR_MALFORMED, "payload array");
    expect_hs(f, "{\"alg\":\"HS256\"}", "\"x\"", TSR_ERR_MALFORMED, "payload string");
    expect_hs(f, "{\"alg\":\"HS256\"}", "Payload", TSR_ERR_MALFORMED, "payload not JSON");
    expect_hs(f, "{\"alg\":\"HS256\"}", "", TSR_ERR_MALFORMED, "empty payload");
    expect_hs(f, "[\"HS256\"]", HT_CLAIMS, TSR_ERR_MALFORMED, "header array");
    /* exp missing is its own code; exp in exponent form is fine. */
    expect_hs(f, "{\"alg\":\"HS256\"}", "{\"iss\":\"x\"}", TSR_ERR_MISSING_CLAIM, "no exp");
    expect_hs(f, "{\"alg\":\"HS256\"}", "{\"exp\":1.7000006e9}", TSR_OK, "exp with exponent");
    /* An audience in the token with none configured rejects. */
    expect_hs(f, "{\"alg\":\"HS256\"}", "{\"exp\":1700000600,\"aud\":\"x\"}",
              TSR_ERR_AUD_MISMATCH, "aud with no audience configured");
}

/* ------------------------------------------------------------------ times */

static void expect_times(const tsr_verifier *v, const tsr_key *hs, const char *pl, int64_t now,
                         tsr_err want, const char *what)
{
    char *tok = ht_token(hs, TSR_ALG_HS256, "{\"alg\":\"HS256\"}", pl);
    ht_expect_n(v, tok, strlen(tok), now, want, what);
    free(tok);
}

static void test_boundary_times(void **state)
{
    fixture *f = *state;
    const tsr_verifier *v = f->v;
    const int64_t t = 1700000000;
    expect_times(v, f->hs, "{\"exp\":1700000000}", t, TSR_ERR_EXPIRED, "now == exp");
    expect_times(v, f->hs, "{\"exp\":1700000001}", t, TSR_OK, "now == exp - 1");
    expect_times(v, f->hs, "{\"exp\":1700000000.5}", t, TSR_OK, "exp half a second ahead");
    expect_times(v, f->hs, "{\"exp\":1699999999.5}", t, TSR_ERR_EXPIRED, "exp half a second ago");
    expect_times(v, f->hs, "{\"exp\":1700000600,\"nbf\":1700000000}", t, TSR_OK, "now == nbf");
    expect_times(v, f->hs, "{\"exp\":1700000600,\"nbf\":1700000001}", t, TSR_ERR_NOT_YET_VALID,
                 "now == nbf - 1");
    expect_times(v, f->hs, "{\"exp\":1700000600,\"nbf\":1700000000.5}", t, TSR_ERR_NOT_YET_VALID,
                 "nbf half a second ahead");
    expect_times(v, f->hs, "{\"exp\":1700000600,\"iat\":1700000000}", t, TSR_OK, "iat == now");
    expect_times(v, f->hs, "{\"exp\":1700000600,\"iat\":1700000001}", t,
                 TSR_ERR_ISSUED_IN_FUTURE, "iat one second ahead");
    expect_times(v, f->hs, "{\"exp\":-1}", t, TSR_ERR_EXPIRED, "negative exp");
    expect_times(v, f->hs, "{\"exp\":9223372036854775807}", t, TSR_OK, "exp at INT64_MAX");
    expect_times(v, f->hs, "{\"exp\":9223372036854775807,\"nbf\":-9223372036854775808}",
                 INT64_MAX - 1, TSR_OK, "extremes do not overflow");

    /* With 30 s of leeway the boundaries move by exactly 30 s. */
    tsr_key *keys[] = {f->hs};
    tsr_verifier *lv = ht_verifier(keys, 1, "HS256", 30);
    expect_times(lv, f->hs, "{\"exp\":1699999971}", t, TSR_OK, "exp - 29 with leeway 30");
    expect_times(lv, f->hs, "{\"exp\":1699999970}", t, TSR_ERR_EXPIRED, "exp - 30 with leeway 30");
    expect_times(lv, f->hs, "{\"exp\":1700000600,\"nbf\":1700000030}", t, TSR_OK,
                 "nbf + 30 with leeway 30");
    expect_times(lv, f->hs, "{\"exp\":1700000600,\"nbf\":1700000031}", t, TSR_ERR_NOT_YET_VALID,
                 "nbf + 31 with leeway 30");
    expect_times(lv, f->hs, "{\"exp\":1700000600,\"iat\":1700000030}", t, TSR_OK,
                 "iat + 30 with leeway 30");
    expect_times(lv, f->hs, "{\"exp\":1700000600,\"iat\":1700000031}", t,
                 TSR_ERR_ISSUED_IN_FUTURE, "iat + 31 with leeway 30");
    tsr_verifier_free(lv);

    /* Maximum age 60 s: iat becomes required; now - iat > 60 rejects. */
    tsr_keyset *set = NULL;
    tsr_policy *pol = NULL;
    tsr_verifier *av = NULL;
    assert_int_equal(tsr_keyset_new(&set, NULL), TSR_OK);
    assert_int_equal(tsr_keyset_add1_key(set, f->hs, NULL), TSR_OK);
    assert_int_equal(tsr_policy_new(&pol, NULL), TSR_OK);
    assert_int_equal(tsr_policy_allow_alg(pol, TSR_ALG_HS256, NULL), TSR_OK);
    assert_int_equal(tsr_policy_set_max_age(pol, 60, NULL), TSR_OK);
    assert_int_equal(tsr_verifier_new(pol, set, &av, NULL), TSR_OK);
    expect_times(av, f->hs, "{\"exp\":1700000600}", t, TSR_ERR_MISSING_CLAIM, "max age, no iat");
    expect_times(av, f->hs, "{\"exp\":1700000600,\"iat\":1699999940}", t, TSR_OK, "age == 60");
    expect_times(av, f->hs, "{\"exp\":1700000600,\"iat\":1699999939}", t, TSR_ERR_TOO_OLD,
                 "age == 61");
    tsr_verifier_free(av);
    tsr_policy_free(pol);
    tsr_keyset_free(set);
}

/* ------------------------------------------------------------------ header rules */

static void test_crit(void **state)
{
    fixture *f = *state;
    expect_hs(f, "{\"alg\":\"HS256\",\"crit\":[\"exp\"],\"exp\":1}", HT_CLAIMS,
              TSR_ERR_CRIT_UNSUPPORTED, "crit names an unknown extension");
    expect_hs(f, "{\"alg\":\"HS256\",\"crit\":[]}", HT_CLAIMS, TSR_ERR_CRIT_UNSUPPORTED,
              "empty crit");
    expect_hs(f, "{\"alg\":\"HS256\",\"crit\":[\"b64\"],\"b64\":true}", HT_CLAIMS,
              TSR_ERR_CRIT_UNSUPPORTED, "crit b64");
    expect_hs(f, "{\"alg\":\"HS256\",\"crit\":\"x\"}", HT_CLAIMS, TSR_ERR_MALFORMED,
              "crit not an array");
    expect_hs(f, "{\"alg\":\"HS256\",\"crit\":[1]}", HT_CLAIMS, TSR_ERR_MALFORMED,
              "crit with a number");
}

static void test_b64_false(void **state)
{
    fixture *f = *state;
    expect_hs(f, "{\"alg\":\"HS256\",\"b64\":false}", HT_CLAIMS, TSR_ERR_UNSUPPORTED, "b64 false");
    expect_hs(f, "{\"alg\":\"HS256\",\"b64\":\"false\"}", HT_CLAIMS, TSR_ERR_MALFORMED,
              "b64 string");
    expect_hs(f, "{\"alg\":\"HS256\",\"b64\":true}", HT_CLAIMS, TSR_OK, "b64 true is the default");
    /* RFC 7797 form: the payload is sent unencoded, here as raw JSON. */
    static const char h7797[] = "{\"alg\":\"HS256\",\"b64\":false,\"crit\":[\"b64\"]}";
    char *h = ht_b64(h7797, sizeof h7797 - 1);
    /* "abcd" is both the unencoded payload and valid base64url, so only
     * the header can be what rejects it. */
    char *tok = ht_token_b64(f->hs, TSR_ALG_HS256, h, "abcd");
    ht_expect(f->v, tok, TSR_ERR_CRIT_UNSUPPORTED, "RFC 7797 token");
    free(tok);
    free(h);
}

static void test_cty_jwt_and_enc(void **state)
{
    fixture *f = *state;
    static const char *const nested[] = {"JWT", "jwt", "application/jwt", "Application/JWT"};
    for (size_t i = 0; i < 4; i++) {
        char hdr[64];
        (void)snprintf(hdr, sizeof hdr, "{\"alg\":\"HS256\",\"cty\":\"%s\"}", nested[i]);
        expect_hs(f, hdr, HT_CLAIMS, TSR_ERR_UNSUPPORTED, hdr);
    }
    expect_hs(f, "{\"alg\":\"HS256\",\"cty\":\"json\"}", HT_CLAIMS, TSR_OK, "other cty ignored");
    expect_hs(f, "{\"alg\":\"HS256\",\"cty\":5}", HT_CLAIMS, TSR_ERR_MALFORMED, "cty number");
    expect_hs(f, "{\"alg\":\"HS256\",\"typ\":5}", HT_CLAIMS, TSR_ERR_MALFORMED, "typ number");
    expect_hs(f, "{\"alg\":\"HS256\",\"enc\":\"A256GCM\"}", HT_CLAIMS, TSR_ERR_UNSUPPORTED,
              "JWE header");
}

/* ------------------------------------------------------------------ serialization */

static void test_json_serialization(void **state)
{
    fixture *f = *state;
    char *tok = hs_token(f, "{\"alg\":\"HS256\"}", HT_CLAIMS);
    char *d1 = strchr(tok, '.');
    char *d2 = strrchr(tok, '.');
    *d1 = '\0';
    *d2 = '\0';
    char json[1024];
    (void)snprintf(json, sizeof json, "{\"payload\":\"%s\",\"protected\":\"%s\",\"signature\":\"%s\"}",
                   d1 + 1, tok, d2 + 1);
    ht_expect(f->v, json, TSR_ERR_MALFORMED, "flattened JSON serialization");
    (void)snprintf(json, sizeof json,
                   "{\"payload\":\"%s\",\"signatures\":[{\"protected\":\"%s\",\"signature\":\"%s\"}]}",
                   d1 + 1, tok, d2 + 1);
    ht_expect(f->v, json, TSR_ERR_MALFORMED, "general JSON serialization");
    free(tok);
}

static void test_segment_counts(void **state)
{
    fixture *f = *state;
    char *tok = hs_token(f, "{\"alg\":\"HS256\"}", HT_CLAIMS);
    char *last = strrchr(tok, '.');
    size_t n = strlen(tok);
    char buf[2048];

    ht_expect_n(f->v, tok, (size_t)(last - tok), HT_NOW, TSR_ERR_MALFORMED, "2 segments");
    (void)snprintf(buf, sizeof buf, "%s.AAAA", tok);
    ht_expect(f->v, buf, TSR_ERR_MALFORMED, "4 segments");
    (void)snprintf(buf, sizeof buf, "%s.", tok);
    ht_expect(f->v, buf, TSR_ERR_MALFORMED, "trailing dot (4 segments)");
    (void)snprintf(buf, sizeof buf, "%s.AAAA.AAAA", tok);
    ht_expect(f->v, buf, TSR_ERR_MALFORMED, "5 segments (JWE shape)");
    ht_expect_n(f->v, tok, (size_t)(last - tok) + 1, HT_NOW, TSR_ERR_MALFORMED, "empty signature");
    ht_expect(f->v, "", TSR_ERR_MALFORMED, "empty token");
    ht_expect(f->v, "..", TSR_ERR_MALFORMED, "only dots");
    ht_expect(f->v, tok, TSR_OK, "positive control");
    assert_int_equal(n, strlen(tok));
    free(tok);
}

static void test_trailing_garbage_and_nul(void **state)
{
    fixture *f = *state;
    char *tok = hs_token(f, "{\"alg\":\"HS256\"}", HT_CLAIMS);
    size_t n = strlen(tok);
    char buf[2048];
    memcpy(buf, tok, n);

    memcpy(buf + n, "\n", 2);
    ht_expect(f->v, buf, TSR_OK, "one trailing newline is stripped");
    memcpy(buf + n, "\r\n", 3);
    ht_expect(f->v, buf, TSR_OK, "one trailing CRLF is stripped");
    static const char *const junk[] = {"\n\n", " ", "\t", "\r", "=", "\r\n\n", ".", "\n ", "\x80"};
    for (size_t i = 0; i < sizeof junk / sizeof junk[0]; i++) {
        size_t j = strlen(junk[i]);
        memcpy(buf + n, junk[i], j + 1);
        char what[48];
        (void)snprintf(what, sizeof what, "trailing garbage #%zu", i);
        ht_expect(f->v, buf, TSR_ERR_MALFORMED, what);
    }
    /* A trailing base64url character is still base64url: it makes the
     * signature one byte longer, so it is the signature that fails. */
    memcpy(buf + n, "x", 2);
    ht_expect(f->v, buf, TSR_ERR_BAD_SIGNATURE, "one more signature character");
    /* Leading whitespace. */
    buf[0] = ' ';
    memcpy(buf + 1, tok, n + 1);
    ht_expect(f->v, buf, TSR_ERR_MALFORMED, "leading space");
    /* A NUL byte inside the signature, and one after the token. */
    memcpy(buf, tok, n + 1);
    buf[n - 3] = '\0';
    ht_expect_n(f->v, buf, n, HT_NOW, TSR_ERR_MALFORMED, "NUL inside the signature");
    memcpy(buf, tok, n + 1);
    ht_expect_n(f->v, buf, n + 1, HT_NOW, TSR_ERR_MALFORMED, "NUL after the token");
    buf[5] = '\0';
    ht_expect_n(f->v, buf, n, HT_NOW, TSR_ERR_MALFORMED, "NUL inside the header");
    free(tok);
    /* NUL inside a claim string is fine (\u0000 escaped). */
    expect_hs(f, "{\"alg\":\"HS256\"}", "{\"exp\":1700000600,\"sub\":\"a\\u0000b\"}", TSR_OK,
              "escaped NUL in a claim");
    /* A raw NUL byte in the decoded JSON is a control character. */
    static const char raw_nul[] = "{\"exp\":1700000600,\"sub\":\"a\0b\"}";
    char *t2 = ht_token_n(f->hs, TSR_ALG_HS256, "{\"alg\":\"HS256\"}", 15, raw_nul,
                          sizeof raw_nul - 1);
    ht_expect(f->v, t2, TSR_ERR_MALFORMED, "raw NUL in the payload JSON");
    free(t2);
}

/* ------------------------------------------------------------------ base64url */

static void test_bad_base64url(void **state)
{
    fixture *f = *state;
    static const char hdr[] = "{\"alg\":\"HS256\"}";
    char *h = ht_b64(hdr, strlen(hdr));
    /* A payload of 46 bytes (1 mod 3): its encoding ends with a partial group. */
    static const char pl[] = "{\"exp\":1700000600,\"iss\":\"https://issuer.exam\"}";
    char *p = ht_b64(pl, strlen(pl));
    char *tok = ht_token_b64(f->hs, TSR_ALG_HS256, h, p);
    ht_expect(f->v, tok, TSR_OK, "positive control");
    free(tok);
    size_t plen = strlen(p);
    char buf[512];

    /* Header/payload variants, each signed as sent. */
    struct variant {
        const char *what;
        char seg;  /* 'h' or 'p' */
        const char *suffix;
    } v[] = {
        {"padding on the payload", 'p', "="},
        {"double padding on the payload", 'p', "=="},
        {"padding on the header", 'h', "="},
        {"space at the end of the payload", 'p', " "},
        {"tab in the payload", 'p', "\t"},
        {"newline in the payload", 'p', "\n"},
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        char seg[512];
        (void)snprintf(seg, sizeof seg, "%s%s", v[i].seg == 'h' ? h : p, v[i].suffix);
        tok = ht_token_b64(f->hs, TSR_ALG_HS256, v[i].seg == 'h' ? seg : h,
                           v[i].seg == 'h' ? p : seg);
        ht_expect(f->v, tok, TSR_ERR_MALFORMED, v[i].what);
        free(tok);
    }
    /* The standard alphabet's '+' and '/' in place of '-' and '_': make a
     * payload whose encoding contains both, then swap them in. */
    static const char pm[] = "{\"exp\":1700000600,\"x\":\"a\xfb\xef\xbe\xfb\xff\xbf\"}";
    char *pe = ht_b64(pm, strlen(pm));
    assert_non_null(strchr(pe, '-'));
    assert_non_null(strchr(pe, '_'));
    tok = ht_token_b64(f->hs, TSR_ALG_HS256, h, pe);
    free(tok);
    for (char *c = pe; *c != '\0'; c++) {
        if (*c == '-') {
            *c = '+';
        } else if (*c == '_') {
            *c = '/';
        }
    }
    tok = ht_token_b64(f->hs, TSR_ALG_HS256, h, pe);
    ht_expect(f->v, tok, TSR_ERR_MALFORMED, "+ and / in the payload");
    free(tok);
    free(pe);

    /* Non-canonical trailing bits: the last character of a 46-byte payload
     * carries 4 unused bits; set the lowest. */
    assert_int_equal(strlen(pl) % 3, 1);
    (void)snprintf(buf, sizeof buf, "%s", p);
    char last = buf[plen - 1];
    const char *alpha = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    size_t idx = (size_t)(strchr(alpha, last) - alpha);
    buf[plen - 1] = alpha[idx | 1u];
    assert_true(buf[plen - 1] != last);
    tok = ht_token_b64(f->hs, TSR_ALG_HS256, h, buf);
    ht_expect(f->v, tok, TSR_ERR_MALFORMED, "non-canonical payload tail");
    free(tok);
    /* Length 1 mod 4 can never be base64. */
    (void)snprintf(buf, sizeof buf, "%sA", p);
    if (strlen(buf) % 4 != 1) {
        (void)snprintf(buf, sizeof buf, "%sAA", p);
    }
    if (strlen(buf) % 4 == 1) {
        tok = ht_token_b64(f->hs, TSR_ALG_HS256, h, buf);
        ht_expect(f->v, tok, TSR_ERR_MALFORMED, "payload length 1 mod 4");
        free(tok);
    }

    /* Signature segment: padding, '+', whitespace, non-canonical tail. */
    tok = ht_token_b64(f->hs, TSR_ALG_HS256, h, p);
    size_t n = strlen(tok);
    (void)snprintf(buf, sizeof buf, "%s=", tok);
    ht_expect(f->v, buf, TSR_ERR_MALFORMED, "padding on the signature");
    (void)snprintf(buf, sizeof buf, "%s", tok);
    buf[n - 5] = '+';
    ht_expect(f->v, buf, TSR_ERR_MALFORMED, "+ in the signature");
    buf[n - 5] = ' ';
    ht_expect(f->v, buf, TSR_ERR_MALFORMED, "space in the signature");
    /* A 32-byte MAC is 43 characters; the last one has 2 unused bits. */
    (void)snprintf(buf, sizeof buf, "%s", tok);
    idx = (size_t)(strchr(alpha, buf[n - 1]) - alpha);
    buf[n - 1] = alpha[idx ^ 1u];
    ht_expect(f->v, buf, TSR_ERR_MALFORMED, "non-canonical signature tail");
    free(tok);
    free(h);
    free(p);
}

/* ------------------------------------------------------------------ sizes */

/* A token of exactly `total` characters (padding a claim to reach it). */
static char *token_of_size(const fixture *f, size_t total)
{
    /* header "eyJhbGciOiJIUzI1NiJ9" (20) + "." + payload + "." + 43. */
    const size_t fixed = 20 + 1 + 1 + 43;
    size_t enc = total - fixed;
    assert_true(enc % 4 != 1);
    size_t raw = enc / 4 * 3 + (enc % 4 == 0 ? 0 : enc % 4 - 1);
    static const char prefix[] = "{\"exp\":1700000600,\"pad\":\"";
    size_t pad = raw - (sizeof prefix - 1) - 2;
    char *pl = malloc(raw + 1);
    assert_non_null(pl);
    memcpy(pl, prefix, sizeof prefix - 1);
    memset(pl + sizeof prefix - 1, 'x', pad);
    memcpy(pl + sizeof prefix - 1 + pad, "\"}", 3);
    char *tok = hs_token(f, "{\"alg\":\"HS256\"}", pl);
    free(pl);
    assert_int_equal(strlen(tok), total);
    return tok;
}

static void test_oversized_token(void **state)
{
    fixture *f = *state;
    /* Sizes whose payload encoding is not 1 mod 4. */
    char *ok = token_of_size(f, (size_t)TSR_DEFAULT_MAX_TOKEN_SIZE);
    ht_expect(f->v, ok, TSR_OK, "exactly the default cap");
    size_t n = strlen(ok);
    char *with_nl = malloc(n + 3);
    assert_non_null(with_nl);
    memcpy(with_nl, ok, n);
    memcpy(with_nl + n, "\r\n", 3);
    ht_expect(f->v, with_nl, TSR_OK, "cap plus a stripped CRLF");
    free(with_nl);
    free(ok);
    char *big = token_of_size(f, (size_t)TSR_DEFAULT_MAX_TOKEN_SIZE + 1);
    ht_expect(f->v, big, TSR_ERR_TOO_LARGE, "one character over the cap");
    free(big);
    /* 1 MiB of junk is refused by size before anything looks at it. */
    size_t huge = (size_t)1024 * 1024;
    char *junk = malloc(huge + 1);
    assert_non_null(junk);
    memset(junk, 'A', huge);
    junk[huge] = '\0';
    ht_expect(f->v, junk, TSR_ERR_TOO_LARGE, "1 MiB token");
    free(junk);
}

/* ------------------------------------------------------------------ encoding */

static void test_lone_surrogates_bom_bad_utf8(void **state)
{
    fixture *f = *state;
    static const char *const bad[] = {
        "{\"exp\":1700000600,\"sub\":\"\\ud800\"}",
        "{\"exp\":1700000600,\"sub\":\"\\udc00\"}",
        "{\"exp\":1700000600,\"sub\":\"\\ud800\\u0041\"}",
        "{\"exp\":1700000600,\"sub\":\"\xed\xa0\x80\"}",   /* UTF-8-encoded surrogate */
        "{\"exp\":1700000600,\"sub\":\"\xc0\xaf\"}",       /* overlong */
        "{\"exp\":1700000600,\"sub\":\"\xff\"}",
        "{\"exp\":1700000600,\"sub\":\"\xe2\x82\"}",       /* truncated */
        "\xef\xbb\xbf{\"exp\":1700000600}",                /* BOM */
        "{\"exp\":1700000600}\xef\xbb\xbf",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        expect_hs(f, "{\"alg\":\"HS256\"}", bad[i], TSR_ERR_MALFORMED, "bad UTF-8/BOM payload");
    }
    expect_hs(f, "\xef\xbb\xbf{\"alg\":\"HS256\"}", HT_CLAIMS, TSR_ERR_MALFORMED, "BOM header");
    expect_hs(f, "{\"alg\":\"HS256\",\"x\":\"\\udfff\"}", HT_CLAIMS, TSR_ERR_MALFORMED,
              "lone surrogate in the header");
    expect_hs(f, "{\"alg\":\"HS256\"}", "{\"exp\":1700000600,\"sub\":\"\\ud83d\\ude00\xe2\x82\xac\"}",
              TSR_OK, "surrogate pair and UTF-8 are fine");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_alg_none_every_spelling, setup, teardown),
        cmocka_unit_test_setup_teardown(test_alg_none_rfc7515_a5, setup, teardown),
        cmocka_unit_test_setup_teardown(test_alg_not_in_allowlist, setup, teardown),
        cmocka_unit_test_setup_teardown(test_embedded_jwk_jku_x5u_x5c_ignored, setup, teardown),
        cmocka_unit_test_setup_teardown(test_kid_injection, setup, teardown),
        cmocka_unit_test_setup_teardown(test_psychic_ecdsa, setup, teardown),
        cmocka_unit_test_setup_teardown(test_der_ecdsa_signature, setup, teardown),
        cmocka_unit_test_setup_teardown(test_duplicate_members, setup, teardown),
        cmocka_unit_test_setup_teardown(test_deeply_nested_json, setup, teardown),
        cmocka_unit_test_setup_teardown(test_claim_type_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_boundary_times, setup, teardown),
        cmocka_unit_test_setup_teardown(test_crit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_b64_false, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cty_jwt_and_enc, setup, teardown),
        cmocka_unit_test_setup_teardown(test_json_serialization, setup, teardown),
        cmocka_unit_test_setup_teardown(test_segment_counts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_trailing_garbage_and_nul, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_base64url, setup, teardown),
        cmocka_unit_test_setup_teardown(test_oversized_token, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lone_surrogates_bom_bad_utf8, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
