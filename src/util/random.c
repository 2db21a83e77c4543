#include "util/random.h"

#include <sys/random.h>
#include <time.h>

#include "util/clock.h"
#include "util/rng.h"

static _Thread_local uint64_t state;

uint64_t random_u64(void)
{
    if (state == 0) {
        uint64_t seed = 0;
        if (getrandom(&seed, sizeof(seed), GRND_NONBLOCK) != sizeof(seed))
            seed = clock_real_ns() ^ (uint64_t)(uintptr_t)&state;
        state = seed | 1;
    }
    return rng_splitmix64(&state);
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
