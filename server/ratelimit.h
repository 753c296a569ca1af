/*
 * ratelimit.h: brute-force defences of the login and token endpoints:
 * token buckets per client address and per account, lockout with
 * exponential backoff per account, and the client address itself (the
 * socket peer, or X-Forwarded-For from a configured trusted proxy).
 */
#ifndef TESSERAD_RATELIMIT_H
#define TESSERAD_RATELIMIT_H

#include "http.h"

typedef struct ratelimit ratelimit;

int ratelimit_new(ratelimit **out, const config *cfg, char *err, size_t errcap);
void ratelimit_free(ratelimit *rl);

#define CLIENT_ADDR_MAX 64 /* INET6_ADDRSTRLEN and then some */

/* The client's address as text: the socket peer, or, when the peer is a
 * trusted proxy, the rightmost X-Forwarded-For entry that is not one. */
void client_addr(req *r, char out[CLIENT_ADDR_MAX]);

/*
 * Admission of a login for `username` from the request's client: the
 * address bucket, the account bucket, then the account's lockout. On
 * refusal a 429 with Retry-After is queued in *ret, the refusal is audited
 * and false is returned. Unknown user names are treated exactly like
 * known ones (no enumeration through the limits).
 */
bool guard_login(req *r, const char *username, enum MHD_Result *ret);
/* Records the outcome of a login that was admitted. A failure may start a
 * lockout (audited). */
void guard_login_result(req *r, const char *username, bool ok);
/* Admission of a refresh grant: the address bucket, then the bucket of the
 * account the refresh token belongs to (if it belongs to one). */
bool guard_token(req *r, const char *refresh, enum MHD_Result *ret);

#endif /* TESSERAD_RATELIMIT_H */
