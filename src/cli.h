/* The subcommands of the dexmafs program besides mounting: argv[1] names
 * them, and each returns the process's exit status. */
#ifndef DX_CLI_H
#define DX_CLI_H

/* dexmafs prefetch [--since DATE] [--until DATE] [--budget N] [--jobs N]
 * [--wait] [--help] PATH...: warms the cache of a mounted dexmafs by
 * reading through it at background priority (prefetch.c). */
int dx_prefetch_main(int argc, char *argv[]);

/* dexmafs plan [--json] PATH...: what a first copy and a daily refresh
 * of the subtrees cost, against the quota (plan.c). */
int dx_plan_main(int argc, char *argv[]);

/* dexmafs token --app-id ID --secret-file FILE --temp-token T
 * [--api-url URL] [--output FILE]: the market-app handshake
 * (handshake.c). */
int dx_token_main(int argc, char *argv[]);

#endif
