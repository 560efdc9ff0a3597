/*
 * maillog_cgi.c — main() of maillog.cgi, the JSON API (docs/API.md).
 *
 * Runs as root under Plesk (pm_ApiCli::callSbin) and as the web server's
 * user standalone, so it behaves like a setuid program: a private umask,
 * only the CGI variables listed in struct cgi_env are read (copied here
 * once), no shell, no path taken from the request. Everything else is in
 * api_run() (src/api/api.c).
 */
#include "api/api.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#define CGI_DEADLINE_S 120 /* the test mail route alone may take 60 s */

int main(void)
{
    struct cgi_env env = {
        .request_method = getenv("REQUEST_METHOD"),
        .path_info = getenv("PATH_INFO"),
        .query_string = getenv("QUERY_STRING"),
        .content_type = getenv("CONTENT_TYPE"),
        .content_length = getenv("CONTENT_LENGTH"),
        .http_csrf = getenv("HTTP_X_MAILLOG_CSRF"),
        .remote_user = getenv("REMOTE_USER"),
        .maillog_role = getenv("MAILLOG_ROLE"),
        .maillog_user = getenv("MAILLOG_USER"),
        .maillog_domains = {getenv("MAILLOG_DOMAINS"), getenv("MAILLOG_DOMAINS_2"),
                            getenv("MAILLOG_DOMAINS_3"), getenv("MAILLOG_DOMAINS_4"),
                            getenv("MAILLOG_DOMAINS_5"), getenv("MAILLOG_DOMAINS_6"),
                            getenv("MAILLOG_DOMAINS_7"), getenv("MAILLOG_DOMAINS_8")},
        .maillog_max_lines = getenv("MAILLOG_MAX_LINES"),
        .maillog_config = getenv("MAILLOG_CONFIG"),
        .maillog_db = getenv("MAILLOG_DB"),
    };
    int status;

    _Static_assert(CGI_DOMAIN_PARTS == 8, "one getenv() a part");

    umask(077);
    signal(SIGPIPE, SIG_IGN);
    /* No request may hold a root process (or the database) for long: a body
     * that never comes, a test mail's child that never ends. SIGALRM's
     * default action ends the process; an unfinished write is rolled back. */
    alarm(CGI_DEADLINE_S);
    status = api_run(&env, stdin, stdout, stderr);
    /* The HTTP status is the answer; the exit code only tells a caller that
     * checks it (the Plesk bridge) whether the program itself failed. */
    return status >= 500 && status != 502 && status != 503 ? 1 : 0;
}
