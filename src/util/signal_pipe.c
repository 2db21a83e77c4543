#include "util/signal_pipe.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

static int pipe_fds[2] = {-1, -1};
static sigset_t wait_mask; /* the caller's mask with the signals unblocked */

static void on_signal(int sig)
{
    int saved = errno;
    unsigned char b = (unsigned char)sig;
    ssize_t r = write(pipe_fds[1], &b, 1); /* a full pipe already holds a pending stop */
    (void)r;
    errno = saved;
}

int signal_pipe_install(const int *sigs, int n)
{
    if (pipe_fds[0] < 0 && pipe2(pipe_fds, O_NONBLOCK | O_CLOEXEC) != 0)
        return -1;
    sigset_t set;
    sigemptyset(&set);
    for (int i = 0; i < n; i++)
        sigaddset(&set, sigs[i]);
    sigset_t old;
    if (pthread_sigmask(SIG_BLOCK, &set, &old) != 0)
        return -1;
    wait_mask = old;
    for (int i = 0; i < n; i++)
        sigdelset(&wait_mask, sigs[i]);

    struct sigaction sa = {0};
    sa.sa_handler = on_signal;
    sa.sa_flags = SA_RESTART;
    sigfillset(&sa.sa_mask);
    for (int i = 0; i < n; i++)
        if (sigaction(sigs[i], &sa, NULL) != 0)
            return -1;
    return 0;
}

int signal_pipe_wait(int timeout_ms)
{
    struct pollfd p = {.fd = pipe_fds[0], .events = POLLIN};
    struct timespec ts = {timeout_ms / 1000, (long)(timeout_ms % 1000) * 1000000L};
    for (;;) {
        unsigned char b;
        if (read(pipe_fds[0], &b, 1) == 1)
            return b;
        /* EINTR means our handler ran on this thread: its byte is read at the top. */
        int r = ppoll(&p, 1, timeout_ms < 0 ? NULL : &ts, &wait_mask);
        if (r == 0 || (r < 0 && errno != EINTR))
            return 0;
    }
}
