#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>

#include "security/ratelimit.h"

#define S 1000000000ull
#define T0 (1000 * S) /* an arbitrary monotonic "now" */

static ratelimit *make(uint32_t per_minute, uint32_t burst, size_t max_identities)
{
    char err[128] = "";
    ratelimit *rl = ratelimit_create(per_minute, burst, max_identities, err, sizeof(err));
    if (!rl)
        fail_msg("create: %s", err);
    return rl;
}

static ratelimit_result check(ratelimit *rl, const char *id, uint64_t now)
{
    ratelimit_result r;
    bool allowed = ratelimit_check(rl, id, now, &r);
    assert_int_equal(allowed, r.allowed);
    return r;
}

static void burst_then_refill_at_exact_times(void **state)
{
    (void)state;
    ratelimit *rl = make(60, 3, 0); /* T = 1 s, 3 at once */
    for (uint32_t i = 0; i < 3; i++) {
        ratelimit_result r = check(rl, "a", T0);
        assert_true(r.allowed);
        assert_int_equal(r.limit, 3);
        assert_int_equal(r.remaining, 2 - i);
        assert_int_equal(r.reset_s, i + 1);
        assert_int_equal(r.retry_after_s, 0);
        assert_false(r.overflow);
    }
    ratelimit_result r = check(rl, "a", T0);
    assert_false(r.allowed);
    assert_int_equal(r.remaining, 0);
    assert_int_equal(r.retry_after_s, 1);
    assert_int_equal(r.reset_s, 3);

    /* one interval later, exactly one more; a nanosecond earlier, none */
    r = check(rl, "a", T0 + S - 1);
    assert_false(r.allowed);
    assert_int_equal(r.retry_after_s, 1); /* 1 ns rounds up to 1 s */
    r = check(rl, "a", T0 + S);
    assert_true(r.allowed);
    assert_int_equal(r.remaining, 0);
    assert_false(check(rl, "a", T0 + S).allowed);

    /* 2.5 s later two more have accrued */
    assert_true(check(rl, "a", T0 + 3 * S + S / 2).allowed);
    r = check(rl, "a", T0 + 3 * S + S / 2);
    assert_true(r.allowed);
    assert_int_equal(r.remaining, 0);
    r = check(rl, "a", T0 + 3 * S + S / 2);
    assert_false(r.allowed);
    assert_int_equal(r.retry_after_s, 1); /* 0.5 s rounds up */

    /* long idle: full burst again, never more */
    int admitted = 0;
    for (int i = 0; i < 10; i++)
        admitted += check(rl, "a", T0 + 100 * S).allowed;
    assert_int_equal(admitted, 3);
    ratelimit_free(rl);
}

static void refused_requests_do_not_consume(void **state)
{
    (void)state;
    ratelimit *rl = make(60, 2, 0);
    assert_true(check(rl, "a", T0).allowed);
    assert_true(check(rl, "a", T0).allowed);
    for (int i = 0; i < 1000; i++)
        assert_false(check(rl, "a", T0 + S / 2).allowed);
    assert_true(check(rl, "a", T0 + S).allowed);
    ratelimit_free(rl);
}

static void default_service_rates(void **state)
{
    (void)state;
    ratelimit *rl = make(100, 20, 0); /* T = 0.6 s */
    int admitted = 0;
    for (int i = 0; i < 50; i++)
        admitted += check(rl, "svc", T0).allowed;
    assert_int_equal(admitted, 20);
    ratelimit_result r = check(rl, "svc", T0);
    assert_int_equal(r.retry_after_s, 1);
    assert_int_equal(r.reset_s, 12); /* 20 * 0.6 s */
    assert_false(check(rl, "svc", T0 + 599999999).allowed);
    assert_true(check(rl, "svc", T0 + 600000000).allowed);

    /* sustained: one request per T passes forever, two per T does not */
    uint64_t t = T0 + 600000000;
    for (int i = 0; i < 200; i++) {
        t += 600000000;
        assert_true(check(rl, "svc", t).allowed);
        assert_false(check(rl, "svc", t).allowed);
    }
    ratelimit_free(rl);
}

