/*
 * alloc.c: the library's single allocation path.
 *
 * Every allocation goes through here so that a test build can make the Nth
 * allocation fail and prove that each public call then reports
 * TSR_ERR_NOMEM without leaking. The counter exists only when
 * TSR_FAULT_INJECTION is defined (the static test library); the shipped
 * library has no mutable global state at all.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "internal.h"

#ifdef TSR_FAULT_INJECTION
#include <stdatomic.h>
static _Atomic long fail_after = -1;
static _Atomic long alloc_count = 0;

void tsr_test_fail_alloc_after(long n)
{
    atomic_store(&fail_after, n);
    atomic_store(&alloc_count, 0);
}

long tsr_test_alloc_count(void)
{
    return atomic_load(&alloc_count);
}

/* True when this allocation must fail. */
static bool injected_failure(void)
{
    atomic_fetch_add(&alloc_count, 1);
    long left = atomic_load(&fail_after);
    if (left < 0) {
        return false;
    }
    if (left == 0) {
        return true;
    }
    atomic_fetch_sub(&fail_after, 1);
    return false;
}
#else
static bool injected_failure(void)
{
    return false;
}
#endif

void *tsr__malloc(size_t n)
{
    if (injected_failure()) {
        return NULL;
    }
    return malloc(n ? n : 1);
}

void *tsr__calloc(size_t count, size_t size)
{
    if (injected_failure()) {
        return NULL;
    }
    return calloc(count ? count : 1, size ? size : 1);
}

void *tsr__realloc(void *p, size_t n)
{
    if (injected_failure()) {
        return NULL;
    }
    return realloc(p, n ? n : 1);
}

void tsr__free(void *p)
{
    free(p);
}

char *tsr__strndup(const char *s, size_t n)
{
    char *copy = tsr__malloc(n + 1);
    if (copy == NULL) {
        return NULL;
    }
    memcpy(copy, s, n);
    copy[n] = '\0';
    return copy;
}

void tsr__wipe(void *p, size_t n)
{
    if (p != NULL && n > 0) {
        OPENSSL_cleanse(p, n);
    }
}

void tsr__free_secret(void *p, size_t n)
{
    tsr__wipe(p, n);
    free(p);
}

void tsr_free(void *p)
{
    tsr__free(p);
}

void tsr_free_secret(void *p, size_t len)
{
    tsr__free_secret(p, len);
}
