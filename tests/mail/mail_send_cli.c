/*
 * Test driver for test_smtp.py: runs one "email" job (mail_job_run) with the settings of the
 * environment (B2B_SMTP_URL, B2B_MAIL_DIR, ...), exactly as the server's job runner would.
 * Usage: mail_send_cli PAYLOAD_JSON
 * Exit status: 0 sent (or written), 75 retryable failure (EX_TEMPFAIL), 1 permanent failure,
 * 2 usage or settings error. The error text goes to stderr.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>

#include "config.h"
#include "mail/mail.h"

int main(int argc, char **argv) {
    srv_config cfg;
    char err[1024] = "";
    json_error_t jerr;
    json_t *payload;
    int retryable = 0, rc;
    if (argc != 2) {
        fprintf(stderr, "usage: mail_send_cli PAYLOAD_JSON\n");
        return 2;
    }
    if (srv_config_load(&cfg, NULL, err, sizeof(err)) != 0) {
        fprintf(stderr, "settings: %s\n", err);
        return 2;
    }
    payload = json_loads(argv[1], 0, &jerr);
    if (payload == NULL) {
        fprintf(stderr, "payload: %s\n", jerr.text);
        srv_config_free(&cfg);
        return 2;
    }
    rc = mail_job_run(&cfg, payload, err, sizeof(err), &retryable);
    json_decref(payload);
    srv_config_free(&cfg);
    if (rc == 0)
        return 0;
    fprintf(stderr, "%s: %s\n", retryable ? "retry" : "failed", err);
    return retryable ? 75 : 1;
}
