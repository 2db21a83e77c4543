#include "util/sd_notify.h"

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static struct {
    struct sockaddr_un addr;
    socklen_t addr_len; /* 0: no $NOTIFY_SOCKET */
    uint64_t watchdog_ns;
    uint64_t last_ping_ns;
} st;

void sd_notify_init(void)
{
    memset(&st, 0, sizeof st);
    const char *sock = getenv("NOTIFY_SOCKET");
    size_t len = sock ? strlen(sock) : 0;
    if (len >= 2 && len < sizeof st.addr.sun_path && (sock[0] == '/' || sock[0] == '@')) {
        st.addr.sun_family = AF_UNIX;
        memcpy(st.addr.sun_path, sock, len);
        if (sock[0] == '@')
            st.addr.sun_path[0] = '\0'; /* abstract: no terminating NUL counts */
        st.addr_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len);
    }
    const char *usec = getenv("WATCHDOG_USEC"), *pid = getenv("WATCHDOG_PID");
    char *end;
    unsigned long long us = usec ? strtoull(usec, &end, 10) : 0;
    if (usec && (*end || end == usec))
        us = 0;
    if (pid && strtol(pid, NULL, 10) != (long)getpid())
        us = 0; /* meant for another process of the service */
    st.watchdog_ns = (uint64_t)us * 1000 / 2;
}

int sd_notify_send(const char *state)
{
    if (st.addr_len == 0)
        return 0;
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    ssize_t n;
    do
        n = sendto(fd, state, strlen(state), MSG_NOSIGNAL, (const struct sockaddr *)&st.addr,
                   st.addr_len);
    while (n < 0 && errno == EINTR);
    close(fd);
    return n < 0 ? -1 : 0;
}

uint64_t sd_watchdog_interval_ns(void)
{
    return st.addr_len ? st.watchdog_ns : 0;
}

void sd_watchdog_tick(uint64_t now_ns)
{
    uint64_t every = sd_watchdog_interval_ns();
    if (every == 0 || (st.last_ping_ns != 0 && now_ns - st.last_ping_ns < every))
        return;
    st.last_ping_ns = now_ns;
    sd_notify_send("WATCHDOG=1");
}
