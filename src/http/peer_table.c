#include "http/peer_table.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define PEER_BUCKETS 1024

typedef struct peer {
    uint8_t addr[16];
    unsigned open;
    struct peer *next;
} peer;

struct peer_table {
    pthread_mutex_t mu;
    peer *buckets[PEER_BUCKETS];
};

static unsigned bucket_of(const uint8_t addr[16])
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (int i = 0; i < 16; i++)
        h = (h ^ addr[i]) * 16777619u;
    return h % PEER_BUCKETS;
}

peer_table *peer_table_create(void)
{
    peer_table *t = calloc(1, sizeof(*t));
    if (t)
        pthread_mutex_init(&t->mu, NULL);
    return t;
}

void peer_table_free(peer_table *t)
{
    if (!t)
        return;
    for (int i = 0; i < PEER_BUCKETS; i++)
        for (peer *p = t->buckets[i], *next; p; p = next) {
            next = p->next;
            free(p);
        }
    pthread_mutex_destroy(&t->mu);
    free(t);
}

bool peer_table_acquire(peer_table *t, const uint8_t addr[16], unsigned limit)
{
    unsigned b = bucket_of(addr);
    bool ok = false;
    pthread_mutex_lock(&t->mu);
    peer *p = t->buckets[b];
    while (p && memcmp(p->addr, addr, 16) != 0)
        p = p->next;
    if (!p && (p = calloc(1, sizeof(*p)))) {
        memcpy(p->addr, addr, 16);
        p->next = t->buckets[b];
        t->buckets[b] = p;
    }
    if (p && p->open < limit) {
        p->open++;
        ok = true;
    }
    pthread_mutex_unlock(&t->mu);
    return ok;
}

void peer_table_release(peer_table *t, const uint8_t addr[16])
{
    unsigned b = bucket_of(addr);
    pthread_mutex_lock(&t->mu);
    for (peer **pp = &t->buckets[b]; *pp; pp = &(*pp)->next) {
        peer *p = *pp;
        if (memcmp(p->addr, addr, 16) != 0)
            continue;
        if (--p->open == 0) {
            *pp = p->next;
            free(p);
        }
        break;
    }
    pthread_mutex_unlock(&t->mu);
}
