/*
 * transport.c: native HTTPS and the connection limits.
 *
 * TLS is libmicrohttpd's own (MHD_USE_TLS, GnuTLS): the PEM certificate
 * chain and key are read once at start and handed to the daemon in memory.
 * They stay allocated while the daemon runs (libmicrohttpd keeps the
 * pointers) and the key is wiped when the service stops.
 *
 * The limits are libmicrohttpd options: the per-connection memory pool
 * bounds the request line plus headers (an over-long header block gets
 * 431 from libmicrohttpd itself), the connection limit and the per-address
 * limit bound sockets, and the connection timeout closes clients that
 * send nothing or trickle. Request bodies are bounded by max_body in
 * http.c (413).
 */
#include "transport.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PEM_MAX ((size_t)1024 * 1024)
/* GnuTLS priorities: its defaults, but TLS 1.2 and 1.3 only (RFC 8996
 * deprecates 1.0 and 1.1). */
static char tls_priorities[] = "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2";

static char *cert_pem;
static char *key_pem;
static size_t key_len;

static int load_tls(const config *c, char *err, size_t errcap)
{
    size_t len = 0;
    if (c->tls_cert[0] == '\0' || c->tls_key[0] == '\0') {
        snprintf(err, errcap, "tls_cert and tls_key must be given together");
        return -1;
    }
    if (!MHD_is_feature_supported(MHD_FEATURE_TLS)) {
        snprintf(err, errcap, "this libmicrohttpd was built without TLS support");
        return -1;
    }
    cert_pem = read_file(c->tls_cert, PEM_MAX, &len);
    if (cert_pem == NULL || strstr(cert_pem, "-----BEGIN CERTIFICATE-----") == NULL) {
        snprintf(err, errcap, "tls_cert %s: cannot read a PEM certificate", c->tls_cert);
        return -1;
    }
    key_pem = read_file(c->tls_key, PEM_MAX, &key_len);
    if (key_pem == NULL || strstr(key_pem, "PRIVATE KEY-----") == NULL) {
        snprintf(err, errcap, "tls_key %s: cannot read a PEM private key", c->tls_key);
        return -1;
    }
    return 0;
}

int transport_prepare(const config *c, bool loopback, char *err, size_t errcap)
{
    if (c->tls_cert[0] != '\0' || c->tls_key[0] != '\0') {
        return load_tls(c, err, errcap);
    }
    if (!loopback && !c->dev && c->trusted_proxies[0] == '\0') {
        snprintf(err, errcap,
                 "refusing plain HTTP on the non-loopback address %s: configure tls_cert and "
                 "tls_key (--tls-cert, --tls-key), or trusted_proxies when a TLS proxy is in "
                 "front, or listen on loopback (--dev allows it for development)",
                 c->listen_host);
        return -1;
    }
    return 0;
}

void transport_release(void)
{
    if (key_pem != NULL) {
        OPENSSL_cleanse(key_pem, key_len);
    }
    free(key_pem);
    free(cert_pem);
    key_pem = NULL;
    cert_pem = NULL;
    key_len = 0;
}

bool transport_tls(void)
{
    return cert_pem != NULL && key_pem != NULL;
}

unsigned transport_mhd_flags(void)
{
    return transport_tls() ? (unsigned)MHD_USE_TLS : 0u;
}

void transport_mhd_options(const config *c, struct MHD_OptionItem *o, size_t cap)
{
    size_t n = 0;
    /* Room for four limit options, three TLS options and the end marker. */
    if (cap < 8) {
        o[0] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};
        return;
    }
    o[n++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_TIMEOUT, (intptr_t)c->conn_timeout,
                                     NULL};
    o[n++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_LIMIT, (intptr_t)c->max_connections,
                                     NULL};
    o[n++] = (struct MHD_OptionItem){MHD_OPTION_PER_IP_CONNECTION_LIMIT,
                                     (intptr_t)c->per_ip_connections, NULL};
    o[n++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_MEMORY_LIMIT,
                                     (intptr_t)c->max_header_bytes, NULL};
    if (transport_tls()) {
        o[n++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_CERT, 0, cert_pem};
        o[n++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_KEY, 0, key_pem};
        o[n++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_PRIORITIES, 0, tls_priorities};
    }
    o[n] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};
}

void transport_add_headers(struct MHD_Response *resp)
{
    if (transport_tls()) {
        MHD_add_response_header(resp, "Strict-Transport-Security", HSTS_VALUE);
    }
}
