/* LD_PRELOAD shim for the integration tests: the first open() of the file KRONOS_SHIM_HOLD_PATH
 * waits until the test has opened and closed the FIFO KRONOS_SHIM_HOLD_RELEASE. A model load then
 * stays in progress exactly as long as the test wants, and succeeds once released. */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

typedef int open_fn(const char *, int, ...);
static open_fn *real_open, *real_open64;
static const char *hold_path, *release_fifo;
static struct stat held;
static atomic_int released;

__attribute__((constructor)) static void hold_open_init(void)
{
    real_open = (open_fn *)dlsym(RTLD_NEXT, "open");
    real_open64 = (open_fn *)dlsym(RTLD_NEXT, "open64");
    if (!real_open || !real_open64)
        abort();
    hold_path = getenv("KRONOS_SHIM_HOLD_PATH");
    release_fifo = getenv("KRONOS_SHIM_HOLD_RELEASE");
    if (!hold_path || !release_fifo || stat(hold_path, &held) != 0)
        atomic_store(&released, 1);
}

/* Compared by device and inode: the engine may spell the path differently from the test. */
static int is_held(const char *path)
{
    struct stat st;
    return !atomic_load(&released) && path && stat(path, &st) == 0 && st.st_dev == held.st_dev &&
           st.st_ino == held.st_ino;
}

/* Opening a FIFO for reading blocks until a writer opens it; read() returns 0 once it closed. */
static void wait_for_release(void)
{
    int fd;
    while ((fd = real_open(release_fifo, O_RDONLY | O_CLOEXEC)) < 0 && errno == EINTR)
        ;
    if (fd >= 0) {
        char buf[64];
        ssize_t n;
        while ((n = read(fd, buf, sizeof buf)) > 0 || (n < 0 && errno == EINTR))
            ;
        close(fd);
    }
    atomic_store(&released, 1);
}

static mode_t mode_of(int flags, va_list ap)
{
    return flags & (O_CREAT | O_TMPFILE) ? va_arg(ap, mode_t) : 0;
}

static int held_open(open_fn *real, const char *path, int flags, mode_t mode)
{
    if (is_held(path))
        wait_for_release();
    return real(path, flags, mode);
}

int open(const char *path, int flags, ...)
{
    va_list ap;
    va_start(ap, flags);
    mode_t mode = mode_of(flags, ap);
    va_end(ap);
    return held_open(real_open, path, flags, mode);
}

/* What a call to open() links to depends on _FILE_OFFSET_BITS and _FORTIFY_SOURCE. */
int open64(const char *path, int flags, ...)
{
    va_list ap;
    va_start(ap, flags);
    mode_t mode = mode_of(flags, ap);
    va_end(ap);
    return held_open(real_open64, path, flags, mode);
}
