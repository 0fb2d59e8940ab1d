/*
 * The portal's static files, read into memory once at start: serving them never touches the
 * disk (so never blocks the loop) and no request path can reach outside the loaded set.
 */
#ifndef SRV_STATIC_H
#define SRV_STATIC_H

#include <stddef.h>

#include "http.h"

typedef struct srv_static srv_static;

/* Loads every regular file below @p root (no symlinks, no dot-files). NULL on failure; a
 * missing directory yields an empty set. */
srv_static *srv_static_load(const char *root);
void srv_static_free(srv_static *s);
size_t srv_static_count(const srv_static *s);

/* Serves the file for the request's path ("/" is "/index.html"): 200 with ETag and
 * Cache-Control, 304 when If-None-Match matches, 400 for "..", 404 when missing. */
void srv_static_serve(const srv_static *s, srv_req *req);
/* The same for the file at @p path (e.g. "/index.html" for the portal's own page paths). */
void srv_static_serve_path(const srv_static *s, srv_req *req, const char *path);

#endif
