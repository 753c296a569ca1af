/*
 * signer.c: tsr_signer (a private key bound to one algorithm, kid and typ)
 * and tsr_claims (a jansson-backed builder for a JWT claim set).
 *
 * The protected header is built once, when the signer is made, in a fixed
 * member order {"alg","kid","typ"} and kept base64url-encoded, so signing a
 * token is: encode the payload, sign the signing input, encode the
 * signature, all into one allocation. The header never depends on the
 * payload, which keeps tokens from one signer byte-comparable.
 *
 * Claims are kept in a jansson object whose member order is the order of
 * insertion (jansson >= 2.14 preserves it), and serialised compactly.
 * tsr_signer_sign_claims adds iat/nbf/exp/jti to a shallow copy, so the
 * caller's claim set is never changed by signing and can be reused.
 */
#include <string.h>

#include <jansson.h>

#include "internal.h"

struct tsr_signer {
    tsr_key *key;        /* one reference, owned */
    tsr_alg alg;
    char *header_b64;    /* base64url of the protected header, NUL-terminated */
    size_t header_b64_len;
};

struct tsr_claims {
    json_t *obj;         /* the claim set; owned */
    int64_t ttl;         /* lifetime used for a default exp */
    unsigned defaults;   /* TSR_CLAIMS_DEFAULT_* to fill at sign time */
};

/* Largest payload tsr_signer_sign accepts: the largest token any tessera
 * verifier can be configured to take. */
#define SIGN_PAYLOAD_MAX ((size_t)TSR_MAX_TOKEN_SIZE_LIMIT)

/* Largest raw signature of any supported key (RSA-8192). */
#define SIG_BUF_MAX 1024u

/* Random bytes in a default jti (128 bits, RFC 7519 4.1.7 uniqueness). */
#define JTI_BYTES 16u

/* ------------------------------------------------------------------ UTF-8 */

/* Length of the well-formed UTF-8 sequence at s[0..n), or 0 if it is not
 * one (overlong forms, surrogates and code points above U+10FFFF are
 * rejected as RFC 3629 requires). */
static size_t utf8_seq_len(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    size_t len;
    uint32_t cp;
    if (c < 0x80) {
        return 1;
    }
    if (c >= 0xC2 && c <= 0xDF) {
        len = 2;
        cp = c & 0x1Fu;
    } else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        cp = c & 0x0Fu;
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        cp = c & 0x07u;
    } else {
        return 0;
    }
    if (len > n) {
        return 0;
    }
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0u) != 0x80u) {
            return 0;
        }
        cp = (cp << 6) | (s[i] & 0x3Fu);
    }
    if ((len == 3 && cp < 0x800u) || (len == 4 && cp < 0x10000u) || cp > 0x10FFFFu ||
        (cp >= 0xD800u && cp <= 0xDFFFu)) {
        return 0;
    }
    return len;
}

/* Whether the NUL-terminated `s` is valid UTF-8. jansson refuses invalid
 * UTF-8 too, but reports it the same way as running out of memory; checking
 * first lets us return the right error. */
static bool utf8_valid(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t n = strlen(s);
    while (n > 0) {
        size_t l = utf8_seq_len(p, n);
        if (l == 0) {
            return false;
        }
        p += l;
        n -= l;
    }
    return true;
}

/* ------------------------------------------------------------------ signer */

/* Adds string member `name` = `value` to `obj`. */
static tsr_err set_str_member(json_t *obj, const char *name, const char *value, tsr_error *err)
{
    json_t *v = json_string(value);
    if (v == NULL || json_object_set_new(obj, name, v) != 0) {
        return tsr__fail(err, TSR_ERR_NOMEM, "out of memory building JSON");
    }
    return TSR_OK;
}

/*
 * Serialises `obj` compactly into a new tsr__malloc'd NUL-terminated buffer.
 * json_dumpb with a NULL buffer reports the size first, so the text lands in
 * our own (fault-injectable) allocation rather than jansson's.
 */
