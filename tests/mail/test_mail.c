/*
 * The mail module without a network: composing (RFC 2047 headers, quoted-printable bodies,
 * multipart structure, Date and Message-ID), header injection through names, subjects and notes,
 * templates (built-in, override, unknown placeholders, HTML escaping, language fallback) and
 * .eml files. Sending over SMTP is tested against a real listener by test_smtp.py.
 */
#define _GNU_SOURCE
#include <check.h>
#include <dirent.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "mail/mail.h"

/* ---------------------------------------------------------------- decoding helpers */

static int b64val(char c) {
    const char *t = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const char *p = c ? strchr(t, c) : NULL;
    return p ? (int)(p - t) : -1;
}

/* Appends the base64 text @p s (length n) decoded to @p out. */
static void b64_decode(const char *s, size_t n, char *out) {
    size_t o = strlen(out), i;
    unsigned acc = 0;
    int bits = 0;
    for (i = 0; i < n && s[i] != '='; i++) {
        int v = b64val(s[i]);
        ck_assert_int_ge(v, 0);
        acc = (acc << 6) | (unsigned)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (char)((acc >> bits) & 0xff);
        }
    }
    out[o] = '\0';
}

/* The value of header @p name in the header section of @p msg, unfolded; "" if absent. */
static void header_get(const char *msg, const char *name, char *out, size_t outlen) {
    const char *p = msg, *end = strstr(msg, "\r\n\r\n");
    size_t nlen = strlen(name), o = 0;
    out[0] = '\0';
    while (p < end) {
        const char *eol = strstr(p, "\r\n");
        if (strncasecmp(p, name, nlen) == 0 && p[nlen] == ':') {
            const char *v = p + nlen + 1;
            for (;;) {
                while (v < eol && o + 1 < outlen)
                    out[o++] = *v++;
                if (eol[2] == ' ' || eol[2] == '\t') {
                    v = eol + 2;
                    eol = strstr(v, "\r\n");
                } else {
                    break;
                }
            }
            out[o] = '\0';
            return;
        }
        p = eol + 2;
    }
}

/* Decodes the RFC 2047 B encoded-words of an unfolded header value; whitespace between
 * adjacent encoded-words is dropped, as the RFC says. */
static void decode_words(const char *in, char *out) {
    const char *p = in;
    int last_word = 0;
    out[0] = '\0';
    while (*p) {
        if (strncmp(p, "=?UTF-8?B?", 10) == 0) {
            const char *end = strstr(p + 10, "?=");
            ck_assert_ptr_nonnull(end);
            b64_decode(p + 10, (size_t)(end - p - 10), out);
            p = end + 2;
            last_word = 1;
        } else if (*p == ' ' && last_word) {
            const char *q = p;
            while (*q == ' ')
                q++;
            if (strncmp(q, "=?", 2) != 0) {
                strncat(out, p, (size_t)(q - p));
                last_word = 0;
            }
            p = q;
        } else {
            strncat(out, p, 1);
            p++;
            last_word = 0;
        }
    }
}

/* Decodes a quoted-printable body (CRLF lines). */
static void qp_decode(const char *in, size_t n, char *out) {
    size_t i = 0, o = 0;
    while (i < n) {
        if (in[i] == '=' && i + 2 < n && in[i + 1] == '\r' && in[i + 2] == '\n') {
            i += 3;
        } else if (in[i] == '=') {
            char hex[3] = {in[i + 1], in[i + 2], 0};
            out[o++] = (char)strtol(hex, NULL, 16);
            i += 3;
        } else {
            out[o++] = in[i++];
        }
    }
    out[o] = '\0';
}

/* Every line of @p msg is ASCII and at most @p max characters. */
static void assert_lines(const char *msg, size_t max) {
    const char *p = msg;
    while (*p) {
        const char *eol = strstr(p, "\r\n");
        const char *q;
        ck_assert_msg(eol != NULL, "line without CRLF: %s", p);
        ck_assert_msg((size_t)(eol - p) <= max, "line too long (%d): %.*s", (int)(eol - p),
                      (int)(eol - p), p);
        for (q = p; q < eol; q++) {
            ck_assert_msg((unsigned char)*q < 0x80 && (*q >= ' ' || *q == '\t'),
                          "bad byte in line %.*s", (int)(eol - p), p);
        }
        p = eol + 2;
    }
}

