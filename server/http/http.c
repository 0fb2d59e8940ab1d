/*
 * HTTP/1.1 over libuv with http-parser. One request per connection is handled at a time (the
 * parser is paused after each message, so pipelined requests wait their turn); reading stops
 * while a request is handled, which also bounds what a client can make us buffer.
 *
 * Connection phases and their timers:
 *   IDLE     waiting for a request            -> closed after idle_timeout
 *   READING  a request has started to arrive   -> 408 after read_timeout (slow clients)
 *   HANDLING the handler (or its worker) runs -> no client timer
 *   WRITING  the answer is being sent         -> closed after read_timeout (slow readers)
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <http_parser.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "../log.h"
#include "http.h"

#define MAX_HEADERS 100

typedef enum phase { PH_IDLE, PH_READING, PH_HANDLING, PH_WRITING } phase;

typedef struct conn conn;

typedef struct header {
    size_t name, value; /* offsets into req->head */
} header;

struct srv_req {
    srv_http *h;
    conn *c; /* NULL once the connection is gone */
    char method[16];
    int head_only;
    /* Request line and headers, NUL-separated, in one buffer bounded by max_header. */
    char *head;
    size_t head_len, head_cap;
    size_t url_off;
    int url_done;
    header headers[MAX_HEADERS];
    int nheaders;
    int last_was_value;
    char *path, *query;
    char *body;
    size_t body_len, body_cap;
    char id[65];
    srv_route_match match;
    char *resp_headers;
    size_t resp_len, resp_cap;
    int responded;
    int pending_work;
    int keep_alive;
    uint64_t start_ns;
};

struct conn {
    uv_tcp_t tcp;
    uv_timer_t timer;
    http_parser parser;
    srv_http *h;
    conn *prev, *next;
    srv_req *req;
    char *pending;
    size_t pending_len;
    phase ph;
    int closing;
    int handles; /* open libuv handles: tcp and timer */
    int error_status;
    const char *error_code;
};

struct srv_http {
    uv_loop_t *loop;
    uv_tcp_t listener;
    int listening;
    srv_http_limits limits;
    srv_router_fn router;
    srv_observe_fn observe;
    void *ctx;
    conn *conns;
    int nconns;
    int inflight_work;
    int shutting_down;
    void (*shutdown_done)(void *);
    void *shutdown_arg;
    uint64_t rng;
    char read_buf[65536];
    time_t date_sec;
    char date[64];
};

static http_parser_settings parser_settings;

/* ---------------------------------------------------------------- helpers */

static uint64_t next_random(srv_http *h) {
    /* xorshift64*: request ids only need to be unique, not secret. */
    h->rng ^= h->rng >> 12;
    h->rng ^= h->rng << 25;
    h->rng ^= h->rng >> 27;
    return h->rng * UINT64_C(2685821657736338717);
}

static int append(char **buf, size_t *len, size_t *cap, const char *data, size_t n, size_t limit) {
    if (*len + n + 1 > *cap) {
        size_t ncap = *cap ? *cap : 512;
        char *grown;
        while (ncap < *len + n + 1)
            ncap *= 2;
        if (limit && ncap > limit + 1)
            ncap = limit + 1;
        if (*len + n + 1 > ncap)
            return -1;
        grown = realloc(*buf, ncap);
        if (grown == NULL)
            return -1;
        *buf = grown;
        *cap = ncap;
    }
    memcpy(*buf + *len, data, n);
    *len += n;
    (*buf)[*len] = '\0';
    return 0;
}

static const char *status_text(int status) {
    switch (status) {
    case 100:
        return "Continue";
    case 200:
        return "OK";
    case 201:
        return "Created";
    case 202:
        return "Accepted";
    case 204:
        return "No Content";
    case 304:
        return "Not Modified";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 408:
        return "Request Timeout";
    case 409:
        return "Conflict";
    case 410:
        return "Gone";
    case 413:
        return "Payload Too Large";
    case 415:
        return "Unsupported Media Type";
    case 422:
        return "Unprocessable Entity";
    case 429:
        return "Too Many Requests";
    case 431:
        return "Request Header Fields Too Large";
    case 500:
        return "Internal Server Error";
    case 501:
        return "Not Implemented";
    case 503:
        return "Service Unavailable";
    default:
        return "Unknown";
    }
}

