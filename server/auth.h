/*
 * Portal login primitives (DOMAIN.md "Login to the portal"): the server's key, keyed hashes of
 * login codes and session tokens (only those are stored), random codes and tokens, cookies.
 * The rules that use them (limits, expiry) are in routes/portal_auth.c.
 */
#ifndef SRV_AUTH_H
#define SRV_AUTH_H

#include <stddef.h>
#include <stdint.h>

struct srv_config;

#define AUTH_CODE_DIGITS      6
#define AUTH_CODE_TTL_MS      (10 * 60 * 1000)         /* a code is valid 10 minutes */
#define AUTH_CODE_MAX_TRIES   5                        /* wrong tries per code */
#define AUTH_CODE_MIN_GAP_MS  (60 * 1000)              /* one new code a minute ... */
#define AUTH_CODE_PER_HOUR    5                        /* ... and five an hour per address */
#define AUTH_SESSION_IDLE_MS  (12 * 3600 * 1000LL)     /* a session ends after 12 idle hours */
#define AUTH_SESSION_MAX_MS   (7 * 24 * 3600 * 1000LL) /* or 7 days */
#define AUTH_SESSION_TOUCH_MS (60 * 1000) /* last_seen is written at most once a minute */
#define AUTH_COOKIE           "b2b_session"
#define AUTH_TOKEN_LEN        43 /* 256 random bits, base64url without padding */
#define AUTH_HASH_LEN         64 /* hex of HMAC-SHA256 */

/*
 * Loads the key of the keyed hashes: B2B_AUTH_KEY when set (several instances must share it),
 * else $B2B_DATA_DIR/auth.key, created with 32 random bytes (mode 0600) on first start.
 * Call once before any thread uses the functions below. 0, or -1 with a message in @p err.
 */
int srv_auth_init(const struct srv_config *cfg, char *err, size_t errlen);

/* hex(HMAC-SHA256(key, purpose "\n" value)) into @p out (AUTH_HASH_LEN + 1 bytes). */
void srv_auth_hash(const char *purpose, const char *value, char out[AUTH_HASH_LEN + 1]);

/* The stored form of a login code: bound to the shop and the address. */
void srv_auth_code_hash(int64_t shop_id, const char *email, const char *code,
                        char out[AUTH_HASH_LEN + 1]);

/* A new random token (AUTH_TOKEN_LEN base64url characters). 0 or -1. */
int srv_auth_token(char out[AUTH_TOKEN_LEN + 1]);

/* A new random code of AUTH_CODE_DIGITS digits, uniformly distributed. 0 or -1. */
int srv_auth_code(char out[AUTH_CODE_DIGITS + 1]);

/* 1 when @p code is exactly AUTH_CODE_DIGITS digits. */
int srv_auth_code_wellformed(const char *code);

/* Constant-time string comparison (1 when equal and non-empty). */
int srv_auth_equal(const char *a, const char *b);

/* The value of cookie @p name in a Cookie header into @p buf; NULL when absent or too long. */
const char *srv_auth_cookie(const char *header, const char *name, char *buf, size_t size);

/* 1 when cookies must carry Secure: the portal URL is not http://localhost or 127.0.0.1. */
int srv_auth_cookie_secure(const char *portal_url);

#endif
