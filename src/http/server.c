#include "http/server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "http/conn.h"
#include "http/observe.h"
#include "http/peer_table.h"
#include "obs/log.h"
#include "util/clock.h"

#define SWEEP_NS 250000000ull         /* timers are checked this often */
#define ACCEPT_BACKOFF_NS 50000000ull /* pause after running out of file descriptors */

struct http_worker {
    http_server *srv;
    pthread_t thread;
    int epfd;
    int wake_fd; /* eventfd: a resume was queued, or stop */
    pthread_mutex_t mu;
    http_conn *resume_head;   /* [mu] */
    struct handoff *handoffs; /* [mu] connections accepted by another thread for this one */
    http_conn *conns;
    atomic_uint nconns; /* connections placed on this thread (attached or in transit) */
    unsigned attached;  /* counted connections this thread holds: its share of the cap */
    bool listening;
    uint64_t accept_paused_until;
};

struct http_server {
    http_server_config cfg;
    int listen_fd;
    unsigned port;
    http_worker *workers;
    unsigned nworkers;
    atomic_bool stopping;
    atomic_bool quiesced;
    atomic_long inflight;
    unsigned conns_per_worker; /* KRONOS_MAX_CONNECTIONS shared evenly between the threads */
    atomic_size_t buffered;    /* bytes charged against max_buffered */
    peer_table *peers;
};

/* A connection accepted by one thread and placed on another. */
struct handoff {
    int fd;
    struct sockaddr_storage peer;
    socklen_t len;
    struct handoff *next;
};

/* Markers in epoll's data.ptr for the two non-connection descriptors. */
static char listen_marker, wake_marker;

const http_server_config *worker_config(const http_worker *w)
{
    return &w->srv->cfg;
}

void worker_watch(http_worker *w, http_conn *c, uint32_t events)
{
    struct epoll_event ev = {.events = events, .data.ptr = c};
    epoll_ctl(w->epfd, EPOLL_CTL_MOD, c->fd, &ev);
}

void worker_unwatch(http_worker *w, http_conn *c)
{
    epoll_ctl(w->epfd, EPOLL_CTL_DEL, c->fd, NULL);
}

static void worker_attach(http_worker *w, http_conn *c)
{
    c->next = w->conns;
    if (w->conns)
        w->conns->prev = c;
    w->conns = c;
    struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP, .data.ptr = c};
    epoll_ctl(w->epfd, EPOLL_CTL_ADD, c->fd, &ev);
}

void worker_detach(http_worker *w, http_conn *c)
{
    if (c->prev)
        c->prev->next = c->next;
    else
        w->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    epoll_ctl(w->epfd, EPOLL_CTL_DEL, c->fd, NULL);
    if (c->holds_ip_slot)
        peer_table_release(w->srv->peers, c->addr);
    if (c->counted) {
        atomic_fetch_sub(&w->nconns, 1);
        w->attached--;
    }
}

bool worker_charge(http_worker *w, size_t bytes, bool force)
{
    size_t before = atomic_fetch_add(&w->srv->buffered, bytes);
    if (force || before + bytes <= w->srv->cfg.max_buffered)
        return true;
    atomic_fetch_sub(&w->srv->buffered, bytes);
    return false;
}

void worker_uncharge(http_worker *w, size_t bytes)
{
    atomic_fetch_sub(&w->srv->buffered, bytes);
}

void worker_request_started(http_worker *w)
{
    atomic_fetch_add(&w->srv->inflight, 1);
    http_observe_started();
}

void worker_request_ended(http_worker *w)
{
    atomic_fetch_sub(&w->srv->inflight, 1);
}

static void wake(http_worker *w)
{
    uint64_t one = 1;
    while (write(w->wake_fd, &one, sizeof(one)) < 0 && errno == EINTR)
        ;
}

void worker_queue_resume(http_worker *w, http_conn *c)
{
    pthread_mutex_lock(&w->mu);
    c->resume_next = w->resume_head;
    w->resume_head = c;
    pthread_mutex_unlock(&w->mu);
    wake(w);
}

static void admit_connection(http_worker *w, int fd, const struct sockaddr_storage *ss,
                             socklen_t len);

/* Resumed requests and connections handed over by other threads. */
static void run_queued(http_worker *w)
{
    uint64_t n;
    while (read(w->wake_fd, &n, sizeof(n)) < 0 && errno == EINTR)
        ;
    pthread_mutex_lock(&w->mu);
    http_conn *list = w->resume_head;
    struct handoff *handoffs = w->handoffs;
    w->resume_head = NULL;
    w->handoffs = NULL;
    pthread_mutex_unlock(&w->mu);
    while (list) {
        http_conn *c = list;
        list = c->resume_next;
        conn_on_resume(c);
    }
    while (handoffs) {
        struct handoff *h = handoffs;
        handoffs = h->next;
        admit_connection(w, h->fd, &h->peer, h->len);
        free(h);
    }
}

