/*
 * The HTTP/1.1 server on libuv: connections, parsing (http-parser), limits, keep-alive,
 * timeouts, responses, graceful shutdown. Handlers run on the loop and must not block: blocking
 * work goes through srv_req_offload(), which runs it on libuv's thread pool.
 *
 * A request's memory is released in one place, when its response has been written (or its
 * connection is gone and any offloaded work has finished).
 */
#ifndef SRV_HTTP_H
#define SRV_HTTP_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

typedef struct srv_http srv_http;
typedef struct srv_req srv_req;

/* A route's handler. It must eventually call one of the srv_respond* functions exactly once. */
typedef void (*srv_handler)(srv_req *req);

typedef struct srv_http_limits {
    size_t max_header;   /* request line + headers, bytes */
    size_t max_body;     /* body, bytes */
    int max_connections; /* open connections */
    uint64_t read_timeout_ms;
    uint64_t idle_timeout_ms;
} srv_http_limits;

/* Where requests go. The router is consulted once the headers are complete. */
typedef struct srv_route_match {
    srv_handler handler;        /* NULL: no route */
    const char *route;          /* route pattern for logs and metrics, e.g. "/api/orders/:id" */
    int route_index;            /* index for metrics; -1 when unmatched */
    int method_not_allowed;     /* the path exists with other methods */
    char allow[64];             /* Allow header value when method_not_allowed */
    int params;                 /* number of captured path parameters */
    const char *param_names[4]; /* point into the pattern: end at '/' or NUL */
    char *param_values[4];      /* owned by the request */
} srv_route_match;

typedef void (*srv_router_fn)(void *ctx, const char *method, const char *path,
                              srv_route_match *out);
/* Called after each response (for metrics); on the loop. */
typedef void (*srv_observe_fn)(void *ctx, int route_index, int status, double seconds);

srv_http *srv_http_new(uv_loop_t *loop, const srv_http_limits *limits, srv_router_fn router,
                       srv_observe_fn observe, void *ctx);
/* Binds and listens on "host:port" ("[::1]:8080" for IPv6). Returns 0 or a libuv error. */
int srv_http_listen(srv_http *h, const char *address);
/* The port actually bound (useful with port 0). */
int srv_http_port(const srv_http *h);
/* Stops accepting, closes idle connections, lets in-flight requests finish; @p done is called
 * (once) when no connection and no offloaded work is left. */
void srv_http_shutdown(srv_http *h, void (*done)(void *arg), void *arg);
/* Closes every connection at once (after the shutdown timeout). */
void srv_http_force_close(srv_http *h);
void srv_http_free(srv_http *h);
int srv_http_connections(const srv_http *h);

/* ---- inside a handler ---- */

const char *srv_req_method(const srv_req *req);
const char *srv_req_path(const srv_req *req);                     /* decoded path, without query */
const char *srv_req_query(const srv_req *req);                    /* raw query string or "" */
const char *srv_req_header(const srv_req *req, const char *name); /* case-insensitive; NULL */
const char *srv_req_param(const srv_req *req, const char *name);  /* path parameter; NULL */
const char *srv_req_id(const srv_req *req);
const char *srv_req_body(const srv_req *req, size_t *len); /* NUL-terminated */
void *srv_req_app(const srv_req *req);                     /* the ctx given to srv_http_new */
/* Query parameter @p name, percent-decoded into @p buf; NULL when absent. */
const char *srv_req_query_param(const srv_req *req, const char *name, char *buf, size_t size);

/* Adds a response header (copied). Call before responding. */
void srv_resp_header(srv_req *req, const char *name, const char *value);

/* Responds with a body (copied). For HEAD requests the body is not sent. */
void srv_respond(srv_req *req, int status, const char *content_type, const char *body, size_t len);
/* Like srv_respond(), but takes over @p body (allocated with malloc) instead of copying it. */
void srv_respond_take(srv_req *req, int status, const char *content_type, char *body, size_t len);
/* Responds with JSON and takes ownership of @p body (a new reference). */
void srv_respond_json(srv_req *req, int status, json_t *body);
/* Responds with {"error":{"code":..,"message":..}}: the one error shape of the API. */
void srv_respond_error(srv_req *req, int status, const char *code, const char *message);

/*
 * Runs @p work(arg) on a worker thread, then @p done(req, arg) on the loop. The request (and its
 * connection) stays alive meanwhile. If the client went away, done() still runs: it may respond
 * (the answer is dropped) and must free arg.
 */
int srv_req_offload(srv_req *req, void (*work)(void *arg), void (*done)(srv_req *req, void *arg),
                    void *arg);

/*
 * For work that finishes by other means than srv_req_offload (e.g. a queue served by its own
 * thread): srv_req_hold() before handing the request on, srv_req_release() on the loop when that
 * work is done and before responding. Held requests delay a graceful shutdown like offloads.
 */
void srv_req_hold(srv_req *req);
void srv_req_release(srv_req *req);

/* Parses a JSON request body; on failure responds 400/415 itself and returns NULL. */
json_t *srv_req_json(srv_req *req);

#endif
