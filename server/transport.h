/*
 * transport.h: how tesserad faces the network: native HTTPS (libmicrohttpd
 * with GnuTLS), the rule for when plain HTTP is allowed, and the
 * connection limits handed to libmicrohttpd.
 */
#ifndef TESSERAD_TRANSPORT_H
#define TESSERAD_TRANSPORT_H

#include <microhttpd.h>

#include "tesserad.h"

/* Plain HTTP is allowed on loopback, in dev mode, or behind a configured
 * trusted proxy; otherwise a certificate is required. Also loads the
 * certificate and key when configured. Returns 0, or -1 with a message. */
int transport_prepare(const config *c, bool loopback, char *err, size_t errcap);
/* Wipes and frees the key material (after the daemon stopped). */
void transport_release(void);

/* True when the daemon serves HTTPS. */
bool transport_tls(void);
/* MHD_USE_TLS when serving HTTPS, else 0. */
unsigned transport_mhd_flags(void);
/* Fills `o` (capacity `cap`, >= 8) with the TLS and limit options, ending
 * with MHD_OPTION_END; for MHD_OPTION_ARRAY. */
void transport_mhd_options(const config *c, struct MHD_OptionItem *o, size_t cap);

/* The Strict-Transport-Security value (only sent over HTTPS). */
#define HSTS_VALUE "max-age=31536000"
/* Adds the headers every response carries (HSTS over HTTPS). */
void transport_add_headers(struct MHD_Response *resp);

#endif /* TESSERAD_TRANSPORT_H */
