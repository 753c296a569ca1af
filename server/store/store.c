/*
 * store.c: picks the backend named by a store spec and owns the few helpers
 * every backend shares. Adding a backend means one new file and one branch
 * in store_open; nothing above store.h changes.
 */
#include "store.h"

#include <stdio.h>
#include <string.h>

store *store_open(const char *spec, char *errbuf, size_t errcap)
{
    static const char sqlite_prefix[] = "sqlite:";
    char path[4096];
    if (strncmp(spec, sqlite_prefix, sizeof(sqlite_prefix) - 1) == 0) {
        return store_sqlite_open(spec + sizeof(sqlite_prefix) - 1, errbuf, errcap);
    }
    if (strstr(spec, "://") != NULL) {
        snprintf(errbuf, errcap, "unsupported store (only sqlite: is built in)");
        return NULL;
    }
    int n = snprintf(path, sizeof(path), "%s/tesserad.db", spec);
    if (n < 0 || (size_t)n >= sizeof(path)) {
        snprintf(errbuf, errcap, "data directory path too long");
        return NULL;
    }
    return store_sqlite_open(path, errbuf, errcap);
}

void store_close(store *st)
{
    if (st != NULL) {
        st->ops->close(st);
    }
}

const char *store_rc_name(store_rc rc)
{
    switch (rc) {
    case STORE_OK: return "ok";
    case STORE_NOT_FOUND: return "not_found";
    case STORE_EXISTS: return "exists";
    case STORE_CONFLICT: return "conflict";
    case STORE_INVALID: return "invalid";
    case STORE_ERROR: return "error";
    }
    return "unknown";
}