static void message_fill(mail_message *m, const char *subject, const char *name) {
    mail_message_init(m);
    ck_assert_int_eq(mail_address_parse(&m->from, "b2bbudget <noreply@shop.example>"), MAIL_OK);
    ck_assert_int_eq(mail_message_add_to(m, "anna@kunde.example", name), MAIL_OK);
    m->subject = strdup(subject);
    m->text = strdup("Grüße aus Köln.\n\nZeile zwei.\n");
    m->html = strdup("<p>Grüße aus Köln.</p>\n");
}

/* ---------------------------------------------------------------- compose */

START_TEST(compose_umlaut_subject) {
    const char *subject = "Bestellung Nr. 1001 für Müller & Söhne";
    mail_message m;
    char *out = NULL, raw[2048], decoded[2048];
    message_fill(&m, subject, "Jürgen Müller");
    ck_assert_int_eq(mail_compose(&m, &out), MAIL_OK);
    assert_lines(out, 78);
    header_get(out, "Subject", raw, sizeof(raw));
    ck_assert_ptr_nonnull(strstr(raw, "=?UTF-8?B?"));
    decode_words(raw + 1, decoded);
    ck_assert_str_eq(decoded, subject);
    header_get(out, "To", raw, sizeof(raw));
    decode_words(raw + 1, decoded);
    ck_assert_str_eq(decoded, "Jürgen Müller <anna@kunde.example>");
    header_get(out, "From", raw, sizeof(raw));
    ck_assert_str_eq(raw, " \"b2bbudget\" <noreply@shop.example>");
    free(out);
    mail_message_clear(&m);
}
END_TEST

START_TEST(compose_long_subject_folds) {
    char subject[600], raw[4096], decoded[4096];
    mail_message m;
    char *out = NULL;
    int i;
    subject[0] = '\0';
    for (i = 0; i < 20; i++)
        strcat(subject, "Überprüfung ä€😀 ");
    subject[strlen(subject) - 1] = '\0';
    message_fill(&m, subject, NULL);
    ck_assert_int_eq(mail_compose(&m, &out), MAIL_OK);
    assert_lines(out, 76);
    header_get(out, "Subject", raw, sizeof(raw));
    decode_words(raw + 1, decoded);
    ck_assert_str_eq(decoded, subject);
    free(out);
    mail_message_clear(&m);

    /* A long ASCII subject is folded at spaces, not encoded. */
    memset(subject, 0, sizeof(subject));
    for (i = 0; i < 12; i++)
        strcat(subject, "Approval needed ");
    subject[strlen(subject) - 1] = '\0';
    message_fill(&m, subject, NULL);
    ck_assert_int_eq(mail_compose(&m, &out), MAIL_OK);
    assert_lines(out, 78);
    header_get(out, "Subject", raw, sizeof(raw));
    ck_assert_ptr_null(strstr(raw, "=?"));
    ck_assert_str_eq(raw + 1, subject);
    free(out);
    mail_message_clear(&m);
}
END_TEST

START_TEST(compose_headers_present) {
    mail_message m;
    char *out = NULL, v[512];
    message_fill(&m, "Hallo", "Anna");
    ck_assert_int_eq(mail_address_set(&m.reply_to, "staff@shop.example", "Shop"), MAIL_OK);
    ck_assert_int_eq(mail_compose(&m, &out), MAIL_OK);
    header_get(out, "Message-ID", v, sizeof(v));
    ck_assert_msg(v[1] == '<' && strstr(v, "@shop.example>") != NULL, "Message-ID %s", v);
    header_get(out, "Date", v, sizeof(v));
    ck_assert_msg(strlen(v) == 32 && strstr(v, " +0000") != NULL, "Date %s", v);
    header_get(out, "MIME-Version", v, sizeof(v));
    ck_assert_str_eq(v, " 1.0");
    header_get(out, "Reply-To", v, sizeof(v));
    ck_assert_str_eq(v, " \"Shop\" <staff@shop.example>");
    header_get(out, "To", v, sizeof(v));
    ck_assert_str_eq(v, " \"Anna\" <anna@kunde.example>");
    free(out);
    mail_message_clear(&m);
}
END_TEST

