/*
 * test_errors_doc.c: docs/errors.md lists every error code. For each value
 * 0..TSR_ERR__COUNT-1 the table must have a row starting
 * "| VALUE | `NAME` |" with the name tsr_err_name() returns, so the
 * document cannot fall behind the enum or misstate a value.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "support.h"
#include "tessera.h"

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: test_errors_doc docs/errors.md\n");
        return 2;
    }
    size_t len = 0;
    char *doc = tst_read_file(argv[1], &len);
    if (doc == NULL) {
        fprintf(stderr, "cannot read %s\n", argv[1]);
        return 1;
    }
    int missing = 0;
    for (int i = 0; i < TSR_ERR__COUNT; i++) {
        const char *name = tsr_err_name((tsr_err)i);
        char row[96];
        snprintf(row, sizeof row, "\n| %d | `%s` |", i, name);
        if (strcmp(name, "unknown") == 0 || strstr(doc, row) == NULL) {
            fprintf(stderr, "docs/errors.md: no row \"| %d | `%s` |\"\n", i, name);
            missing++;
        }
    }
    free(doc);
    if (missing > 0) {
        return 1;
    }
    printf("docs/errors.md lists all %d error codes\n", TSR_ERR__COUNT);
    return 0;
}
