/*
 * replay.c: runs a fuzz target over every file of its corpus directories
 * (or over single files), so that each corpus is an ordinary regression test
 * in builds without libFuzzer. Exits non-zero if a directory is missing or
 * empty: a corpus that silently vanished must not pass.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        fprintf(stderr, "replay: cannot open %s\n", path);
        return -1;
    }
    uint8_t *buf = NULL;
    size_t len = 0;
    size_t cap = 0;
    for (;;) {
        if (len == cap) {
            cap = cap ? cap * 2 : 4096;
            uint8_t *grown = realloc(buf, cap);
            if (grown == NULL) {
                free(buf);
                fclose(f);
                return -1;
            }
            buf = grown;
        }
        size_t got = fread(buf + len, 1, cap - len, f);
        if (got == 0) {
            break;
        }
        len += got;
    }
    fclose(f);
    /* An exact-size copy so ASan catches reads past the input. */
    uint8_t *exact = malloc(len ? len : 1);
    if (exact == NULL) {
        free(buf);
        return -1;
    }
    if (len > 0) {
        memcpy(exact, buf, len);
    }
    free(buf);
    (void)LLVMFuzzerTestOneInput(exact, len);
    free(exact);
    return 0;
}

static int run_dir(const char *dir, long *count)
{
    DIR *d = opendir(dir);
    if (d == NULL) {
        fprintf(stderr, "replay: cannot open corpus %s\n", dir);
        return -1;
    }
    struct dirent *e;
    int rc = 0;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.') {
            continue;
        }
        char path[4096];
        int n = snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        if (n < 0 || (size_t)n >= sizeof path) {
            rc = -1;
            break;
        }
        if (run_file(path) != 0) {
            rc = -1;
            break;
        }
        (*count)++;
    }
    closedir(d);
    return rc;
}

int main(int argc, char **argv)
{
    long count = 0;
    for (int i = 1; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) != 0) {
            fprintf(stderr, "replay: %s does not exist\n", argv[i]);
            return 1;
        }
        int rc = S_ISDIR(st.st_mode) ? run_dir(argv[i], &count) : run_file(argv[i]);
        if (rc != 0) {
            return 1;
        }
        if (!S_ISDIR(st.st_mode)) {
            count++;
        }
    }
    if (count == 0) {
        fprintf(stderr, "replay: no corpus files\n");
        return 1;
    }
    printf("replay: %ld inputs, no crash\n", count);
    return 0;
}
