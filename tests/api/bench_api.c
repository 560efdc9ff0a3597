/*
 * bench_api.c — whole-process latency of maillog.cgi (`make bench-api`):
 * fork, exec, answer, exit, timed with CLOCK_MONOTONIC, the way a web
 * server or the Plesk bridge runs it. Output to /dev/null; each request is
 * run RUNS times and the median and worst are reported.
 *
 * usage: bench_api CGI CONFIG DB DOMAIN COMMON RARE  (COMMON, RARE: URL-encoded
 * search texts matching many rows / few rows)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <fcntl.h>

#define RUNS 15

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* One run; returns the wall time in ms, or -1 when the answer was not 200. */
static double run_once(const char *cgi, char *const envp[])
{
    char head[16] = "";
    int fds[2];
    double t0 = now_ms(), t1;
    pid_t pid;
    int status;
    ssize_t n;

    if (pipe(fds) < 0)
        return -1;
    pid = fork();
    if (pid == 0) {
        char *argv[] = {(char *)cgi, NULL};
        int null = open("/dev/null", O_RDWR);
        dup2(null, 0);
        dup2(fds[1], 1);
        dup2(null, 2);
        close(fds[0]);
        execve(cgi, argv, envp);
        _exit(127);
    }
    close(fds[1]);
    n = read(fds[0], head, sizeof head - 1);
    while (n > 0) {
        char sink[65536];
        if (read(fds[0], sink, sizeof sink) <= 0)
            break;
    }
    close(fds[0]);
    waitpid(pid, &status, 0);
    t1 = now_ms();
    return strncmp(head, "Status: 200", 11) == 0 ? t1 - t0 : -1;
}

static void bench(const char *label, const char *cgi, const char *config, const char *db,
                  const char *path, const char *query, const char *role, const char *domains)
{
    char e[8][1200];
    char *envp[9];
    double t[RUNS];

    snprintf(e[0], sizeof e[0], "REQUEST_METHOD=GET");
    snprintf(e[1], sizeof e[1], "PATH_INFO=%s", path);
    snprintf(e[2], sizeof e[2], "QUERY_STRING=%s", query);
    snprintf(e[3], sizeof e[3], "MAILLOG_CONFIG=%s", config);
    snprintf(e[4], sizeof e[4], "MAILLOG_DB=%s", db);
    snprintf(e[5], sizeof e[5], "MAILLOG_ROLE=%s", role);
    snprintf(e[6], sizeof e[6], "MAILLOG_USER=bench");
    snprintf(e[7], sizeof e[7], "MAILLOG_DOMAINS=%s", domains);
    for (int i = 0; i < 8; i++)
        envp[i] = e[i];
    envp[8] = NULL;
    run_once(cgi, envp); /* warm the page cache */
    for (int i = 0; i < RUNS; i++) {
        t[i] = run_once(cgi, envp);
        if (t[i] < 0) {
            printf("%-52s FAILED (not 200)\n", label);
            return;
        }
    }
    qsort(t, RUNS, sizeof t[0], cmp_double);
    printf("%-52s median %7.2f ms   max %7.2f ms\n", label, t[RUNS / 2], t[RUNS - 1]);
}

int main(int argc, char **argv)
{
    static const char *const tabs[] = {"access", "received", "sent", "not-received", "not-sent"};
    char q[600], label[128], path[64];

    if (argc != 7) {
        fprintf(stderr, "usage: bench_api CGI CONFIG DB DOMAIN COMMON RARE\n");
        return 2;
    }
    const char *cgi = argv[1], *config = argv[2], *db = argv[3], *domain = argv[4],
               *common = argv[5], *rare = argv[6];
    printf("maillog.cgi whole-process latency, %d runs each, database %s\n", RUNS, db);
    bench("GET /v1/me (client)", cgi, config, db, "/v1/me", "", "client", domain);
    for (int i = 0; i < 5; i++) {
        snprintf(path, sizeof path, "/v1/%s", tabs[i]);
        snprintf(q, sizeof q, "domain=%s", domain);
        snprintf(label, sizeof label, "first page %s, one domain (client)", tabs[i]);
        bench(label, cgi, config, db, path, q, "client", domain);
    }
    snprintf(q, sizeof q, "domain=%s&sort=size&order=asc", domain);
    bench("first page received sort=size (client)", cgi, config, db, "/v1/received", q, "client",
          domain);
    bench("first page received, all domains (admin)", cgi, config, db, "/v1/received", "", "admin",
          "");
    snprintf(q, sizeof q, "domain=%s&q=%s", domain, common);
    snprintf(label, sizeof label, "search received q=%s, one domain", common);
    bench(label, cgi, config, db, "/v1/received", q, "client", domain);
    snprintf(q, sizeof q, "domain=%s&q=%s", domain, rare);
    snprintf(label, sizeof label, "search received q=%s, one domain", rare);
    bench(label, cgi, config, db, "/v1/received", q, "client", domain);
    snprintf(q, sizeof q, "q=%s", common);
    snprintf(label, sizeof label, "search received q=%s, all (admin)", common);
    bench(label, cgi, config, db, "/v1/received", q, "admin", "");
    snprintf(q, sizeof q, "q=%s", rare);
    snprintf(label, sizeof label, "search received q=%s, all (admin)", rare);
    bench(label, cgi, config, db, "/v1/received", q, "admin", "");
    snprintf(q, sizeof q, "domain=%s&bucket=day", domain);
    bench("stats, one domain, 7 days", cgi, config, db, "/v1/stats", q, "client", domain);
    return 0;
}