/* Makes room at the connection cap: closes this worker's connection that has been idle longest. */
static bool evict_idle(http_worker *w)
{
    http_conn *victim = NULL;
    for (http_conn *c = w->conns; c; c = c->next)
        if (c->counted && conn_evictable(c) &&
            (!victim || c->idle_since_ns < victim->idle_since_ns))
            victim = c;
    if (!victim)
        return false;
    conn_close(victim, "evicted at the connection limit");
    return true;
}

static void set_listening(http_worker *w, bool on)
{
    if (w->listening == on)
        return;
    if (on) {
        struct epoll_event ev = {.events = EPOLLIN | EPOLLEXCLUSIVE, .data.ptr = &listen_marker};
        epoll_ctl(w->epfd, EPOLL_CTL_ADD, w->srv->listen_fd, &ev);
    } else {
        epoll_ctl(w->epfd, EPOLL_CTL_DEL, w->srv->listen_fd, NULL);
    }
    w->listening = on;
}

/* The connection's slot in w's share was reserved when it was placed (place_connection). */
static void admit_connection(http_worker *w, int fd, const struct sockaddr_storage *ss,
                             socklen_t len)
{
    http_server *s = w->srv;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    http_conn *c = conn_create(w, fd, (const struct sockaddr *)ss, len);
    if (!c) {
        atomic_fetch_sub(&w->nconns, 1);
        close(fd);
        return;
    }
    worker_attach(w, c);
    if (!peer_table_acquire(s->peers, c->addr, s->cfg.max_connections_per_ip)) {
        atomic_fetch_sub(&w->nconns, 1);
        conn_refuse(c, 429, "rate_limited",
                    "too many connections from this address (KRONOS_MAX_CONNECTIONS_PER_IP)");
        return;
    }
    c->holds_ip_slot = true;
    if (w->attached >= s->conns_per_worker && !evict_idle(w)) {
        atomic_fetch_sub(&w->nconns, 1);
        conn_refuse(c, 503, "overloaded",
                    "connection limit reached (KRONOS_MAX_CONNECTIONS); retry later");
        return;
    }
    c->counted = true;
    w->attached++;
}

/* New connections go to the thread holding the fewest, so each thread's share of the cap fills
 * evenly and each can make room by evicting its own idle connections. The slot is reserved here,
 * before the hand-over: a burst of accepts sees the connections still on their way. */
static void place_connection(http_worker *w, int fd, const struct sockaddr_storage *ss,
                             socklen_t len)
{
    http_server *s = w->srv;
    http_worker *target = w;
    for (unsigned i = 0; i < s->nworkers; i++)
        if (atomic_load(&s->workers[i].nconns) < atomic_load(&target->nconns))
            target = &s->workers[i];
    struct handoff *h = target != w ? malloc(sizeof(*h)) : NULL;
    if (!h) {
        atomic_fetch_add(&w->nconns, 1);
        admit_connection(w, fd, ss, len);
        return;
    }
    atomic_fetch_add(&target->nconns, 1);
    *h = (struct handoff){.fd = fd, .peer = *ss, .len = len};
    pthread_mutex_lock(&target->mu);
    h->next = target->handoffs;
    target->handoffs = h;
    pthread_mutex_unlock(&target->mu);
    wake(target);
}

static void accept_ready(http_worker *w)
{
    for (int i = 0; i < 64; i++) {
        struct sockaddr_storage ss;
        socklen_t len = sizeof(ss);
        int fd =
            accept4(w->srv->listen_fd, (struct sockaddr *)&ss, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd >= 0) {
            place_connection(w, fd, &ss, len);
            continue;
        }
        if (errno == EINTR || errno == ECONNABORTED)
            continue;
        if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
            log_msg(LOG_ERROR, "kronosd.http", "accept: out of file descriptors or memory");
            set_listening(w, false);
            w->accept_paused_until = clock_mono_ns() + ACCEPT_BACKOFF_NS;
        }
        return;
    }
}

static void sweep(http_worker *w, uint64_t now)
{
    for (http_conn *c = w->conns, *next; c; c = next) {
        next = c->next;
        conn_check_deadlines(c, now);
    }
    if (w->accept_paused_until && now >= w->accept_paused_until &&
        !atomic_load(&w->srv->quiesced)) {
        w->accept_paused_until = 0;
        set_listening(w, true);
    }
}

static void *worker_main(void *arg)
{
    http_worker *w = arg;
    struct epoll_event events[64];
    uint64_t next_sweep = clock_mono_ns() + SWEEP_NS;
    while (!atomic_load(&w->srv->stopping)) {
        int n = epoll_wait(w->epfd, events, 64, (int)(SWEEP_NS / 1000000));
        for (int i = 0; i < n; i++) {
            void *p = events[i].data.ptr;
            if (p == &listen_marker)
                accept_ready(w);
            else if (p == &wake_marker)
                run_queued(w);
            else
                conn_on_events(p, events[i].events);
        }
        uint64_t now = clock_mono_ns();
        if (now >= next_sweep) {
            sweep(w, now);
            next_sweep = now + SWEEP_NS;
        }
    }
    return NULL;
}