static uint64_t now_ns(void) {
    return uv_hrtime();
}

static const char *http_date(srv_http *h) {
    time_t t = time(NULL);
    if (t != h->date_sec) {
        struct tm tm;
        gmtime_r(&t, &tm);
        strftime(h->date, sizeof(h->date), "%a, %d %b %Y %H:%M:%S GMT", &tm);
        h->date_sec = t;
    }
    return h->date;
}

/* ---------------------------------------------------------------- requests */

static srv_req *req_new(conn *c) {
    srv_req *req = calloc(1, sizeof(*req));
    if (req == NULL)
        return NULL;
    req->h = c->h;
    req->c = c;
    req->start_ns = now_ns();
    req->keep_alive = 1;
    req->match.route = "(unmatched)";
    req->match.route_index = -1;
    return req;
}

static void req_free(srv_req *req) {
    int i;
    if (req == NULL)
        return;
    for (i = 0; i < req->match.params; i++)
        free(req->match.param_values[i]);
    free(req->head);
    free(req->path);
    free(req->body);
    free(req->resp_headers);
    free(req);
}

/* Decodes %XX in a path; returns -1 on a malformed escape or an encoded NUL. */
static int percent_decode(char *dst, const char *src, size_t n, int plus_is_space) {
    size_t i, o = 0;
    for (i = 0; i < n; i++) {
        if (src[i] == '%') {
            int hi, lo;
            if (i + 2 >= n)
                return -1;
            hi = isxdigit((unsigned char)src[i + 1]) ? src[i + 1] : -1;
            lo = isxdigit((unsigned char)src[i + 2]) ? src[i + 2] : -1;
            if (hi < 0 || lo < 0)
                return -1;
            hi = isdigit(hi) ? hi - '0' : (tolower(hi) - 'a' + 10);
            lo = isdigit(lo) ? lo - '0' : (tolower(lo) - 'a' + 10);
            if (hi == 0 && lo == 0)
                return -1;
            dst[o++] = (char)(hi * 16 + lo);
            i += 2;
        } else if (plus_is_space && src[i] == '+') {
            dst[o++] = ' ';
        } else {
            dst[o++] = src[i];
        }
    }
    dst[o] = '\0';
    return (int)o;
}

static int valid_request_id(const char *s) {
    size_t n = 0;
    for (; s[n]; n++) {
        char ch = s[n];
        if (!(isalnum((unsigned char)ch) || ch == '-' || ch == '_' || ch == '.') || n >= 64)
            return 0;
    }
    return n > 0;
}

/* ---------------------------------------------------------------- connections */

static void conn_close(conn *c);
static void conn_feed(conn *c, const char *data, size_t len);
static void respond_raw(srv_req *req, int status, const char *content_type, const char *body,
                        size_t len, char *owned);

static void maybe_shutdown_done(srv_http *h) {
    if (h->shutting_down && h->nconns == 0 && h->inflight_work == 0 && h->shutdown_done) {
        void (*done)(void *) = h->shutdown_done;
        h->shutdown_done = NULL;
        done(h->shutdown_arg);
    }
}

static void conn_handle_closed(uv_handle_t *handle) {
    conn *c = handle->data;
    srv_http *h = c->h;
    if (--c->handles > 0)
        return;
    if (c->prev)
        c->prev->next = c->next;
    else
        h->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    h->nconns--;
    free(c->pending);
    free(c);
    maybe_shutdown_done(h);
}

static void conn_close(conn *c) {
    if (c->closing)
        return;
    c->closing = 1;
    if (c->req) {
        if (c->req->pending_work > 0 || c->ph == PH_WRITING) {
            /* The worker (or the write callback) still holds the request; it frees it. */
            c->req->c = NULL;
        } else {
            req_free(c->req);
        }
        c->req = NULL;
    }
    uv_timer_stop(&c->timer);
    uv_close((uv_handle_t *)&c->timer, conn_handle_closed);
    uv_close((uv_handle_t *)&c->tcp, conn_handle_closed);
}

static void fail_request(conn *c, int status, const char *code, const char *message);