static void slow_rates_give_long_retry_after(void **state)
{
    (void)state;
    ratelimit *rl = make(1, 1, 0); /* one a minute */
    assert_true(check(rl, "a", T0).allowed);
    ratelimit_result r = check(rl, "a", T0 + 10 * S);
    assert_false(r.allowed);
    assert_int_equal(r.retry_after_s, 50);
    assert_int_equal(r.reset_s, 50);
    r = check(rl, "a", T0 + 59 * S + 1);
    assert_int_equal(r.retry_after_s, 1);
    assert_true(check(rl, "a", T0 + 60 * S).allowed);
    ratelimit_free(rl);
}

static void identities_are_independent(void **state)
{
    (void)state;
    ratelimit *rl = make(60, 2, 0);
    assert_true(check(rl, "a", T0).allowed);
    assert_true(check(rl, "a", T0).allowed);
    assert_false(check(rl, "a", T0).allowed);
    assert_true(check(rl, "b", T0).allowed);
    assert_true(check(rl, "b", T0).allowed);
    assert_false(check(rl, "b", T0).allowed);
    assert_true(check(rl, "ab", T0).allowed);
    assert_true(check(rl, "", T0).allowed);
    ratelimit_free(rl);
}

static void full_table_shares_overflow_and_reuses_idle_slots(void **state)
{
    (void)state;
    ratelimit *rl = make(60, 2, 4); /* one stripe of four slots */
    const char *ids[] = {"a", "b", "c", "d"};
    for (int i = 0; i < 4; i++)
        assert_false(check(rl, ids[i], T0).overflow);

    /* every slot is active: newcomers share one bucket of burst 2 */
    ratelimit_result r = check(rl, "e", T0);
    assert_true(r.allowed);
    assert_true(r.overflow);
    assert_true(check(rl, "f", T0).allowed);
    assert_false(check(rl, "g", T0).allowed);
    /* tracked identities keep their own state */
    r = check(rl, "a", T0);
    assert_true(r.allowed);
    assert_false(r.overflow);

    /* "b" is idle one interval later (it used 1 of 2), so "e" takes its slot losslessly */
    r = check(rl, "e", T0 + S);
    assert_false(r.overflow);
    assert_true(r.allowed);
    assert_int_equal(r.remaining, 1);
    /* "b" comes back: "c" and "d" are idle too, it gets a slot with a full burst */
    r = check(rl, "b", T0 + S);
    assert_false(r.overflow);
    assert_int_equal(r.remaining, 1);
    ratelimit_free(rl);
}

static void over_long_identities_use_overflow(void **state)
{
    (void)state;
    ratelimit *rl = make(60, 1, 0);
    char longid[300];
    memset(longid, 'x', sizeof(longid) - 1);
    longid[sizeof(longid) - 1] = '\0';
    ratelimit_result r = check(rl, longid, T0);
    assert_true(r.overflow);
    assert_true(r.allowed);
    assert_false(check(rl, longid, T0).allowed);
    assert_true(check(rl, NULL, T0 + 5 * S).overflow);
    ratelimit_free(rl);
}

static void rejects_bad_parameters(void **state)
{
    (void)state;
    char err[128];
    assert_null(ratelimit_create(0, 20, 0, err, sizeof(err)));
    assert_non_null(strstr(err, "per-minute"));
    assert_null(ratelimit_create(100, 0, 0, err, sizeof(err)));
    assert_non_null(strstr(err, "burst"));
    assert_null(ratelimit_create(RATELIMIT_MAX_PER_MINUTE + 1, 1, 0, err, sizeof(err)));
    assert_null(ratelimit_create(1, RATELIMIT_MAX_BURST + 1, 0, err, sizeof(err)));
    ratelimit *rl =
        ratelimit_create(RATELIMIT_MAX_PER_MINUTE, RATELIMIT_MAX_BURST, 1, err, sizeof(err));
    assert_non_null(rl);
    ratelimit_result r = check(rl, "a", T0);
    assert_int_equal(r.limit, RATELIMIT_MAX_BURST);
    assert_int_equal(r.remaining, RATELIMIT_MAX_BURST - 1);
    ratelimit_free(rl);
    ratelimit_free(NULL);
}

