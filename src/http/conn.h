#ifndef KRONOS_HTTP_CONN_H
#define KRONOS_HTTP_CONN_H

/* One client connection and its state machine; internal to src/http. A connection belongs to
 * the worker thread that accepted it: only that thread touches it, except http_resume, which
 * queues it back to its worker. */

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "http/chunked.h"
#include "http/head.h"
#include "http/request.h"
#include "http/server.h"
#include "util/gzip.h"

#define HTTP_CONN_BUFFER (HTTP_HEAD_MAX + 16384)

typedef struct http_worker http_worker;

typedef enum conn_state {
    CONN_HEAD,      /* waiting for (the rest of) a request head; no request in progress */
    CONN_BODY,      /* reading the body of the current request */
    CONN_HANDLING,  /* the handler runs */
    CONN_SUSPENDED, /* the handler waits on another thread */
    CONN_WRITING,   /* sending an answer */
    CONN_LINGER,    /* answered, write side shut: discarding input until the peer closes */
} conn_state;

typedef struct http_conn {
    int fd;
    http_worker *w;
    struct http_conn *prev, *next; /* the worker's connections */
    struct http_conn *resume_next; /* the worker's resume queue */
    conn_state state;
    struct sockaddr_storage peer;
    uint8_t addr[16];
    char ip[64];
    bool holds_ip_slot;
    bool counted; /* holds a KRONOS_MAX_CONNECTIONS slot */

    char *in; /* HTTP_CONN_BUFFER bytes: the head, then staged body bytes */
    size_t in_len;
    size_t scan;     /* where to look for the end of the head next */
    size_t body_off; /* end of the current head inside `in` */
    http_head head;
    http_request *req;
    bool body_chunked;
    uint64_t body_left;
    http_chunked chunked;
    size_t body_charged; /* bytes of the request body charged to the buffer budget */
    bool over_budget;
    bool body_gzip; /* Content-Encoding: gzip, inflated as it arrives */
    gunzip gz;
    int gz_status; /* GUNZIP_* of the last feed */

    struct iovec out[2];
    char *out_head;
    char *out_body;
    bool out_static; /* out_head is the fixed fallback, not malloc'd */
    size_t out_total, out_sent;
    size_t out_charged; /* bytes of the answer charged to the buffer budget */
    bool close_after;
    bool peer_eof;

    uint64_t opened_ns;
    uint64_t idle_since_ns; /* last answer completed (or opened) */
    uint64_t req_start_ns;  /* first byte of the request being received */
    uint64_t send_deadline_ns;
    uint64_t linger_until_ns;
    unsigned served;
} http_conn;

http_conn *conn_create(http_worker *w, int fd, const struct sockaddr *peer, socklen_t len);
/* Answers at once and closes: for connections refused at accept (status 429/503). */
void conn_refuse(http_conn *c, int status, const char *code, const char *message);
/* epoll events for this connection. */
void conn_on_events(http_conn *c, uint32_t events);
/* The handler's http_resume reached the worker. */
void conn_on_resume(http_conn *c);
/* Timers: closes idle connections, answers 408, drops slow readers. */
void conn_check_deadlines(http_conn *c, uint64_t now);
/* Is this connection idle between requests (and so may be evicted)? */
bool conn_evictable(const http_conn *c);
/* Frees the current request's body and its share of the buffer budget. */
void conn_release_body(http_conn *c);
/* Closes now; a request in progress ends with `status` (0: cancelled by the client). */
void conn_close(http_conn *c, const char *why);

/* Will the connection close after answering its current request with this status? */
bool conn_answer_closes(const http_conn *c, int status);
/* Queues the answer of c's current request (from http_respond): head and body are malloc'd and
 * taken over (body may be NULL). */
void conn_set_answer(http_conn *c, int status, char *head, size_t head_len, char *body,
                     size_t body_len, bool closes);
/* A fixed 500 and close, for when not even an answer's head can be allocated. */
void conn_set_fallback_answer(http_conn *c);

/* Worker services used by connections (server.c). */
const http_server_config *worker_config(const http_worker *w);
void worker_watch(http_worker *w, http_conn *c, uint32_t events);
void worker_unwatch(http_worker *w, http_conn *c);
void worker_detach(http_worker *w, http_conn *c);
/* The process-wide buffer budget: charge fails (unless forced) when it would be exceeded. */
bool worker_charge(http_worker *w, size_t bytes, bool force);
void worker_uncharge(http_worker *w, size_t bytes);
void worker_request_started(http_worker *w);
void worker_request_ended(http_worker *w);
void worker_queue_resume(http_worker *w, http_conn *c);

#endif