static void on_timer(uv_timer_t *t) {
    conn *c = t->data;
    if (c->ph == PH_READING && (c->req == NULL || !c->req->responded)) {
        /* A slow client: answer 408 and close. */
        fail_request(c, 408, "request_timeout", "the request did not arrive in time");
        return;
    }
    conn_close(c);
}

static void set_timer(conn *c, uint64_t ms) {
    uv_timer_start(&c->timer, on_timer, ms, 0);
}

static void alloc_cb(uv_handle_t *handle, size_t suggested, uv_buf_t *buf) {
    conn *c = handle->data;
    (void)suggested;
    /* One buffer for the whole loop: read_cb consumes it before the next read happens. */
    buf->base = c->h->read_buf;
    buf->len = sizeof(c->h->read_buf);
}

static void read_cb(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf) {
    conn *c = stream->data;
    if (nread < 0) {
        conn_close(c);
        return;
    }
    if (nread == 0)
        return;
    conn_feed(c, buf->base, (size_t)nread);
}

static void start_reading(conn *c) {
    c->ph = PH_IDLE;
    set_timer(c, c->h->limits.idle_timeout_ms);
    uv_read_start((uv_stream_t *)&c->tcp, alloc_cb, read_cb);
}

/* Answers a protocol error (400, 413, 431, ...) and closes after the answer. */
static void fail_request(conn *c, int status, const char *code, const char *message) {
    if (c->req == NULL)
        c->req = req_new(c);
    if (c->req == NULL) {
        conn_close(c);
        return;
    }
    uv_read_stop((uv_stream_t *)&c->tcp);
    c->ph = PH_HANDLING;
    c->req->keep_alive = 0;
    if (c->req->method[0] == '\0')
        snprintf(c->req->method, sizeof(c->req->method), "-");
    if (c->req->id[0] == '\0')
        snprintf(c->req->id, sizeof(c->req->id), "%016llx", (unsigned long long)next_random(c->h));
    srv_respond_error(c->req, status, code, message);
}

static void dispatch(conn *c) {
    srv_req *req = c->req;
    uv_timer_stop(&c->timer);
    uv_read_stop((uv_stream_t *)&c->tcp);
    c->ph = PH_HANDLING;
    if (c->h->shutting_down)
        req->keep_alive = 0;
    if (req->match.handler != NULL) {
        req->match.handler(req);
    } else if (req->match.method_not_allowed) {
        srv_resp_header(req, "Allow", req->match.allow);
        srv_respond_error(req, 405, "method_not_allowed", "this method is not allowed here");
    } else {
        srv_respond_error(req, 404, "not_found", "no such resource");
    }
}

static void conn_feed(conn *c, const char *data, size_t len) {
    size_t n;
    enum http_errno err;
    if (c->ph == PH_IDLE && len > 0) {
        c->ph = PH_READING;
        set_timer(c, c->h->limits.read_timeout_ms);
    }
    n = http_parser_execute(&c->parser, &parser_settings, data, len);
    err = HTTP_PARSER_ERRNO(&c->parser);
    if (err == HPE_PAUSED) {
        /* One message is complete; keep what follows for after the answer. */
        if (n < len) {
            char *rest = malloc(len - n);
            if (rest == NULL) {
                conn_close(c);
                return;
            }
            memcpy(rest, data + n, len - n);
            free(c->pending);
            c->pending = rest;
            c->pending_len = len - n;
        }
        dispatch(c);
        return;
    }
    if (err != HPE_OK) {
        if (c->error_status == 413)
            fail_request(c, 413, c->error_code, "the request body is larger than allowed");
        else if (c->error_status == 431)
            fail_request(c, 431, c->error_code, "the request line and headers are too large");
        else if (c->error_status)
            fail_request(c, c->error_status, c->error_code, "malformed request");
        else if (err == HPE_HEADER_OVERFLOW)
            fail_request(c, 431, "headers_too_large", "request headers are too large");
        else
            fail_request(c, 400, "bad_request", http_errno_description(err));
    }
}

/* ---------------------------------------------------------------- parser callbacks
 * Any non-zero return is an error, except that on_headers_complete's 1 and 2 mean "no body":
 * errors therefore return -1. */

