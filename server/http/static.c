/* In-memory static files with content types and ETags. */
#define _GNU_SOURCE
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "static.h"

typedef struct file_entry {
    char *path; /* "/css/app.css" */
    char *data;
    size_t len;
    char etag[24];
    const char *type;
} file_entry;

struct srv_static {
    file_entry *files;
    size_t count, cap;
};

static const char *content_type(const char *path) {
    static const struct {
        const char *ext, *type;
    } types[] = {
        {".html", "text/html; charset=utf-8"},
        {".css", "text/css; charset=utf-8"},
        {".js", "text/javascript; charset=utf-8"},
        {".mjs", "text/javascript; charset=utf-8"},
        {".json", "application/json; charset=utf-8"},
        {".svg", "image/svg+xml"},
        {".png", "image/png"},
        {".jpg", "image/jpeg"},
        {".ico", "image/x-icon"},
        {".webmanifest", "application/manifest+json"},
        {".txt", "text/plain; charset=utf-8"},
        {".woff2", "font/woff2"},
    };
    const char *dot = strrchr(path, '.');
    size_t i;
    if (dot != NULL) {
        for (i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
            if (strcasecmp(dot, types[i].ext) == 0)
                return types[i].type;
        }
    }
    return "application/octet-stream";
}

static int add_file(srv_static *s, const char *rel, const char *full) {
    FILE *f;
    struct stat st;
    file_entry *e;
    uint64_t hash = UINT64_C(1469598103934665603);
    size_t i;
    if (stat(full, &st) != 0)
        return -1;
    if (s->count == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 32;
        file_entry *grown = realloc(s->files, cap * sizeof(*grown));
        if (grown == NULL)
            return -1;
        s->files = grown;
        s->cap = cap;
    }
    e = &s->files[s->count];
    memset(e, 0, sizeof(*e));
    e->data = malloc((size_t)st.st_size + 1);
    e->path = strdup(rel);
    f = fopen(full, "rb");
    if (e->data == NULL || e->path == NULL || f == NULL ||
        fread(e->data, 1, (size_t)st.st_size, f) != (size_t)st.st_size) {
        if (f)
            fclose(f);
        free(e->data);
        free(e->path);
        return -1;
    }
    fclose(f);
    e->len = (size_t)st.st_size;
    for (i = 0; i < e->len; i++) { /* FNV-1a: a content hash is all an ETag needs */
        hash ^= (unsigned char)e->data[i];
        hash *= UINT64_C(1099511628211);
    }
    snprintf(e->etag, sizeof(e->etag), "\"%016llx\"", (unsigned long long)hash);
    e->type = content_type(rel);
    s->count++;
    return 0;
}

static int walk(srv_static *s, const char *root, const char *rel) {
    char dir[4096];
    DIR *d;
    struct dirent *de;
    snprintf(dir, sizeof(dir), "%s%s", root, rel);
    d = opendir(dir);
    if (d == NULL)
        return 0;
    while ((de = readdir(d)) != NULL) {
        char full[4096], relpath[4096];
        struct stat st;
        if (de->d_name[0] == '.')
            continue;
        snprintf(relpath, sizeof(relpath), "%s/%s", rel, de->d_name);
        snprintf(full, sizeof(full), "%s%s", root, relpath);
        if (lstat(full, &st) != 0 || S_ISLNK(st.st_mode))
            continue;
        if (S_ISDIR(st.st_mode)) {
            if (walk(s, root, relpath) != 0) {
                closedir(d);
                return -1;
            }
        } else if (S_ISREG(st.st_mode) && add_file(s, relpath, full) != 0) {
            closedir(d);
            return -1;
        }
    }
    closedir(d);
    return 0;
}

srv_static *srv_static_load(const char *root) {
    srv_static *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return NULL;
    if (root != NULL && *root != '\0' && walk(s, root, "") != 0) {
        srv_static_free(s);
        return NULL;
    }
    return s;
}

void srv_static_free(srv_static *s) {
    size_t i;
    if (s == NULL)
        return;
    for (i = 0; i < s->count; i++) {
        free(s->files[i].path);
        free(s->files[i].data);
    }
    free(s->files);
    free(s);
}

size_t srv_static_count(const srv_static *s) {
    return s ? s->count : 0;
}

void srv_static_serve(const srv_static *s, srv_req *req) {
    const char *path = srv_req_path(req);
    if (strstr(path, "/..") != NULL || strchr(path, '\\') != NULL) {
        srv_respond_error(req, 400, "bad_path", "the path may not contain '..'");
        return;
    }
    srv_static_serve_path(s, req, strcmp(path, "/") == 0 ? "/index.html" : path);
}

void srv_static_serve_path(const srv_static *s, srv_req *req, const char *path) {
    const char *inm;
    size_t i;
    for (i = 0; i < s->count; i++) {
        const file_entry *e = &s->files[i];
        if (strcmp(e->path, path) != 0)
            continue;
        srv_resp_header(req, "ETag", e->etag);
        srv_resp_header(req, "Cache-Control", "no-cache");
        srv_resp_header(req, "X-Content-Type-Options", "nosniff");
        /* The portal loads only its own files; no framing; links do not carry order URLs. */
        srv_resp_header(req, "Content-Security-Policy",
                        "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; "
                        "base-uri 'none'; form-action 'self'");
        srv_resp_header(req, "Referrer-Policy", "same-origin");
        inm = srv_req_header(req, "if-none-match");
        if (inm != NULL && (strcmp(inm, "*") == 0 || strstr(inm, e->etag) != NULL)) {
            srv_respond(req, 304, NULL, "", 0);
            return;
        }
        srv_respond(req, 200, e->type, e->data, e->len);
        return;
    }
    srv_respond_error(req, 404, "not_found", "no such file");
}
