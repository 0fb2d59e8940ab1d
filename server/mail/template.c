/* Mail templates: loading (shop override, then built-in), checking, rendering; see mail.h. */
#define _GNU_SOURCE
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "mail.h"
#include "mail_internal.h"

#define TEMPLATE_MAX_BYTES (256 * 1024)

const char *const mail_template_names[] = {"received",
                                           "revised",
                                           "submitted",
                                           "approved_staff",
                                           "approved",
                                           "completed",
                                           "changes_requested_staff",
                                           "changes_requested",
                                           "failed_staff",
                                           "cancelled",
                                           "reminder",
                                           "escalation",
                                           "login_code",
                                           NULL};

/* Every placeholder a template may use. "subject" only in HTML, "content" only in layout.html. */
static const char *const placeholders[] = {
    "order_name", "company", "location", "amount",  "budget_status",  "portal_link",
    "admin_link", "note",    "actor",    "code",    "recipient_name", "hours",
    "minutes",    "reason",  "shop",     "subject", "content",        NULL};

typedef enum tpl_kind { TPL_TEXT, TPL_HTML, TPL_LAYOUT } tpl_kind;

/* ---------------------------------------------------------------- loading */

static int name_ok(const char *s, size_t min, size_t max, int underscore) {
    size_t n = 0;
    for (; s[n]; n++) {
        if (!((s[n] >= 'a' && s[n] <= 'z') ||
              (underscore && (s[n] == '_' || (s[n] >= '0' && s[n] <= '9')))))
            return 0;
    }
    return n >= min && n <= max;
}

/* The file's text or NULL if it does not exist; *@p rc is MAIL_EINVAL when it is too large. */
static char *read_file(const char *path, int *rc) {
    FILE *f = fopen(path, "rb");
    char *text;
    size_t n;
    if (f == NULL)
        return NULL;
    text = malloc(TEMPLATE_MAX_BYTES + 1);
    if (text == NULL) {
        fclose(f);
        *rc = MAIL_ENOMEM;
        return NULL;
    }
    n = fread(text, 1, TEMPLATE_MAX_BYTES + 1, f);
    fclose(f);
    if (n > TEMPLATE_MAX_BYTES) {
        free(text);
        *rc = MAIL_EINVAL;
        return NULL;
    }
    text[n] = '\0';
    return text;
}

static const char *builtin(const char *lang, const char *name, const char *ext) {
    char path[128];
    int i;
    snprintf(path, sizeof(path), "%s/%s.%s", lang, name, ext);
    for (i = 0; i < mail__builtin_count; i++) {
        if (strcmp(mail__builtins[i].path, path) == 0)
            return mail__builtins[i].text;
    }
    return NULL;
}

/* A template's text from @p dir if it has one, else built in (if @p use_builtin); new string or
 * NULL (then *@p rc tells "absent" (MAIL_OK) from an error). */
static char *load(const char *dir, int use_builtin, const char *lang, const char *name,
                  const char *ext, int *rc) {
    const char *b;
    if (dir != NULL && *dir != '\0') {
        char path[4096];
        char *text;
        snprintf(path, sizeof(path), "%s/%s/%s.%s", dir, lang, name, ext);
        text = read_file(path, rc);
        if (text != NULL || *rc != MAIL_OK)
            return text;
    }
    if (!use_builtin || (b = builtin(lang, name, ext)) == NULL)
        return NULL;
    if ((b = strdup(b)) == NULL)
        *rc = MAIL_ENOMEM;
    return (char *)b;
}

/* ---------------------------------------------------------------- checking */

static int known(const char *name, size_t len, tpl_kind kind) {
    size_t i;
    for (i = 0; placeholders[i]; i++) {
        if (strlen(placeholders[i]) == len && strncmp(placeholders[i], name, len) == 0) {
            if (strcmp(placeholders[i], "subject") == 0)
                return kind != TPL_TEXT;
            if (strcmp(placeholders[i], "content") == 0)
                return kind == TPL_LAYOUT;
            return 1;
        }
    }
    return 0;
}