/* Threads hammer the limiter at one fixed instant: exactly `burst` per identity may pass. */
#define THREADS 8
#define IDS 64
#define BURST 50
#define TRIES 200

typedef struct hammer {
    ratelimit *rl;
    int seed;
    atomic_int *admitted; /* [IDS] */
} hammer;

static void *hammer_run(void *arg)
{
    hammer *h = arg;
    for (int i = 0; i < TRIES * IDS / 4; i++) {
        int k = (h->seed * 31 + i * 7) % IDS;
        char id[16];
        snprintf(id, sizeof(id), "id-%d", k);
        ratelimit_result r;
        if (ratelimit_check(h->rl, id, T0, &r))
            atomic_fetch_add(&h->admitted[k], 1);
    }
    return NULL;
}

static void concurrent_burst_admits_exactly_burst(void **state)
{
    (void)state;
    ratelimit *rl = make(60, BURST, 0);
    atomic_int admitted[IDS];
    for (int i = 0; i < IDS; i++)
        atomic_init(&admitted[i], 0);
    pthread_t th[THREADS];
    hammer h[THREADS];
    for (int t = 0; t < THREADS; t++) {
        h[t] = (hammer){.rl = rl, .seed = t, .admitted = admitted};
        assert_int_equal(pthread_create(&th[t], NULL, hammer_run, &h[t]), 0);
    }
    for (int t = 0; t < THREADS; t++)
        pthread_join(th[t], NULL);
    int total = 0;
    for (int i = 0; i < IDS; i++) {
        /* each id was tried 8 threads * 200*64/4/64 = 400 times */
        if (atomic_load(&admitted[i]) != BURST)
            fail_msg("id-%d admitted %d, expected %d", i, atomic_load(&admitted[i]), BURST);
        total += atomic_load(&admitted[i]);
    }
    assert_int_equal(total, IDS * BURST);
    ratelimit_free(rl);
}

typedef struct single {
    ratelimit *rl;
    atomic_int *admitted;
} single;

static void *single_run(void *arg)
{
    single *s = arg;
    for (int i = 0; i < 5000; i++) {
        ratelimit_result r;
        if (ratelimit_check(s->rl, "shared", T0 + 7 * S, &r))
            atomic_fetch_add(s->admitted, 1);
    }
    return NULL;
}

static void concurrent_single_identity(void **state)
{
    (void)state;
    ratelimit *rl = make(100, 20, 0);
    atomic_int admitted;
    atomic_init(&admitted, 0);
    pthread_t th[THREADS];
    single s = {.rl = rl, .admitted = &admitted};
    for (int t = 0; t < THREADS; t++)
        assert_int_equal(pthread_create(&th[t], NULL, single_run, &s), 0);
    for (int t = 0; t < THREADS; t++)
        pthread_join(th[t], NULL);
    assert_int_equal(atomic_load(&admitted), 20);
    ratelimit_free(rl);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(burst_then_refill_at_exact_times),
        cmocka_unit_test(refused_requests_do_not_consume),
        cmocka_unit_test(default_service_rates),
        cmocka_unit_test(slow_rates_give_long_retry_after),
        cmocka_unit_test(identities_are_independent),
        cmocka_unit_test(full_table_shares_overflow_and_reuses_idle_slots),
        cmocka_unit_test(over_long_identities_use_overflow),
        cmocka_unit_test(rejects_bad_parameters),
        cmocka_unit_test(concurrent_burst_admits_exactly_burst),
        cmocka_unit_test(concurrent_single_identity),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
