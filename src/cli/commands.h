/*
 * commands.h — the subcommands of the `maillog` program. Each takes the
 * arguments after its name (argv[0] is the subcommand name), prints its own
 * --help, reports its own errors once on stderr, and returns the exit code:
 * 0 success, 1 failure at run time, 2 bad usage.
 */
#ifndef MAILLOG_CLI_COMMANDS_H
#define MAILLOG_CLI_COMMANDS_H

int cmd_parse(int argc, char **argv);    /* cli/parse_cmd.c */
int cmd_ingest(int argc, char **argv);   /* cli/ingest_cmd.c */
int cmd_search(int argc, char **argv);   /* cli/search_cmd.c */
int cmd_stats(int argc, char **argv);    /* cli/search_cmd.c */
int cmd_purge(int argc, char **argv);    /* cli/ingest_cmd.c */
int cmd_settings(int argc, char **argv); /* cli/settings_cmd.c */
int cmd_alerts(int argc, char **argv);   /* cli/alerts_cmd.c */

#endif
