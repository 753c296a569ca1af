/*
 * admin.h: the admin CLI commands (admin.c), which work on the store
 * directly, and the option parsing main.c shares with them.
 */
#ifndef TESSERAD_ADMIN_H
#define TESSERAD_ADMIN_H

#include "tesserad.h"

#define MAX_POSITIONAL 8

typedef struct cli {
    config cfg;
    const char *pos[MAX_POSITIONAL]; /* positional arguments after the command */
    int npos;
    bool now_flag; /* keys rotate --now */
} cli;

/* Parses the options common to every command (after the command words) and
 * builds cfg: defaults, --config file, environment, command line. */
int cli_parse(cli *c, int argc, char **argv);

int cmd_user(cli *c, const char *sub);
int cmd_keys(cli *c, const char *sub);
int cmd_sessions(cli *c);

#endif /* TESSERAD_ADMIN_H */
