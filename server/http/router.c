/* Route matching: segment by segment, first match wins, parameters captured by name. */
#include <stdlib.h>
#include <string.h>

#include "router.h"

/* Matches one pattern; on success captures parameters into out. */
static int match_pattern(const char *pattern, const char *path, srv_route_match *out) {
    const char *p = pattern, *s = path;
    int nparams = 0;
    while (*p && *s) {
        if (*p == '*')
            return 1;
        if (*p == ':') {
            const char *pend = strchr(p, '/'), *send = strchr(s, '/');
            size_t plen = pend ? (size_t)(pend - p) : strlen(p);
            size_t slen = send ? (size_t)(send - s) : strlen(s);
            if (slen == 0 || nparams == 4)
                return 0;
            if (out) {
                char *v = malloc(slen + 1);
                if (v == NULL)
                    return 0;
                memcpy(v, s, slen);
                v[slen] = '\0';
                out->param_names[nparams] = p + 1;
                out->param_values[nparams] = v;
                out->params = nparams + 1;
            }
            nparams++;
            p += plen;
            s += slen;
            continue;
        }
        if (*p != *s)
            return 0;
        p++;
        s++;
    }
    if (*p == '*')
        return 1;
    return *p == '\0' && *s == '\0';
}

void srv_route_lookup(const srv_route *routes, int n, const char *method, const char *path,
                      srv_route_match *out) {
    int i;
    char *allow = out->allow;
    allow[0] = '\0';
    for (i = 0; i < n; i++) {
        const srv_route *r = &routes[i];
        int method_ok = strcmp(r->method, method) == 0 ||
                        (strcmp(method, "HEAD") == 0 && strcmp(r->method, "GET") == 0);
        if (!match_pattern(r->pattern, path, NULL))
            continue;
        if (method_ok) {
            match_pattern(r->pattern, path, out);
            out->handler = r->handler;
            out->route = r->pattern;
            out->route_index = i;
            return;
        }
        out->method_not_allowed = 1;
        if (strstr(allow, r->method) == NULL &&
            strlen(allow) + strlen(r->method) + 9 < sizeof(out->allow)) {
            if (allow[0])
                strcat(allow, ", ");
            strcat(allow, r->method);
            if (strcmp(r->method, "GET") == 0)
                strcat(allow, ", HEAD"); /* GET routes answer HEAD too */
        }
    }
}
