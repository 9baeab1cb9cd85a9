/* commands.h -- the subcommands of the redbench binary; each returns the
 * process exit status (0 ok, 1 regression where that applies, 2 error). */
#ifndef RB_COMMANDS_H
#define RB_COMMANDS_H

#define EXIT_OK 0
#define EXIT_REGRESSION 1
#define EXIT_ERROR 2
#define EXIT_SPOOLED 3

int cmd_run(int argc, char **argv);
int cmd_upload(int argc, char **argv);
int cmd_serve(int argc, char **argv);
int cmd_worker(int argc, char **argv);
int cmd_schedule(int argc, char **argv);
int cmd_analyze(int argc, char **argv);
int cmd_changepoints(int argc, char **argv);
int cmd_migrate(int argc, char **argv);
int cmd_token(int argc, char **argv);
int cmd_import(int argc, char **argv);
int cmd_compare(int argc, char **argv);
int cmd_triage(int argc, char **argv);
int cmd_query(int argc, char **argv);
int cmd_prices(int argc, char **argv);
int cmd_backup(int argc, char **argv);
int cmd_proxy(int argc, char **argv);
int cmd_lab(int argc, char **argv);
int cmd_report(int argc, char **argv);

#endif
