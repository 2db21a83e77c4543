#include "http/request.h"

#include <string.h>
#include <sys/epoll.h>

#include "http/conn.h"

const char *http_header(const http_request *r, const char *name)
{
    return r->head ? http_head_get(r->head, name) : NULL;
}

size_t http_header_count(const http_request *r, const char *name)
{
    return r->head ? http_head_count(r->head, name) : 0;
}

bool http_query_arg(const http_request *r, const char *name, char *out, size_t outlen)
{
    size_t nlen = strlen(name);
    for (const char *p = r->head ? r->head->query : ""; *p;) {
        size_t n = strcspn(p, "&#");
        if (n > nlen && strncmp(p, name, nlen) == 0 && p[nlen] == '=') {
            size_t v = n - nlen - 1;
            if (v >= outlen)
                v = outlen - 1;
            memcpy(out, p + nlen + 1, v);
            out[v] = '\0';
            return true;
        }
        p += n;
        if (*p != '&')
            break;
        p++;
    }
    return false;
}

void http_body_release(http_request *r)
{
    conn_release_body(r->conn);
}

void http_suspend(http_request *r)
{
    r->conn->state = CONN_SUSPENDED;
}

void http_resume(http_request *r)
{
    worker_queue_resume(r->conn->w, r->conn);
}