static tsr_err dump_compact(const json_t *obj, char **out, size_t *out_len, tsr_error *err)
{
    *out = NULL;
    *out_len = 0;
    size_t need = json_dumpb(obj, NULL, 0, JSON_COMPACT);
    if (need == 0) {
        return tsr__fail(err, TSR_ERR_NOMEM, "cannot serialise JSON");
    }
    char *buf = tsr__malloc(need + 1);
    if (buf == NULL) {
        return tsr__fail(err, TSR_ERR_NOMEM, "out of memory");
    }
    if (json_dumpb(obj, buf, need, JSON_COMPACT) != need) {
        tsr__free(buf);
        return tsr__fail(err, TSR_ERR_NOMEM, "cannot serialise JSON");
    }
    buf[need] = '\0';
    *out = buf;
    *out_len = need;
    return TSR_OK;
}

/* Builds {"alg":..,"kid":..,"typ":..} (kid/typ omitted when NULL) and
 * stores its base64url form in `s`. */
static tsr_err build_header(tsr_signer *s, const char *kid, const char *typ, tsr_error *err)
{
    tsr_err rc;
    char *text = NULL;
    size_t text_len = 0;
    json_t *hdr = json_object();
    if (hdr == NULL) {
        return tsr__fail(err, TSR_ERR_NOMEM, "out of memory");
    }
    rc = set_str_member(hdr, "alg", tsr_alg_name(s->alg), err);
    if (rc == TSR_OK && kid != NULL) {
        rc = set_str_member(hdr, "kid", kid, err);
    }
    if (rc == TSR_OK && typ != NULL) {
        rc = set_str_member(hdr, "typ", typ, err);
    }
    if (rc == TSR_OK) {
        rc = dump_compact(hdr, &text, &text_len, err);
    }
    if (rc != TSR_OK) {
        goto out;
    }
    size_t cap = tsr_b64url_encoded_len(text_len) + 1;
    s->header_b64 = tsr__malloc(cap);
    if (s->header_b64 == NULL) {
        rc = tsr__fail(err, TSR_ERR_NOMEM, "out of memory");
        goto out;
    }
    rc = tsr_b64url_encode((const unsigned char *)text, text_len, s->header_b64, cap,
                           &s->header_b64_len);
    if (rc != TSR_OK) {
        rc = tsr__fail(err, rc, "cannot encode header");
    }
out:
    tsr__free(text);
    json_decref(hdr);
    return rc;
}

/* Resolves the kid/typ arguments of tsr_signer_new to what goes in the
 * header (NULL = omitted) and checks them. */
static tsr_err resolve_kid_typ(const tsr_key *key, const char **kid, const char **typ,
                               tsr_error *err)
{
    if (*kid == NULL) {
        *kid = tsr_key_get0_kid(key);
    }
    if (*kid != NULL && (*kid)[0] == '\0') {
        *kid = NULL;
    }
    if (*typ == NULL) {
        *typ = "JWT";
    } else if ((*typ)[0] == '\0') {
        *typ = NULL;
    }
    if (*kid != NULL && (strlen(*kid) > TSR_KID_MAX || !utf8_valid(*kid))) {
        return tsr__fail(err, TSR_ERR_INVALID_ARGUMENT, "kid is too long or not UTF-8");
    }
    if (*typ != NULL && !utf8_valid(*typ)) {
        return tsr__fail(err, TSR_ERR_INVALID_ARGUMENT, "typ is not UTF-8");
    }
    return TSR_OK;
}

