/*
 * cmd_keys.c: the key commands: keygen (a new private JWK), pub (its public
 * JWK), thumbprint (RFC 7638) and jwks (a public JWK Set of several key
 * files). Key files are JWK, JWK Set or PEM, recognised by content.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli.h"

static const char keygen_usage[] =
    "usage: tessera keygen --alg ALG [--kid ID] [--bits N]\n"
    "  Prints a new private JWK with \"alg\", \"kid\" and \"use\":\"sig\".\n"
    "  --alg ALG   HS256 HS384 HS512 RS256 RS384 RS512 PS256 PS384 PS512\n"
    "              ES256 ES384 ES512 EdDSA (or Ed25519)\n"
    "  --kid ID    key id (default: the key's RFC 7638 thumbprint)\n"
    "  --bits N    RSA modulus size, 2048..8192 (default 3072)\n"
    "  Keep the output secret: it holds the private key.\n";

static const char pub_usage[] =
    "usage: tessera pub [FILE]\n"
    "  Prints the public JWK of the one key in FILE (JWK, JWK Set or PEM;\n"
    "  standard input when FILE is absent or \"-\"). HMAC secrets have no public part.\n";

static const char thumbprint_usage[] =
    "usage: tessera thumbprint [FILE]\n"
    "  Prints the RFC 7638 SHA-256 thumbprint (base64url) of each key in FILE\n"
    "  (JWK, JWK Set or PEM; standard input when FILE is absent or \"-\"), one per line.\n";

static const char jwks_usage[] =
    "usage: tessera jwks FILE...\n"
    "  Prints a public JWK Set of every key in the given files (JWK, JWK Set or\n"
    "  PEM). HMAC secrets are left out: they have no public part.\n";

/* The options every key command shares with keygen: only --help for most. */
static const struct option help_only[] = {
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

/* Parses argv for a command taking only --help and at most `max_pos`
 * positional arguments (-1: any number, at least one). Returns -1 to go on,
 * else the exit code. */
static int parse_simple(int argc, char **argv, const char *usage, int max_pos)
{
    int c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":h", help_only, NULL)) != -1) {
        if (c == 'h') {
            fputs(usage, stdout);
            return CLI_EXIT_OK;
        }
        return cli_bad_option(argv[0], usage, c, argv);
    }
    if (max_pos >= 0 && argc - optind > max_pos) {
        return cli_usage_error(argv[0], usage, "unexpected argument", argv[optind + max_pos]);
    }
    if (max_pos < 0 && argc - optind < 1) {
        return cli_usage_error(argv[0], usage, "needs at least one FILE", NULL);
    }
    return -1;
}

/* Adds "use":"sig" to the private JWK text `jwk` and prints it. */
static int print_with_use(const char *jwk)
{
    json_error_t jerr;
    json_t *root = json_loads(jwk, JSON_REJECT_DUPLICATES, &jerr);
    char *text = NULL;
    int rc = CLI_EXIT_USAGE;
    if (root == NULL || !json_is_object(root)) {
        cli_msg("malformed: the library exported an unreadable JWK");
        goto out;
    }
    if (json_object_get(root, "use") == NULL &&
        json_object_set_new(root, "use", json_string("sig")) != 0) {
        cli_msg("nomem: out of memory");
        goto out;
    }
    text = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER);
    if (text == NULL) {
        cli_msg("nomem: out of memory");
        goto out;
    }
    puts(text);
    rc = CLI_EXIT_OK;
out:
    if (text != NULL) {
        explicit_bzero(text, strlen(text));
        free(text);
    }
    json_decref(root);
    return rc;
}

/* Generates the key for keygen; bits 0 means the library default. */
static tsr_err generate(tsr_alg alg, int64_t bits, tsr_key **key, tsr_error *err)
{
    if (bits != 0) {
        return tsr_key_generate_rsa(alg, (unsigned)bits, key, err);
    }
    return tsr_key_generate(alg, key, err);
}

