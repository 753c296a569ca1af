/*
 * cookies.h: the cookie mode of /v1/login for browsers: the three cookies,
 * the double-submit CSRF token bound to the session, and the Origin check
 * every cookie-authenticated state change must pass.
 */
#ifndef TESSERAD_COOKIES_H
#define TESSERAD_COOKIES_H

#include "http.h"

#define COOKIE_ACCESS "__Host-tessera-access"     /* Path=/, HttpOnly */
#define COOKIE_REFRESH "__Secure-tessera-refresh" /* Path=/oauth/token, HttpOnly */
#define COOKIE_CSRF "__Host-tessera-csrf"         /* Path=/, readable by scripts */
#define CSRF_HEADER "X-CSRF-Token"

/* The access token of the access cookie, or NULL (*len 0). Sets
 * r->bearer_from_cookie when it returns a token. */
const char *cookie_access_token(req *r, size_t *len);
/* The refresh token of the refresh cookie, or NULL. */
const char *cookie_refresh_token(req *r);
/* True when the request's Origin is one of the configured origins. */
bool origin_allowed(req *r);
/* Origin and X-CSRF-Token checks of a cookie-authenticated state change
 * in session `sid`; on failure a 403 is queued in *ret (audited). */
bool csrf_check(req *r, const char *sid, enum MHD_Result *ret);
/* Answers a login or refresh in cookie mode: the three cookies, and a body
 * with csrf_token, expires_in and scope (never a token). */
enum MHD_Result reply_cookie_tokens(req *r, const token_pair *tp);
/* An answer that expires all three cookies (logout). */
enum MHD_Result reply_clear_cookies(req *r, unsigned status);

#endif /* TESSERAD_COOKIES_H */