tsr_err tsr_signer_new(tsr_key *key, tsr_alg alg, const char *kid, const char *typ,
                       tsr_signer **out, tsr_error *err)
{
    if (out == NULL) {
        return tsr__fail(err, TSR_ERR_INVALID_ARGUMENT, "no output");
    }
    *out = NULL;
    if (key == NULL) {
        return tsr__fail(err, TSR_ERR_INVALID_ARGUMENT, "no key");
    }
    if (alg == TSR_ALG_UNSPECIFIED) {
        alg = tsr_key_default_alg(key);
        if (alg == TSR_ALG_UNSPECIFIED) {
            return tsr__fail(err, TSR_ERR_KEY_MISMATCH, "key has no signing algorithm");
        }
    }
    if (tsr__alg_get(alg) == NULL) {
        return tsr__fail(err, TSR_ERR_INVALID_ARGUMENT, "unknown algorithm");
    }
    /* One check covers a public-only key, "use":"enc", key_ops without
     * "sign", the wrong family or curve, a weak key and a bound alg. */
    if (!tsr_key_usable(key, alg, TSR_OP_SIGN)) {
        return tsr__fail(err, TSR_ERR_KEY_MISMATCH, "key cannot sign with %s", tsr_alg_name(alg));
    }
    tsr_err rc = resolve_kid_typ(key, &kid, &typ, err);
    if (rc != TSR_OK) {
        return rc;
    }
    tsr_signer *s = tsr__calloc(1, sizeof *s);
    if (s == NULL) {
        return tsr__fail(err, TSR_ERR_NOMEM, "out of memory");
    }
    s->alg = alg;
    rc = build_header(s, kid, typ, err);
    if (rc != TSR_OK) {
        tsr_signer_free(s);
        return rc;
    }
    s->key = tsr_key_up_ref(key);
    *out = s;
    tsr__ok(err);
    return TSR_OK;
}

void tsr_signer_free(tsr_signer *s)
{
    if (s == NULL) {
        return;
    }
    tsr_key_free(s->key);
    tsr__free(s->header_b64);
    tsr__free(s);
}

tsr_alg tsr_signer_get_alg(const tsr_signer *s)
{
    return s != NULL ? s->alg : TSR_ALG_UNSPECIFIED;
}

/*
 * header_b64 "." b64(payload) "." b64(signature), in one allocation. The
 * signature is computed over the first two parts as they sit in the output
 * buffer, so what is signed is exactly what is sent.
 */
static tsr_err sign_compact(const tsr_signer *s, const char *payload, size_t len, char **out,
                            size_t *out_len, tsr_error *err)
{
    unsigned char sig[SIG_BUF_MAX];
    size_t sig_len = tsr__crypto_sig_max(s->key, s->alg);
    if (sig_len == 0 || sig_len > sizeof sig) {
        return tsr__fail(err, TSR_ERR_CRYPTO, "unexpected signature size");
    }
    size_t plen = tsr_b64url_encoded_len(len);
    size_t cap = s->header_b64_len + 1 + plen + 1 + tsr_b64url_encoded_len(sig_len) + 1;
    char *tok = tsr__malloc(cap);
    if (tok == NULL) {
        return tsr__fail(err, TSR_ERR_NOMEM, "out of memory");
    }
    size_t pos = s->header_b64_len;
    memcpy(tok, s->header_b64, pos);
    tok[pos++] = '.';
    size_t n = 0;
    tsr_err rc = tsr_b64url_encode((const unsigned char *)payload, len, tok + pos, cap - pos, &n);
    if (rc != TSR_OK) {
        rc = tsr__fail(err, rc, "cannot encode payload");
        goto out;
    }
    pos += n;
    rc = tsr__crypto_sign(s->key, s->alg, (const unsigned char *)tok, pos, sig, &sig_len, err);
    if (rc != TSR_OK) {
        goto out;
    }
    tok[pos++] = '.';
    rc = tsr_b64url_encode(sig, sig_len, tok + pos, cap - pos, &n);
    if (rc != TSR_OK) {
        rc = tsr__fail(err, rc, "cannot encode signature");
        goto out;
    }
    pos += n;
    *out = tok;
    if (out_len != NULL) {
        *out_len = pos;
    }
    tok = NULL;
    tsr__ok(err);
out:
    tsr__free(tok);
    return rc;
}

/* Common argument checks of the two sign calls; clears the outputs. */
static tsr_err sign_prologue(const tsr_signer *s, char **out, size_t *out_len, tsr_error *err)
{
    if (out_len != NULL) {
        *out_len = 0;
    }
    if (out == NULL) {
        return tsr__fail(err, TSR_ERR_INVALID_ARGUMENT, "no output");
    }
    *out = NULL;
    if (s == NULL) {
        return tsr__fail(err, TSR_ERR_INVALID_ARGUMENT, "no signer");
    }
    return TSR_OK;
}

