/*
 * Email: composing RFC 5322 / MIME messages, sending them over SMTP with libcurl (blocking: call
 * from worker threads only), writing them as .eml files when no SMTP server is configured, and
 * rendering them from templates (built into the binary; a shop may override any of them in
 * B2B_TEMPLATE_DIR).
 *
 * Header values never carry what a user typed verbatim: names and subjects lose every control
 * character (CR and LF included, so no header can be injected), non-ASCII text is sent as RFC 2047
 * encoded-words, and addresses with anything but plain ASCII address characters are refused.
 */
#ifndef SRV_MAIL_H
#define SRV_MAIL_H

#include <jansson.h>
#include <stddef.h>

struct srv_config;

/* Status codes: X(name, value, text). Append only; never renumber. */
#define MAIL_STATUS_MAP(X)                                                                         \
    X(MAIL_OK, 0, "ok")                                                                            \
    X(MAIL_ETEMP, -1, "temporary failure; try again later")                                        \
    X(MAIL_EPERM, -2, "the mail server refused the message")                                       \
    X(MAIL_EINVAL, -3, "invalid message, address or template")                                     \
    X(MAIL_ENOTFOUND, -4, "no such template")                                                      \
    X(MAIL_ENOMEM, -5, "out of memory")                                                            \
    X(MAIL_EIO, -6, "cannot write the mail file")

#define MAIL_STATUS_ENUM(name, value, text) name = value,
typedef enum mail_status { MAIL_STATUS_MAP(MAIL_STATUS_ENUM) } mail_status;
#undef MAIL_STATUS_ENUM

/* Static text of a status code. */
const char *mail_strerror(int status);

/* Whether a failure with @p status may succeed when tried again later (ETEMP, ENOMEM, EIO). */
int mail_status_retryable(int status);

/* An address with an optional display name (both owned; name may be NULL). */
typedef struct mail_address {
    char *email;
    char *name;
} mail_address;

/*
 * One message. Every string is owned by the message and released by mail_message_clear().
 * html may be NULL (then the message is a single text/plain part); reply_to.email may be NULL.
 */
typedef struct mail_message {
    mail_address from;
    mail_address *to;
    size_t to_count;
    mail_address reply_to;
    char *subject;
    char *text;
    char *html;
} mail_message;

void mail_message_init(mail_message *msg);
void mail_message_clear(mail_message *msg);

/* Sets @p out to copies of @p email and @p name (NULL or "" for none). MAIL_OK or MAIL_ENOMEM. */
int mail_address_set(mail_address *out, const char *email, const char *name);

/* Parses "Name <user@example.com>" or "user@example.com" into @p out. MAIL_OK or MAIL_EINVAL. */
int mail_address_parse(mail_address *out, const char *spec);

/* Appends a recipient. MAIL_OK or MAIL_ENOMEM (addresses are checked when composing). */
int mail_message_add_to(mail_message *msg, const char *email, const char *name);

/* 1 if @p email is a plain ASCII address (local@domain, no spaces, quotes or brackets). */
int mail_address_valid(const char *email);

/*
 * Composes @p msg as an RFC 5322 message with CRLF line ends: From, To, optional Reply-To,
 * Subject, Date (UTC), Message-ID (random, at the sender's domain), MIME-Version and a
 * multipart/alternative body of text/plain and text/html (UTF-8, quoted-printable).
 * On MAIL_OK, *@p out is a new NUL-terminated string the caller frees. MAIL_EINVAL when the
 * sender or a recipient is not a valid address, there are no recipients or no text body.
 */
int mail_compose(const mail_message *msg, char **out);

/* How mail leaves the server; every string is borrowed. */
typedef struct mail_settings {
    const char *smtp_url;      /* smtp://host:port or smtps://host:port; "" writes .eml files */
    const char *smtp_user;     /* "" for no AUTH */
    const char *smtp_password; /* secret */
    const char *starttls;      /* "required", "optional" or "off" (ignored for smtps://) */
    const char *mail_dir;      /* directory of .eml files when smtp_url is "" */
    long timeout_ms;           /* whole SMTP conversation */
} mail_settings;

/*
 * Sends @p msg over SMTP, or writes it with mail_write_eml() when no SMTP URL is set. Blocking.
 * Returns MAIL_OK; MAIL_ETEMP for connection failures, timeouts and 4xx replies; MAIL_EPERM for
 * 5xx replies (e.g. a refused recipient or failed AUTH); MAIL_EINVAL for an invalid message or
 * settings; MAIL_EIO, MAIL_ENOMEM. @p err receives a message without secrets.
 */
int mail_send(const mail_settings *settings, const mail_message *msg, char *err, size_t errlen);

/*
 * Writes @p msg atomically (temporary file, then rename) as @p dir/<UTC timestamp>-<id>.eml,
 * creating @p dir if needed, and logs one line with recipients and subject. @p path_out (may be
 * NULL) receives the file name. Returns MAIL_OK, MAIL_EINVAL, MAIL_EIO or MAIL_ENOMEM.
 */
int mail_write_eml(const char *dir, const mail_message *msg, char *path_out, size_t path_len,
                   char *err, size_t errlen);

/*
 * Renders template @p name ("received", "login_code", ...) in @p lang ("de", "en"; anything
 * else falls back to German) into out->subject, out->text and out->html, replacing
 * {{placeholder}}s with the string or number values of @p vars (borrowed; missing ones render
 * empty). Values are HTML-escaped in the HTML part. @p template_dir (NULL or "" for none) is read
 * first: <dir>/<lang>/<name>.txt (first line "Subject: ...") and, optionally, <name>.html, and
 * layout.html; then the built-in templates. A template using an unknown placeholder, or {{code}}
 * in a subject (subjects are logged), is refused with MAIL_EINVAL and a message in @p err.
 * Returns MAIL_OK, MAIL_ENOTFOUND, MAIL_EINVAL or MAIL_ENOMEM.
 */
int mail_render(const char *template_dir, const char *lang, const char *name, json_t *vars,
                mail_message *out, char *err, size_t errlen);

/*
 * Loads every built-in template and every template in @p template_dir (may be NULL), checking
 * their placeholders, so a broken override is found at start rather than at the first mail.
 * Returns MAIL_OK or the first error (MAIL_EINVAL) with the file named in @p err.
 */
int mail_templates_check(const char *template_dir, char *err, size_t errlen);

/* The names of the built-in templates, NULL-terminated. */
extern const char *const mail_template_names[];

/*
 * Checks the mail settings of @p cfg at start: B2B_MAIL_FROM is an address and every template
 * (built-in and B2B_TEMPLATE_DIR) loads. Returns MAIL_OK or MAIL_EINVAL with @p err set.
 */
int mail_config_check(const struct srv_config *cfg, char *err, size_t errlen);

/*
 * The job of kind "email": payload {"to":[{"email","name"}], "lang", "template", "vars":{...}}.
 * Besides strings and numbers, vars may hold: "amount" as {"amount": minor units, "currency":
 * "EUR"} (formatted for the language), "budget_status" as a level name ("within", "near", ...;
 * shown as its label), "order_id" (the opaque public id; gives portal_link), "draft_id" (gives
 * admin_link into the Shopify admin). Returns 0 when the mail was sent (or written), else -1 with
 * @p err set and *@p retryable 1 if a later attempt may succeed.
 */
int mail_job_run(const struct srv_config *cfg, json_t *payload, char *err, size_t errlen,
                 int *retryable);

#endif