START_TEST(compose_multipart) {
    mail_message m;
    char *out = NULL, v[512], boundary[128], marker[160], decoded[1024];
    const char *text, *html, *end, *body;
    message_fill(&m, "Hallo", NULL);
    ck_assert_int_eq(mail_compose(&m, &out), MAIL_OK);
    header_get(out, "Content-Type", v, sizeof(v));
    ck_assert_ptr_nonnull(strstr(v, "multipart/alternative;"));
    ck_assert_int_eq(sscanf(strstr(v, "boundary=\"") + 10, "%127[^\"]", boundary), 1);
    snprintf(marker, sizeof(marker), "\r\n--%s\r\n", boundary);
    text = strstr(out, marker);
    ck_assert_ptr_nonnull(text);
    html = strstr(text + 1, marker);
    ck_assert_ptr_nonnull(html);
    snprintf(marker, sizeof(marker), "\r\n--%s--\r\n", boundary);
    end = strstr(html, marker);
    ck_assert_ptr_nonnull(end);
    ck_assert_ptr_nonnull(strstr(text, "Content-Type: text/plain; charset=UTF-8\r\n"));
    ck_assert_ptr_nonnull(strstr(html, "Content-Type: text/html; charset=UTF-8\r\n"));
    ck_assert_ptr_nonnull(strstr(text, "Content-Transfer-Encoding: quoted-printable\r\n"));
    body = strstr(text, "\r\n\r\n") + 4;
    qp_decode(body, (size_t)(html - body), decoded);
    ck_assert_str_eq(decoded, "Grüße aus Köln.\r\n\r\nZeile zwei.\r\n");
    body = strstr(html, "\r\n\r\n") + 4;
    qp_decode(body, (size_t)(end - body), decoded);
    ck_assert_str_eq(decoded, "<p>Grüße aus Köln.</p>\r\n");
    free(out);
    mail_message_clear(&m);

    /* Without HTML: one text/plain part. */
    message_fill(&m, "Hallo", NULL);
    free(m.html);
    m.html = NULL;
    ck_assert_int_eq(mail_compose(&m, &out), MAIL_OK);
    header_get(out, "Content-Type", v, sizeof(v));
    ck_assert_str_eq(v, " text/plain; charset=UTF-8");
    free(out);
    mail_message_clear(&m);
}
END_TEST

START_TEST(compose_quoted_printable) {
    mail_message m;
    char *out = NULL, text[4096], decoded[8192];
    const char *body;
    int i;
    /* Long lines, '=' signs, trailing spaces, lines starting with '.' and "From ". */
    strcpy(text, ".dot\nFrom here\ntrailing   \n");
    for (i = 0; i < 40; i++)
        strcat(text, "ä=ö ");
    strcat(text, "\n");
    for (i = 0; i < 30; i++)
        strcat(text, "abcdefghij");
    strcat(text, "\n");
    message_fill(&m, "QP", NULL);
    free(m.text);
    free(m.html);
    m.html = NULL;
    m.text = strdup(text);
    ck_assert_int_eq(mail_compose(&m, &out), MAIL_OK);
    assert_lines(out, 76);
    body = strstr(out, "\r\n\r\n") + 4;
    ck_assert_ptr_null(strstr(body, "\r\n."));
    ck_assert(strncmp(body, ".", 1) != 0);
    ck_assert_ptr_null(strstr(body, "\r\nFrom "));
    qp_decode(body, strlen(body), decoded);
    {
        /* The decoded body is the text with CRLF line ends. */
        char expect[8192];
        size_t o = 0;
        for (i = 0; text[i]; i++) {
            if (text[i] == '\n')
                expect[o++] = '\r';
            expect[o++] = text[i];
        }
        expect[o] = '\0';
        ck_assert_str_eq(decoded, expect);
    }
    free(out);
    mail_message_clear(&m);
}
END_TEST

