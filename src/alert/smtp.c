/*
 * smtp.c — one mail to an SMTP server with libcurl (see smtp.h).
 */
#include "alert/smtp.h"

#include <curl/curl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SMTP_CONNECT_TIMEOUT_S 15L
#define SMTP_TOTAL_TIMEOUT_S 120L

/* The system's CA bundle: SSL_CERT_FILE when set, else the first file of the
 * places the distributions keep it (Debian/Ubuntu, RHEL/Alma/Rocky/
 * CloudLinux, SUSE, Alpine). The packaged libcurl has no path built in (it
 * is built once for every distribution); NULL leaves libcurl's default. */
static const char *smtp_ca_file(void)
{
    static const char *const paths[] = {
        "/etc/ssl/certs/ca-certificates.crt",
        "/etc/pki/tls/certs/ca-bundle.crt",
        "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",
        "/etc/ssl/ca-bundle.pem",
        "/etc/ssl/cert.pem",
    };
    const char *env = getenv("SSL_CERT_FILE");

    if (env != NULL && env[0] != '\0')
        return env;
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++)
        if (access(paths[i], R_OK) == 0)
            return paths[i];
    return NULL;
}

struct upload {
    const char *msg;
    size_t len;
    size_t off;
    bool ended;
    smtp_before_end_fn before_end;
    void *ctx;
};

static size_t upload_read(char *dst, size_t size, size_t nmemb, void *arg)
{
    struct upload *u = arg;
    size_t room = size * nmemb;
    size_t n = u->len - u->off;

    if (n > room)
        n = room;
    /* Before the last bytes go out (libcurl may stop reading once it has
     * them all): the server cannot accept the mail before it has them. */
    if (u->off + n == u->len && !u->ended) {
        u->ended = true;
        if (u->before_end != NULL && u->before_end(u->ctx) < 0)
            return CURL_READFUNC_ABORT;
    }
    if (n == 0)
        return 0;
    memcpy(dst, u->msg + u->off, n);
    u->off += n;
    return n;
}

void smtp_sender(const struct config *cfg, char *out, size_t size)
{
    char host[256];

    if (cfg->smtp_from[0] != '\0') {
        snprintf(out, size, "%s", cfg->smtp_from);
        return;
    }
    if (gethostname(host, sizeof host) != 0 || host[0] == '\0')
        snprintf(host, sizeof host, "localhost");
    host[sizeof host - 1] = '\0';
    snprintf(out, size, "mail-log@%s", host);
}

/* The URL to connect to: the configured one (default smtp://127.0.0.1:25),
 * with the scheme switched to smtps:// for tls=tls. */
static int smtp_url(const struct config *cfg, char *out, size_t size, struct err *e)
{
    const char *url = cfg->smtp_url[0] ? cfg->smtp_url : "smtp://127.0.0.1:25";

    if (strncmp(url, "smtp://", 7) != 0 && strncmp(url, "smtps://", 8) != 0)
        return err_set(e, "smtp url '%.200s': must start with smtp:// or smtps://", url);
    if (strcmp(cfg->smtp_tls, "tls") == 0 && strncmp(url, "smtp://", 7) == 0)
        snprintf(out, size, "smtps://%s", url + 7);
    else
        snprintf(out, size, "%s", url);
    return 0;
}

static int smtp_tls_mode(const struct config *cfg, long *mode, struct err *e)
{
    if (cfg->smtp_tls[0] == '\0' || strcmp(cfg->smtp_tls, "none") == 0 ||
        strcmp(cfg->smtp_tls, "tls") == 0)
        *mode = (long)CURLUSESSL_NONE; /* smtps:// is TLS from the start anyway */
    else if (strcmp(cfg->smtp_tls, "starttls") == 0)
        *mode = (long)CURLUSESSL_ALL;
    else
        return err_set(e, "smtp tls '%.20s': must be none, starttls or tls", cfg->smtp_tls);
    return 0;
}

int smtp_send(const struct config *cfg, const char *rcpt, const char *msg, size_t len,
              smtp_before_end_fn before_end, void *ctx, struct err *e)
{
    char url[300], from[300], from_env[310], rcpt_env[310], errbuf[CURL_ERROR_SIZE];
    struct upload u = {msg, len, 0, false, before_end, ctx};
    struct curl_slist *rcpts = NULL;
    long tls = 0;
    const char *ca_file;
    CURL *c;
    CURLcode rc;

    if (smtp_url(cfg, url, sizeof url, e) < 0 || smtp_tls_mode(cfg, &tls, e) < 0)
        return -1;
    smtp_sender(cfg, from, sizeof from);
    snprintf(from_env, sizeof from_env, "<%s>", from);
    snprintf(rcpt_env, sizeof rcpt_env, "<%s>", rcpt);
    c = curl_easy_init();
    if (c == NULL)
        return err_set(e, "smtp: cannot initialise libcurl");
    rcpts = curl_slist_append(NULL, rcpt_env);
    if (rcpts == NULL) {
        curl_easy_cleanup(c);
        return err_set(e, "smtp: out of memory");
    }
    errbuf[0] = '\0';
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_USE_SSL, tls);
    if ((ca_file = smtp_ca_file()) != NULL)
        curl_easy_setopt(c, CURLOPT_CAINFO, ca_file);
    curl_easy_setopt(c, CURLOPT_MAIL_FROM, from_env);
    curl_easy_setopt(c, CURLOPT_MAIL_RCPT, rcpts);
    if (cfg->smtp_user[0] != '\0') {
        curl_easy_setopt(c, CURLOPT_USERNAME, cfg->smtp_user);
        curl_easy_setopt(c, CURLOPT_PASSWORD, cfg->smtp_password);
    }
    curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)len);
    curl_easy_setopt(c, CURLOPT_READFUNCTION, upload_read);
    curl_easy_setopt(c, CURLOPT_READDATA, &u);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, SMTP_CONNECT_TIMEOUT_S);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, SMTP_TOTAL_TIMEOUT_S);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
    rc = curl_easy_perform(c);
    curl_slist_free_all(rcpts);
    curl_easy_cleanup(c);
    if (rc != CURLE_OK)
        return err_set(e, "smtp %s: %s", url, errbuf[0] ? errbuf : curl_easy_strerror(rc));
    return 0;
}
