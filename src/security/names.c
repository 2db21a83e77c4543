#include "security/names.h"

#include <stdio.h>
#include <string.h>

#include "security/cidr.h"

bool security_name_valid(const char *s, size_t len)
{
    if (!s || len == 0 || len > SECURITY_NAME_MAX)
        return false;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '.' || c == '_' || c == ':' || c == '-';
        if (!ok)
            return false;
    }
    return true;
}

void security_peer_identity(const uint8_t addr[16], const cidr_list *trusted,
                            char out[SECURITY_NAME_MAX + 1])
{
    if (cidr_addr_is_loopback(addr) && trusted && cidr_list_contains(trusted, addr)) {
        snprintf(out, SECURITY_NAME_MAX + 1, "localhost");
        return;
    }
    char text[CIDR_ADDR_TEXT_MAX];
    cidr_addr_to_text(addr, text);
    snprintf(out, SECURITY_NAME_MAX + 1, "%s", text);
}
