/*
 * handlers_metrics.c: GET /metrics, the Prometheus text exposition of
 * metrics.c. It holds only counts and latencies (no ids, no tokens), so it
 * needs no authentication; operators who do not want it public keep
 * /metrics off the proxy's public routes (docs/server.md).
 */
#include "http.h"
#include "metrics.h"

#include <stdlib.h>

enum MHD_Result h_metrics(req *r)
{
    size_t len = 0;
    char *text = metrics_render(&len);
    if (text == NULL) {
        return reply_oauth_error(r, 500, "server_error", "out of memory");
    }
    enum MHD_Result ret = reply(r, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8", text,
                                len, true);
    free(text);
    return ret;
}
