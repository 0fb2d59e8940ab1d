/* Composing, sending and writing mail; see mail.h. */
#define _GNU_SOURCE
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "mail.h"
#include "mail_internal.h"

#define LINE_MAX_CHARS 76  /* header and QP lines stay within this (RFC 2045/2047) */
#define NAME_MAX_BYTES 200 /* display names are cut to this */
#define SUBJ_MAX_BYTES 900 /* subjects are cut to this */
#define MAX_RECIPIENTS 100

/* ---------------------------------------------------------------- status */

const char *mail_strerror(int status) {
#define MAIL_STATUS_TEXT(name, value, text)                                                        \
    case value:                                                                                    \
        return text;
    switch (status) { MAIL_STATUS_MAP(MAIL_STATUS_TEXT) }
#undef MAIL_STATUS_TEXT
    return "unknown mail status";
}

int mail_status_retryable(int status) {
    return status == MAIL_ETEMP || status == MAIL_ENOMEM || status == MAIL_EIO;
}

/* ---------------------------------------------------------------- messages */

static char *dup_opt(const char *s) {
    return s != NULL && *s != '\0' ? strdup(s) : NULL;
}

static void address_clear(mail_address *a) {
    free(a->email);
    free(a->name);
    a->email = a->name = NULL;
}

void mail_message_init(mail_message *msg) {
    memset(msg, 0, sizeof(*msg));
}

void mail_message_clear(mail_message *msg) {
    size_t i;
    if (msg == NULL)
        return;
    address_clear(&msg->from);
    address_clear(&msg->reply_to);
    for (i = 0; i < msg->to_count; i++)
        address_clear(&msg->to[i]);
    free(msg->to);
    free(msg->subject);
    free(msg->text);
    free(msg->html);
    memset(msg, 0, sizeof(*msg));
}

int mail_address_set(mail_address *out, const char *email, const char *name) {
    char *e = strdup(email ? email : ""), *n = dup_opt(name);
    if (e == NULL || (name != NULL && *name != '\0' && n == NULL)) {
        free(e);
        free(n);
        return MAIL_ENOMEM;
    }
    address_clear(out);
    out->email = e;
    out->name = n;
    return MAIL_OK;
}

int mail_message_add_to(mail_message *msg, const char *email, const char *name) {
    mail_address *to = realloc(msg->to, (msg->to_count + 1) * sizeof(*to));
    if (to == NULL)
        return MAIL_ENOMEM;
    msg->to = to;
    memset(&to[msg->to_count], 0, sizeof(*to));
    if (mail_address_set(&to[msg->to_count], email, name) != MAIL_OK)
        return MAIL_ENOMEM;
    msg->to_count++;
    return MAIL_OK;
}

int mail_address_valid(const char *email) {
    const char *at = NULL, *p;
    size_t n;
    if (email == NULL || (n = strlen(email)) < 3 || n > 254)
        return 0;
    for (p = email; *p; p++) {
        unsigned char ch = (unsigned char)*p;
        if (ch <= 0x20 || ch >= 0x7f || strchr("<>()[]\\,;:\"", ch) != NULL)
            return 0;
        if (ch == '@') {
            if (at != NULL)
                return 0;
            at = p;
        }
    }
    return at != NULL && at != email && at[1] != '\0' && at[1] != '.' && email[n - 1] != '.';
}

int mail_address_parse(mail_address *out, const char *spec) {
    const char *lt, *gt;
    char *name = NULL, *email;
    int rc;
    if (spec == NULL)
        return MAIL_EINVAL;
    lt = strrchr(spec, '<');
    gt = strrchr(spec, '>');
    if (lt == NULL && gt == NULL) {
        while (*spec == ' ')
            spec++;
        email = strndup(spec, strcspn(spec, " "));
    } else if (lt != NULL && gt != NULL && gt > lt && gt[1] == '\0') {
        const char *s = spec, *e = lt;
        while (s < e && *s == ' ')
            s++;
        while (e > s && e[-1] == ' ')
            e--;
        if (e - s >= 2 && *s == '"' && e[-1] == '"') {
            s++;
            e--;
        }
        name = strndup(s, (size_t)(e - s));
        email = strndup(lt + 1, (size_t)(gt - lt - 1));
    } else {
        return MAIL_EINVAL;
    }
    if (email == NULL || !mail_address_valid(email)) {
        free(name);
        free(email);
        return email == NULL ? MAIL_ENOMEM : MAIL_EINVAL;
    }
    rc = mail_address_set(out, email, name);
    free(name);
    free(email);
    return rc;
}

