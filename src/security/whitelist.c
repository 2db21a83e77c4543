#include "security/whitelist.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "security/cidr.h"
#include "security/names.h"
#include "util/csv.h"

/* Rewrites an address item into its peer identity; leaves names alone. */
static void canonicalize(const char *item, const cidr_list *trusted,
                         char out[SECURITY_NAME_MAX + 1])
{
    uint8_t addr[16];
    uint8_t v4[4];
    if (inet_pton(AF_INET, item, v4) == 1) {
        memset(addr, 0, 10);
        addr[10] = addr[11] = 0xff;
        memcpy(addr + 12, v4, 4);
        security_peer_identity(addr, trusted, out);
    } else if (inet_pton(AF_INET6, item, addr) == 1) {
        security_peer_identity(addr, trusted, out);
    } else {
        snprintf(out, SECURITY_NAME_MAX + 1, "%s", item);
    }
}

int whitelist_parse(const char *csv, const cidr_list *trusted, whitelist *out, char *err,
                    size_t errlen)
{
    out->names = NULL;
    out->n = 0;
    char *copy = strdup(csv ? csv : "");
    if (!copy)
        goto oom;
    size_t cap = 1;
    for (const char *p = copy; *p; p++)
        cap += *p == ',';
    out->names = calloc(cap, sizeof(*out->names));
    if (!out->names)
        goto oom;

    char *save = NULL;
    for (char *tok = csv_next(copy, &save); tok; tok = csv_next(copy, &save)) {
        if (!security_name_valid(tok, strlen(tok))) {
            snprintf(err, errlen,
                     "'%.*s%s' is not an identity (1-128 characters of [A-Za-z0-9._:-])", 64, tok,
                     strlen(tok) > 64 ? "..." : "");
            free(copy);
            whitelist_free(out);
            return -1;
        }
        char name[SECURITY_NAME_MAX + 1];
        canonicalize(tok, trusted, name);
        if (whitelist_find(out, name))
            continue;
        if (!(out->names[out->n] = strdup(name)))
            goto oom;
        out->n++;
    }
    free(copy);
    return 0;
oom:
    free(copy);
    whitelist_free(out);
    snprintf(err, errlen, "out of memory");
    return -1;
}

void whitelist_free(whitelist *wl)
{
    if (wl->names)
        for (size_t i = 0; i < wl->n; i++)
            free(wl->names[i]);
    free(wl->names);
    wl->names = NULL;
    wl->n = 0;
}

const char *whitelist_find(const whitelist *wl, const char *identity)
{
    if (!identity)
        return NULL;
    for (size_t i = 0; i < wl->n; i++)
        if (strcmp(wl->names[i], identity) == 0)
            return wl->names[i];
    return NULL;
}