/* No header value can start a new header: CR, LF and other controls become spaces. */
START_TEST(compose_header_injection) {
    mail_message m;
    char *out = NULL, v[1024];
    const char *p, *end;
    message_fill(&m, "Bestellung 1001\r\nBcc: x@y", "Evil\r\nBcc: x@y");
    ck_assert_int_eq(mail_address_set(&m.reply_to, "staff@shop.example", "R\nBcc: z@y\r\n\r\nbody"),
                     MAIL_OK);
    free(m.text);
    m.text = strdup("Note:\r\nBcc: x@y\r\n\r\n--fake-boundary\r\n");
    ck_assert_int_eq(mail_compose(&m, &out), MAIL_OK);
    end = strstr(out, "\r\n\r\n");
    for (p = out; p < end; p = strstr(p, "\r\n") + 2) {
        ck_assert_msg(strncasecmp(p, "Bcc:", 4) != 0, "injected header in %s", out);
        ck_assert_msg(p[0] == ' ' || strchr(p, ':') < strstr(p, "\r\n"), "bad line %s", p);
    }
    header_get(out, "Subject", v, sizeof(v));
    ck_assert_str_eq(v, " Bestellung 1001 Bcc: x@y");
    header_get(out, "To", v, sizeof(v));
    ck_assert_str_eq(v, " \"Evil Bcc: x@y\" <anna@kunde.example>");
    header_get(out, "Reply-To", v, sizeof(v));
    ck_assert_str_eq(v, " \"R Bcc: z@y body\" <staff@shop.example>");
    free(out);
    mail_message_clear(&m);

    /* Quotes and backslashes in names are escaped inside the quoted string. */
    message_fill(&m, "x", "A \"B\" \\C");
    ck_assert_int_eq(mail_compose(&m, &out), MAIL_OK);
    header_get(out, "To", v, sizeof(v));
    ck_assert_str_eq(v, " \"A \\\"B\\\" \\\\C\" <anna@kunde.example>");
    free(out);
    mail_message_clear(&m);

    /* An address itself is never cleaned up: it is refused. */
    message_fill(&m, "x", NULL);
    ck_assert_int_eq(mail_message_add_to(&m, "a@b.example\r\nBcc: x@y", NULL), MAIL_OK);
    ck_assert_int_eq(mail_compose(&m, &out), MAIL_EINVAL);
    ck_assert_ptr_null(out);
    mail_message_clear(&m);
}
END_TEST

START_TEST(addresses) {
    mail_address a = {0};
    ck_assert(mail_address_valid("a@b.example"));
    ck_assert(!mail_address_valid("a b@c.example"));
    ck_assert(!mail_address_valid("a@b@c"));
    ck_assert(!mail_address_valid("<a@b.example>"));
    ck_assert(!mail_address_valid("müller@b.example"));
    ck_assert(!mail_address_valid("nobody"));
    ck_assert_int_eq(mail_address_parse(&a, "Shop Müller <shop@example.com>"), MAIL_OK);
    ck_assert_str_eq(a.email, "shop@example.com");
    ck_assert_str_eq(a.name, "Shop Müller");
    ck_assert_int_eq(mail_address_parse(&a, "\"Quoted\" <q@example.com>"), MAIL_OK);
    ck_assert_str_eq(a.name, "Quoted");
    ck_assert_int_eq(mail_address_parse(&a, "plain@example.com"), MAIL_OK);
    ck_assert_ptr_null(a.name);
    ck_assert_int_eq(mail_address_parse(&a, "x <bad>"), MAIL_EINVAL);
    ck_assert_int_eq(mail_address_parse(&a, "x <a@b.example> trailing"), MAIL_EINVAL);
    free(a.email);
    free(a.name);
    ck_assert(mail_status_retryable(MAIL_ETEMP));
    ck_assert(!mail_status_retryable(MAIL_EPERM));
    ck_assert_str_eq(mail_strerror(MAIL_EINVAL), "invalid message, address or template");
}
END_TEST

/* ---------------------------------------------------------------- templates */

static char tmpdir[256];

