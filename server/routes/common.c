/* Helpers every handler shares: authentication of staff requests. */
#include <string.h>

#include "../app.h"
#include "../auth.h"

int srv_require_staff(srv_req *req) {
    srv_app *app = srv_req_app(req);
    const char *auth = srv_req_header(req, "authorization");
    const char *token = app->cfg.admin_token;
    if (token == NULL || *token == '\0') {
        srv_respond_error(req, 404, "not_found", "no such resource");
        return 0;
    }
    if (auth == NULL || strncmp(auth, "Bearer ", 7) != 0 || !srv_auth_equal(auth + 7, token)) {
        srv_resp_header(req, "WWW-Authenticate", "Bearer");
        srv_respond_error(req, 401, "unauthorized", "a valid staff token is required");
        return 0;
    }
    return 1;
}