/*
 * Checks every {{placeholder}} of @p text and, for a .txt, the "Subject: " first line (which may
 * not show the login code: subjects are logged and shown in mailbox lists).
 */
static int check(const char *what, const char *text, tpl_kind kind, char *err, size_t errlen) {
    const char *p = text;
    if (kind == TPL_TEXT) {
        size_t first = strcspn(text, "\n");
        const char *code = strstr(text, "{{code}}");
        if (strncmp(text, "Subject: ", 9) != 0) {
            snprintf(err, errlen, "template %s: the first line must be \"Subject: ...\"", what);
            return MAIL_EINVAL;
        }
        if (code != NULL && (size_t)(code - text) < first) {
            snprintf(err, errlen, "template %s: {{code}} may not be in the subject", what);
            return MAIL_EINVAL;
        }
    }
    while ((p = strstr(p, "{{")) != NULL) {
        const char *end = strstr(p + 2, "}}");
        size_t len = end ? (size_t)(end - p - 2) : 0;
        if (end == NULL || !known(p + 2, len, kind)) {
            snprintf(err, errlen, "template %s: unknown placeholder %.*s", what,
                     end ? (int)(len + 4) : 20, p);
            return MAIL_EINVAL;
        }
        p = end + 2;
    }
    return MAIL_OK;
}

static tpl_kind kind_of(const char *name, const char *ext) {
    if (strcmp(ext, "txt") == 0)
        return TPL_TEXT;
    return strcmp(name, "layout") == 0 ? TPL_LAYOUT : TPL_HTML;
}

static int check_dir(const char *dir, char *err, size_t errlen) {
    DIR *top = opendir(dir);
    struct dirent *le;
    int rc = MAIL_OK;
    if (top == NULL) {
        snprintf(err, errlen, "B2B_TEMPLATE_DIR %s cannot be read", dir);
        return MAIL_EINVAL;
    }
    while (rc == MAIL_OK && (le = readdir(top)) != NULL) {
        char sub[4096];
        DIR *d;
        struct dirent *fe;
        if (!name_ok(le->d_name, 2, 3, 0))
            continue;
        snprintf(sub, sizeof(sub), "%s/%s", dir, le->d_name);
        if ((d = opendir(sub)) == NULL)
            continue;
        while (rc == MAIL_OK && (fe = readdir(d)) != NULL) {
            char name[256], path[4400], what[600], *dot, *text;
            snprintf(name, sizeof(name), "%s", fe->d_name);
            dot = strrchr(name, '.');
            if (dot == NULL || (strcmp(dot, ".txt") != 0 && strcmp(dot, ".html") != 0))
                continue;
            *dot = '\0';
            snprintf(path, sizeof(path), "%s/%s", sub, fe->d_name);
            snprintf(what, sizeof(what), "%s/%s", le->d_name, fe->d_name);
            text = read_file(path, &rc);
            if (text == NULL && rc != MAIL_OK)
                snprintf(err, errlen, "template %s is too large", what);
            if (text != NULL)
                rc = check(what, text, kind_of(name, dot + 1), err, errlen);
            free(text);
        }
        closedir(d);
    }
    closedir(top);
    return rc;
}

int mail_templates_check(const char *template_dir, char *err, size_t errlen) {
    int i, rc;
    for (i = 0; i < mail__builtin_count; i++) {
        const char *path = mail__builtins[i].path;
        const char *slash = strchr(path, '/'), *dot = strrchr(path, '.');
        char name[128];
        snprintf(name, sizeof(name), "%.*s", (int)(dot - slash - 1), slash + 1);
        rc = check(path, mail__builtins[i].text, kind_of(name, dot + 1), err, errlen);
        if (rc != MAIL_OK)
            return rc;
    }
    if (template_dir != NULL && *template_dir != '\0')
        return check_dir(template_dir, err, errlen);
    return MAIL_OK;
}

/* ---------------------------------------------------------------- rendering */