static int head_add(srv_req *req, const char *at, size_t len) {
    size_t limit = req->h->limits.max_header;
    if (append(&req->head, &req->head_len, &req->head_cap, at, len, limit) != 0)
        return -1;
    return 0;
}

/* Ends the string being collected (url, header name or value) with a NUL. */
static int head_term(srv_req *req) {
    return head_add(req, "", 1);
}

static int header_overflow(conn *c) {
    c->error_status = 431;
    c->error_code = "headers_too_large";
    return -1;
}

static int on_message_begin(http_parser *p) {
    conn *c = p->data;
    if (c->req == NULL)
        c->req = req_new(c);
    if (c->req == NULL)
        return -1;
    return 0;
}

static int on_url(http_parser *p, const char *at, size_t len) {
    conn *c = p->data;
    return head_add(c->req, at, len) ? header_overflow(c) : 0;
}

static int on_header_field(http_parser *p, const char *at, size_t len) {
    conn *c = p->data;
    srv_req *req = c->req;
    if (!req->url_done) {
        if (head_term(req))
            return header_overflow(c);
        req->url_done = 1;
    }
    if (req->nheaders == 0 || req->last_was_value) {
        if (req->nheaders > 0 && head_term(req))
            return header_overflow(c);
        if (req->nheaders == MAX_HEADERS)
            return header_overflow(c);
        req->headers[req->nheaders].name = req->head_len;
        req->headers[req->nheaders].value = (size_t)-1;
        req->nheaders++;
        req->last_was_value = 0;
    }
    return head_add(req, at, len) ? header_overflow(c) : 0;
}

static int on_header_value(http_parser *p, const char *at, size_t len) {
    conn *c = p->data;
    srv_req *req = c->req;
    if (!req->last_was_value) {
        if (head_term(req))
            return header_overflow(c);
        req->headers[req->nheaders - 1].value = req->head_len;
        req->last_was_value = 1;
    }
    return head_add(req, at, len) ? header_overflow(c) : 0;
}

static int on_headers_complete(http_parser *p) {
    conn *c = p->data;
    srv_req *req = c->req;
    struct http_parser_url u;
    const char *url, *rid, *expect;
    int i;

    if (head_term(req))
        return header_overflow(c);
    if (!req->url_done)
        req->url_done = 1;
    for (i = 0; i < req->nheaders; i++) {
        char *name = req->head + req->headers[i].name;
        for (; *name; name++)
            *name = (char)tolower((unsigned char)*name);
        if (req->headers[i].value == (size_t)-1)
            req->headers[i].value = req->headers[i].name + strlen(req->head + req->headers[i].name);
    }
    snprintf(req->method, sizeof(req->method), "%s", http_method_str((enum http_method)p->method));
    req->head_only = p->method == HTTP_HEAD;

    rid = srv_req_header(req, "x-request-id");
    if (rid && valid_request_id(rid))
        snprintf(req->id, sizeof(req->id), "%s", rid);
    else
        snprintf(req->id, sizeof(req->id), "%016llx", (unsigned long long)next_random(c->h));

    url = req->head + req->url_off;
    http_parser_url_init(&u);
    if (http_parser_parse_url(url, strlen(url), p->method == HTTP_CONNECT, &u) != 0 ||
        !(u.field_set & (1 << UF_PATH))) {
        c->error_status = 400;
        c->error_code = "bad_request";
        return -1;
    }
    {
        const char *path = url + u.field_data[UF_PATH].off;
        size_t plen = u.field_data[UF_PATH].len;
        size_t qlen = (u.field_set & (1 << UF_QUERY)) ? u.field_data[UF_QUERY].len : 0;
        req->path = malloc(plen + qlen + 2);
        if (req->path == NULL || percent_decode(req->path, path, plen, 0) < 0) {
            c->error_status = 400;
            c->error_code = "bad_request";
            return -1;
        }
        req->query = req->path + strlen(req->path) + 1;
        memcpy(req->query, qlen ? url + u.field_data[UF_QUERY].off : "", qlen);
        req->query[qlen] = '\0';
    }

    if ((p->flags & F_CONTENTLENGTH) && p->content_length > c->h->limits.max_body) {
        c->error_status = 413;
        c->error_code = "body_too_large";
        return -1;
    }
    expect = srv_req_header(req, "expect");
    if (expect && strcasecmp(expect, "100-continue") == 0) {
        static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
        uv_buf_t b = uv_buf_init((char *)cont, sizeof(cont) - 1);
        uv_try_write((uv_stream_t *)&c->tcp, &b, 1);
    }
    c->h->router(c->h->ctx, req->method, req->path, &req->match);
    return 0;
}