int cli_cmd_keygen(int argc, char **argv)
{
    static const struct option opts[] = {
        {"alg", required_argument, NULL, 'a'},
        {"kid", required_argument, NULL, 'k'},
        {"bits", required_argument, NULL, 'b'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *alg_name = NULL, *kid = NULL;
    int64_t bits = 0;
    tsr_alg alg = TSR_ALG_UNSPECIFIED;
    tsr_key *key = NULL;
    tsr_error err = {0};
    char tp[TSR_THUMBPRINT_LEN + 1];
    char *jwk = NULL;
    tsr_err rc;
    int c, status = CLI_EXIT_USAGE;

    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (c) {
        case 'a': alg_name = optarg; break;
        case 'k': kid = optarg; break;
        case 'b':
            if (!cli_parse_i64(optarg, 2048, 8192, &bits) || bits % 8 != 0) {
                return cli_usage_error(argv[0], keygen_usage, "--bits must be 2048..8192, a multiple of 8:", optarg);
            }
            break;
        case 'h': fputs(keygen_usage, stdout); return CLI_EXIT_OK;
        default: return cli_bad_option(argv[0], keygen_usage, c, argv);
        }
    }
    if (optind < argc) {
        return cli_usage_error(argv[0], keygen_usage, "unexpected argument", argv[optind]);
    }
    if (alg_name == NULL) {
        return cli_usage_error(argv[0], keygen_usage, "--alg is required", NULL);
    }
    rc = tsr_alg_from_name(alg_name, strlen(alg_name), &alg);
    if (rc != TSR_OK) {
        return cli_usage_error(argv[0], keygen_usage,
                               rc == TSR_ERR_ALG_NOT_ALLOWED ? "'none' is never an algorithm:" : "unknown algorithm",
                               alg_name);
    }
    if (kid != NULL && (kid[0] == '\0' || strlen(kid) > TSR_KID_MAX)) {
        return cli_usage_error(argv[0], keygen_usage, "--kid must be 1..256 bytes", NULL);
    }
    if (bits != 0 && (alg < TSR_ALG_RS256 || alg > TSR_ALG_PS512)) {
        return cli_usage_error(argv[0], keygen_usage, "--bits is for RS* and PS* keys only", NULL);
    }
    rc = generate(alg, bits, &key, &err);
    if (rc == TSR_OK && kid == NULL) {
        rc = tsr_key_thumbprint(key, tp, &err);
        kid = tp;
    }
    if (rc == TSR_OK) {
        rc = tsr_key_set1_kid(key, kid, &err);
    }
    if (rc == TSR_OK) {
        rc = tsr_key_export_jwk(key, true, &jwk, &err);
    }
    if (rc != TSR_OK) {
        cli_report_in("keygen", rc, &err);
        goto out;
    }
    status = print_with_use(jwk);
out:
    if (jwk != NULL) {
        tsr_free_secret(jwk, strlen(jwk));
    }
    tsr_key_free(key);
    return status;
}

int cli_cmd_pub(int argc, char **argv)
{
    tsr_key *key;
    tsr_error err = {0};
    char *jwk = NULL;
    tsr_err rc;
    int status = parse_simple(argc, argv, pub_usage, 1);
    if (status >= 0) {
        return status;
    }
    key = cli_load_one_key(optind < argc ? argv[optind] : "-");
    if (key == NULL) {
        return CLI_EXIT_USAGE;
    }
    status = CLI_EXIT_USAGE;
    if (tsr_key_get_kty(key) == TSR_KTY_OCT) {
        cli_msg("key_mismatch: pub: an HMAC secret has no public part");
        goto out;
    }
    rc = tsr_key_export_jwk(key, false, &jwk, &err);
    if (rc != TSR_OK) {
        cli_report_in("pub", rc, &err);
        goto out;
    }
    puts(jwk);
    status = CLI_EXIT_OK;
out:
    tsr_free(jwk);
    tsr_key_free(key);
    return status;
}

int cli_cmd_thumbprint(int argc, char **argv)
{
    tsr_keyset *set;
    int status = parse_simple(argc, argv, thumbprint_usage, 1);
    if (status >= 0) {
        return status;
    }
    set = cli_load_keyfile(optind < argc ? argv[optind] : "-");
    if (set == NULL) {
        return CLI_EXIT_USAGE;
    }
    status = CLI_EXIT_OK;
    for (size_t i = 0; i < tsr_keyset_count(set); i++) {
        tsr_error err = {0};
        char tp[TSR_THUMBPRINT_LEN + 1];
        tsr_err rc = tsr_key_thumbprint(tsr_keyset_get0_key(set, i), tp, &err);
        if (rc != TSR_OK) {
            cli_report_in("thumbprint", rc, &err);
            status = CLI_EXIT_USAGE;
            break;
        }
        puts(tp);
    }
    tsr_keyset_free(set);
    return status;
}

/* Appends the public keys of key file `path` to the JSON array `keys`. */
static int append_public(const char *path, json_t *keys)
{
    tsr_error err = {0};
    char *text = NULL;
    json_t *doc = NULL, *arr;
    size_t i;
    json_t *k;
    int status = CLI_EXIT_USAGE;
    tsr_keyset *set = cli_load_keyfile(path);
    tsr_err rc;
    if (set == NULL) {
        return CLI_EXIT_USAGE;
    }
    rc = tsr_keyset_export_jwks(set, &text, &err);
    if (rc != TSR_OK) {
        cli_report_in(path, rc, &err);
        goto out;
    }
    doc = json_loads(text, JSON_REJECT_DUPLICATES, NULL);
    arr = json_object_get(doc, "keys");
    if (!json_is_array(arr)) {
        cli_msg("malformed: %.200s: the library exported an unreadable JWK Set", path);
        goto out;
    }
    if (json_array_size(arr) == 0) {
        cli_msg("warning: %.200s: no public key (HMAC secrets are left out)", path);
    }
    json_array_foreach(arr, i, k) {
        if (json_array_append(keys, k) != 0) {
            cli_msg("nomem: out of memory");
            goto out;
        }
    }
    status = CLI_EXIT_OK;
out:
    json_decref(doc);
    tsr_free(text);
    tsr_keyset_free(set);
    return status;
}

int cli_cmd_jwks(int argc, char **argv)
{
    json_t *root, *keys;
    char *text = NULL;
    int status = parse_simple(argc, argv, jwks_usage, -1);
    if (status >= 0) {
        return status;
    }
    keys = json_array();
    root = json_pack("{s:o}", "keys", keys);
    if (keys == NULL || root == NULL) {
        cli_msg("nomem: out of memory");
        json_decref(root);
        return CLI_EXIT_USAGE;
    }
    status = CLI_EXIT_OK;
    for (int i = optind; i < argc && status == CLI_EXIT_OK; i++) {
        status = append_public(argv[i], keys);
    }
    if (status == CLI_EXIT_OK) {
        text = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER);
        if (text == NULL) {
            cli_msg("nomem: out of memory");
            status = CLI_EXIT_USAGE;
        } else {
            puts(text);
        }
    }
    free(text);
    json_decref(root);
    return status;
}
