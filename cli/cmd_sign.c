/*
 * cmd_sign.c: `tessera sign`: builds a claim set from options and signs it
 * with the one private key of a key file. The library's claims builder fills
 * iat, nbf, exp (15 minutes unless --exp/--ttl) and a random jti, so a token
 * without an expiry cannot be made by accident.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli.h"

static const char sign_usage[] =
    "usage: tessera sign --key FILE [--alg ALG] [--kid ID] [--typ T] [--iss S] [--sub S]\n"
    "                    [--aud S]... [--exp DURATION | --ttl SECONDS] [--claims JSON] [--now UNIX]\n"
    "  Prints a compact JWS signed with the private key in FILE (JWK, JWK Set of\n"
    "  one key, or PKCS#8 PEM).\n"
    "  --alg ALG        signing algorithm (default: the key's alg, else by key type)\n"
    "  --kid ID         kid header (default: the key's kid; \"\" for none)\n"
    "  --typ T          typ header (default \"JWT\"; \"\" for none)\n"
    "  --iss, --sub S   issuer and subject claims\n"
    "  --aud S          audience; repeat for several\n"
    "  --exp DURATION   lifetime: seconds or 30s, 15m, 2h, 1d (default 15m)\n"
    "  --ttl SECONDS    lifetime in seconds\n"
    "  --claims JSON    a JSON object merged into the claims (options above win)\n"
    "  --now UNIX       the time to sign at (default: now)\n"
    "  iat, nbf, exp and a random jti are added unless --claims sets them.\n";

/* A lifetime of more than ten years is almost surely a mistake. */
#define MAX_LIFETIME (10LL * 366 * 86400)

struct sign_opts {
    const char *key, *alg, *kid, *typ, *iss, *sub, *claims;
    const char **auds;
    size_t n_auds;
    int64_t ttl, now;
};

