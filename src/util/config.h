/*
 * config.h — deployment configuration shared by the CLI, the CGI and the
 * alerts: paths, SMTP, the password command, MaxLines and the standalone
 * web users. Read from an INI file (`--config FILE`, or MAILLOG_CONFIG for the
 * CGI); a missing default file means built-in defaults. Admin settings that
 * can be changed from the web (retention, ignore terms, …) live in the
 * database; the [defaults] section here only seeds them in a new database.
 *
 * File format (keys are case-insensitive, values trimmed, '#' or ';' comments):
 *   [maillog]
 *   db = /usr/local/psa/var/modules/mail-log/maillog.db
 *   log = /var/log/maillog            ; repeatable; default: maillog then mail.log
 *   domains = /usr/local/psa/var/modules/mail-log/domains.json
 *   geoip = /usr/local/psa/var/modules/mail-log/country.mmdb
 *   max_lines = 10000                 ; log-tail limit, 0 disables
 *   [smtp]
 *   url = smtp://127.0.0.1:25         ; smtps:// for implicit TLS
 *   tls = none|starttls|tls
 *   user = / password =
 *   from = mail-log@hostname
 *   [password]
 *   command = /usr/sbin/plesk bin mail --update {mailbox} -passwd ""
 *   [defaults]                         ; seeds for a new database's admin settings
 *   retention_days = 7                 ; any key of settings_set_text() (store/query.h)
 *   [users]                            ; standalone web users (REMOTE_USER)
 *   admin = admin
 *   res1 = reseller:example.com,example.org
 *   cli1 = client:example.com
 */
#ifndef MAILLOG_UTIL_CONFIG_H
#define MAILLOG_UTIL_CONFIG_H

#include "util/err.h"

#include <stdbool.h>

#define CONFIG_PATH_MAX 1024
#define CONFIG_LOGS_MAX 8
#define CONFIG_USERS_MAX 64
#define CONFIG_DEFAULTS_MAX 16

#define CONFIG_DEFAULT_DIR "/usr/local/psa/var/modules/mail-log"
#define CONFIG_DEFAULT_FILE CONFIG_DEFAULT_DIR "/maillog.ini"

enum user_role { ROLE_ADMIN = 0, ROLE_RESELLER, ROLE_CLIENT };

struct config_user {
    char name[64];
    enum user_role role;
    char domains[1024]; /* comma-separated, "" for admin */
};

struct config {
    char db_path[CONFIG_PATH_MAX];
    char log_paths[CONFIG_LOGS_MAX][CONFIG_PATH_MAX];
    int log_count;
    bool log_auto; /* true while log_paths are the built-in candidates: use the first that exists */
    char domains_path[CONFIG_PATH_MAX];
    char geoip_path[CONFIG_PATH_MAX];
    long max_lines;

    char smtp_url[256];
    char smtp_tls[16];
    char smtp_user[128];
    char smtp_password[128];
    char smtp_from[256];

    char password_command[1024];

    struct config_user users[CONFIG_USERS_MAX];
    int user_count;

    struct {
        char key[64];
        char value[1024];
    } defaults[CONFIG_DEFAULTS_MAX]; /* [defaults]: admin settings for a new database */
    int defaults_count;
};

/* Fills c with the built-in defaults. */
void config_defaults(struct config *c);

/* Replaces the log list with path (the first call after the defaults) or
 * appends it (later calls): for a repeatable --log flag. -1 when full. */
int config_add_log(struct config *c, const char *path, struct err *e);

/* Reads path over the defaults already in c. A missing file is an error only
 * when required is true (an explicit --config); otherwise defaults stand. */
int config_load(struct config *c, const char *path, bool required, struct err *e);

#endif
