/* Helpers every handler shares: authentication of staff requests. */
#include <string.h>

#include "../app.h"

/* Compares without an early exit, so the time taken says nothing about the secret. */
static int equal_constant_time(const char *a, const char *b) {
    size_t la = strlen(a), lb = strlen(b), i;
    unsigned char diff = (unsigned char)(la != lb);
    for (i = 0; i < la; i++)
        diff |= (unsigned char)(a[i] ^ b[i % (lb ? lb : 1)]);
    return diff == 0 && lb > 0;
}

int srv_require_staff(srv_req *req) {
    srv_app *app = srv_req_app(req);
    const char *auth = srv_req_header(req, "authorization");
    const char *token = app->cfg.admin_token;
    if (token == NULL || *token == '\0') {
        srv_respond_error(req, 404, "not_found", "no such resource");
        return 0;
    }
    if (auth == NULL || strncmp(auth, "Bearer ", 7) != 0 || !equal_constant_time(auth + 7, token)) {
        srv_resp_header(req, "WWW-Authenticate", "Bearer");
        srv_respond_error(req, 401, "unauthorized", "a valid staff token is required");
        return 0;
    }
    return 1;
}