tsr_err tsr_signer_sign(const tsr_signer *s, const char *payload, size_t len, char **out,
                        size_t *out_len, tsr_error *err)
{
    tsr_err rc = sign_prologue(s, out, out_len, err);
    if (rc != TSR_OK) {
        return rc;
    }
    if (payload == NULL) {
        return tsr__fail(err, TSR_ERR_INVALID_ARGUMENT, "no payload");
    }
    /* Refuse to sign what no tessera verifier would accept as claims. */
    json_t *doc = NULL;
    rc = tsr__json_load(payload, len, SIGN_PAYLOAD_MAX, &doc, err);
    if (rc != TSR_OK) {
        return rc;
    }
    bool is_object = json_is_object(doc);
    json_decref(doc);
    if (!is_object) {
        return tsr__fail(err, TSR_ERR_MALFORMED, "payload is not a JSON object");
    }
    return sign_compact(s, payload, len, out, out_len, err);
}

/* ------------------------------------------------------------------ claims */

tsr_err tsr_claims_new(tsr_claims **out, tsr_error *err)
{
    if (out == NULL) {
        return tsr__fail(err, TSR_ERR_INVALID_ARGUMENT, "no output");
    }
    *out = NULL;
    tsr_claims *c = tsr__calloc(1, sizeof *c);
    if (c == NULL) {
        return tsr__fail(err, TSR_ERR_NOMEM, "out of memory");
    }
    c->obj = json_object();
    if (c->obj == NULL) {
        tsr__free(c);
        return tsr__fail(err, TSR_ERR_NOMEM, "out of memory");
    }
    c->ttl = TSR_DEFAULT_TTL;
    c->defaults = TSR_CLAIMS_DEFAULT_ALL;
    *out = c;
    tsr__ok(err);
    return TSR_OK;
}

void tsr_claims_free(tsr_claims *c)
{
    if (c == NULL) {
        return;
    }
    json_decref(c->obj);
    tsr__free(c);
}

/* Checks a claim name: present and valid UTF-8. */
static tsr_err check_name(const tsr_claims *c, const char *name, tsr_error *err)
{
    if (c == NULL || name == NULL) {
        return tsr__fail(err, TSR_ERR_INVALID_ARGUMENT, "no claim set or name");
    }
    if (!utf8_valid(name)) {
        return tsr__fail(err, TSR_ERR_INVALID_ARGUMENT, "claim name is not UTF-8");
    }
    return TSR_OK;
}

/* Sets member `name` to `v` (a new reference, consumed even on failure). */
static tsr_err set_member(tsr_claims *c, const char *name, json_t *v, tsr_error *err)
{
    if (v == NULL || json_object_set_new(c->obj, name, v) != 0) {
        return tsr__fail(err, TSR_ERR_NOMEM, "out of memory");
    }
    tsr__ok(err);
    return TSR_OK;
}

tsr_err tsr_claims_set_string(tsr_claims *c, const char *name, const char *value, tsr_error *err)
{
    tsr_err rc = check_name(c, name, err);
    if (rc != TSR_OK) {
        return rc;
    }
    if (value == NULL || !utf8_valid(value)) {
        return tsr__fail(err, TSR_ERR_INVALID_ARGUMENT, "claim value missing or not UTF-8");
    }
    return set_member(c, name, json_string(value), err);
}

tsr_err tsr_claims_set_int(tsr_claims *c, const char *name, int64_t value, tsr_error *err)
{
    tsr_err rc = check_name(c, name, err);
    if (rc != TSR_OK) {
        return rc;
    }
    return set_member(c, name, json_integer((json_int_t)value), err);
}