/* Appends @p s HTML-escaped; line breaks become <br>. */
static void out_html(mail_buf *b, const char *s) {
    for (; *s; s++) {
        switch (*s) {
        case '&':
            mail__buf_add(b, "&amp;", 5);
            break;
        case '<':
            mail__buf_add(b, "&lt;", 4);
            break;
        case '>':
            mail__buf_add(b, "&gt;", 4);
            break;
        case '"':
            mail__buf_add(b, "&quot;", 6);
            break;
        case '\'':
            mail__buf_add(b, "&#39;", 5);
            break;
        case '\r':
            break;
        case '\n':
            mail__buf_add(b, "<br>\n", 5);
            break;
        default:
            mail__buf_add(b, s, 1);
        }
    }
}

/* The string form of a variable: strings as they are, integers in decimal, else "". */
static const char *var_text(json_t *vars, const char *name, size_t len, char *num, size_t numlen) {
    char key[64];
    json_t *v;
    snprintf(key, sizeof(key), "%.*s", (int)len, name);
    v = json_object_get(vars, key);
    if (json_is_string(v))
        return json_string_value(v);
    if (json_is_integer(v)) {
        snprintf(num, numlen, "%lld", (long long)json_integer_value(v));
        return num;
    }
    return "";
}

/* Replaces the placeholders of @p tpl (already checked); @p html escapes values, except
 * {{content}} (the rendered HTML part inside the layout). New string or NULL. */
static char *substitute(const char *tpl, json_t *vars, int html, const char *content) {
    mail_buf b = {0};
    const char *p = tpl, *open;
    mail__buf_add(&b, "", 0);
    while ((open = strstr(p, "{{")) != NULL) {
        const char *end = strstr(open + 2, "}}");
        size_t len = (size_t)(end - open - 2);
        char num[32];
        mail__buf_add(&b, p, (size_t)(open - p));
        if (content != NULL && len == 7 && strncmp(open + 2, "content", 7) == 0) {
            mail__buf_add(&b, content, strlen(content));
        } else {
            const char *v = var_text(vars, open + 2, len, num, sizeof(num));
            /* "Guten Tag {{recipient_name}}," without a name reads "Guten Tag,". */
            if (*v == '\0' && b.len > 0 && b.p[b.len - 1] == ' ' &&
                (end[2] == ',' || end[2] == '.' || end[2] == '!'))
                b.p[--b.len] = '\0';
            if (html)
                out_html(&b, v);
            else
                mail__buf_add(&b, v, strlen(v));
        }
        p = end + 2;
    }
    mail__buf_add(&b, p, strlen(p));
    if (b.oom) {
        free(b.p);
        return NULL;
    }
    return b.p;
}

/* "de", "de-DE", "EN_us" -> "de", "en"; anything else -> "". */
static void lang_norm(char out[4], const char *lang) {
    size_t i;
    out[0] = '\0';
    for (i = 0; lang != NULL && i < 3 && lang[i] && lang[i] != '-' && lang[i] != '_'; i++) {
        char c = lang[i] >= 'A' && lang[i] <= 'Z' ? (char)(lang[i] + 32) : lang[i];
        if (c < 'a' || c > 'z') {
            out[0] = '\0';
            return;
        }
        out[i] = c;
        out[i + 1] = '\0';
    }
    if (lang != NULL && lang[i] != '\0' && lang[i] != '-' && lang[i] != '_')
        out[0] = '\0';
    if (strlen(out) < 2)
        out[0] = '\0';
}

