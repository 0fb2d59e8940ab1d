/* JSON log lines on stderr. Lines are written with one fwrite so concurrent writers don't mix. */
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "log.h"

static srv_log_level min_level = SRV_LOG_INFO;
static const char *const level_names[] = {"debug", "info", "warn", "error"};

int srv_log_set_level(const char *name) {
    int i;
    for (i = 0; i < 4; i++) {
        if (name && strcmp(name, level_names[i]) == 0) {
            min_level = (srv_log_level)i;
            return 0;
        }
    }
    return -1;
}

int srv_log_enabled(srv_log_level level) {
    return level >= min_level;
}

size_t srv_json_escape(char *buf, size_t len, size_t cap, const char *s) {
    static const char hex[] = "0123456789abcdef";
    for (; s && *s && len + 7 < cap; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            buf[len++] = '\\';
            buf[len++] = (char)c;
        } else if (c < 0x20) {
            buf[len++] = '\\';
            buf[len++] = 'u';
            buf[len++] = '0';
            buf[len++] = '0';
            buf[len++] = hex[c >> 4];
            buf[len++] = hex[c & 15];
        } else {
            buf[len++] = (char)c;
        }
    }
    buf[len] = '\0';
    return len;
}

static size_t put(char *buf, size_t len, size_t cap, const char *s) {
    size_t n = strlen(s), room;
    if (len >= cap)
        return len;
    room = cap - len - 1;
    if (n > room)
        n = room;
    memcpy(buf + len, s, n);
    buf[len + n] = '\0';
    return len + n;
}

static size_t put_time(char *buf, size_t len, size_t cap) {
    struct timeval tv;
    struct tm tm;
    char tmp[96];
    gettimeofday(&tv, NULL);
    gmtime_r(&tv.tv_sec, &tm);
    snprintf(tmp, sizeof(tmp), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(tv.tv_usec / 1000));
    return put(buf, len, cap, tmp);
}

/* Access lines waiting for srv_log_flush(); touched on the loop thread only. */
static char access_buf[65536];
static size_t access_len;
static int access_buffering;

void srv_log_flush(void) {
    if (access_len > 0) {
        fwrite(access_buf, 1, access_len, stderr);
        fflush(stderr);
        access_len = 0;
    }
}

static void emit(char *buf, size_t len, size_t cap) {
    len = put(buf, len, cap, "}\n");
    if (access_buffering) {
        if (access_len + len > sizeof(access_buf))
            srv_log_flush();
        memcpy(access_buf + access_len, buf, len);
        access_len += len;
        return;
    }
    fwrite(buf, 1, len, stderr);
}

void srv_log(srv_log_level level, const char *request_id, const char *msg,
             const char *fields_json) {
    char buf[4096];
    size_t len = 0, cap = sizeof(buf) - 2;
    if (!srv_log_enabled(level))
        return;
    len = put(buf, len, cap, "{\"time\":\"");
    len = put_time(buf, len, cap);
    len = put(buf, len, cap, "\",\"level\":\"");
    len = put(buf, len, cap, level_names[level]);
    len = put(buf, len, cap, "\",\"msg\":\"");
    len = srv_json_escape(buf, len, cap, msg);
    len = put(buf, len, cap, "\"");
    if (request_id) {
        len = put(buf, len, cap, ",\"request_id\":\"");
        len = srv_json_escape(buf, len, cap, request_id);
        len = put(buf, len, cap, "\"");
    }
    if (fields_json && *fields_json) {
        len = put(buf, len, cap, ",");
        len = put(buf, len, cap, fields_json);
    }
    emit(buf, len, sizeof(buf));
}

void srv_log_access(const char *request_id, const char *method, const char *route, int status,
                    double duration_ms, uint64_t bytes) {
    char fields[512];
    size_t len = 0;
    if (!srv_log_enabled(SRV_LOG_INFO))
        return;
    len = put(fields, len, sizeof(fields), "\"method\":\"");
    len = srv_json_escape(fields, len, sizeof(fields), method);
    len = put(fields, len, sizeof(fields), "\",\"route\":\"");
    len = srv_json_escape(fields, len, sizeof(fields), route);
    snprintf(fields + len, sizeof(fields) - len,
             "\",\"status\":%d,\"duration_ms\":%.3f,\"bytes\":%llu", status, duration_ms,
             (unsigned long long)bytes);
    srv_log(SRV_LOG_INFO, request_id, "request", fields);
}