tsr_err tsr_claims_add_audience(tsr_claims *c, const char *aud, tsr_error *err)
{
    if (c == NULL || aud == NULL || !utf8_valid(aud)) {
        return tsr__fail(err, TSR_ERR_INVALID_ARGUMENT, "audience missing or not UTF-8");
    }
    json_t *cur = json_object_get(c->obj, "aud");
    if (json_is_array(cur)) {
        json_t *v = json_string(aud);
        if (v == NULL || json_array_append_new(cur, v) != 0) {
            return tsr__fail(err, TSR_ERR_NOMEM, "out of memory");
        }
        tsr__ok(err);
        return TSR_OK;
    }
    if (!json_is_string(cur)) {
        /* First audience (or a non-audience value to replace): a string. */
        return set_member(c, "aud", json_string(aud), err);
    }
    /* Second audience: the single string becomes an array of both. */
    json_t *arr = json_array();
    if (arr == NULL || json_array_append(arr, cur) != 0 ||
        json_array_append_new(arr, json_string(aud)) != 0) {
        json_decref(arr);
        return tsr__fail(err, TSR_ERR_NOMEM, "out of memory");
    }
    return set_member(c, "aud", arr, err);
}

tsr_err tsr_claims_merge_json(tsr_claims *c, const char *json, size_t len, tsr_error *err)
{
    if (c == NULL || json == NULL) {
        return tsr__fail(err, TSR_ERR_INVALID_ARGUMENT, "no claim set or JSON");
    }
    json_t *doc = NULL;
    tsr_err rc = tsr__json_load(json, len, SIGN_PAYLOAD_MAX, &doc, err);
    if (rc != TSR_OK) {
        return rc;
    }
    if (!json_is_object(doc)) {
        rc = tsr__fail(err, TSR_ERR_MALFORMED, "claims JSON is not an object");
    } else if (json_object_update(c->obj, doc) != 0) {
        rc = tsr__fail(err, TSR_ERR_NOMEM, "out of memory");
    } else {
        tsr__ok(err);
    }
    json_decref(doc);
    return rc;
}

tsr_err tsr_claims_set_ttl(tsr_claims *c, int64_t seconds, tsr_error *err)
{
    if (c == NULL || seconds <= 0) {
        return tsr__fail(err, TSR_ERR_INVALID_ARGUMENT, "ttl must be positive");
    }
    c->ttl = seconds;
    tsr__ok(err);
    return TSR_OK;
}

void tsr_claims_set_defaults(tsr_claims *c, unsigned mask)
{
    if (c != NULL) {
        c->defaults = mask & TSR_CLAIMS_DEFAULT_ALL;
    }
}

/* Sets integer member `name` of `obj` to `v` unless it is already present. */
static tsr_err default_int(json_t *obj, const char *name, int64_t v, tsr_error *err)
{
    if (json_object_get(obj, name) != NULL) {
        return TSR_OK;
    }
    json_t *n = json_integer((json_int_t)v);
    if (n == NULL || json_object_set_new(obj, name, n) != 0) {
        return tsr__fail(err, TSR_ERR_NOMEM, "out of memory");
    }
    return TSR_OK;
}

/* Adds a fresh 128-bit random jti unless one is present. */
static tsr_err default_jti(json_t *obj, tsr_error *err)
{
    unsigned char raw[JTI_BYTES];
    char text[TSR_THUMBPRINT_LEN + 1]; /* 22 characters needed; ample */
    if (json_object_get(obj, "jti") != NULL) {
        return TSR_OK;
    }
    tsr_err rc = tsr__random(raw, sizeof raw);
    if (rc != TSR_OK) {
        return tsr__fail(err, rc, "no random bytes for jti");
    }
    rc = tsr_b64url_encode(raw, sizeof raw, text, sizeof text, NULL);
    if (rc != TSR_OK) {
        return tsr__fail(err, rc, "cannot encode jti");
    }
    return set_str_member(obj, "jti", text, err);
}

