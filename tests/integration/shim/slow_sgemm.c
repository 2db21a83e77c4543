/* LD_PRELOAD shim for the integration tests: every cblas_sgemm call first sleeps
 * KRONOS_SHIM_SGEMM_DELAY_US microseconds. A Kronos forecast then takes a predictable time while
 * the shipped engine runs unchanged, polling its cancel token between steps as in production. */
#include <cblas.h>
#include <dlfcn.h>
#include <errno.h>
#include <stdlib.h>
#include <time.h>

static __typeof__(cblas_sgemm) *real_sgemm;
static long delay_us;

__attribute__((constructor)) static void slow_sgemm_init(void)
{
    const char *s = getenv("KRONOS_SHIM_SGEMM_DELAY_US");
    delay_us = s ? strtol(s, NULL, 10) : 0;
    real_sgemm = (__typeof__(cblas_sgemm) *)dlsym(RTLD_NEXT, "cblas_sgemm");
    if (!real_sgemm)
        abort();
}

void cblas_sgemm(const enum CBLAS_ORDER order, const enum CBLAS_TRANSPOSE ta,
                 const enum CBLAS_TRANSPOSE tb, const blasint m, const blasint n, const blasint k,
                 const float alpha, const float *a, const blasint lda, const float *b,
                 const blasint ldb, const float beta, float *c, const blasint ldc)
{
    if (delay_us > 0) {
        struct timespec left = {delay_us / 1000000, (delay_us % 1000000) * 1000L};
        while (nanosleep(&left, &left) != 0 && errno == EINTR)
            ;
    }
    real_sgemm(order, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}