static int on_body(http_parser *p, const char *at, size_t len) {
    conn *c = p->data;
    srv_req *req = c->req;
    if (req->body_len + len > c->h->limits.max_body) {
        c->error_status = 413;
        c->error_code = "body_too_large";
        return -1;
    }
    if (append(&req->body, &req->body_len, &req->body_cap, at, len, c->h->limits.max_body)) {
        c->error_status = 413;
        c->error_code = "body_too_large";
        return -1;
    }
    return 0;
}

static int on_message_complete(http_parser *p) {
    conn *c = p->data;
    c->req->keep_alive = http_should_keep_alive(p);
    http_parser_pause(p, 1);
    return 0;
}

/* ---------------------------------------------------------------- responses */

typedef struct write_ctx {
    uv_write_t w;
    srv_req *req;
    char *head;
    char *body;
    size_t body_len;
} write_ctx;

static void after_response(conn *c) {
    c->req = NULL;
    if (c->closing)
        return;
    if (c->h->shutting_down || c->error_status) {
        conn_close(c);
        return;
    }
    http_parser_pause(&c->parser, 0);
    start_reading(c);
    if (c->pending != NULL) {
        char *data = c->pending;
        size_t len = c->pending_len;
        c->pending = NULL;
        c->pending_len = 0;
        conn_feed(c, data, len);
        free(data);
    }
}

static void write_cb(uv_write_t *w, int status) {
    write_ctx *wc = (write_ctx *)w;
    srv_req *req = wc->req;
    conn *c = req->c;
    int keep = req->keep_alive;
    free(wc->head);
    free(wc->body);
    free(wc);
    req_free(req);
    if (c == NULL)
        return;
    uv_timer_stop(&c->timer);
    if (status < 0 || !keep) {
        c->req = NULL;
        conn_close(c);
        return;
    }
    after_response(c);
}

/* Sends the answer. @p owned, when not NULL, is @p body allocated with malloc: the response
 * takes it over instead of copying (it is freed in every case). */