int mail_render(const char *template_dir, const char *lang, const char *name, json_t *vars,
                mail_message *out, char *err, size_t errlen) {
    const char *langs[2];
    char norm[4], what[300], *txt = NULL, *html = NULL, *layout = NULL, *subject = NULL,
                             *body = NULL, *html_body = NULL, *page = NULL;
    const char *use_lang = NULL, *dir = template_dir && *template_dir ? template_dir : NULL;
    int rc = MAIL_OK, from_dir = 0, i;
    json_t *with_subject = NULL;

    snprintf(err, errlen, "%s", "");
    if (name == NULL || !name_ok(name, 1, 64, 1)) {
        snprintf(err, errlen, "invalid template name");
        return MAIL_EINVAL;
    }
    lang_norm(norm, lang);
    langs[0] = *norm ? norm : "de";
    langs[1] = "de"; /* the shop's default language */
    for (i = 0; i < 2 && txt == NULL && rc == MAIL_OK; i++) {
        use_lang = langs[i];
        if (dir != NULL && (txt = load(dir, 0, use_lang, name, "txt", &rc)) != NULL)
            from_dir = 1;
        else if (rc == MAIL_OK)
            txt = load(NULL, 1, use_lang, name, "txt", &rc);
    }
    if (txt == NULL) {
        if (rc == MAIL_OK) {
            snprintf(err, errlen, "no template %s", name);
            return MAIL_ENOTFOUND;
        }
        snprintf(err, errlen, "template %s/%s.txt: %s", use_lang, name, mail_strerror(rc));
        return rc;
    }
    /* The HTML part comes from where the text came from; an override without one is text-only. */
    html = load(from_dir ? dir : NULL, !from_dir, use_lang, name, "html", &rc);
    if (html != NULL && rc == MAIL_OK)
        layout = load(dir, 1, use_lang, "layout", "html", &rc);
    snprintf(what, sizeof(what), "%s/%s.txt", use_lang, name);
    if (rc == MAIL_OK)
        rc = check(what, txt, TPL_TEXT, err, errlen);
    snprintf(what, sizeof(what), "%s/%s.html", use_lang, name);
    if (rc == MAIL_OK && html != NULL)
        rc = check(what, html, TPL_HTML, err, errlen);
    snprintf(what, sizeof(what), "%s/layout.html", use_lang);
    if (rc == MAIL_OK && layout != NULL)
        rc = check(what, layout, TPL_LAYOUT, err, errlen);
    if (rc != MAIL_OK) {
        if (*err == '\0')
            snprintf(err, errlen, "template %s/%s: %s", use_lang, name, mail_strerror(rc));
        goto done;
    }

    {
        size_t first = strcspn(txt, "\n");
        char *line = strndup(txt + 9, first - 9 - (first > 9 && txt[first - 1] == '\r'));
        const char *rest = txt + first + (txt[first] == '\n');
        if (*rest == '\n')
            rest++;
        else if (rest[0] == '\r' && rest[1] == '\n')
            rest += 2;
        subject = line ? substitute(line, vars, 0, NULL) : NULL;
        free(line);
        /* A value with a line break stays on the subject's one line (compose cleans the rest). */
        for (line = subject; line != NULL && *line; line++) {
            if ((unsigned char)*line < 0x20)
                *line = ' ';
        }
        body = subject ? substitute(rest, vars, 0, NULL) : NULL;
    }
    if (subject == NULL || body == NULL)
        rc = MAIL_ENOMEM;
    if (rc == MAIL_OK && html != NULL) {
        /* {{subject}} in HTML is the rendered subject. */
        with_subject = json_is_object(vars) ? json_deep_copy(vars) : json_object();
        if (with_subject == NULL ||
            json_object_set_new(with_subject, "subject", json_string(subject)) != 0) {
            rc = MAIL_ENOMEM;
        } else {
            html_body = substitute(html, with_subject, 1, NULL);
            page = html_body && layout ? substitute(layout, with_subject, 1, html_body) : NULL;
            if (html_body == NULL || (layout != NULL && page == NULL))
                rc = MAIL_ENOMEM;
        }
    }
    if (rc == MAIL_OK) {
        free(out->subject);
        free(out->text);
        free(out->html);
        out->subject = subject;
        out->text = body;
        out->html = page ? page : html_body;
        if (page)
            free(html_body);
        subject = body = html_body = page = NULL;
    } else {
        snprintf(err, errlen, "out of memory");
    }
done:
    json_decref(with_subject);
    free(txt);
    free(html);
    free(layout);
    free(subject);
    free(body);
    free(html_body);
    free(page);
    return rc;
}
