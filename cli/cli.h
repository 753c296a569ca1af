/*
 * cli.h: what the modules of the `tessera` command-line tool share: exit
 * codes, the commands' entry points, and the small I/O and parsing helpers
 * of io.c.
 *
 * The CLI is written only on the public API (tessera.h) plus jansson for
 * JSON output and inspection; it never reaches into the library's internals.
 * Its contract (commands, options, exit codes, the one-line rejection
 * message) is relied upon by outside tools: see docs/cli.md.
 */
#ifndef TESSERA_CLI_H
#define TESSERA_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <tessera.h>

/* Exit codes of every command. */
enum {
    CLI_EXIT_OK = 0,     /* success (verify: the token is valid) */
    CLI_EXIT_REJECT = 1, /* verify: the token is rejected */
    CLI_EXIT_USAGE = 2,  /* usage error, key-file error, not a token */
};

/* Commands: argv[0] is the command name; each returns an exit code. */
int cli_cmd_keygen(int argc, char **argv);
int cli_cmd_pub(int argc, char **argv);
int cli_cmd_thumbprint(int argc, char **argv);
int cli_cmd_jwks(int argc, char **argv);
int cli_cmd_sign(int argc, char **argv);
int cli_cmd_verify(int argc, char **argv);
int cli_cmd_inspect(int argc, char **argv);

/*
 * batch.c: verifies tokens one per line from stdin, answering "ok" or the
 * code per line on stdout, in order, with `threads` workers (>= 1). `now` is
 * used when `fixed_now`, else the clock per token. Returns an exit code.
 */
int cli_verify_batch(const tsr_verifier *v, size_t max, bool fixed_now, int64_t now, unsigned threads);

/* ---- io.c: messages ---- */

/* Prints "tessera: " + the formatted message + newline on stderr. */
void cli_msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * Prints the one-line report of a library error on stderr:
 * "tessera: CODE: message[ (detail)]" with CODE from tsr_err_name(). The
 * detail comes from the library, which never puts token or key bytes in it;
 * control characters are still replaced so the report stays one line.
 */
void cli_report(tsr_err rc, const tsr_error *err);

/* Like cli_report with `ctx` (a file name, a command) before the message. */
void cli_report_in(const char *ctx, tsr_err rc, const tsr_error *err);

/* Prints `usage` (a command's help text) to stderr and returns CLI_EXIT_USAGE,
 * after "tessera: CMD: what" when `what` is not NULL. */
int cli_usage_error(const char *cmd, const char *usage, const char *what, const char *arg);

/*
 * Handles getopt_long's error returns uniformly: '?' (unknown option) and
 * ':' (missing argument). Returns CLI_EXIT_USAGE after printing the usage.
 */
int cli_bad_option(const char *cmd, const char *usage, int c, char **argv);

/* ---- io.c: input ---- */

/*
 * Reads the file `path` ("-" is standard input) into a new NUL-terminated
 * buffer of at most `cap` bytes (plus the NUL). Returns TSR_OK,
 * TSR_ERR_TOO_LARGE when the file is longer (nothing more is read),
 * TSR_ERR_IO or TSR_ERR_NOMEM; `err` says which. Free with cli_free_buf.
 */
tsr_err cli_read_file(const char *path, size_t cap, char **out, size_t *len, tsr_error *err);

/* Wipes `len` bytes of `buf` (it may have held key material) and frees it. */
void cli_free_buf(char *buf, size_t len);

/*
 * The token to work on: `arg` when not NULL or "-" (borrowed, `*owned` NULL), else
 * one token read from standard input (at most `cap` characters plus one
 * trailing "\n" or "\r\n", which is stripped; `*owned` is the buffer to free
 * with free()). TSR_ERR_TOO_LARGE when the input is longer, TSR_ERR_IO.
 */
tsr_err cli_get_token(const char *arg, size_t cap, const char **tok, size_t *len, char **owned,
                      tsr_error *err);

/*
 * Loads a key file (JWK, JWK Set or PEM, recognised by content) into a key
 * set. On failure prints "tessera: CODE: FILE: message" and returns NULL.
 */
tsr_keyset *cli_load_keyfile(const char *path);

/*
 * Loads the one key of a key file: a JWK, a JWK Set with exactly one member,
 * or a PEM key. The caller owns the key. On failure prints
 * "tessera: CODE: FILE: message" and returns NULL.
 */
tsr_key *cli_load_one_key(const char *path);

/* ---- io.c: parsing ---- */

/* Parses a whole decimal integer in [min, max]; false on anything else. */
bool cli_parse_i64(const char *s, int64_t min, int64_t max, int64_t *out);

/* Parses a duration: plain seconds or a number with suffix s, m, h or d
 * ("90", "30s", "15m", "2h", "1d"), result in [1, max] seconds. */
bool cli_parse_duration(const char *s, int64_t max, int64_t *out);

/*
 * Parses a comma-separated algorithm list ("RS256,ES256") into a mask of
 * TSR_ALG_BIT()s. Names are case-sensitive; an empty list or entry, an
 * unknown name or any spelling of "none" fails: then `*bad` points at the
 * offending entry (length `*bad_len`) and the return is the library's code
 * (TSR_ERR_UNSUPPORTED, TSR_ERR_ALG_NOT_ALLOWED or TSR_ERR_MALFORMED).
 */
tsr_err cli_parse_alg_list(const char *list, unsigned *mask, const char **bad, size_t *bad_len);

/* The current Unix time in seconds. */
int64_t cli_now(void);

#endif /* TESSERA_CLI_H */
