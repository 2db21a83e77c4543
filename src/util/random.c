#include "util/random.h"

#include <sys/random.h>
#include <time.h>

#include "util/clock.h"

static _Thread_local uint64_t state;

static uint64_t splitmix64(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

uint64_t random_u64(void)
{
    if (state == 0) {
        uint64_t seed = 0;
        if (getrandom(&seed, sizeof(seed), GRND_NONBLOCK) != sizeof(seed))
            seed = clock_real_ns() ^ (uint64_t)(uintptr_t)&state;
        state = seed | 1;
    }
    return splitmix64(&state);
}

void random_hex(char *out, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    for (;;) {
        int nonzero = 0;
        uint64_t r = 0;
        for (size_t i = 0; i < n; i++) {
            if (i % 16 == 0)
                r = random_u64();
            int d = (int)(r & 15);
            r >>= 4;
            nonzero |= d;
            out[i] = hex[d];
        }
        out[n] = '\0';
        if (nonzero)
            return;
    }
}
