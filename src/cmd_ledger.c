/*
 * ledger — what the discloser exported: list packages, show one, and
 * resolve a record number from a data-quality report to the register row
 * it came from.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "banned.h"

static const char ledger_usage[] =
	"Usage: kluis ledger list --ledger FILE\n"
	"       kluis ledger show --ledger FILE PACKAGE-ID\n"
	"       kluis ledger resolve --ledger FILE PACKAGE-ID RECORD\n"
	"\n"
	"The discloser's ledger, written by `kluis export`.\n"
	"  list      every complete package: id, date, protocol, records, recipient,\n"
	"            and the mail state if it was mailed\n"
	"  show      everything recorded about one package\n"
	"  resolve   the source key (--key-column value, or line:N) of record\n"
	"            RECORD (1-based, as data-quality reports number them)\n"
	"\n"
	"Options:\n"
	"  -l, --ledger FILE   the ledger (export writes it to kluis-ledger.db beside\n"
	"                      the discloser's key unless told otherwise)\n"
	"  -h, --help          this help\n"
	"\n"
	"Opening the ledger rolls back an export that was interrupted.\n";

static int print_row(void *ctx, const struct ledger_package *p)
{
	(void)ctx;
	printf("%s  %s  %s %s  %llu records  %s%s%s\n", p->id, p->created_at,
	       p->protocol_id, p->protocol_version,
	       (unsigned long long)p->n_selected, p->recipient,
	       p->mail_state[0] ? "  mail " : "", p->mail_state);
	return 0;
}

static void show(const struct ledger_package *p)
{
	printf("package          %s\n", p->id);
	printf("state            %s\n", p->state);
	printf("created          %s\n", p->created_at);
	printf("protocol         %s %s (%s)\n", p->protocol_id,
	       p->protocol_version, p->protocol_digest);
	printf("recipient        %s\n", p->recipient);
	printf("discloser key    %s\n", p->discloser_key);
	printf("register         %s\n", p->register_name);
	printf("records          read %llu = selected %llu + excluded %llu + "
	       "rejected %llu; %llu values blanked\n",
	       (unsigned long long)p->n_read, (unsigned long long)p->n_selected,
	       (unsigned long long)p->n_excluded,
	       (unsigned long long)p->n_rejected,
	       (unsigned long long)p->n_blanked);
	printf("records digest   %s\n", p->records_digest);
	printf("package digest   %s\n", p->package_digest);
	printf("files in         %s\n", p->out_dir);
	if (p->supersedes[0])
		printf("supersedes       %s (%s)\n", p->supersedes,
		       p->supersede_reason);
	if (p->mail_to[0])
		printf("mail             %s to %s%s%s%s%s\n",
		       p->mail_state[0] ? p->mail_state : "not sent",
		       p->mail_to,
		       p->mail_started_at[0] ? ", started " : "",
		       p->mail_started_at, p->mail_sent_at[0] ? ", sent " : "",
		       p->mail_sent_at);
}

int cmd_ledger(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "ledger", required_argument, NULL, 'l' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *path = NULL, *sub;
	struct ledger *l = NULL;
	struct ledger_package *p = NULL;
	unsigned recovered = 0;
	struct kerr e;
	int c, rc = EXIT_OK;

	kerr_clear(&e);
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":l:h", opts, NULL)) != -1) {
		switch (c) {
		case 'l': path = optarg; break;
		case 'h': fputs(ledger_usage, stdout); return EXIT_OK;
		default: return cli_bad_option("ledger", argv, c);
		}
	}
	if (optind >= argc)
		return cli_usage("ledger", "list, show or resolve?");
	sub = argv[optind++];
	if (!path)
		return cli_usage("ledger", "--ledger FILE is required");
	if (strcmp(sub, "list") == 0 ? argc - optind != 0
	    : strcmp(sub, "show") == 0 ? argc - optind != 1
	    : strcmp(sub, "resolve") == 0 ? argc - optind != 2
					  : 1)
		return cli_usage("ledger", "unknown subcommand or wrong "
					   "arguments");
	if (!kfile_exists(path)) {
		kerr_set(&e, KERR_USAGE, path, "no ledger here");
		return cli_fail("ledger", &e);
	}
	if (ledger_open(path, &l, &recovered, &e))
		return cli_fail("ledger", &e);
	if (recovered)
		cli_warn("ledger", "rolled back %u interrupted export%s",
			 recovered, recovered > 1 ? "s" : "");
	if (strcmp(sub, "list") == 0) {
		if (ledger_list(l, print_row, NULL, &e))
			rc = cli_fail("ledger", &e);
	} else if (strcmp(sub, "show") == 0) {
		p = calloc(1, sizeof *p);
		if (!p)
			kerr_set(&e, KERR_NOMEM, "ledger", "out of memory");
		if (!p || ledger_get(l, argv[optind], p, &e)) {
			if (e.code == KERR_USAGE)
				e.code = KERR_POLICY; /* as resolve: "no" */
			rc = cli_fail("ledger", &e);
		}
		else
			show(p);
	} else {
		char key[LEDGER_KEY_MAX + 1], *end;
		unsigned long long n = strtoull(argv[optind + 1], &end, 10);

		if (*end || argv[optind + 1][0] < '1' ||
		    argv[optind + 1][0] > '9') {
			rc = cli_usage("ledger", "RECORD must be a number from 1");
		} else if (ledger_resolve(l, argv[optind], n, key, sizeof key,
					  &e)) {
			/* An unknown package or record is the user's
			 * question answered "no". */
			if (e.code == KERR_USAGE)
				e.code = KERR_POLICY;
			rc = cli_fail("ledger", &e);
		} else {
			printf("%s\n", key);
		}
	}
	free(p);
	ledger_close(l);
	return rc;
}
