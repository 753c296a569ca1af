/*
 * cmd_verify.c: `tessera verify`: one token (argument or stdin), or a
 * stream of tokens with --batch.
 *
 * Exit codes are the contract: 0 valid (payload JSON on stdout), 1 rejected
 * ("tessera: CODE: message" on stderr), 2 usage or key-file error. Key-file
 * and --alg problems are found before any token is read, so a
 * misconfiguration can never look like a rejected (or accepted) token.
 * --batch (the benchmark's entry point) lives in batch.c.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char verify_usage[] =
    "usage: tessera verify --key FILE --alg LIST [--iss S] [--aud S]... [--typ S] [--sub S]\n"
    "                      [--leeway SECONDS] [--max-age SECONDS] [--require CLAIM[,CLAIM]]...\n"
    "                      [--max-size CHARS] [--now UNIX] [TOKEN | --batch [--threads N]]\n"
    "  Verifies a compact JWS/JWT with the keys in FILE (JWK, JWK Set or PEM).\n"
    "  --alg LIST       allowed algorithms, comma-separated (mandatory; never none)\n"
    "  --iss S          required issuer\n"
    "  --aud S          accepted audience; repeat for several\n"
    "  --typ S          required typ header (case-insensitive, application/ optional)\n"
    "  --sub S          required subject\n"
    "  --leeway N       clock skew tolerance in seconds (0..86400)\n"
    "  --max-age N      reject tokens whose iat is older than N seconds\n"
    "  --require C,...  claims that must be present\n"
    "  --max-size N     longest token accepted, in characters (default 16384)\n"
    "  --now UNIX       the time to check against (default: now)\n"
    "  --batch          read tokens one per line on stdin; print \"ok\" or the\n"
    "                   rejection code for each, one line per token, in order\n"
    "  --threads N      with --batch: verify on N threads sharing one verifier\n"
    "  TOKEN            the token; read from stdin when absent\n"
    "  Exit: 0 valid (payload JSON on stdout), 1 rejected (\"tessera: CODE: message\"\n"
    "  on stderr), 2 usage or key-file error.\n";

struct verify_opts {
    const char *key, *algs, *iss, *typ, *sub, *token;
    const char **auds, **requires;
    size_t n_auds, n_requires;
    int64_t leeway, max_age, max_size, now, threads;
    bool have_now, batch;
};

/* Handles one option character `c` of verify; returns -1 to go on. */
static int take_option(int c, char **argv, struct verify_opts *o)
{
    switch (c) {
    case 'k':
        if (o->key != NULL) {
            return cli_usage_error(argv[0], verify_usage, "give --key once (use a JWK Set for several keys)", NULL);
        }
        o->key = optarg;
        return -1;
    case 'a': o->algs = optarg; return -1;
    case 'i': o->iss = optarg; return -1;
    case 't': o->typ = optarg; return -1;
    case 's': o->sub = optarg; return -1;
    case 'u': o->auds[o->n_auds++] = optarg; return -1;
    case 'r': o->requires[o->n_requires++] = optarg; return -1;
    case 'b': o->batch = true; return -1;
    case 'T':
        return cli_parse_i64(optarg, 1, 256, &o->threads)
                   ? -1 : cli_usage_error(argv[0], verify_usage, "--threads needs 1..256:", optarg);
    case 'l':
        return cli_parse_i64(optarg, 0, 86400, &o->leeway)
                   ? -1 : cli_usage_error(argv[0], verify_usage, "--leeway needs 0..86400 seconds:", optarg);
    case 'm':
        return cli_parse_i64(optarg, 1, INT64_MAX / 4, &o->max_age)
                   ? -1 : cli_usage_error(argv[0], verify_usage, "--max-age needs seconds > 0:", optarg);
    case 'M':
        return cli_parse_i64(optarg, 1, TSR_MAX_TOKEN_SIZE_LIMIT, &o->max_size)
                   ? -1 : cli_usage_error(argv[0], verify_usage, "--max-size needs 1..1048576:", optarg);
    case 'n':
        o->have_now = true;
        return cli_parse_i64(optarg, 0, INT64_MAX / 4, &o->now)
                   ? -1 : cli_usage_error(argv[0], verify_usage, "--now needs Unix seconds:", optarg);
    case 'h': fputs(verify_usage, stdout); return CLI_EXIT_OK;
    default: return cli_bad_option(argv[0], verify_usage, c, argv);
    }
}

