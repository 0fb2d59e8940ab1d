/*
 * Shop-staff API (Authorization: Bearer B2B_ADMIN_TOKEN; docs/api.md "Staff API"):
 *   GET  /staff/api/jobs?status=dead     jobs that gave up, with their last error
 *   POST /staff/api/jobs/:id/retry       queue a dead job again with fresh attempts
 *   POST /staff/api/orders/:id/retry     a failed order back to approved; completion runs again
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../actions.h"
#include "../processor.h"
#include "api.h"

static json_t *job_json(const srv_job *j) {
    json_t *payload = json_loads(j->payload ? j->payload : "{}", 0, NULL);
    return json_pack("{s:I,s:s,s:s,s:i,s:i,s:s?,s:o,s:I,s:I,s:I}", "id", (json_int_t)j->id, "kind",
                     j->kind, "status", j->status, "attempts", j->attempts, "max_attempts",
                     j->max_attempts, "last_error", j->last_error, "payload",
                     payload ? payload : json_null(), "created_at", (json_int_t)j->created_at,
                     "updated_at", (json_int_t)j->updated_at, "run_at", (json_int_t)j->run_at);
}

static void jobs_list(api_ctx *x) {
    char status[16];
    srv_job *jobs = NULL;
    json_t *list;
    int n = 0, i, rc;
    if (api_query(x, "status", status, sizeof(status)) != NULL && strcmp(status, "dead") != 0) {
        json_object_set_new(api_error(x, 422, "invalid", "only status=dead is listed"), "field",
                            json_string("status"));
        return;
    }
    rc = store_job_list_dead(x->c, 200, &jobs, &n);
    if (rc != SRV_OK) {
        api_store_error(x, rc);
        return;
    }
    list = json_array();
    for (i = 0; i < n; i++)
        if (jobs[i].shop_id == x->app->shop_id || jobs[i].shop_id == 0)
            json_array_append_new(list, job_json(&jobs[i]));
    store_job_list_free(jobs, n);
    api_ok(x, 200, json_pack("{s:o}", "jobs", list));
}

static void job_retry(api_ctx *x) {
    char id[32];
    srv_job j;
    int64_t job_id = strtoll(api_param(x, "id", id, sizeof(id)), NULL, 10);
    int rc;
    switch (act_staff_retry_job(x->c, x->app->shop_id, job_id)) {
    case ACT_DONE:
        break;
    case ACT_NOT_FOUND:
        api_error(x, 404, "not_found", "no such dead job");
        return;
    case ACT_CONFLICT:
        api_error(x, 409, "conflict", "the order changed meanwhile; try again");
        return;
    default:
        api_error(x, 503, "store_unavailable", "the store did not answer");
        return;
    }
    srv_processor_wake(x->app->processor);
    memset(&j, 0, sizeof(j));
    rc = store_job_get(x->c, job_id, &j);
    if (rc != SRV_OK) {
        srv_job_clear(&j);
        api_store_error(x, rc);
        return;
    }
    api_ok(x, 200, job_json(&j));
    srv_job_clear(&j);
}

static void order_retry(api_ctx *x) {
    char id[SRV_PUBLIC_ID_LEN + 2];
    act_result res;
    switch (act_staff_retry(x->c, x->app->shop_id, api_param(x, "id", id, sizeof(id)), &res)) {
    case ACT_DONE:
        srv_processor_wake(x->app->processor);
        api_ok(x, 200, json_pack("{s:s,s:s}", "id", res.order.public_id, "state", res.order.state));
        break;
    case ACT_NOT_FOUND:
        api_error(x, 404, "not_found", "no such order");
        break;
    case ACT_REFUSED:
        json_object_set_new(api_error(x, 422, "refused", "only a failed order can be retried"),
                            "reasons", json_pack("[s]", "state"));
        break;
    case ACT_CONFLICT:
        api_error(x, 409, "conflict", "the order changed meanwhile; try again");
        break;
    default:
        api_error(x, 503, "store_unavailable", "the store did not answer");
    }
    srv_order_clear(&res.order);
}

void route_staff_jobs(srv_req *req) {
    api_handle(req, jobs_list, API_STAFF);
}

void route_staff_job_retry(srv_req *req) {
    api_handle(req, job_retry, API_STAFF);
}

void route_staff_order_retry(srv_req *req) {
    api_handle(req, order_retry, API_STAFF);
}