static void respond_raw(srv_req *req, int status, const char *content_type, const char *body,
                        size_t len, char *owned) {
    srv_http *h = req->h;
    conn *c = req->c;
    write_ctx *wc;
    char *head = NULL;
    size_t hlen = 0, hcap = 0;
    char line[512];
    double secs;
    uv_buf_t bufs[2];
    int nbufs = 1;

    if (req->responded) {
        srv_log(SRV_LOG_ERROR, req->id, "handler responded twice", NULL);
        free(owned);
        return;
    }
    req->responded = 1;
    secs = (double)(now_ns() - req->start_ns) / 1e9;
    if (h->observe)
        h->observe(h->ctx, req->match.route_index, status, secs);
    srv_log_access(req->id, req->method, req->match.route, status, secs * 1000.0,
                   req->head_only ? 0 : (uint64_t)len);

    if (c == NULL || c->closing) {
        /* The client is gone: nothing to send. */
        if (req->pending_work == 0)
            req_free(req);
        maybe_shutdown_done(h);
        free(owned);
        return;
    }
    if (h->shutting_down)
        req->keep_alive = 0;

    /* 204 and 304 carry no body and so no Content-Length (RFC 9110, 8.6). */
    if (status == 204 || status == 304)
        snprintf(line, sizeof(line), "HTTP/1.1 %d %s\r\nDate: %s\r\nX-Request-Id: %s\r\n%s", status,
                 status_text(status), http_date(h), req->id,
                 req->keep_alive ? "" : "Connection: close\r\n");
    else
        snprintf(line, sizeof(line),
                 "HTTP/1.1 %d %s\r\nDate: %s\r\nContent-Length: %zu\r\nX-Request-Id: %s\r\n%s",
                 status, status_text(status), http_date(h), len, req->id,
                 req->keep_alive ? "" : "Connection: close\r\n");
    if (append(&head, &hlen, &hcap, line, strlen(line), 0) != 0)
        goto oom;
    if (content_type) {
        snprintf(line, sizeof(line), "Content-Type: %s\r\n", content_type);
        if (append(&head, &hlen, &hcap, line, strlen(line), 0) != 0)
            goto oom;
    }
    if (req->resp_len && append(&head, &hlen, &hcap, req->resp_headers, req->resp_len, 0) != 0)
        goto oom;
    if (append(&head, &hlen, &hcap, "\r\n", 2, 0) != 0)
        goto oom;

    wc = calloc(1, sizeof(*wc));
    if (wc == NULL)
        goto oom;
    wc->req = req;
    wc->head = head;
    bufs[0] = uv_buf_init(head, (unsigned)hlen);
    if (len > 0 && !req->head_only) {
        if (owned != NULL) {
            wc->body = owned;
            owned = NULL;
        } else if ((wc->body = malloc(len)) != NULL) {
            memcpy(wc->body, body, len);
        } else {
            free(wc);
            goto oom;
        }
        wc->body_len = len;
        bufs[1] = uv_buf_init(wc->body, (unsigned)len);
        nbufs = 2;
    }
    c->ph = PH_WRITING;
    set_timer(c, h->limits.read_timeout_ms);
    if (uv_write(&wc->w, (uv_stream_t *)&c->tcp, bufs, (unsigned)nbufs, write_cb) != 0) {
        free(wc->body);
        free(wc);
        free(head);
        c->req = NULL;
        req_free(req);
        conn_close(c);
    }
    free(owned);
    return;
oom:
    free(head);
    free(owned);
    c->req = NULL;
    req_free(req);
    conn_close(c);
}

void srv_respond(srv_req *req, int status, const char *content_type, const char *body, size_t len) {
    respond_raw(req, status, content_type, body, len, NULL);
}

void srv_respond_take(srv_req *req, int status, const char *content_type, char *body, size_t len) {
    respond_raw(req, status, content_type, body, len, body);
}

void srv_respond_json(srv_req *req, int status, json_t *body) {
    char *text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    if (text == NULL) {
        static const char fallback[] =
            "{\"error\":{\"code\":\"internal\",\"message\":\"out of memory\"}}";
        respond_raw(req, 500, "application/json", fallback, sizeof(fallback) - 1, NULL);
        return;
    }
    respond_raw(req, status, "application/json; charset=utf-8", text, strlen(text), text);
}

void srv_respond_error(srv_req *req, int status, const char *code, const char *message) {
    json_t *err = json_pack("{s:{s:s,s:s}}", "error", "code", code, "message", message);
    srv_respond_json(req, status, err);
}

void srv_resp_header(srv_req *req, const char *name, const char *value) {
    append(&req->resp_headers, &req->resp_len, &req->resp_cap, name, strlen(name), 0);
    append(&req->resp_headers, &req->resp_len, &req->resp_cap, ": ", 2, 0);
    append(&req->resp_headers, &req->resp_len, &req->resp_cap, value, strlen(value), 0);
    append(&req->resp_headers, &req->resp_len, &req->resp_cap, "\r\n", 2, 0);
}

/* ---------------------------------------------------------------- offload */

typedef struct offload {
    uv_work_t w;
    srv_req *req;
    void (*work)(void *);
    void (*done)(srv_req *, void *);
    void *arg;
} offload;

static void offload_work(uv_work_t *w) {
    offload *o = (offload *)w;
    o->work(o->arg);
}

static void offload_after(uv_work_t *w, int status) {
    offload *o = (offload *)w;
    srv_req *req = o->req;
    srv_http *h = req->h;
    (void)status;
    h->inflight_work--;
    req->pending_work--;
    o->done(req, o->arg);
    free(o);
    maybe_shutdown_done(h);
}

