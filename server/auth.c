/* Portal login primitives; see auth.h. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "auth.h"
#include "config.h"

#define KEY_BYTES 32

static unsigned char key[KEY_BYTES * 4];
static size_t key_len;

static int random_bytes(unsigned char *buf, size_t n) {
    size_t got = 0;
    while (got < n) {
        ssize_t r = getrandom(buf + got, n - got, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        got += (size_t)r;
    }
    return 0;
}

static const char hexdigits[] = "0123456789abcdef";

static void to_hex(const unsigned char *in, size_t n, char *out) {
    size_t i;
    for (i = 0; i < n; i++) {
        out[2 * i] = hexdigits[in[i] >> 4];
        out[2 * i + 1] = hexdigits[in[i] & 15];
    }
    out[2 * n] = '\0';
}

/* Reads the key file, or creates it (exclusively, 0600) when it does not exist. */
static int key_from_file(const char *dir, char *err, size_t errlen) {
    char path[4096];
    unsigned char buf[KEY_BYTES];
    int fd;
    ssize_t n;
    snprintf(path, sizeof(path), "%s/auth.key", dir && *dir ? dir : ".");
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT) {
        mkdir(dir && *dir ? dir : ".", 0700);
        fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd >= 0) {
            int ok = random_bytes(buf, sizeof(buf)) == 0 &&
                     write(fd, buf, sizeof(buf)) == (ssize_t)sizeof(buf) && fsync(fd) == 0;
            close(fd);
            if (!ok) {
                unlink(path);
                snprintf(err, errlen, "cannot write %s", path);
                return -1;
            }
        }
        fd = open(path, O_RDONLY | O_CLOEXEC);
    }
    if (fd < 0) {
        snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
        return -1;
    }
    n = read(fd, buf, sizeof(buf));
    close(fd);
    if (n != (ssize_t)sizeof(buf)) {
        snprintf(err, errlen, "%s must hold %d bytes", path, KEY_BYTES);
        return -1;
    }
    memcpy(key, buf, sizeof(buf));
    key_len = sizeof(buf);
    OPENSSL_cleanse(buf, sizeof(buf));
    return 0;
}

int srv_auth_init(const srv_config *cfg, char *err, size_t errlen) {
    const char *k = cfg->auth_key;
    if (k != NULL && *k != '\0') {
        size_t n = strlen(k);
        if (n < 32 || n > sizeof(key)) {
            snprintf(err, errlen, "B2B_AUTH_KEY must be 32 to %zu characters", sizeof(key));
            return -1;
        }
        memcpy(key, k, n);
        key_len = n;
        return 0;
    }
    return key_from_file(cfg->data_dir, err, errlen);
}

void srv_auth_hash(const char *purpose, const char *value, char out[AUTH_HASH_LEN + 1]) {
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    size_t lp = strlen(purpose), lv = strlen(value);
    unsigned char *msg = malloc(lp + lv + 1);
    if (msg != NULL) {
        memcpy(msg, purpose, lp);
        msg[lp] = '\n';
        memcpy(msg + lp + 1, value, lv);
    }
    if (msg == NULL || HMAC(EVP_sha256(), key, (int)key_len, msg, lp + lv + 1, mac, &len) == NULL ||
        len != 32) {
        /* Never compare equal to a stored hash: an unusable hash refuses the login. */
        memset(out, 'x', AUTH_HASH_LEN);
        out[AUTH_HASH_LEN] = '\0';
    } else {
        to_hex(mac, 32, out);
    }
    if (msg != NULL) {
        OPENSSL_cleanse(msg, lp + lv + 1);
        free(msg);
    }
}

void srv_auth_code_hash(int64_t shop_id, const char *email, const char *code,
                        char out[AUTH_HASH_LEN + 1]) {
    char value[512];
    snprintf(value, sizeof(value), "%lld\n%s\n%s", (long long)shop_id, email, code);
    srv_auth_hash("login-code", value, out);
    OPENSSL_cleanse(value, sizeof(value));
}

int srv_auth_token(char out[AUTH_TOKEN_LEN + 1]) {
    static const char b64url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    unsigned char raw[KEY_BYTES];
    int i, bit = 0;
    if (random_bytes(raw, sizeof(raw)) != 0)
        return -1;
    /* 256 bits in 6-bit groups: 43 characters (the last holds 4 bits). */
    for (i = 0; i < AUTH_TOKEN_LEN; i++, bit += 6) {
        int byte = bit / 8, off = bit % 8;
        unsigned v = (unsigned)raw[byte] << 8 | (byte + 1 < KEY_BYTES ? raw[byte + 1] : 0);
        out[i] = b64url[(v >> (10 - off)) & 63];
    }
    out[AUTH_TOKEN_LEN] = '\0';
    OPENSSL_cleanse(raw, sizeof(raw));
    return 0;
}

int srv_auth_code(char out[AUTH_CODE_DIGITS + 1]) {
    uint32_t v;
    int i;
    /* Rejection sampling: 4 294 000 000 is the largest multiple of 10^6 below 2^32. */
    do {
        if (random_bytes((unsigned char *)&v, sizeof(v)) != 0)
            return -1;
    } while (v >= 4294000000u);
    v %= 1000000u;
    for (i = AUTH_CODE_DIGITS - 1; i >= 0; i--) {
        out[i] = (char)('0' + v % 10);
        v /= 10;
    }
    out[AUTH_CODE_DIGITS] = '\0';
    return 0;
}

int srv_auth_code_wellformed(const char *code) {
    int i;
    if (code == NULL)
        return 0;
    for (i = 0; i < AUTH_CODE_DIGITS; i++)
        if (code[i] < '0' || code[i] > '9')
            return 0;
    return code[AUTH_CODE_DIGITS] == '\0';
}

int srv_auth_equal(const char *a, const char *b) {
    size_t la = strlen(a), lb = strlen(b);
    if (la != lb || la == 0)
        return 0;
    return CRYPTO_memcmp(a, b, la) == 0;
}

const char *srv_auth_cookie(const char *header, const char *name, char *buf, size_t size) {
    size_t nlen = strlen(name);
    const char *p = header;
    while (p != NULL && *p) {
        const char *end;
        size_t vlen;
        while (*p == ' ' || *p == ';')
            p++;
        end = strchr(p, ';');
        if (strncmp(p, name, nlen) == 0 && p[nlen] == '=') {
            p += nlen + 1;
            vlen = end ? (size_t)(end - p) : strlen(p);
            while (vlen > 0 && p[vlen - 1] == ' ')
                vlen--;
            if (vlen == 0 || vlen >= size)
                return NULL;
            memcpy(buf, p, vlen);
            buf[vlen] = '\0';
            return buf;
        }
        p = end;
    }
    return NULL;
}

int srv_auth_cookie_secure(const char *portal_url) {
    static const char *const local[] = {"http://localhost", "http://127.0.0.1", "http://[::1]"};
    size_t i;
    for (i = 0; i < sizeof(local) / sizeof(local[0]); i++) {
        size_t n = strlen(local[i]);
        if (portal_url != NULL && strncmp(portal_url, local[i], n) == 0 &&
            (portal_url[n] == '\0' || portal_url[n] == ':' || portal_url[n] == '/'))
            return 0;
    }
    return 1;
}
