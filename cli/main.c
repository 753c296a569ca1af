/*
 * main.c: the `tessera` command-line tool's entry point. It installs
 * jansson allocation hooks that wipe memory before freeing it (private JWKs
 * pass through jansson when keygen adds "use"), then dispatches to one
 * command module: keys (keygen, pub, thumbprint, jwks), sign, verify and
 * inspect. The contract of every command is in docs/cli.md.
 */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli.h"

static const char usage[] =
    "usage: tessera COMMAND [OPTIONS]\n"
    "\n"
    "commands:\n"
    "  keygen --alg ALG [--kid ID]      print a new private JWK\n"
    "  pub [FILE]                       print the public JWK of a key\n"
    "  thumbprint [FILE]                print the RFC 7638 thumbprint of a key\n"
    "  jwks FILE...                     print a public JWK Set of the given keys\n"
    "  sign --key FILE [OPTIONS]        sign a JWT and print it\n"
    "  verify --key FILE --alg LIST [OPTIONS] [TOKEN | --batch]\n"
    "                                   verify a JWT (exit 0 valid, 1 rejected, 2 usage)\n"
    "  inspect [TOKEN]                  decode WITHOUT verifying and lint a token\n"
    "\n"
    "'tessera COMMAND --help' describes each command; --version prints the version.\n";

struct command {
    const char *name;
    int (*run)(int argc, char **argv);
};

static const struct command commands[] = {
    {"keygen", cli_cmd_keygen}, {"pub", cli_cmd_pub},       {"thumbprint", cli_cmd_thumbprint},
    {"jwks", cli_cmd_jwks},     {"sign", cli_cmd_sign},     {"verify", cli_cmd_verify},
    {"inspect", cli_cmd_inspect},
};

/* jansson may hold private key members: wipe every block it frees. */
static void *json_alloc(size_t n)
{
    return malloc(n);
}

static void json_release(void *p)
{
    if (p != NULL) {
        explicit_bzero(p, malloc_usable_size(p));
        free(p);
    }
}

int main(int argc, char **argv)
{
    const char *name = argc > 1 ? argv[1] : NULL;
    json_set_alloc_funcs(json_alloc, json_release);
    if (name == NULL) {
        fputs(usage, stderr);
        return CLI_EXIT_USAGE;
    }
    if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0 || strcmp(name, "help") == 0) {
        fputs(usage, stdout);
        return CLI_EXIT_OK;
    }
    if (strcmp(name, "--version") == 0) {
        printf("tessera %s\n", tsr_version());
        return CLI_EXIT_OK;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        if (strcmp(name, commands[i].name) == 0) {
            int rc = commands[i].run(argc - 1, argv + 1);
            /* A write error (full disk, closed pipe) must not pass as success. */
            if (fflush(stdout) != 0 || ferror(stdout)) {
                cli_msg("io: cannot write standard output");
                return rc == CLI_EXIT_OK ? CLI_EXIT_USAGE : rc;
            }
            return rc;
        }
    }
    fprintf(stderr, "tessera: unknown command '%.64s'\n", name);
    fputs(usage, stderr);
    return CLI_EXIT_USAGE;
}