/* Parses argv into `o`; returns -1 to go on, else the exit code. */
static int parse(int argc, char **argv, struct sign_opts *o)
{
    static const struct option opts[] = {
        {"key", required_argument, NULL, 'k'}, {"alg", required_argument, NULL, 'a'},
        {"kid", required_argument, NULL, 'K'}, {"typ", required_argument, NULL, 't'},
        {"iss", required_argument, NULL, 'i'}, {"sub", required_argument, NULL, 's'},
        {"aud", required_argument, NULL, 'u'}, {"exp", required_argument, NULL, 'e'},
        {"ttl", required_argument, NULL, 'T'}, {"claims", required_argument, NULL, 'c'},
        {"now", required_argument, NULL, 'n'}, {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    bool have_ttl = false, have_now = false;
    int c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (c) {
        case 'k': o->key = optarg; break;
        case 'a': o->alg = optarg; break;
        case 'K': o->kid = optarg; break;
        case 't': o->typ = optarg; break;
        case 'i': o->iss = optarg; break;
        case 's': o->sub = optarg; break;
        case 'u': o->auds[o->n_auds++] = optarg; break;
        case 'c': o->claims = optarg; break;
        case 'e':
        case 'T':
            if (have_ttl) {
                return cli_usage_error(argv[0], sign_usage, "give one of --exp and --ttl, once", NULL);
            }
            have_ttl = true;
            if (c == 'e' ? !cli_parse_duration(optarg, MAX_LIFETIME, &o->ttl)
                         : !cli_parse_i64(optarg, 1, MAX_LIFETIME, &o->ttl)) {
                return cli_usage_error(argv[0], sign_usage, "invalid lifetime", optarg);
            }
            break;
        case 'n':
            if (!cli_parse_i64(optarg, 0, INT64_MAX / 2, &o->now)) {
                return cli_usage_error(argv[0], sign_usage, "--now needs Unix seconds:", optarg);
            }
            have_now = true;
            break;
        case 'h': fputs(sign_usage, stdout); return CLI_EXIT_OK;
        default: return cli_bad_option(argv[0], sign_usage, c, argv);
        }
    }
    if (optind < argc) {
        return cli_usage_error(argv[0], sign_usage, "unexpected argument", argv[optind]);
    }
    if (o->key == NULL) {
        return cli_usage_error(argv[0], sign_usage, "--key is required", NULL);
    }
    if (!have_now) {
        o->now = cli_now();
    }
    return -1;
}

/* Fills the claim set from the options; `*what` names the failing option. */
static tsr_err build_claims(const struct sign_opts *o, tsr_claims *c, const char **what, tsr_error *err)
{
    tsr_err rc = TSR_OK;
    *what = "--claims";
    if (o->claims != NULL && (rc = tsr_claims_merge_json(c, o->claims, strlen(o->claims), err)) != TSR_OK) {
        return rc;
    }
    *what = "--iss";
    if (o->iss != NULL && (rc = tsr_claims_set_string(c, "iss", o->iss, err)) != TSR_OK) {
        return rc;
    }
    *what = "--sub";
    if (o->sub != NULL && (rc = tsr_claims_set_string(c, "sub", o->sub, err)) != TSR_OK) {
        return rc;
    }
    *what = "--aud";
    for (size_t i = 0; i < o->n_auds; i++) {
        if ((rc = tsr_claims_add_audience(c, o->auds[i], err)) != TSR_OK) {
            return rc;
        }
    }
    *what = "--exp/--ttl";
    if (o->ttl > 0) {
        rc = tsr_claims_set_ttl(c, o->ttl, err);
    }
    return rc;
}

/* Resolves --alg against the key; TSR_ALG_UNSPECIFIED means the key's default. */
static int pick_alg(const struct sign_opts *o, const tsr_key *key, tsr_alg *alg)
{
    tsr_err rc;
    *alg = TSR_ALG_UNSPECIFIED;
    if (o->alg == NULL) {
        return -1;
    }
    rc = tsr_alg_from_name(o->alg, strlen(o->alg), alg);
    if (rc != TSR_OK) {
        return cli_usage_error("sign", sign_usage,
                               rc == TSR_ERR_ALG_NOT_ALLOWED ? "'none' is never an algorithm:" : "unknown algorithm",
                               o->alg);
    }
    if (!tsr_key_usable(key, *alg, TSR_OP_SIGN)) {
        fprintf(stderr, "tessera: key_mismatch: %.200s: the key cannot sign with %s\n", o->key,
                tsr_alg_name(*alg));
        return CLI_EXIT_USAGE;
    }
    return -1;
}

int cli_cmd_sign(int argc, char **argv)
{
    struct sign_opts o = {0};
    tsr_key *key = NULL;
    tsr_signer *signer = NULL;
    tsr_claims *claims = NULL;
    tsr_error err = {0};
    const char *what = "sign";
    char *token = NULL;
    tsr_alg alg;
    tsr_err rc;
    int status;

    o.auds = calloc((size_t)argc + 1, sizeof *o.auds);
    if (o.auds == NULL) {
        cli_msg("nomem: out of memory");
        return CLI_EXIT_USAGE;
    }
    status = parse(argc, argv, &o);
    if (status >= 0) {
        goto out;
    }
    status = CLI_EXIT_USAGE;
    key = cli_load_one_key(o.key);
    if (key == NULL) {
        goto out;
    }
    if (!tsr_key_is_private(key)) {
        fprintf(stderr, "tessera: key_mismatch: %.200s: a public key cannot sign\n", o.key);
        goto out;
    }
    status = pick_alg(&o, key, &alg);
    if (status >= 0) {
        goto out;
    }
    status = CLI_EXIT_USAGE;
    rc = tsr_signer_new(key, alg, o.kid, o.typ, &signer, &err);
    if (rc == TSR_OK) {
        rc = tsr_claims_new(&claims, &err);
    }
    if (rc == TSR_OK) {
        rc = build_claims(&o, claims, &what, &err);
    }
    if (rc == TSR_OK) {
        what = "sign";
        rc = tsr_signer_sign_claims(signer, claims, o.now, &token, NULL, &err);
        /* The library refuses registered claims of the wrong type (a token no
         * verifier accepts); the options this command sets itself always
         * have the right types, so such a claim came from --claims. */
        if (rc == TSR_ERR_MALFORMED) {
            what = "--claims";
        }
    }
    if (rc != TSR_OK) {
        cli_report_in(what, rc, &err);
        goto out;
    }
    puts(token);
    status = CLI_EXIT_OK;
out:
    tsr_free(token);
    tsr_claims_free(claims);
    tsr_signer_free(signer);
    tsr_key_free(key);
    free(o.auds);
    return status;
}
