#include "api/handlers.h"
#include "http/response.h"

enum MHD_Result handle_metrics(http_request *r)
{
    static const char body[] = "";
    return http_respond(r, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8", (char *)body, 0,
                        false, NULL, 0);
}
