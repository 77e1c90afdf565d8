/*
 * main — the command table and global options.  Each command lives in its
 * own file and parses its own options.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "banned.h"

static const struct command commands[] = {
	{ "keygen", cmd_keygen, "create a party's age identity and minisign key pair" },
	{ "encrypt", cmd_encrypt, "encrypt a file with age (recipients or passphrase)" },
	{ "decrypt", cmd_decrypt, "decrypt an age file" },
	{ "sign", cmd_sign, "sign a file with a minisign key" },
	{ "verify", cmd_verify, "verify a minisign signature" },
	{ "protocol", cmd_protocol, "check, show, digest, set keys in, render a protocol file" },
	{ "export", cmd_export, "select, validate, minimise a register into a signed, encrypted package" },
	{ "send", cmd_send, "mail an exported package (again) over SMTP" },
	{ "ledger", cmd_ledger, "list exported packages; resolve a record number to its source row" },
	{ "init", cmd_init, "create the recipient's workspace for a protocol" },
	{ "receive", cmd_receive, "verify, pseudonymise and store the package in the workspace" },
	{ "status", cmd_status, "show a workspace: package, persons, retention, audit head" },
	{ "reidentify", cmd_reidentify, "show the identity behind a person code (custodian)" },
	{ "audit", cmd_audit, "verify or list the workspace's audit log" },
};

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: kluis COMMAND [options]\n"
		"       kluis COMMAND --help\n"
		"       kluis --version\n"
		"\n"
		"kluis carries out a data-sharing protocol between two public bodies:\n"
		"minimised, encrypted, signed, one-time transfer of personal data.\n"
		"\n"
		"Commands:\n");
	for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
		fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
	fprintf(f,
		"\n"
		"Exit status: 0 success; 1 verification failed or data refused;\n"
		"2 usage or operational error.\n"
		"Passphrases come from a terminal prompt, --passphrase-file or\n"
		"KLUIS_PASSPHRASE, never from the command line.\n"
		"See kluis(1).\n");
}

int main(int argc, char **argv)
{
	struct kerr e;

	kerr_clear(&e);
	cli_harden();
	if (kluis_init(&e))
		return cli_fail("init", &e);
	if (argc < 2) {
		usage(stderr);
		return EXIT_ERROR;
	}
	if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
		usage(stdout);
		return EXIT_OK;
	}
	if (strcmp(argv[1], "-V") == 0 || strcmp(argv[1], "--version") == 0 ||
	    strcmp(argv[1], "version") == 0) {
		printf("kluis %s (libsodium %s)\n", kluis_version(),
		       kluis_sodium_version());
		return EXIT_OK;
	}
	if (strcmp(argv[1], "help") == 0) {
		if (argc < 3) {
			usage(stdout);
			return EXIT_OK;
		}
		for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
			if (strcmp(argv[2], commands[i].name) == 0) {
				char *args[] = { argv[2], (char *)"--help", NULL };
				return commands[i].run(2, args);
			}
		fprintf(stderr, "kluis: unknown command '%s'\n", argv[2]);
		return EXIT_ERROR;
	}
	for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
		if (strcmp(argv[1], commands[i].name) == 0)
			return commands[i].run(argc - 1, argv + 1);
	fprintf(stderr, "kluis: unknown command '%s'\nTry 'kluis --help'.\n",
		argv[1]);
	return EXIT_ERROR;
}
