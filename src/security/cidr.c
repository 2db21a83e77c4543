#include "security/cidr.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "util/csv.h"

static void map_v4(const uint8_t v4[4], uint8_t out[16])
{
    memset(out, 0, 10);
    out[10] = 0xff;
    out[11] = 0xff;
    memcpy(out + 12, v4, 4);
}

static void mask_host_bits(cidr_block *b)
{
    for (int bit = b->prefix; bit < 128; bit++)
        b->addr[bit / 8] &= (uint8_t) ~(0x80u >> (bit % 8));
}

int cidr_parse(const char *s, cidr_block *out)
{
    char buf[INET6_ADDRSTRLEN + 8];
    size_t len = strlen(s);
    if (len == 0 || len >= sizeof(buf))
        return -1;
    memcpy(buf, s, len + 1);

    int prefix = -1;
    char *slash = strchr(buf, '/');
    if (slash) {
        *slash = '\0';
        const char *p = slash + 1;
        if (*p == '\0' || strlen(p) > 3)
            return -1;
        for (const char *q = p; *q; q++)
            if (!isdigit((unsigned char)*q))
                return -1;
        prefix = atoi(p);
    }

    uint8_t v4[4];
    if (inet_pton(AF_INET, buf, v4) == 1) {
        if (prefix > 32)
            return -1;
        map_v4(v4, out->addr);
        out->prefix = (prefix < 0 ? 32 : prefix) + 96;
    } else if (inet_pton(AF_INET6, buf, out->addr) == 1) {
        if (prefix > 128)
            return -1;
        out->prefix = prefix < 0 ? 128 : prefix;
    } else {
        return -1;
    }
    mask_host_bits(out);
    return 0;
}

int cidr_list_parse(const char *csv, cidr_list *out, char *err, size_t errlen)
{
    out->blocks = NULL;
    out->n = 0;
    char *copy = strdup(csv ? csv : "");
    if (!copy) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    size_t cap = 1;
    for (const char *p = copy; *p; p++)
        cap += *p == ',';
    out->blocks = calloc(cap, sizeof(*out->blocks));
    if (!out->blocks) {
        free(copy);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    char *save = NULL;
    for (char *tok = csv_next(copy, &save); tok; tok = csv_next(copy, &save)) {
        if (cidr_parse(tok, &out->blocks[out->n]) != 0) {
            snprintf(err, errlen, "'%s' is not an IPv4/IPv6 address or CIDR", tok);
            free(copy);
            cidr_list_free(out);
            return -1;
        }
        out->n++;
    }
    free(copy);
    return 0;
}

void cidr_list_free(cidr_list *l)
{
    free(l->blocks);
    l->blocks = NULL;
    l->n = 0;
}

int cidr_addr_from_sockaddr(const struct sockaddr *sa, uint8_t out[16])
{
    if (!sa)
        return -1;
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        map_v4((const uint8_t *)&in->sin_addr.s_addr, out);
        return 0;
    }
    if (sa->sa_family == AF_INET6) {
        memcpy(out, ((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr, 16);
        return 0;
    }
    return -1;
}

bool cidr_contains(const cidr_block *b, const uint8_t addr[16])
{
    int full = b->prefix / 8, rest = b->prefix % 8;
    if (memcmp(b->addr, addr, (size_t)full) != 0)
        return false;
    if (rest == 0)
        return true;
    uint8_t mask = (uint8_t)(0xffu << (8 - rest));
    return (addr[full] & mask) == b->addr[full];
}

bool cidr_list_contains(const cidr_list *l, const uint8_t addr[16])
{
    for (size_t i = 0; i < l->n; i++)
        if (cidr_contains(&l->blocks[i], addr))
            return true;
    return false;
}

static bool is_v4_mapped(const uint8_t addr[16])
{
    static const uint8_t prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    return memcmp(addr, prefix, sizeof(prefix)) == 0;
}

bool cidr_addr_is_loopback(const uint8_t addr[16])
{
    static const uint8_t v6_loopback[16] = {[15] = 1};
    if (is_v4_mapped(addr))
        return addr[12] == 127;
    return memcmp(addr, v6_loopback, 16) == 0;
}

void cidr_addr_to_text(const uint8_t addr[16], char out[CIDR_ADDR_TEXT_MAX])
{
    const char *r = is_v4_mapped(addr) ? inet_ntop(AF_INET, addr + 12, out, CIDR_ADDR_TEXT_MAX)
                                       : inet_ntop(AF_INET6, addr, out, CIDR_ADDR_TEXT_MAX);
    if (!r)
        snprintf(out, CIDR_ADDR_TEXT_MAX, "unknown");
}