int srv_req_offload(srv_req *req, void (*work)(void *), void (*done)(srv_req *, void *),
                    void *arg) {
    offload *o = calloc(1, sizeof(*o));
    int rc;
    if (o == NULL)
        return UV_ENOMEM;
    o->req = req;
    o->work = work;
    o->done = done;
    o->arg = arg;
    rc = uv_queue_work(req->h->loop, &o->w, offload_work, offload_after);
    if (rc != 0) {
        free(o);
        return rc;
    }
    req->pending_work++;
    req->h->inflight_work++;
    return 0;
}

void srv_req_hold(srv_req *req) {
    req->pending_work++;
    req->h->inflight_work++;
}

void srv_req_release(srv_req *req) {
    req->pending_work--;
    req->h->inflight_work--;
}

/* ---------------------------------------------------------------- accessors */

const char *srv_req_method(const srv_req *req) {
    return req->method;
}

const char *srv_req_path(const srv_req *req) {
    return req->path ? req->path : "/";
}

const char *srv_req_query(const srv_req *req) {
    return req->query ? req->query : "";
}

const char *srv_req_id(const srv_req *req) {
    return req->id;
}

void *srv_req_app(const srv_req *req) {
    return req->h->ctx;
}

const char *srv_req_header(const srv_req *req, const char *name) {
    int i;
    for (i = 0; i < req->nheaders; i++) {
        if (strcasecmp(req->head + req->headers[i].name, name) == 0)
            return req->head + req->headers[i].value;
    }
    return NULL;
}

const char *srv_req_param(const srv_req *req, const char *name) {
    int i;
    size_t n = strlen(name);
    for (i = 0; i < req->match.params; i++) {
        const char *pn = req->match.param_names[i];
        if (strncmp(pn, name, n) == 0 && (pn[n] == '\0' || pn[n] == '/'))
            return req->match.param_values[i];
    }
    return NULL;
}

const char *srv_req_body(const srv_req *req, size_t *len) {
    if (len)
        *len = req->body_len;
    return req->body ? req->body : "";
}

const char *srv_req_query_param(const srv_req *req, const char *name, char *buf, size_t size) {
    const char *q = srv_req_query(req);
    size_t nlen = strlen(name);
    while (*q) {
        const char *amp = strchr(q, '&');
        size_t seg = amp ? (size_t)(amp - q) : strlen(q);
        if (seg >= nlen && strncmp(q, name, nlen) == 0 && (seg == nlen || q[nlen] == '=')) {
            const char *v = seg == nlen ? q + nlen : q + nlen + 1;
            size_t vlen = seg == nlen ? 0 : seg - nlen - 1;
            if (vlen + 1 > size || percent_decode(buf, v, vlen, 1) < 0)
                return NULL;
            return buf;
        }
        q += seg + (amp ? 1 : 0);
    }
    return NULL;
}

json_t *srv_req_json(srv_req *req) {
    const char *ct = srv_req_header(req, "content-type");
    json_error_t jerr;
    json_t *doc;
    char msg[256];
    if (ct == NULL || strncasecmp(ct, "application/json", 16) != 0) {
        srv_respond_error(req, 415, "unsupported_media_type",
                          "the body must be JSON (Content-Type: application/json)");
        return NULL;
    }
    doc = json_loadb(req->body ? req->body : "", req->body_len, JSON_REJECT_DUPLICATES, &jerr);
    if (doc == NULL) {
        snprintf(msg, sizeof(msg), "invalid JSON at line %d, column %d: %s", jerr.line, jerr.column,
                 jerr.text);
        srv_respond_error(req, 400, "invalid_json", msg);
    }
    return doc;
}

/* ---------------------------------------------------------------- server */

static void on_connection(uv_stream_t *server, int status) {
    srv_http *h = server->data;
    conn *c;
    if (status < 0)
        return;
    c = calloc(1, sizeof(*c));
    if (c == NULL)
        return;
    c->h = h;
    uv_tcp_init(h->loop, &c->tcp);
    uv_timer_init(h->loop, &c->timer);
    c->tcp.data = c;
    c->timer.data = c;
    c->handles = 2;
    c->next = h->conns;
    if (h->conns)
        h->conns->prev = c;
    h->conns = c;
    h->nconns++;
    if (uv_accept(server, (uv_stream_t *)&c->tcp) != 0) {
        conn_close(c);
        return;
    }
    uv_tcp_nodelay(&c->tcp, 1);
    http_parser_init(&c->parser, HTTP_REQUEST);
    c->parser.data = c;
    if (h->nconns > h->limits.max_connections || h->shutting_down) {
        /* Over the cap: a short, clear answer (logged, with a request id) instead of a silent
         * reset; the connection closes once it is written. */
        c->req = req_new(c);
        if (c->req == NULL) {
            conn_close(c);
            return;
        }
        c->req->match.route = "(over capacity)";
        srv_resp_header(c->req, "Retry-After", "1");
        fail_request(c, 503, "too_many_connections", "too many connections; try again later");
        return;
    }
    start_reading(c);
}

