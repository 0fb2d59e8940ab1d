/* The "email" job: payload -> template variables -> message -> SMTP or .eml; see mail.h. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "b2bbudget.h"

#include "config.h"
#include "mail.h"

/* Login codes are valid this long (DOMAIN.md); shown in the login_code mail. */
#define LOGIN_CODE_MINUTES 10

static int id_ok(const char *s) {
    size_t n = 0;
    for (; s[n]; n++) {
        char c = s[n];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_'))
            return 0;
    }
    return n > 0 && n <= 128;
}

/* The base URL without trailing slashes. */
static void base_url(char *out, size_t len, const char *url) {
    size_t n;
    snprintf(out, len, "%s", url ? url : "");
    n = strlen(out);
    while (n > 0 && out[n - 1] == '/')
        out[--n] = '\0';
}

/*
 * The variables a template sees: the payload's strings and numbers, with amount, budget_status
 * and links made from their raw forms here, in the recipient's language, from the settings
 * (links are never taken from the payload, so a mail can only point at this portal and shop).
 * New reference or NULL.
 */
static json_t *template_vars(const srv_config *cfg, json_t *in, b2b_lang lang, char *err,
                             size_t errlen) {
    json_t *vars = json_object(), *v;
    const char *key;
    char base[1024], link[1400];
    if (vars == NULL)
        return NULL;
    json_object_foreach(in, key, v) {
        if (strcmp(key, "portal_link") == 0 || strcmp(key, "admin_link") == 0)
            continue;
        if (json_is_string(v) && strcmp(key, "note") != 0 && strcmp(key, "reason") != 0) {
            /* Names and numbers stay on their line; only notes and reasons have several. */
            char *one = strdup(json_string_value(v)), *p, *w;
            for (p = w = one; p != NULL && *p; p++) {
                int ctl = (unsigned char)*p < 0x20 || *p == 0x7f;
                if (!ctl)
                    *w++ = *p;
                else if (w > one && w[-1] != ' ')
                    *w++ = ' ';
            }
            if (one != NULL)
                *w = '\0';
            json_object_set_new(vars, key, json_string(one ? one : ""));
            free(one);
        } else if (json_is_string(v) || json_is_integer(v)) {
            json_object_set(vars, key, v);
        }
    }
    v = json_object_get(in, "amount");
    if (json_is_object(v)) {
        b2b_text t;
        json_t *minor = json_object_get(v, "amount");
        const char *cur = json_string_value(json_object_get(v, "currency"));
        if (!json_is_integer(minor) || cur == NULL ||
            b2b_money_display(&t, (int64_t)json_integer_value(minor), cur, lang) != B2B_OK) {
            snprintf(err, errlen, "vars.amount must be {\"amount\": minor units, \"currency\"}");
            json_decref(vars);
            return NULL;
        }
        json_object_set_new(vars, "amount", json_string(t.text));
    }
    v = json_object_get(in, "budget_status");
    if (json_is_string(v)) {
        b2b_level level;
        if (b2b_level_from_name(&level, json_string_value(v)) == B2B_OK)
            json_object_set_new(vars, "budget_status", json_string(b2b_level_label(level, lang)));
    }
    base_url(base, sizeof(base), cfg->portal_url);
    v = json_object_get(in, "order_id");
    if (json_is_string(v) && id_ok(json_string_value(v)))
        snprintf(link, sizeof(link), "%s/orders/%s", base, json_string_value(v));
    else
        snprintf(link, sizeof(link), "%s/", base);
    json_object_set_new(vars, "portal_link", json_string(link));
    v = json_object_get(in, "draft_id");
    if (json_is_integer(v) && cfg->shopify_shop != NULL && *cfg->shopify_shop != '\0') {
        snprintf(link, sizeof(link), "https://%s/admin/draft_orders/%lld", cfg->shopify_shop,
                 (long long)json_integer_value(v));
        json_object_set_new(vars, "admin_link", json_string(link));
    }
    if (json_object_get(vars, "minutes") == NULL)
        json_object_set_new(vars, "minutes", json_integer(LOGIN_CODE_MINUTES));
    if (json_object_get(vars, "shop") == NULL && cfg->shopify_shop != NULL)
        json_object_set_new(vars, "shop", json_string(cfg->shopify_shop));
    return vars;
}