static void write_file(const char *rel, const char *text) {
    char path[512], dir[512];
    FILE *f;
    snprintf(path, sizeof(path), "%s/%s", tmpdir, rel);
    snprintf(dir, sizeof(dir), "%s", path);
    *strrchr(dir, '/') = '\0';
    mkdir(dir, 0700);
    f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
}

static void rm_rf(const char *path) {
    char cmd[600];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", path);
    ck_assert_int_eq(system(cmd), 0);
}

static void make_tmpdir(void) {
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/b2b-mail-test-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static json_t *sample_vars(void) {
    return json_pack(
        "{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:i,s:s}", "order_name", "#1001", "company",
        "Müller & Söhne <GmbH>", "location", "Köln", "amount", "1.234,56 €", "budget_status",
        "Im Rahmen", "portal_link", "https://portal.example/orders/abc?x=1&y=2", "admin_link",
        "https://shop.example/admin/draft_orders/1", "note", "Bitte <b>nur</b> 5 Stück\nstatt 10",
        "actor", "Anna", "recipient_name", "Jürgen", "hours", 48, "code", "123456");
}

START_TEST(render_every_builtin) {
    const char *langs[] = {"de", "en"};
    char err[256];
    size_t i, l;
    json_t *vars = sample_vars();
    ck_assert_int_eq(mail_templates_check(NULL, err, sizeof(err)), MAIL_OK);
    for (l = 0; l < 2; l++) {
        for (i = 0; mail_template_names[i]; i++) {
            mail_message m;
            mail_message_init(&m);
            ck_assert_msg(mail_render(NULL, langs[l], mail_template_names[i], vars, &m, err,
                                      sizeof(err)) == MAIL_OK,
                          "%s/%s: %s", langs[l], mail_template_names[i], err);
            ck_assert(*m.subject != '\0');
            ck_assert_ptr_null(strstr(m.subject, "{{"));
            ck_assert_ptr_null(strstr(m.subject, "123456"));
            ck_assert_ptr_null(strstr(m.text, "{{"));
            ck_assert_ptr_nonnull(m.html);
            ck_assert_ptr_null(strstr(m.html, "{{"));
            ck_assert_ptr_nonnull(strstr(m.html, l == 0 ? "<html lang=\"de\">" : "lang=\"en\""));
            ck_assert_ptr_null(strstr(m.html, "<GmbH>"));
            mail_message_clear(&m);
        }
    }
    json_decref(vars);
}
END_TEST

START_TEST(render_values) {
    mail_message m;
    char err[256];
    json_t *vars = sample_vars();
    mail_message_init(&m);
    ck_assert_int_eq(mail_render(NULL, "de", "changes_requested_staff", vars, &m, err, sizeof(err)),
                     MAIL_OK);
    ck_assert_str_eq(m.subject, "Änderungen angefordert: #1001 von Müller & Söhne <GmbH>");
    /* Text: values as they are; HTML: escaped, line breaks kept. */
    ck_assert_ptr_nonnull(strstr(m.text, "Bitte <b>nur</b> 5 Stück\nstatt 10"));
    ck_assert_ptr_nonnull(strstr(m.text, "https://shop.example/admin/draft_orders/1"));
    ck_assert_ptr_nonnull(strstr(m.html, "Bitte &lt;b&gt;nur&lt;/b&gt; 5 Stück<br>\nstatt 10"));
    ck_assert_ptr_nonnull(strstr(m.html, "Müller &amp; Söhne &lt;GmbH&gt;"));
    ck_assert_ptr_nonnull(strstr(m.html, "href=\"https://shop.example/admin/draft_orders/1\""));
    ck_assert_ptr_nonnull(
        strstr(m.html, "<title>Änderungen angefordert: #1001 von Müller &amp; Söhne"));
    mail_message_clear(&m);

    /* Language: "en-GB" is English; an unknown language falls back to German. */
    mail_message_init(&m);
    ck_assert_int_eq(mail_render(NULL, "en-GB", "received", vars, &m, err, sizeof(err)), MAIL_OK);
    ck_assert_str_eq(m.subject, "New draft order #1001 to review");
    ck_assert_ptr_nonnull(strstr(m.text, "Hello Jürgen,"));
    ck_assert_ptr_nonnull(strstr(m.html, "href=\"https://portal.example/orders/abc?x=1&amp;y=2\""));
    ck_assert_int_eq(mail_render(NULL, "fr", "received", vars, &m, err, sizeof(err)), MAIL_OK);
    ck_assert_str_eq(m.subject, "Neuer Bestellentwurf #1001 zur Prüfung");
    mail_message_clear(&m);

    /* An empty name swallows the space before the comma. */
    json_object_del(vars, "recipient_name");
    mail_message_init(&m);
    ck_assert_int_eq(mail_render(NULL, "de", "received", vars, &m, err, sizeof(err)), MAIL_OK);
    ck_assert_ptr_nonnull(strstr(m.text, "Guten Tag,\n"));
    mail_message_clear(&m);

    ck_assert_int_eq(mail_render(NULL, "de", "nope", vars, &m, err, sizeof(err)), MAIL_ENOTFOUND);
    ck_assert_int_eq(mail_render(NULL, "de", "../etc/passwd", vars, &m, err, sizeof(err)),
                     MAIL_EINVAL);
    json_decref(vars);
}
END_TEST

START_TEST(render_override) {
    mail_message m;
    char err[256];
    json_t *vars = sample_vars();
    make_tmpdir();
    /* An override with text only: no HTML part. Another language falls back to built in. */
    write_file("de/received.txt", "Subject: Shop sagt: {{order_name}}\n\nHallo {{company}}\n");
    mail_message_init(&m);
    ck_assert_int_eq(mail_render(tmpdir, "de", "received", vars, &m, err, sizeof(err)), MAIL_OK);
    ck_assert_str_eq(m.subject, "Shop sagt: #1001");
    ck_assert_str_eq(m.text, "Hallo Müller & Söhne <GmbH>\n");
    ck_assert_ptr_null(m.html);
    ck_assert_int_eq(mail_render(tmpdir, "en", "received", vars, &m, err, sizeof(err)), MAIL_OK);
    ck_assert_str_eq(m.subject, "New draft order #1001 to review");
    ck_assert_ptr_nonnull(m.html);
    mail_message_clear(&m);

    /* With HTML and the shop's own layout. */
    write_file("de/received.html", "<p>{{company}}</p>");
    write_file("de/layout.html", "<main title=\"{{subject}}\">{{content}}</main>");
    mail_message_init(&m);
    ck_assert_int_eq(mail_render(tmpdir, "de", "received", vars, &m, err, sizeof(err)), MAIL_OK);
    ck_assert_str_eq(
        m.html, "<main title=\"Shop sagt: #1001\"><p>Müller &amp; Söhne &lt;GmbH&gt;</p></main>");
    mail_message_clear(&m);
    ck_assert_int_eq(mail_templates_check(tmpdir, err, sizeof(err)), MAIL_OK);
    {
        srv_config cfg;
        memset(&cfg, 0, sizeof(cfg));
        cfg.mail_from = "Shop <noreply@shop.example>";
        cfg.template_dir = tmpdir;
        ck_assert_int_eq(mail_config_check(&cfg, err, sizeof(err)), MAIL_OK);
        cfg.mail_from = "not an address";
        ck_assert_int_eq(mail_config_check(&cfg, err, sizeof(err)), MAIL_EINVAL);
        ck_assert_ptr_nonnull(strstr(err, "B2B_MAIL_FROM"));
    }

    /* Unknown placeholders are refused when loading, naming the file and the placeholder. */
    write_file("en/approved.txt", "Subject: ok\n\n{{order_name}} {{order_total}}\n");
    mail_message_init(&m);
    ck_assert_int_eq(mail_render(tmpdir, "en", "approved", vars, &m, err, sizeof(err)),
                     MAIL_EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "en/approved.txt"));
    ck_assert_ptr_nonnull(strstr(err, "{{order_total}}"));
    ck_assert_ptr_null(m.subject);
    ck_assert_int_eq(mail_templates_check(tmpdir, err, sizeof(err)), MAIL_EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "{{order_total}}"));
    write_file("en/approved.txt", "Subject: ok\n\n{{order_name\n");
    ck_assert_int_eq(mail_render(tmpdir, "en", "approved", vars, &m, err, sizeof(err)),
                     MAIL_EINVAL);
    write_file("en/approved.txt", "Subject: ok\n\n{{content}}\n");
    ck_assert_int_eq(mail_render(tmpdir, "en", "approved", vars, &m, err, sizeof(err)),
                     MAIL_EINVAL);
    /* The login code never goes into a subject (subjects are logged). */
    write_file("en/approved.txt", "Subject: your code {{code}}\n\nbody\n");
    ck_assert_int_eq(mail_render(tmpdir, "en", "approved", vars, &m, err, sizeof(err)),
                     MAIL_EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "subject"));
    write_file("en/approved.txt", "no subject line\n");
    ck_assert_int_eq(mail_render(tmpdir, "en", "approved", vars, &m, err, sizeof(err)),
                     MAIL_EINVAL);
    write_file("en/approved.txt", "Subject: fine\n\nbody\n");
    write_file("en/approved.html", "<p>{{nonsense}}</p>");
    ck_assert_int_eq(mail_render(tmpdir, "en", "approved", vars, &m, err, sizeof(err)),
                     MAIL_EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "en/approved.html"));
    mail_message_clear(&m);
    rm_rf(tmpdir);
    json_decref(vars);
}
END_TEST