static int open_listener(const http_server_config *cfg, char *err, size_t errlen)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof(ss));
    struct sockaddr_in *in4 = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
    socklen_t len;
    if (inet_pton(AF_INET, cfg->host, &in4->sin_addr) == 1) {
        in4->sin_family = AF_INET;
        in4->sin_port = htons((uint16_t)cfg->port);
        len = sizeof(*in4);
    } else if (inet_pton(AF_INET6, cfg->host, &in6->sin6_addr) == 1) {
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons((uint16_t)cfg->port);
        len = sizeof(*in6);
    } else {
        snprintf(err, errlen, "KRONOS_HOST=\"%s\" is not an IP address", cfg->host);
        return -1;
    }
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1, zero = 0;
    if (fd >= 0) {
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (ss.ss_family == AF_INET6)
            setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
    }
    if (fd < 0 || bind(fd, (struct sockaddr *)&ss, len) != 0 || listen(fd, 1024) != 0) {
        snprintf(err, errlen, "cannot listen on %s:%d: %s", cfg->host, cfg->port, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    return fd;
}

static unsigned bound_port(int fd)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0)
        return 0;
    if (ss.ss_family == AF_INET)
        return ntohs(((struct sockaddr_in *)&ss)->sin_port);
    return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
}

static int worker_init(http_worker *w, http_server *s)
{
    w->srv = s;
    w->epfd = epoll_create1(EPOLL_CLOEXEC);
    w->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    pthread_mutex_init(&w->mu, NULL);
    if (w->epfd < 0 || w->wake_fd < 0)
        return -1;
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &wake_marker};
    epoll_ctl(w->epfd, EPOLL_CTL_ADD, w->wake_fd, &ev);
    set_listening(w, true);
    return 0;
}

static void worker_close_all(http_worker *w)
{
    /* Requests still suspended have had their jobs finished (the scheduler is shut down first),
     * so closing them here is their end. */
    run_queued(w);
    while (w->conns)
        conn_close(w->conns, "server stopping");
    if (w->epfd >= 0)
        close(w->epfd);
    if (w->wake_fd >= 0)
        close(w->wake_fd);
    pthread_mutex_destroy(&w->mu);
}

static void free_server(http_server *s)
{
    for (unsigned i = 0; i < s->nworkers; i++)
        worker_close_all(&s->workers[i]);
    if (s->listen_fd >= 0)
        close(s->listen_fd);
    peer_table_free(s->peers);
    free(s->workers);
    free(s);
}

http_server *http_server_start(const http_server_config *cfg, char *err, size_t errlen)
{
    http_server *s = calloc(1, sizeof(*s));
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    s->cfg = *cfg;
    s->nworkers = cfg->threads ? cfg->threads : 1;
    s->listen_fd = open_listener(cfg, err, errlen);
    s->workers = calloc(s->nworkers, sizeof(*s->workers));
    s->peers = peer_table_create();
    if (s->listen_fd < 0 || !s->workers || !s->peers) {
        if (s->listen_fd >= 0)
            snprintf(err, errlen, "out of memory");
        s->nworkers = 0;
        free_server(s);
        return NULL;
    }
    s->port = bound_port(s->listen_fd);
    s->conns_per_worker = (cfg->max_connections + s->nworkers - 1) / s->nworkers;
    for (unsigned i = 0; i < s->nworkers; i++)
        s->workers[i].epfd = s->workers[i].wake_fd = -1;
    /* Every worker is ready before any thread runs: a thread hands connections to the others. */
    unsigned ready = 0, started = 0;
    while (ready < s->nworkers && worker_init(&s->workers[ready], s) == 0)
        ready++;
    while (ready == s->nworkers && started < s->nworkers &&
           pthread_create(&s->workers[started].thread, NULL, worker_main, &s->workers[started]) ==
               0)
        started++;
    if (started < s->nworkers) {
        snprintf(err, errlen, "cannot start the HTTP threads");
        atomic_store(&s->stopping, true);
        for (unsigned i = 0; i < started; i++)
            pthread_join(s->workers[i].thread, NULL);
        free_server(s);
        return NULL;
    }
    return s;
}

unsigned http_server_port(const http_server *s)
{
    return s->port;
}

void http_server_quiesce(http_server *s)
{
    if (atomic_exchange(&s->quiesced, true))
        return;
    for (unsigned i = 0; i < s->nworkers; i++)
        epoll_ctl(s->workers[i].epfd, EPOLL_CTL_DEL, s->listen_fd, NULL);
    /* The descriptor stays open until stop (no number reuse under a racing accept); shutting it
     * down stops listening, so new connections are refused. */
    shutdown(s->listen_fd, SHUT_RDWR);
}

long http_server_inflight(const http_server *s)
{
    return atomic_load(&s->inflight);
}

void http_server_stop(http_server *s)
{
    if (!s)
        return;
    atomic_store(&s->stopping, true);
    uint64_t one = 1;
    for (unsigned i = 0; i < s->nworkers; i++)
        if (write(s->workers[i].wake_fd, &one, sizeof(one)) < 0)
            continue;
    for (unsigned i = 0; i < s->nworkers; i++)
        pthread_join(s->workers[i].thread, NULL);
    free_server(s);
}