srv_http *srv_http_new(uv_loop_t *loop, const srv_http_limits *limits, srv_router_fn router,
                       srv_observe_fn observe, void *ctx) {
    srv_http *h = calloc(1, sizeof(*h));
    if (h == NULL)
        return NULL;
    h->loop = loop;
    h->limits = *limits;
    h->router = router;
    h->observe = observe;
    h->ctx = ctx;
    if (getrandom(&h->rng, sizeof(h->rng), 0) != sizeof(h->rng) || h->rng == 0)
        h->rng = now_ns() | 1;
    parser_settings.on_message_begin = on_message_begin;
    parser_settings.on_url = on_url;
    parser_settings.on_header_field = on_header_field;
    parser_settings.on_header_value = on_header_value;
    parser_settings.on_headers_complete = on_headers_complete;
    parser_settings.on_body = on_body;
    parser_settings.on_message_complete = on_message_complete;
    return h;
}

int srv_http_listen(srv_http *h, const char *address) {
    char host[256];
    const char *colon = strrchr(address, ':');
    struct sockaddr_storage addr;
    int port, rc;
    if (colon == NULL || (size_t)(colon - address) >= sizeof(host))
        return UV_EINVAL;
    memcpy(host, address, (size_t)(colon - address));
    host[colon - address] = '\0';
    port = atoi(colon + 1);
    if (host[0] == '[') {
        size_t n = strlen(host);
        if (n < 2 || host[n - 1] != ']')
            return UV_EINVAL;
        memmove(host, host + 1, n - 2);
        host[n - 2] = '\0';
        rc = uv_ip6_addr(host, port, (struct sockaddr_in6 *)&addr);
    } else {
        rc = uv_ip4_addr(host[0] ? host : "0.0.0.0", port, (struct sockaddr_in *)&addr);
    }
    if (rc != 0)
        return rc;
    uv_tcp_init(h->loop, &h->listener);
    h->listener.data = h;
    rc = uv_tcp_bind(&h->listener, (const struct sockaddr *)&addr, 0);
    if (rc == 0)
        rc = uv_listen((uv_stream_t *)&h->listener, 511, on_connection);
    if (rc != 0) {
        uv_close((uv_handle_t *)&h->listener, NULL);
        return rc;
    }
    h->listening = 1;
    return 0;
}

int srv_http_port(const srv_http *h) {
    struct sockaddr_storage addr;
    int len = sizeof(addr);
    if (uv_tcp_getsockname(&h->listener, (struct sockaddr *)&addr, &len) != 0)
        return -1;
    if (addr.ss_family == AF_INET6)
        return ntohs(((struct sockaddr_in6 *)&addr)->sin6_port);
    return ntohs(((struct sockaddr_in *)&addr)->sin_port);
}

int srv_http_connections(const srv_http *h) {
    return h->nconns;
}

void srv_http_shutdown(srv_http *h, void (*done)(void *), void *arg) {
    conn *c, *next;
    h->shutting_down = 1;
    h->shutdown_done = done;
    h->shutdown_arg = arg;
    if (h->listening) {
        uv_close((uv_handle_t *)&h->listener, NULL);
        h->listening = 0;
    }
    for (c = h->conns; c != NULL; c = next) {
        next = c->next;
        if (c->ph == PH_IDLE)
            conn_close(c);
    }
    maybe_shutdown_done(h);
}

void srv_http_force_close(srv_http *h) {
    conn *c, *next;
    for (c = h->conns; c != NULL; c = next) {
        next = c->next;
        conn_close(c);
    }
}

void srv_http_free(srv_http *h) {
    free(h);
}