START_TEST(eml_file) {
    mail_message m;
    char err[256], path[1024], dir[512];
    DIR *d;
    struct dirent *e;
    int files = 0;
    FILE *f;
    char buf[8192];
    size_t n;
    make_tmpdir();
    snprintf(dir, sizeof(dir), "%s/var/mail", tmpdir);
    message_fill(&m, "Ihr Anmeldecode", "Jürgen");
    ck_assert_int_eq(mail_write_eml(dir, &m, path, sizeof(path), err, sizeof(err)), MAIL_OK);
    ck_assert_int_eq(strncmp(path, dir, strlen(dir)), 0);
    ck_assert_str_eq(path + strlen(path) - 4, ".eml");
    d = opendir(dir);
    ck_assert_ptr_nonnull(d);
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.' && (e->d_name[1] == '\0' || e->d_name[1] == '.'))
            continue;
        ck_assert_msg(strncmp(e->d_name, ".tmp", 4) != 0, "leftover %s", e->d_name);
        files++;
    }
    closedir(d);
    ck_assert_int_eq(files, 1);
    f = fopen(path, "rb");
    ck_assert_ptr_nonnull(f);
    n = fread(buf, 1, sizeof(buf) - 1, f);
    buf[n] = '\0';
    fclose(f);
    ck_assert_int_eq(strncmp(buf, "From: ", 6), 0);
    ck_assert_ptr_nonnull(strstr(buf, "Message-ID: <"));
    /* mail_send without an SMTP URL writes the same way. */
    {
        mail_settings s = {"", "", "", "off", dir, 1000};
        ck_assert_int_eq(mail_send(&s, &m, err, sizeof(err)), MAIL_OK);
    }
    mail_message_clear(&m);
    rm_rf(tmpdir);
}
END_TEST

static Suite *suite(void) {
    Suite *s = suite_create("mail");
    TCase *c = tcase_create("compose");
    tcase_add_test(c, compose_umlaut_subject);
    tcase_add_test(c, compose_long_subject_folds);
    tcase_add_test(c, compose_headers_present);
    tcase_add_test(c, compose_multipart);
    tcase_add_test(c, compose_quoted_printable);
    tcase_add_test(c, compose_header_injection);
    tcase_add_test(c, addresses);
    suite_add_tcase(s, c);
    c = tcase_create("templates");
    tcase_add_test(c, render_every_builtin);
    tcase_add_test(c, render_values);
    tcase_add_test(c, render_override);
    tcase_add_test(c, eml_file);
    suite_add_tcase(s, c);
    return s;
}

int main(void) {
    SRunner *sr = srunner_create(suite());
    int failed;
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
