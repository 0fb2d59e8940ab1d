/*
 * Time zones for budget periods: a budget month begins at midnight in the shop's IANA zone
 * (DOMAIN.md), and one server may serve shops in different zones, so the process-wide TZ of
 * localtime_r() is not enough. Zone files (TZif, /usr/share/zoneinfo) are read once and kept;
 * after that a lookup is pure and thread-safe.
 */
#ifndef SRV_TZ_H
#define SRV_TZ_H

#include <stdint.h>

/*
 * UTC offset in seconds of @p zone ("Europe/Berlin") at @p t (seconds since the epoch).
 * Returns 0, or -1 when the zone is unknown or unreadable (then *out is 0).
 */
int srv_tz_offset(const char *zone, int64_t t, int32_t *out);

/* Frees the cached zones (at exit; for leak checkers). */
void srv_tz_cleanup(void);

#endif