/* Adds the enabled defaults to `obj` (a private copy of the claim set). */
static tsr_err add_defaults(const tsr_claims *c, json_t *obj, int64_t now, tsr_error *err)
{
    tsr_err rc = TSR_OK;
    if (c->defaults & TSR_CLAIMS_DEFAULT_IAT) {
        rc = default_int(obj, "iat", now, err);
    }
    if (rc == TSR_OK && (c->defaults & TSR_CLAIMS_DEFAULT_NBF)) {
        rc = default_int(obj, "nbf", now, err);
    }
    if (rc == TSR_OK && (c->defaults & TSR_CLAIMS_DEFAULT_EXP) &&
        json_object_get(obj, "exp") == NULL) {
        if (now > INT64_MAX - c->ttl) {
            return tsr__fail(err, TSR_ERR_INVALID_ARGUMENT, "now + ttl overflows");
        }
        rc = default_int(obj, "exp", now + c->ttl, err);
    }
    if (rc == TSR_OK && (c->defaults & TSR_CLAIMS_DEFAULT_JTI)) {
        rc = default_jti(obj, err);
    }
    return rc;
}

/* Whether `v` is a JSON number a verifier accepts as a NumericDate. */
static bool is_numeric_date(const json_t *v)
{
    if (json_is_integer(v)) {
        return true;
    }
    /* jansson reals are finite; the bound keeps them within int64. */
    return json_is_real(v) && json_real_value(v) > -9.2e18 && json_real_value(v) < 9.2e18;
}

/* Whether `v` is a string or a non-empty array of strings. */
static bool is_audience(const json_t *v)
{
    if (json_is_string(v)) {
        return true;
    }
    if (!json_is_array(v) || json_array_size(v) == 0) {
        return false;
    }
    size_t i;
    const json_t *item;
    json_array_foreach(v, i, item) {
        if (!json_is_string(item)) {
            return false;
        }
    }
    return true;
}

/* Registered claims must have the types every verifier requires (RFC 7519
 * section 4.1, and tessera's strict reading of it): signing a token that
 * no verifier will ever accept is a bug better reported here, where it is
 * made, than at every verifier. */
static tsr_err check_registered(const json_t *obj, tsr_error *err)
{
    static const char *const strings[] = {"iss", "sub", "jti"};
    static const char *const dates[] = {"exp", "nbf", "iat"};
    for (size_t i = 0; i < sizeof strings / sizeof strings[0]; i++) {
        const json_t *v = json_object_get(obj, strings[i]);
        if (v != NULL && !json_is_string(v)) {
            return tsr__fail(err, TSR_ERR_MALFORMED, "claim '%s' must be a string", strings[i]);
        }
    }
    for (size_t i = 0; i < sizeof dates / sizeof dates[0]; i++) {
        const json_t *v = json_object_get(obj, dates[i]);
        if (v != NULL && !is_numeric_date(v)) {
            return tsr__fail(err, TSR_ERR_MALFORMED, "claim '%s' must be a NumericDate",
                             dates[i]);
        }
    }
    const json_t *aud = json_object_get(obj, "aud");
    if (aud != NULL && !is_audience(aud)) {
        return tsr__fail(err, TSR_ERR_MALFORMED,
                         "claim 'aud' must be a string or an array of strings");
    }
    return TSR_OK;
}

tsr_err tsr_signer_sign_claims(const tsr_signer *s, const tsr_claims *c, int64_t now,
                               char **out, size_t *out_len, tsr_error *err)
{
    tsr_err rc = sign_prologue(s, out, out_len, err);
    if (rc != TSR_OK) {
        return rc;
    }
    if (c == NULL) {
        return tsr__fail(err, TSR_ERR_INVALID_ARGUMENT, "no claim set");
    }
    char *text = NULL;
    size_t text_len = 0;
    /* A shallow copy: only top-level members are added, so the caller's
     * values are shared, never modified. */
    json_t *obj = json_copy(c->obj);
    if (obj == NULL) {
        return tsr__fail(err, TSR_ERR_NOMEM, "out of memory");
    }
    rc = add_defaults(c, obj, now, err);
    if (rc == TSR_OK) {
        rc = check_registered(obj, err);
    }
    if (rc == TSR_OK) {
        rc = dump_compact(obj, &text, &text_len, err);
    }
    if (rc == TSR_OK) {
        rc = sign_compact(s, text, text_len, out, out_len, err);
    }
    tsr__free(text);
    json_decref(obj);
    return rc;
}
