#include "api/auth.h"

#include <stdio.h>
#include <string.h>

bool api_authorize(http_request *r)
{
    static const uint8_t loopback4[13] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 127};
    static const uint8_t loopback6[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    bool loopback =
        memcmp(r->client_addr, loopback4, 13) == 0 || memcmp(r->client_addr, loopback6, 16) == 0;
    snprintf(r->identity, sizeof(r->identity), "%s", loopback ? "localhost" : r->client_ip);
    return true;
}
