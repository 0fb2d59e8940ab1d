/*
 * JSON log lines on stderr: one object per line with time (UTC, ms), level and message, plus a
 * request id and fields where known. Nothing secret is ever passed here: callers log ids and
 * outcomes, never tokens, codes, passwords or bodies.
 */
#ifndef SRV_LOG_H
#define SRV_LOG_H

#include <stdint.h>

typedef enum srv_log_level {
    SRV_LOG_DEBUG = 0,
    SRV_LOG_INFO = 1,
    SRV_LOG_WARN = 2,
    SRV_LOG_ERROR = 3
} srv_log_level;

/* Sets the lowest level written ("debug", "info", "warn", "error"); returns -1 if unknown. */
int srv_log_set_level(const char *name);
int srv_log_enabled(srv_log_level level);

/*
 * One line: {"time":..,"level":..,"msg":..,"request_id":..,<fields>}. @p fields_json is either
 * NULL or a JSON object body without braces (e.g. "\"port\":8080"), already escaped.
 */
void srv_log(srv_log_level level, const char *request_id, const char *msg, const char *fields_json);

/*
 * The access line of one HTTP request. Loop thread only: lines are collected and written with
 * one write per loop iteration (srv_log_flush), not one per request.
 */
void srv_log_access(const char *request_id, const char *method, const char *route, int status,
                    double duration_ms, uint64_t bytes);
/* Writes the collected access lines. Loop thread only. */
void srv_log_flush(void);

/* Appends @p s JSON-escaped (without quotes) to buf; returns the new length (bounded by cap). */
size_t srv_json_escape(char *buf, size_t len, size_t cap, const char *s);

#endif