/* ---------------------------------------------------------------- growing buffer */

void mail__buf_add(mail_buf *b, const char *s, size_t n) {
    if (b->oom)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 1024;
        char *p;
        while (cap < b->len + n + 1)
            cap *= 2;
        p = realloc(b->p, cap);
        if (p == NULL) {
            b->oom = 1;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void buf_str(mail_buf *b, const char *s) {
    mail__buf_add(b, s, strlen(s));
}

static void buf_ch(mail_buf *b, char c) {
    mail__buf_add(b, &c, 1);
}

/* ---------------------------------------------------------------- text cleaning */

/* Length of the valid UTF-8 sequence at @p s (1..4), or 0 if it is not valid. */
static size_t utf8_len(const unsigned char *s, unsigned *cp) {
    size_t n, i;
    unsigned c;
    if (s[0] < 0x80) {
        *cp = s[0];
        return 1;
    }
    if (s[0] >= 0xc2 && s[0] <= 0xdf)
        n = 2, c = s[0] & 0x1f;
    else if (s[0] >= 0xe0 && s[0] <= 0xef)
        n = 3, c = s[0] & 0x0f;
    else if (s[0] >= 0xf0 && s[0] <= 0xf4)
        n = 4, c = s[0] & 0x07;
    else
        return 0;
    for (i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        c = (c << 6) | (s[i] & 0x3f);
    }
    if ((n == 3 && (c < 0x800 || (c >= 0xd800 && c <= 0xdfff))) || (n == 4 && c < 0x10000) ||
        c > 0x10ffff)
        return 0;
    *cp = c;
    return n;
}

/*
 * A header value made safe: valid UTF-8 (invalid bytes become U+FFFD), every control character
 * (C0 including CR, LF and TAB, DEL, C1, U+2028/2029) a space, runs of spaces one space, no
 * leading or trailing space, at most @p max bytes. New string or NULL when out of memory.
 */
static char *clean_header_text(const char *in, size_t max) {
    mail_buf b = {0};
    const unsigned char *s = (const unsigned char *)(in ? in : "");
    int space = 1;
    mail__buf_add(&b, "", 0);
    while (*s) {
        unsigned cp = 0;
        size_t n = utf8_len(s, &cp);
        const char *piece = (const char *)s;
        size_t plen = n;
        if (n == 0) {
            piece = "\xef\xbf\xbd";
            plen = 3;
            n = 1;
            cp = 0xfffd;
        }
        if (cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp < 0xa0) || cp == 0x2028 || cp == 0x2029 ||
            cp == ' ') {
            if (!space && b.len + 1 <= max)
                buf_ch(&b, ' ');
            space = 1;
        } else {
            if (b.len + plen > max)
                break;
            mail__buf_add(&b, piece, plen);
            space = 0;
        }
        s += n;
    }
    if (b.oom) {
        free(b.p);
        return NULL;
    }
    while (b.len > 0 && b.p[b.len - 1] == ' ')
        b.p[--b.len] = '\0';
    return b.p;
}

/* A body with CRLF line ends, valid UTF-8, and no control characters but TAB. */
static char *clean_body(const char *in) {
    mail_buf b = {0};
    const unsigned char *s = (const unsigned char *)(in ? in : "");
    mail__buf_add(&b, "", 0);
    while (*s) {
        unsigned cp = 0;
        size_t n;
        if (*s == '\r' || *s == '\n') {
            s += (*s == '\r' && s[1] == '\n') ? 2 : 1;
            mail__buf_add(&b, "\r\n", 2);
            continue;
        }
        n = utf8_len(s, &cp);
        if (n == 0) {
            buf_str(&b, "\xef\xbf\xbd");
            n = 1;
        } else if ((cp < 0x20 && cp != '\t') || cp == 0x7f || (cp >= 0x80 && cp < 0xa0)) {
            buf_ch(&b, ' ');
        } else {
            mail__buf_add(&b, (const char *)s, n);
        }
        s += n;
    }
    if (b.oom) {
        free(b.p);
        return NULL;
    }
    return b.p;
}

static int is_ascii(const char *s) {
    for (; *s; s++) {
        if ((unsigned char)*s >= 0x80)
            return 0;
    }
    return 1;
}

/* ---------------------------------------------------------------- encodings */

static const char b64chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static void b64_add(mail_buf *b, const unsigned char *s, size_t n) {
    size_t i;
    for (i = 0; i + 2 < n; i += 3) {
        char q[4] = {b64chars[s[i] >> 2], b64chars[((s[i] & 3) << 4) | (s[i + 1] >> 4)],
                     b64chars[((s[i + 1] & 15) << 2) | (s[i + 2] >> 6)], b64chars[s[i + 2] & 63]};
        mail__buf_add(b, q, 4);
    }
    if (n - i == 1) {
        char q[4] = {b64chars[s[i] >> 2], b64chars[(s[i] & 3) << 4], '=', '='};
        mail__buf_add(b, q, 4);
    } else if (n - i == 2) {
        char q[4] = {b64chars[s[i] >> 2], b64chars[((s[i] & 3) << 4) | (s[i + 1] >> 4)],
                     b64chars[(s[i + 1] & 15) << 2], '='};
        mail__buf_add(b, q, 4);
    }
}

/*
 * Appends @p text as RFC 2047 "B" encoded-words, starting at column @p col, splitting only
 * between UTF-8 characters and folding (CRLF SP) so that no line exceeds LINE_MAX_CHARS.
 * Returns the column after the last word.
 */
static size_t encoded_words(mail_buf *b, const char *text, size_t col) {
    const unsigned char *s = (const unsigned char *)text;
    size_t len = strlen(text), pos = 0;
    int first = 1;
    while (pos < len || first) {
        /* Room for "=?UTF-8?B?" + base64 + "?=" on this line. */
        size_t room = LINE_MAX_CHARS > col + 12 ? LINE_MAX_CHARS - col - 12 : 0;
        size_t max_bytes = room / 4 * 3, take = 0;
        if (max_bytes < 12 && !first) {
            max_bytes = 45;
        }
        if (max_bytes < 12) { /* not even a short word fits: start a new line */
            buf_str(b, "\r\n ");
            col = 1;
            continue;
        }
        while (pos + take < len) {
            unsigned cp;
            size_t n = utf8_len(s + pos + take, &cp);
            if (n == 0)
                n = 1;
            if (take + n > max_bytes)
                break;
            take += n;
        }
        buf_str(b, "=?UTF-8?B?");
        b64_add(b, s + pos, take);
        buf_str(b, "?=");
        col += 12 + (take + 2) / 3 * 4;
        pos += take;
        first = 0;
        if (pos < len) {
            buf_str(b, "\r\n ");
            col = 1;
        }
    }
    return col;
}

/* Appends an unstructured header ("Subject: ...") with @p value already cleaned. */
static void header_unstructured(mail_buf *b, const char *field, const char *value) {
    size_t col = strlen(field) + 2;
    buf_str(b, field);
    buf_str(b, ": ");
    if (is_ascii(value) && strstr(value, "=?") == NULL) {
        /* Plain ASCII: fold before a space (the value is cleaned: single spaces only). */
        const char *p = value;
        while (*p) {
            size_t word = strcspn(p, " ");
            mail__buf_add(b, p, word);
            col += word;
            p += word;
            if (*p == ' ') {
                size_t next = strcspn(p + 1, " ");
                if (col + 1 + next > LINE_MAX_CHARS) {
                    buf_str(b, "\r\n ");
                    col = 1;
                } else {
                    buf_ch(b, ' ');
                    col++;
                }
                p++;
            }
        }
    } else {
        encoded_words(b, value, col);
    }
    buf_str(b, "\r\n");
}

/* Appends one address ("Name" <a@b> or =?UTF-8?B?...?= <a@b>); -1 if it is invalid. */
static int address_add(mail_buf *b, const mail_address *a, size_t col) {
    char *name;
    if (!mail_address_valid(a->email))
        return -1;
    name = clean_header_text(a->name, NAME_MAX_BYTES);
    if (name == NULL) {
        b->oom = 1;
        return 0;
    }
    if (*name != '\0' && is_ascii(name) && strstr(name, "=?") == NULL &&
        col + strlen(name) + strlen(a->email) + 5 <= LINE_MAX_CHARS) {
        const char *p;
        buf_ch(b, '"');
        for (p = name; *p; p++) {
            if (*p == '"' || *p == '\\')
                buf_ch(b, '\\');
            buf_ch(b, *p);
        }
        buf_str(b, "\" ");
    } else if (*name != '\0') {
        col = encoded_words(b, name, col);
        if (col + strlen(a->email) + 3 > LINE_MAX_CHARS)
            buf_str(b, "\r\n");
        buf_ch(b, ' ');
    }
    buf_ch(b, '<');
    buf_str(b, a->email);
    buf_ch(b, '>');
    free(name);
    return 0;
}

/* Quoted-printable (RFC 2045) of a body with CRLF line ends; lines stay within 76 characters.
 * Nothing is added at the end: in a multipart body, the CRLF before a boundary is the
 * boundary's. */
static void qp_add(mail_buf *b, const char *body) {
    static const char hex[] = "0123456789ABCDEF";
    const unsigned char *s = (const unsigned char *)body;
    size_t col = 0;
    while (*s) {
        char enc[4];
        size_t n;
        unsigned char c = *s;
        int at_eol = s[1] == '\0' || (s[1] == '\r' && s[2] == '\n');
        if (c == '\r' && s[1] == '\n') {
            buf_str(b, "\r\n");
            col = 0;
            s += 2;
            continue;
        }
        /* Literal unless it must not be: '=', non-ASCII, trailing white space, a leading '.'
         * (SMTP) or the "From " that mbox tools would mangle. */
        if ((c >= 33 && c <= 126 && c != '=' && !(col == 0 && c == '.') &&
             !(col == 0 && c == 'F' && strncmp((const char *)s, "From ", 5) == 0)) ||
            ((c == ' ' || c == '\t') && !at_eol)) {
            enc[0] = (char)c;
            n = 1;
        } else {
            enc[0] = '=';
            enc[1] = hex[c >> 4];
            enc[2] = hex[c & 15];
            n = 3;
        }
        if (col + n > LINE_MAX_CHARS - 1) {
            buf_str(b, "=\r\n");
            col = 0;
            if (n == 1 && (c == '.' || c == 'F')) { /* now at a line start */
                enc[0] = '=';
                enc[1] = hex[c >> 4];
                enc[2] = hex[c & 15];
                n = 3;
            }
        }
        mail__buf_add(b, enc, n);
        col += n;
        s++;
    }
}

/* ---------------------------------------------------------------- compose */

static int random_hex(char *out, size_t bytes) {
    static const char hex[] = "0123456789abcdef";
    unsigned char r[32];
    size_t i;
    if (bytes > sizeof(r) || RAND_bytes(r, (int)bytes) != 1)
        return -1;
    for (i = 0; i < bytes; i++) {
        out[2 * i] = hex[r[i] >> 4];
        out[2 * i + 1] = hex[r[i] & 15];
    }
    out[2 * bytes] = '\0';
    return 0;
}

static void rfc5322_date(char *out, size_t len, time_t t) {
    static const char *const days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                         "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    struct tm tm;
    gmtime_r(&t, &tm);
    snprintf(out, len, "%s, %02d %s %04d %02d:%02d:%02d +0000", days[tm.tm_wday], tm.tm_mday,
             months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

static void part_add(mail_buf *b, const char *type, const char *body) {
    buf_str(b, "Content-Type: ");
    buf_str(b, type);
    buf_str(b, "; charset=UTF-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n");
    qp_add(b, body);
}

/* Composes with a given Message-ID id part (also names .eml files). */
static int compose(const mail_message *msg, const char *id, char **out) {
    mail_buf b = {0};
    char date[64], boundary[64], rnd[33], *subject = NULL, *text = NULL, *html = NULL;
    const char *domain;
    size_t i;
    int rc = MAIL_OK;

    *out = NULL;
    if (msg->from.email == NULL || !mail_address_valid(msg->from.email) || msg->to_count == 0 ||
        msg->to_count > MAX_RECIPIENTS || msg->text == NULL ||
        (msg->reply_to.email != NULL && !mail_address_valid(msg->reply_to.email)))
        return MAIL_EINVAL;
    for (i = 0; i < msg->to_count; i++) {
        if (!mail_address_valid(msg->to[i].email))
            return MAIL_EINVAL;
    }
    if (random_hex(rnd, 12) != 0)
        return MAIL_ETEMP;
    snprintf(boundary, sizeof(boundary), "=_b2b_%s", rnd);
    domain = strchr(msg->from.email, '@') + 1;
    rfc5322_date(date, sizeof(date), time(NULL));
    subject = clean_header_text(msg->subject, SUBJ_MAX_BYTES);
    text = clean_body(msg->text);
    html = msg->html ? clean_body(msg->html) : NULL;
    if (subject == NULL || text == NULL || (msg->html && html == NULL)) {
        rc = MAIL_ENOMEM;
        goto done;
    }

    buf_str(&b, "From: ");
    address_add(&b, &msg->from, 6);
    buf_str(&b, "\r\nTo: ");
    for (i = 0; i < msg->to_count; i++) {
        if (i > 0)
            buf_str(&b, ",\r\n ");
        address_add(&b, &msg->to[i], i == 0 ? 4 : 1);
    }
    buf_str(&b, "\r\n");
    if (msg->reply_to.email != NULL) {
        buf_str(&b, "Reply-To: ");
        address_add(&b, &msg->reply_to, 10);
        buf_str(&b, "\r\n");
    }
    header_unstructured(&b, "Subject", subject);
    buf_str(&b, "Date: ");
    buf_str(&b, date);
    buf_str(&b, "\r\nMessage-ID: <");
    buf_str(&b, id);
    buf_ch(&b, '@');
    buf_str(&b, domain);
    buf_str(&b, ">\r\nMIME-Version: 1.0\r\nAuto-Submitted: auto-generated\r\n");
    if (html == NULL) {
        size_t n = strlen(text);
        part_add(&b, "text/plain", text);
        if (n < 2 || strcmp(text + n - 2, "\r\n") != 0)
            buf_str(&b, "\r\n");
    } else {
        buf_str(&b, "Content-Type: multipart/alternative;\r\n boundary=\"");
        buf_str(&b, boundary);
        buf_str(&b, "\"\r\n\r\nThis is a multi-part message in MIME format.\r\n\r\n--");
        buf_str(&b, boundary);
        buf_str(&b, "\r\n");
        part_add(&b, "text/plain", text);
        buf_str(&b, "\r\n--");
        buf_str(&b, boundary);
        buf_str(&b, "\r\n");
        part_add(&b, "text/html", html);
        buf_str(&b, "\r\n--");
        buf_str(&b, boundary);
        buf_str(&b, "--\r\n");
    }
    if (b.oom)
        rc = MAIL_ENOMEM;
done:
    free(subject);
    free(text);
    free(html);
    if (rc != MAIL_OK) {
        free(b.p);
        return rc;
    }
    *out = b.p;
    return MAIL_OK;
}

int mail_compose(const mail_message *msg, char **out) {
    char id[33];
    if (random_hex(id, 16) != 0)
        return MAIL_ETEMP;
    return compose(msg, id, out);
}

/* ---------------------------------------------------------------- logging */

/* One line with recipients and subject; never bodies (they may carry login codes). */
static void log_mail(const char *what, const mail_message *msg, const char *file) {
    char fields[2048], to[700] = "", esc_to[800], esc_subject[600], esc_file[600];
    size_t i, len = 0;
    char *subject = clean_header_text(msg->subject, 400);
    for (i = 0; i < msg->to_count && len < sizeof(to); i++)
        len += (size_t)snprintf(to + len, sizeof(to) - len, "%s%s", i ? ", " : "",
                                msg->to[i].email ? msg->to[i].email : "");
    srv_json_escape(esc_to, 0, sizeof(esc_to), to);
    srv_json_escape(esc_subject, 0, sizeof(esc_subject), subject ? subject : "");
    srv_json_escape(esc_file, 0, sizeof(esc_file), file ? file : "");
    if (file != NULL)
        snprintf(fields, sizeof(fields), "\"to\":\"%s\",\"subject\":\"%s\",\"file\":\"%s\"", esc_to,
                 esc_subject, esc_file);
    else
        snprintf(fields, sizeof(fields), "\"to\":\"%s\",\"subject\":\"%s\"", esc_to, esc_subject);
    srv_log(SRV_LOG_INFO, NULL, what, fields);
    free(subject);
}

/* ---------------------------------------------------------------- .eml files */

static int mkdirs(const char *dir) {
    char path[4096];
    char *p;
    if (snprintf(path, sizeof(path), "%s", dir) >= (int)sizeof(path))
        return -1;
    for (p = path + 1; *p; p++) {
        if (*p == '/') {
            *p = '\0';
            if (mkdir(path, 0750) != 0 && errno != EEXIST)
                return -1;
            *p = '/';
        }
    }
    return mkdir(path, 0750) != 0 && errno != EEXIST ? -1 : 0;
}

int mail_write_eml(const char *dir, const mail_message *msg, char *path_out, size_t path_len,
                   char *err, size_t errlen) {
    char id[33], stamp[32], path[4096], tmp[4200], *text = NULL;
    struct tm tm;
    struct timespec ts;
    size_t len, off = 0;
    int fd, rc;

    if (dir == NULL || *dir == '\0') {
        snprintf(err, errlen, "no mail directory");
        return MAIL_EINVAL;
    }
    if (random_hex(id, 16) != 0) {
        snprintf(err, errlen, "no random bytes");
        return MAIL_ETEMP;
    }
    rc = compose(msg, id, &text);
    if (rc != MAIL_OK) {
        snprintf(err, errlen, "compose: %s", mail_strerror(rc));
        return rc;
    }
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%S", &tm);
    snprintf(path, sizeof(path), "%s/%s.%03ldZ-%s.eml", dir, stamp, ts.tv_nsec / 1000000, id);
    snprintf(tmp, sizeof(tmp), "%s/.tmp-%s.eml", dir, id);
    if (mkdirs(dir) != 0) {
        snprintf(err, errlen, "cannot create %s: %s", dir, strerror(errno));
        free(text);
        return MAIL_EIO;
    }
    fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
    if (fd < 0) {
        snprintf(err, errlen, "cannot create %s: %s", tmp, strerror(errno));
        free(text);
        return MAIL_EIO;
    }
    len = strlen(text);
    while (off < len) {
        ssize_t w = write(fd, text + off, len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            break;
        off += (size_t)w;
    }
    free(text);
    if (off < len || fsync(fd) != 0 || close(fd) != 0 || rename(tmp, path) != 0) {
        snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
        if (off < len)
            close(fd);
        unlink(tmp);
        return MAIL_EIO;
    }
    if (path_out != NULL)
        snprintf(path_out, path_len, "%s", path);
    log_mail("mail written (no SMTP configured)", msg, path);
    return MAIL_OK;
}

/* ---------------------------------------------------------------- SMTP */

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_result = CURLE_OK;

static void curl_init(void) {
    curl_init_result = curl_global_init(CURL_GLOBAL_DEFAULT);
}

typedef struct upload {
    const char *data;
    size_t len, off;
} upload;

static size_t read_cb(char *dst, size_t size, size_t nmemb, void *arg) {
    upload *u = arg;
    size_t n = size * nmemb;
    if (n > u->len - u->off)
        n = u->len - u->off;
    memcpy(dst, u->data + u->off, n);
    u->off += n;
    return n;
}

int mail_send(const mail_settings *s, const mail_message *msg, char *err, size_t errlen) {
    CURL *h;
    CURLcode cc;
    struct curl_slist *rcpt = NULL;
    char *text = NULL, from[300], curl_err[CURL_ERROR_SIZE] = "";
    upload up;
    long reply = 0;
    size_t i;
    int rc;

    if (s->smtp_url == NULL || *s->smtp_url == '\0')
        return mail_write_eml(s->mail_dir, msg, NULL, 0, err, errlen);
    if (strncmp(s->smtp_url, "smtp://", 7) != 0 && strncmp(s->smtp_url, "smtps://", 8) != 0) {
        snprintf(err, errlen, "B2B_SMTP_URL must start with smtp:// or smtps://");
        return MAIL_EINVAL;
    }
    rc = mail_compose(msg, &text);
    if (rc != MAIL_OK) {
        snprintf(err, errlen, "compose: %s", mail_strerror(rc));
        return rc;
    }
    pthread_once(&curl_once, curl_init);
    h = curl_init_result == CURLE_OK ? curl_easy_init() : NULL;
    if (h == NULL) {
        snprintf(err, errlen, "cannot initialise libcurl");
        free(text);
        return MAIL_ETEMP;
    }
    for (i = 0; i < msg->to_count; i++) {
        char r[300];
        struct curl_slist *n;
        snprintf(r, sizeof(r), "<%s>", msg->to[i].email);
        n = curl_slist_append(rcpt, r);
        if (n == NULL) {
            curl_slist_free_all(rcpt);
            curl_easy_cleanup(h);
            free(text);
            snprintf(err, errlen, "out of memory");
            return MAIL_ENOMEM;
        }
        rcpt = n;
    }
    snprintf(from, sizeof(from), "<%s>", msg->from.email);
    up.data = text;
    up.len = strlen(text);
    up.off = 0;
    curl_easy_setopt(h, CURLOPT_URL, s->smtp_url);
#if LIBCURL_VERSION_NUM >= 0x075500
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
#endif
    curl_easy_setopt(h, CURLOPT_MAIL_FROM, from);
    curl_easy_setopt(h, CURLOPT_MAIL_RCPT, rcpt);
    curl_easy_setopt(h, CURLOPT_READFUNCTION, read_cb);
    curl_easy_setopt(h, CURLOPT_READDATA, &up);
    curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)up.len);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, curl_err);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, s->timeout_ms > 0 ? s->timeout_ms : 30000L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
                     s->timeout_ms > 0 && s->timeout_ms < 10000 ? s->timeout_ms : 10000L);
    if (strncmp(s->smtp_url, "smtp://", 7) == 0) {
        const char *tls = s->starttls ? s->starttls : "required";
        curl_easy_setopt(h, CURLOPT_USE_SSL,
                         strcmp(tls, "off") == 0        ? (long)CURLUSESSL_NONE
                         : strcmp(tls, "optional") == 0 ? (long)CURLUSESSL_TRY
                                                        : (long)CURLUSESSL_ALL);
    }
    if (s->smtp_user != NULL && *s->smtp_user != '\0') {
        curl_easy_setopt(h, CURLOPT_USERNAME, s->smtp_user);
        curl_easy_setopt(h, CURLOPT_PASSWORD, s->smtp_password ? s->smtp_password : "");
    }
    cc = curl_easy_perform(h);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &reply);
    curl_slist_free_all(rcpt);
    curl_easy_cleanup(h);
    free(text);
    if (cc == CURLE_OK) {
        log_mail("mail sent", msg, NULL);
        return MAIL_OK;
    }
    /* A 5xx reply is the server's final word; anything else (no connection, a timeout, a TLS
     * hiccup, 4xx) may pass. */
    rc = reply >= 500 && reply <= 599 ? MAIL_EPERM : MAIL_ETEMP;
    snprintf(err, errlen, "SMTP: %s%s%s (reply %ld)", curl_easy_strerror(cc), *curl_err ? ": " : "",
             curl_err, reply);
    return rc;
}
