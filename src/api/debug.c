#ifdef KRONOS_TEST_HOOKS

#include <stdlib.h>
#include <time.h>

#include <jansson.h>

#include "api/handlers.h"
#include "http/response.h"

/* Test builds only: holds an HTTP thread for ?ms=N (≤ 60000) to test draining on shutdown. */
http_result handle_debug_delay(http_request *r)
{
    char ms_arg[16];
    long ms = http_query_arg(r, "ms", ms_arg, sizeof(ms_arg)) ? strtol(ms_arg, NULL, 10) : 0;
    if (ms < 0 || ms > 60000)
        ms = 0;
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
    return http_respond_json(r, HTTP_STATUS_OK, json_pack("{s:I}", "slept_ms", (json_int_t)ms),
                             CT_JSON);
}

#else
typedef int kronos_debug_routes_disabled;
#endif