/* Parses argv into `o`; returns -1 to go on, else the exit code. */
static int parse(int argc, char **argv, struct verify_opts *o)
{
    static const struct option opts[] = {
        {"key", required_argument, NULL, 'k'},      {"alg", required_argument, NULL, 'a'},
        {"iss", required_argument, NULL, 'i'},      {"aud", required_argument, NULL, 'u'},
        {"typ", required_argument, NULL, 't'},      {"sub", required_argument, NULL, 's'},
        {"leeway", required_argument, NULL, 'l'},   {"max-age", required_argument, NULL, 'm'},
        {"require", required_argument, NULL, 'r'},  {"max-size", required_argument, NULL, 'M'},
        {"now", required_argument, NULL, 'n'},      {"batch", no_argument, NULL, 'b'},
        {"threads", required_argument, NULL, 'T'},  {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int c, rc;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        rc = take_option(c, argv, o);
        if (rc >= 0) {
            return rc;
        }
    }
    if (argc - optind > 1 || (o->batch && argc - optind > 0)) {
        return cli_usage_error(argv[0], verify_usage, "unexpected argument", argv[argc - 1]);
    }
    o->token = optind < argc ? argv[optind] : NULL;
    if (o->key == NULL) {
        return cli_usage_error(argv[0], verify_usage, "--key is required", NULL);
    }
    if (o->algs == NULL) {
        return cli_usage_error(argv[0], verify_usage, "--alg is required (an explicit allowlist)", NULL);
    }
    if (o->threads > 0 && !o->batch) {
        return cli_usage_error(argv[0], verify_usage, "--threads needs --batch", NULL);
    }
    if (o->threads == 0) {
        o->threads = 1;
    }
    if (o->n_auds > TSR_POLICY_MAX_AUDIENCES) {
        return cli_usage_error(argv[0], verify_usage, "too many --aud", NULL);
    }
    return -1;
}

/* Adds each name of the comma-separated list `list` as a required claim. */
static tsr_err require_list(tsr_policy *p, const char *list, tsr_error *err)
{
    char name[256];
    const char *s = list;
    for (;;) {
        const char *comma = strchr(s, ',');
        size_t n = comma != NULL ? (size_t)(comma - s) : strlen(s);
        tsr_err rc;
        if (n == 0 || n >= sizeof name) {
            err->code = TSR_ERR_INVALID_ARGUMENT;
            err->message = "--require needs claim names of 1..255 bytes";
            err->detail[0] = '\0';
            return TSR_ERR_INVALID_ARGUMENT;
        }
        memcpy(name, s, n);
        name[n] = '\0';
        rc = tsr_policy_require_claim(p, name, err);
        if (rc != TSR_OK || comma == NULL) {
            return rc;
        }
        s = comma + 1;
    }
}

/* Fills the policy from the options (the allowlist is already in `mask`). */
static tsr_err fill_policy(tsr_policy *p, const struct verify_opts *o, unsigned mask, tsr_error *err)
{
    tsr_err rc = TSR_OK;
    for (int a = 1; rc == TSR_OK && a < TSR_ALG__COUNT; a++) {
        if ((mask & TSR_ALG_BIT((tsr_alg)a)) != 0) {
            rc = tsr_policy_allow_alg(p, (tsr_alg)a, err);
        }
    }
    if (rc == TSR_OK && o->iss != NULL) {
        rc = tsr_policy_set_issuer(p, o->iss, err);
    }
    for (size_t i = 0; rc == TSR_OK && i < o->n_auds; i++) {
        rc = tsr_policy_add_audience(p, o->auds[i], err);
    }
    if (rc == TSR_OK && o->typ != NULL) {
        rc = tsr_policy_set_typ(p, o->typ, err);
    }
    if (rc == TSR_OK && o->sub != NULL) {
        rc = tsr_policy_set_subject(p, o->sub, err);
    }
    if (rc == TSR_OK && o->leeway > 0) {
        rc = tsr_policy_set_leeway(p, o->leeway, err);
    }
    if (rc == TSR_OK && o->max_age > 0) {
        rc = tsr_policy_set_max_age(p, o->max_age, err);
    }
    for (size_t i = 0; rc == TSR_OK && i < o->n_requires; i++) {
        rc = require_list(p, o->requires[i], err);
    }
    if (rc == TSR_OK && o->max_size > 0) {
        rc = tsr_policy_set_max_token_size(p, (size_t)o->max_size, err);
    }
    return rc;
}

/* True when some key of `set` can verify under some algorithm of `mask`. */
static bool any_usable(const tsr_keyset *set, unsigned mask)
{
    for (size_t i = 0; i < tsr_keyset_count(set); i++) {
        for (int a = 1; a < TSR_ALG__COUNT; a++) {
            if ((mask & TSR_ALG_BIT((tsr_alg)a)) != 0 &&
                tsr_key_usable(tsr_keyset_get0_key(set, i), (tsr_alg)a, TSR_OP_VERIFY)) {
                return true;
            }
        }
    }
    return false;
}

/* Builds the verifier, reporting any problem as a usage/key error. */
static int build_verifier(const struct verify_opts *o, tsr_verifier **v)
{
    tsr_error err = {0};
    tsr_policy *p = NULL;
    tsr_keyset *set = NULL;
    const char *bad;
    size_t bad_len;
    unsigned mask;
    tsr_err rc = cli_parse_alg_list(o->algs, &mask, &bad, &bad_len);
    int status = CLI_EXIT_USAGE;
    *v = NULL;
    if (rc != TSR_OK) {
        if (rc == TSR_ERR_MALFORMED) {
            fprintf(stderr, "tessera: %s: --alg: empty name in the list\n", tsr_err_name(rc));
        } else {
            fprintf(stderr, "tessera: %s: --alg: %s '%.*s'\n", tsr_err_name(rc),
                    rc == TSR_ERR_ALG_NOT_ALLOWED ? "'none' is never allowed:" : "unknown algorithm",
                    (int)(bad_len > 32 ? 32 : bad_len), bad);
        }
        fputs(verify_usage, stderr);
        return CLI_EXIT_USAGE;
    }
    set = cli_load_keyfile(o->key);
    if (set == NULL) {
        goto out;
    }
    if (!any_usable(set, mask)) {
        fprintf(stderr, "tessera: key_mismatch: %.200s: no key in the file can verify with --alg %.64s\n",
                o->key, o->algs);
        goto out;
    }
    rc = tsr_policy_new(&p, &err);
    if (rc == TSR_OK) {
        rc = fill_policy(p, o, mask, &err);
    }
    if (rc == TSR_OK) {
        rc = tsr_verifier_new(p, set, v, &err);
    }
    if (rc != TSR_OK) {
        cli_report_in("policy", rc, &err);
        goto out;
    }
    status = -1;
out:
    tsr_policy_free(p);
    tsr_keyset_free(set);
    return status;
}

/* Verifies one token from the argument or stdin. */
static int verify_one(const tsr_verifier *v, const struct verify_opts *o, size_t max)
{
    tsr_error err = {0};
    tsr_jwt *jwt = NULL;
    const char *tok = NULL;
    char *owned = NULL;
    size_t len = 0;
    int status = CLI_EXIT_REJECT;
    tsr_err rc = cli_get_token(o->token, max, &tok, &len, &owned, &err);
    /* After the one stripped newline, another line ending means more than one
     * line: not "one token" (the library would quietly strip it as well). */
    if (rc == TSR_OK && owned != NULL && len > 0 && (tok[len - 1] == '\n' || tok[len - 1] == '\r')) {
        rc = TSR_ERR_MALFORMED;
        err.code = rc;
        err.message = tsr_strerror(rc);
        snprintf(err.detail, sizeof err.detail, "standard input holds more than one line");
    }
    if (rc == TSR_ERR_IO || rc == TSR_ERR_NOMEM) {
        cli_report_in("standard input", rc, &err);
        status = CLI_EXIT_USAGE;
        goto out;
    }
    if (rc == TSR_OK) {
        rc = tsr_jwt_new(&jwt, &err);
        if (rc != TSR_OK) {
            cli_report(rc, &err);
            status = CLI_EXIT_USAGE;
            goto out;
        }
        rc = tsr_verifier_verify(v, tok, len, o->have_now ? o->now : cli_now(), jwt, &err);
    }
    if (rc != TSR_OK) {
        cli_report(rc, &err);
        goto out;
    }
    tsr_str payload = tsr_jwt_get0_payload(jwt);
    fwrite(payload.ptr, 1, payload.len, stdout);
    fputc('\n', stdout);
    status = CLI_EXIT_OK;
out:
    tsr_jwt_free(jwt);
    free(owned);
    return status;
}

int cli_cmd_verify(int argc, char **argv)
{
    struct verify_opts o = {0};
    tsr_verifier *v = NULL;
    size_t max;
    int status = CLI_EXIT_USAGE;
    o.auds = calloc((size_t)argc + 1, sizeof *o.auds);
    o.requires = calloc((size_t)argc + 1, sizeof *o.requires);
    if (o.auds == NULL || o.requires == NULL) {
        cli_msg("nomem: out of memory");
        goto out;
    }
    status = parse(argc, argv, &o);
    if (status >= 0) {
        goto out;
    }
    status = build_verifier(&o, &v);
    if (status >= 0) {
        goto out;
    }
    max = o.max_size > 0 ? (size_t)o.max_size : TSR_DEFAULT_MAX_TOKEN_SIZE;
    status = o.batch ? cli_verify_batch(v, max, o.have_now, o.now, (unsigned)o.threads)
                     : verify_one(v, &o, max);
out:
    tsr_verifier_free(v);
    free(o.auds);
    free(o.requires);
    return status;
}
