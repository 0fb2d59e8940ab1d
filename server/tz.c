/* A small reader of TZif files (RFC 8536), version 2 and later; see tz.h. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tz.h"

#define MAX_ZONES 16

typedef struct zone {
    char name[64];
    int64_t *times;   /* transition times, ascending */
    int32_t *offsets; /* UTC offset after each transition */
    size_t count;
    int32_t initial; /* offset before the first transition */
} zone;

static zone zones[MAX_ZONES];
static size_t nzones;
static pthread_mutex_t zones_mu = PTHREAD_MUTEX_INITIALIZER;

static uint32_t be32(const unsigned char *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int64_t be64(const unsigned char *p) {
    return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4));
}

static int name_ok(const char *name) {
    size_t i, n = strlen(name);
    if (n == 0 || n >= sizeof(zones[0].name) || name[0] == '/' || strstr(name, "..") != NULL)
        return 0;
    for (i = 0; i < n; i++) {
        char c = name[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '/' || c == '_' || c == '-' || c == '+'))
            return 0;
    }
    return 1;
}

/* Parses the 64-bit (version 2+) data block of a TZif file into @p z. */
static int parse(const unsigned char *buf, size_t len, zone *z) {
    uint32_t isut, isstd, leap, timecnt, typecnt, charcnt;
    size_t off, need, i;
    const unsigned char *p;
    if (len < 44 || memcmp(buf, "TZif", 4) != 0 || buf[4] < '2')
        return -1;
    /* Skip the version 1 block (32-bit times). */
    isut = be32(buf + 20), isstd = be32(buf + 24), leap = be32(buf + 28);
    timecnt = be32(buf + 32), typecnt = be32(buf + 36), charcnt = be32(buf + 40);
    off =
        44 + (size_t)timecnt * 5 + (size_t)typecnt * 6 + charcnt + (size_t)leap * 8 + isstd + isut;
    if (off + 44 > len || memcmp(buf + off, "TZif", 4) != 0)
        return -1;
    p = buf + off;
    isut = be32(p + 20), isstd = be32(p + 24), leap = be32(p + 28);
    timecnt = be32(p + 32), typecnt = be32(p + 36), charcnt = be32(p + 40);
    p += 44;
    need = (size_t)timecnt * 9 + (size_t)typecnt * 6;
    if (typecnt == 0 || (size_t)(p - buf) + need > len)
        return -1;
    z->times = calloc(timecnt + 1, sizeof(*z->times));
    z->offsets = calloc(timecnt + 1, sizeof(*z->offsets));
    if (z->times == NULL || z->offsets == NULL)
        return -1;
    for (i = 0; i < timecnt; i++) {
        uint8_t type = p[timecnt * 8 + i];
        if (type >= typecnt)
            return -1;
        z->times[i] = be64(p + i * 8);
        z->offsets[i] = (int32_t)be32(p + timecnt * 9 + (size_t)type * 6);
    }
    z->count = timecnt;
    /* Before the first transition: the first standard-time type (RFC 8536, 3.2). */
    z->initial = (int32_t)be32(p + timecnt * 9);
    for (i = 0; i < typecnt; i++) {
        if (p[timecnt * 9 + i * 6 + 4] == 0) {
            z->initial = (int32_t)be32(p + timecnt * 9 + i * 6);
            break;
        }
    }
    (void)charcnt;
    return 0;
}

static zone *load(const char *name) {
    char path[128];
    unsigned char *buf;
    size_t len;
    FILE *f;
    zone *z;
    if (nzones == MAX_ZONES || !name_ok(name))
        return NULL;
    snprintf(path, sizeof(path), "/usr/share/zoneinfo/%s", name);
    f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    buf = malloc(1 << 20);
    len = buf ? fread(buf, 1, 1 << 20, f) : 0;
    fclose(f);
    z = &zones[nzones];
    memset(z, 0, sizeof(*z));
    if (buf == NULL || parse(buf, len, z) != 0) {
        free(buf);
        free(z->times);
        free(z->offsets);
        memset(z, 0, sizeof(*z));
        return NULL;
    }
    free(buf);
    snprintf(z->name, sizeof(z->name), "%s", name);
    nzones++;
    return z;
}

int srv_tz_offset(const char *zone_name, int64_t t, int32_t *out) {
    zone *z = NULL;
    size_t i, lo, hi;
    *out = 0;
    if (zone_name == NULL)
        return -1;
    pthread_mutex_lock(&zones_mu);
    for (i = 0; i < nzones && z == NULL; i++) {
        if (strcmp(zones[i].name, zone_name) == 0)
            z = &zones[i];
    }
    if (z == NULL)
        z = load(zone_name);
    pthread_mutex_unlock(&zones_mu);
    if (z == NULL)
        return -1;
    /* The last transition at or before t (files carry transitions until 2037). */
    lo = 0, hi = z->count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (z->times[mid] <= t)
            lo = mid + 1;
        else
            hi = mid;
    }
    *out = lo == 0 ? z->initial : z->offsets[lo - 1];
    return 0;
}

void srv_tz_cleanup(void) {
    size_t i;
    pthread_mutex_lock(&zones_mu);
    for (i = 0; i < nzones; i++) {
        free(zones[i].times);
        free(zones[i].offsets);
    }
    nzones = 0;
    pthread_mutex_unlock(&zones_mu);
}
