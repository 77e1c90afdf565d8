/*
 * cli — what every command shares: exit codes, error printing, passphrase
 * input, process hardening.  Only src/ prints.
 */
#ifndef KLUIS_CLI_H
#define KLUIS_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "kluis.h"

enum {
	EXIT_OK = 0,
	EXIT_REFUSED = 1, /* verification failed, data refused */
	EXIT_ERROR = 2,   /* usage or operational error */
};

struct command {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
};

/* Commands, one source file per group. */
int cmd_keygen(int argc, char **argv);
int cmd_encrypt(int argc, char **argv);
int cmd_decrypt(int argc, char **argv);
int cmd_sign(int argc, char **argv);
int cmd_verify(int argc, char **argv);
int cmd_protocol(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_send(int argc, char **argv);
int cmd_ledger(int argc, char **argv);
int cmd_init(int argc, char **argv);
int cmd_receive(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_reidentify(int argc, char **argv);
int cmd_audit(int argc, char **argv);

/* Exit code for a library error. */
int cli_exit_code(enum kerr_code code);
/* Print "kluis: CMD: what: where: why" and return the exit code. */
int cli_fail(const char *cmd, const struct kerr *e);
/* Print "kluis: CMD: message" plus a --help hint; returns EXIT_ERROR. */
int cli_usage(const char *cmd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Print a warning line. */
void cli_warn(const char *cmd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/*
 * Get a passphrase: from `file` if given, else from $KLUIS_PASSPHRASE, else
 * by prompting on the terminal (twice when `confirm`).  The result is in a
 * secret kbuf the caller frees.  Never from argv.
 */
int cli_passphrase(const char *prompt, bool confirm, const char *file,
		   struct kbuf *out, struct kerr *e);

/* Print the problems in d as "PREFIX FILE: [warning: ]PATH: MESSAGE". */
void cli_print_diag(FILE *f, const char *prefix, const char *file,
		    const struct pdiag *d, bool warnings);
/* Load a protocol, printing its errors (and warnings if asked) on stderr;
 * EXIT_OK, or the exit code of the failure. */
int cli_load_protocol(const char *cmd, const char *path, struct protocol **p,
		      bool print_warnings);

/* No core dumps, ptrace protection, temp-file cleanup on signals. */
void cli_harden(void);

/* Report an option getopt_long rejected.  Call with opterr = 0 and an
 * optstring starting with ':', passing what getopt_long returned ('?' or
 * ':'); returns EXIT_ERROR. */
int cli_bad_option(const char *cmd, char **argv, int c);

#endif