int mail_config_check(const srv_config *cfg, char *err, size_t errlen) {
    mail_address from = {0};
    int rc = mail_address_parse(&from, cfg->mail_from);
    free(from.email);
    free(from.name);
    if (rc != MAIL_OK) {
        snprintf(err, errlen, "B2B_MAIL_FROM is not \"Name <address>\" or an address");
        return MAIL_EINVAL;
    }
    return mail_templates_check(cfg->template_dir, err, errlen);
}

int mail_job_run(const srv_config *cfg, json_t *payload, char *err, size_t errlen, int *retryable) {
    json_t *to = json_object_get(payload, "to"), *item, *vars = NULL;
    const char *lang = json_string_value(json_object_get(payload, "lang"));
    const char *name = json_string_value(json_object_get(payload, "template"));
    char dir[4096];
    mail_message msg;
    mail_settings s;
    size_t i;
    int rc = MAIL_OK;

    *retryable = 0;
    mail_message_init(&msg);
    if (!json_is_array(to) || json_array_size(to) == 0 || name == NULL) {
        snprintf(err, errlen, "email job needs \"to\" (non-empty list) and \"template\"");
        return -1;
    }
    json_array_foreach(to, i, item) {
        const char *email = json_string_value(json_object_get(item, "email"));
        if (email == NULL || !mail_address_valid(email)) {
            snprintf(err, errlen, "to[%zu]: not a valid address", i);
            rc = MAIL_EINVAL;
            break;
        }
        rc = mail_message_add_to(&msg, email, json_string_value(json_object_get(item, "name")));
        if (rc != MAIL_OK) {
            snprintf(err, errlen, "out of memory");
            break;
        }
    }
    if (rc == MAIL_OK && mail_address_parse(&msg.from, cfg->mail_from) != MAIL_OK) {
        snprintf(err, errlen, "B2B_MAIL_FROM is not an address");
        rc = MAIL_EINVAL;
    }
    if (rc == MAIL_OK) {
        b2b_lang l = lang != NULL && strncmp(lang, "en", 2) == 0 ? B2B_LANG_EN : B2B_LANG_DE;
        json_t *in = json_object_get(payload, "vars");
        vars = template_vars(cfg, json_is_object(in) ? in : NULL, l, err, errlen);
        if (vars == NULL)
            rc = *err ? MAIL_EINVAL : MAIL_ENOMEM;
    }
    if (rc == MAIL_OK)
        rc = mail_render(cfg->template_dir, lang, name, vars, &msg, err, errlen);
    if (rc == MAIL_OK) {
        if (cfg->mail_dir != NULL && *cfg->mail_dir != '\0')
            snprintf(dir, sizeof(dir), "%s", cfg->mail_dir);
        else
            snprintf(dir, sizeof(dir), "%s/mail", cfg->data_dir ? cfg->data_dir : "var");
        s.smtp_url = cfg->smtp_url;
        s.smtp_user = cfg->smtp_user;
        s.smtp_password = cfg->smtp_password;
        s.starttls = cfg->smtp_starttls;
        s.mail_dir = dir;
        s.timeout_ms = (long)cfg->smtp_timeout_ms;
        rc = mail_send(&s, &msg, err, errlen);
    }
    json_decref(vars);
    mail_message_clear(&msg);
    if (rc == MAIL_OK)
        return 0;
    if (*err == '\0')
        snprintf(err, errlen, "%s", mail_strerror(rc));
    *retryable = mail_status_retryable(rc);
    return -1;
}
