/*
 * export, send — the discloser's commands: a register in, a signed and
 * encrypted package out (and mailed); a package mailed later.  The work is
 * in lib/export.c; this file parses options, asks for the key's passphrase
 * before the long pass starts, shows progress and prints the summary.
 */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "banned.h"

static const char export_usage[] =
	"Usage: kluis export --protocol P --register FILE --to RECIPIENT.pub\n"
	"                    --sign-with DISCLOSER.minisign.key --out DIR [options]\n"
	"\n"
	"Select, validate and minimise the register by the protocol and write\n"
	"one package: DIR/ID.age (encrypted for the recipient), DIR/ID.age.minisig\n"
	"(signed by the discloser) and DIR/ID.report.json (counts, columns kept and\n"
	"dropped, every rejected or blanked value by line, field and reason).\n"
	"The package is recorded in the discloser's ledger.\n"
	"\n"
	"Options:\n"
	"  -p, --protocol FILE       the protocol (with both parties' keys)\n"
	"  -r, --register FILE       the register export (CSV)\n"
	"  -t, --to FILE             the recipient's .pub (or age recipients file);\n"
	"                            must be the protocol's recipient\n"
	"  -s, --sign-with KEY       the discloser's minisign secret key; must be\n"
	"                            the protocol's discloser\n"
	"  -o, --out DIR             where the package goes\n"
	"  -k, --key-column NAME     register column that identifies a row (e.g. the\n"
	"                            dossier number); kept in the ledger, never in\n"
	"                            the package (default: the source line number)\n"
	"      --encoding E          auto (default), utf-8 (utf8) or cp1252\n"
	"                            (windows-1252)\n"
	"      --delimiter D         auto (default), ';', ',' or tab\n"
	"      --max-rejects N       give up (exit 1, nothing written) when more\n"
	"                            than N records are rejected\n"
	"  -n, --dry-run             read and check only; write nothing\n"
	"      --ledger FILE         ledger (default: kluis-ledger.db beside the key)\n"
	"      --supersede REASON    allow a second package under a one-time\n"
	"                            protocol; the reason is recorded\n"
	"      --mail-to ADDR        also write DIR/ID.eml, addressed to ADDR\n"
	"      --mail-from ADDR      sender of the .eml\n"
	"      --smtp URL            send the .eml: smtps://host[:port], or\n"
	"                            smtp://host[:port] with STARTTLS\n"
	"      --smtp-insecure       allow smtp:// without STARTTLS (local relay)\n"
	"      --smtp-credentials F  SMTP user and password (file, mode 0600);\n"
	"                            or KLUIS_SMTP_USER and KLUIS_SMTP_PASSWORD\n"
	"      --passphrase-file F   passphrase of the signing key\n"
	"      --json                print the summary as JSON\n"
	"  -q, --quiet               no progress line, no summary\n"
	"  -h, --help                this help\n"
	"\n"
	"Exit status: 0 package written; 1 refused (bad register, wrong key,\n"
	"second package, --max-rejects passed, nothing selected); 2 error.\n";

static const char send_usage[] =
	"Usage: kluis send --ledger FILE --smtp URL [options] PACKAGE-ID\n"
	"\n"
	"Mail a package's .eml (written by `kluis export --mail-to`).  The ledger\n"
	"marks a mail 'started' before the first byte goes out and 'sent' when the\n"
	"server took it.  A package whose mail was started (a failed or interrupted\n"
	"attempt: it may or may not have arrived) or sent is refused unless\n"
	"--force, so nobody gets a second mail unasked: check with the recipient\n"
	"first.\n"
	"\n"
	"Options:\n"
	"  -l, --ledger FILE         the discloser's ledger\n"
	"      --smtp URL            smtps:// or smtp:// (STARTTLS)\n"
	"      --smtp-insecure       allow smtp:// without STARTTLS\n"
	"      --smtp-credentials F  SMTP user and password (file, mode 0600);\n"
	"                            or KLUIS_SMTP_USER and KLUIS_SMTP_PASSWORD\n"
	"      --force               send even if it was (maybe) sent before\n"
	"  -h, --help                this help\n";

/* Progress on a terminal: at most five updates a second. */
struct progress {
	bool on;
	struct timespec start, last;
};

static double since(const struct timespec *a, const struct timespec *b)
{
	return (double)(b->tv_sec - a->tv_sec) +
	       (double)(b->tv_nsec - a->tv_nsec) / 1e9;
}

static void show_progress(void *ctx, uint64_t rows, uint64_t bytes,
			  uint64_t total)
{
	struct progress *p = ctx;
	struct timespec now;
	double t;

	if (!p->on)
		return;
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (since(&p->last, &now) < 0.2 && (!total || bytes < total))
		return;
	p->last = now;
	t = since(&p->start, &now);
	fprintf(stderr, "\rkluis: export: %llu rows, %.0f rows/s",
		(unsigned long long)rows, t > 0 ? (double)rows / t : 0.0);
	if (total)
		fprintf(stderr, ", %3.0f%%",
			100.0 * (double)bytes / (double)total);
	fputs("   ", stderr);
	fflush(stderr);
}

static int load_recipient(const char *path, uint8_t pk[32], struct kerr *e)
{
	struct pubfile pf;
	struct agekey_rcpts l;
	int rc;

	if (pubfile_load(path, &pf, e) == 0) {
		memcpy(pk, pf.age, 32);
		return 0;
	}
	agekey_rcpts_init(&l);
	rc = agekey_rcpts_load(&l, path, e);
	if (!rc && l.n != 1)
		rc = kerr_set(e, KERR_KEY, path,
			      "holds %zu recipients; give the one recipient",
			      l.n);
	if (!rc)
		memcpy(pk, l.pk[0], 32);
	agekey_rcpts_free(&l);
	return rc;
}

static int load_signing_key(const char *path, const char *pass_file,
			    struct ms_seckey **out, struct kerr *e)
{
	struct ms_seckey_file skf = { 0 };
	struct kbuf pass;
	int rc;

	kbuf_init(&pass, 0, true);
	*out = NULL;
	rc = ms_seckey_file_load(path, &skf, e);
	if (!rc && skf.encrypted)
		rc = cli_passphrase("Passphrase for the discloser's minisign "
				    "key: ",
				    false, pass_file, &pass, e);
	if (!rc && !(*out = ms_seckey_new()))
		rc = kerr_set(e, KERR_NOMEM, "export",
			      "cannot allocate locked memory");
	if (!rc)
		rc = ms_seckey_open(&skf,
				    skf.encrypted ? (const char *)pass.p : NULL,
				    pass.len, *out, e);
	ms_seckey_file_wipe(&skf);
	kbuf_free(&pass);
	if (rc) {
		ms_seckey_free(*out);
		*out = NULL;
	}
	return rc;
}

static int smtp_setup(struct smtp_opts *so, const char *url, bool insecure,
		      const char *cred_file, char **user, char **pass,
		      struct kerr *e)
{
	const char *eu = getenv("KLUIS_SMTP_USER");
	const char *ep = getenv("KLUIS_SMTP_PASSWORD");

	memset(so, 0, sizeof *so);
	so->url = url;
	so->insecure = insecure;
	*user = *pass = NULL;
	if (cred_file) {
		if (smtp_credentials_load(cred_file, user, pass, e))
			return e->code;
	} else if (!eu != !ep) {
		return kerr_set(e, KERR_USAGE, "smtp",
				"set both KLUIS_SMTP_USER and "
				"KLUIS_SMTP_PASSWORD, or neither");
	} else if (eu && ep) {
		*user = strdup(eu);
		*pass = strdup(ep);
		if (!*user || !*pass) {
			free(*user);
			free(*pass);
			*user = *pass = NULL;
			return kerr_set(e, KERR_NOMEM, "smtp",
					"out of memory");
		}
	}
	so->user = *user;
	so->password = *pass;
	return 0;
}

static void free_creds(const char *cred_file, char *user, char *pass)
{
	if (cred_file) {
		smtp_credentials_free(user, pass);
		return;
	}
	if (pass)
		sodium_memzero(pass, strlen(pass));
	free(user);
	free(pass);
}

static void print_list(const char *label, json_t *arr)
{
	size_t i;
	json_t *v;

	if (!json_is_array(arr) || json_array_size(arr) == 0)
		return;
	printf("%-10s%zu:", label, json_array_size(arr));
	json_array_foreach(arr, i, v)
		printf("%s %s", i ? "," : "", json_string_value(v));
	putchar('\n');
}

static void print_summary(const struct export_opts *o,
			  const struct export_result *r)
{
	json_t *root = r->summary_json ? json_loads(r->summary_json, 0, NULL)
				       : NULL;

	if (o->dry_run)
		printf("dry run: nothing was written\n");
	else
		printf("package   %s\n", r->id);
	printf("protocol  %s %s\n", o->proto->id, o->proto->version);
	printf("register  %s: %s%s, delimiter '%s'\n", o->register_path,
	       r->encoding, r->encoding_detected ? " (detected)" : "",
	       r->delimiter == '\t' ? "\\t"
	       : r->delimiter == ';' ? ";"
				     : ",");
	printf("records   read %llu = selected %llu + excluded %llu + "
	       "rejected %llu\n",
	       (unsigned long long)r->n_read,
	       (unsigned long long)r->n_selected,
	       (unsigned long long)r->n_excluded,
	       (unsigned long long)r->n_rejected);
	if (r->n_blanked)
		printf("blanked   %llu invalid values in selected records\n",
		       (unsigned long long)r->n_blanked);
	if (root) {
		print_list("dropped", json_object_get(root, "dropped_columns"));
		print_list("no column",
			   json_object_get(root, "fields_without_column"));
	}
	if (!o->dry_run) {
		printf("wrote     %s\n          %s\n          %s\n", r->age_path,
		       r->sig_path, r->report_path);
		if (r->eml_path[0])
			printf("          %s\n", r->eml_path);
		printf("ledger    %s\n", o->ledger_path);
		if (r->supersedes[0])
			printf("supersedes %s\n", r->supersedes);
	}
	if (r->n_issues) {
		printf("issues    %llu%s\n", (unsigned long long)r->n_issues,
		       o->dry_run ? "" : " (all in the report)");
		for (uint64_t i = 0; i < r->n_issues && i < EXPORT_FIRST_ISSUES;
		     i++)
			printf("  %s\n", r->first_issues[i]);
		if (r->n_issues > EXPORT_FIRST_ISSUES)
			printf("  … %llu more\n",
			       (unsigned long long)(r->n_issues -
						    EXPORT_FIRST_ISSUES));
	}
	json_decref(root);
}

static int parse_delimiter(const char *s, char *out)
{
	if (strcmp(s, "auto") == 0)
		*out = 0;
	else if (strcmp(s, ";") == 0 || strcmp(s, ",") == 0)
		*out = s[0];
	else if (strcmp(s, "tab") == 0 || strcmp(s, "\t") == 0)
		*out = '\t';
	else
		return -1;
	return 0;
}

static int parse_encoding(const char *s, enum csv_encoding *out)
{
	if (strcmp(s, "auto") == 0)
		*out = CSV_ENC_AUTO;
	else if (strcasecmp(s, "utf-8") == 0 || strcasecmp(s, "utf8") == 0)
		*out = CSV_ENC_UTF8;
	else if (strcasecmp(s, "cp1252") == 0 ||
		 strcasecmp(s, "windows-1252") == 0)
		*out = CSV_ENC_CP1252;
	else
		return -1;
	return 0;
}

enum {
	OPT_ENCODING = 256,
	OPT_DELIMITER,
	OPT_MAX_REJECTS,
	OPT_LEDGER,
	OPT_SUPERSEDE,
	OPT_MAIL_TO,
	OPT_MAIL_FROM,
	OPT_SMTP,
	OPT_SMTP_INSECURE,
	OPT_SMTP_CRED,
	OPT_PASS_FILE,
	OPT_JSON,
	OPT_FORCE,
};

int cmd_export(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "protocol", required_argument, NULL, 'p' },
		{ "register", required_argument, NULL, 'r' },
		{ "to", required_argument, NULL, 't' },
		{ "sign-with", required_argument, NULL, 's' },
		{ "out", required_argument, NULL, 'o' },
		{ "key-column", required_argument, NULL, 'k' },
		{ "encoding", required_argument, NULL, OPT_ENCODING },
		{ "delimiter", required_argument, NULL, OPT_DELIMITER },
		{ "max-rejects", required_argument, NULL, OPT_MAX_REJECTS },
		{ "dry-run", no_argument, NULL, 'n' },
		{ "ledger", required_argument, NULL, OPT_LEDGER },
		{ "supersede", required_argument, NULL, OPT_SUPERSEDE },
		{ "mail-to", required_argument, NULL, OPT_MAIL_TO },
		{ "mail-from", required_argument, NULL, OPT_MAIL_FROM },
		{ "smtp", required_argument, NULL, OPT_SMTP },
		{ "smtp-insecure", no_argument, NULL, OPT_SMTP_INSECURE },
		{ "smtp-credentials", required_argument, NULL, OPT_SMTP_CRED },
		{ "passphrase-file", required_argument, NULL, OPT_PASS_FILE },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *proto_path = NULL, *to = NULL, *keypath = NULL,
		   *pass_file = NULL, *smtp = NULL, *cred = NULL;
	struct smtp_opts so;
	char *smtp_user = NULL, *smtp_pass = NULL;
	const char *rcpt[1] = { NULL };
	struct export_opts eo;
	struct export_result res;
	struct protocol *proto = NULL;
	struct ms_seckey *sk = NULL;
	struct progress prog = { 0 };
	uint8_t rpk[32];
	char ledger[4096];
	bool quiet = false, json = false, insecure = false;
	struct kerr e;
	int c, rc = EXIT_OK;

	kerr_clear(&e);
	memset(&eo, 0, sizeof eo);
	memset(&res, 0, sizeof res);
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":p:r:t:s:o:k:nqh", opts, NULL)) !=
	       -1) {
		switch (c) {
		case 'p': proto_path = optarg; break;
		case 'r': eo.register_path = optarg; break;
		case 't': to = optarg; break;
		case 's': keypath = optarg; break;
		case 'o': eo.out_dir = optarg; break;
		case 'k': eo.key_column = optarg; break;
		case 'n': eo.dry_run = true; break;
		case 'q': quiet = true; break;
		case OPT_ENCODING:
			if (parse_encoding(optarg, &eo.encoding))
				return cli_usage("export",
						 "--encoding: auto, utf-8 "
						 "(utf8) or cp1252 "
						 "(windows-1252)");
			break;
		case OPT_DELIMITER:
			if (parse_delimiter(optarg, &eo.delimiter))
				return cli_usage("export",
						 "--delimiter: auto, ';', ',' "
						 "or tab");
			break;
		case OPT_MAX_REJECTS: {
			char *end;
			unsigned long long v;
			if (optarg[0] < '0' || optarg[0] > '9')
				return cli_usage("export",
						 "--max-rejects: a number");
			v = strtoull(optarg, &end, 10);
			if (*end)
				return cli_usage("export",
						 "--max-rejects: a number");
			eo.has_max_rejects = true;
			eo.max_rejects = v;
			break;
		}
		case OPT_LEDGER: eo.ledger_path = optarg; break;
		case OPT_SUPERSEDE:
			if (!optarg[0] || strchr(optarg, '\n'))
				return cli_usage("export",
						 "--supersede needs a reason "
						 "(one line)");
			eo.supersede_reason = optarg;
			break;
		case OPT_MAIL_TO: eo.mail_to = optarg; break;
		case OPT_MAIL_FROM: eo.mail_from = optarg; break;
		case OPT_SMTP: smtp = optarg; break;
		case OPT_SMTP_INSECURE: insecure = true; break;
		case OPT_SMTP_CRED: cred = optarg; break;
		case OPT_PASS_FILE: pass_file = optarg; break;
		case OPT_JSON: json = true; break;
		case 'h': fputs(export_usage, stdout); return EXIT_OK;
		default: return cli_bad_option("export", argv, c);
		}
	}
	if (optind != argc)
		return cli_usage("export", "unexpected argument '%s'",
				 argv[optind]);
	if (!proto_path || !eo.register_path)
		return cli_usage("export", "--protocol and --register are "
					   "required");
	if (!eo.dry_run && (!to || !keypath || !eo.out_dir))
		return cli_usage("export", "--to, --sign-with and --out are "
					   "required (or use --dry-run)");
	if (!eo.mail_to != !eo.mail_from)
		return cli_usage("export",
				 "--mail-to and --mail-from go together");
	rcpt[0] = eo.mail_to;
	if (smtp && !eo.mail_to)
		return cli_usage("export", "--smtp needs --mail-to and "
					   "--mail-from");
	if (eo.dry_run && (smtp || eo.mail_to))
		return cli_usage("export", "a dry run writes and sends "
					   "nothing; drop the mail options");

	if ((rc = cli_load_protocol("export", proto_path, &proto, false)))
		goto out;
	eo.proto = proto;
	if (to) {
		if (load_recipient(to, rpk, &e)) {
			rc = cli_fail("export", &e);
			goto out;
		}
		eo.recipient_pk = rpk;
	}
	if (keypath) {
		if (load_signing_key(keypath, pass_file, &sk, &e)) {
			rc = cli_fail("export", &e);
			goto out;
		}
		eo.sign_key = sk;
	}
	if (!eo.dry_run && !eo.ledger_path) {
		if (ledger_default_path(keypath, ledger, sizeof ledger, &e)) {
			rc = cli_fail("export", &e);
			goto out;
		}
		eo.ledger_path = ledger;
	}
	if (smtp) {
		/* Bad mail options are found now, not after the whole pass. */
		if (smtp_setup(&so, smtp, insecure, cred, &smtp_user,
			       &smtp_pass, &e) == 0) {
			so.from = eo.mail_from;
			so.rcpt = rcpt;
			so.n_rcpt = 1;
			smtp_check(&so, &e);
		}
		if (e.code) {
			rc = cli_fail("export", &e);
			goto out;
		}
	} else if (eo.mail_to &&
		   (mime_check_addr(eo.mail_to, "--mail-to", &e) ||
		    mime_check_addr(eo.mail_from, "--mail-from", &e))) {
		rc = cli_fail("export", &e);
		goto out;
	}
	prog.on = !quiet && isatty(STDERR_FILENO);
	clock_gettime(CLOCK_MONOTONIC, &prog.start);
	eo.progress = show_progress;
	eo.progress_ctx = &prog;

	rc = export_run(&eo, &res, &e);
	if (prog.on)
		fputs("\n", stderr);
	if (res.n_recovered)
		cli_warn("export",
			 "rolled back %u unfinished export%s found in the "
			 "ledger",
			 res.n_recovered, res.n_recovered > 1 ? "s" : "");
	if (rc) {
		if (res.n_read && !quiet)
			fprintf(stderr,
				"kluis: export: read %llu records before "
				"stopping; no package written\n",
				(unsigned long long)res.n_read);
		for (uint64_t i = 0; !quiet && i < res.n_issues &&
				     i < EXPORT_FIRST_ISSUES && e.code == KERR_LIMIT;
		     i++)
			fprintf(stderr, "  %s\n", res.first_issues[i]);
		rc = cli_fail("export", &e);
		if (res.prior_id[0])
			fprintf(stderr,
				"kluis: export: to send a corrected package "
				"instead, say why: --supersede REASON\n");
		goto out;
	}
	/* A guessed encoding matters for the data: said even with -q. */
	if (res.encoding_detected && res.encoding[0] == 'w')
		cli_warn("export",
			 "%s: no encoding declared; read as Windows-1252 "
			 "(line %llu is not UTF-8); say --encoding cp1252 to "
			 "confirm",
			 eo.register_path,
			 (unsigned long long)res.encoding_line);
	if (json)
		printf("%s\n", res.summary_json);
	else if (!quiet)
		print_summary(&eo, &res);
	if (smtp) {
		if (export_send(eo.ledger_path, res.id, &so, false, &e) == 0) {
			if (!quiet && !json)
				printf("sent      to %s\n", eo.mail_to);
		} else {
			rc = cli_fail("export", &e);
			fprintf(stderr,
				"kluis: export: package %s is written, but the "
				"mail failed; it may or may not have arrived.  "
				"Once you know it did not, send it with `kluis "
				"send --ledger %s --smtp URL --force %s`\n",
				res.id, eo.ledger_path, res.id);
		}
	}
out:
	free_creds(cred, smtp_user, smtp_pass);
	export_result_free(&res);
	ms_seckey_free(sk);
	protocol_free(proto);
	return rc;
}

int cmd_send(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "ledger", required_argument, NULL, 'l' },
		{ "smtp", required_argument, NULL, OPT_SMTP },
		{ "smtp-insecure", no_argument, NULL, OPT_SMTP_INSECURE },
		{ "smtp-credentials", required_argument, NULL, OPT_SMTP_CRED },
		{ "force", no_argument, NULL, OPT_FORCE },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *ledger = NULL, *smtp = NULL, *cred = NULL;
	bool insecure = false, force = false;
	struct smtp_opts so;
	char *user = NULL, *pass = NULL;
	struct kerr e;
	int c, rc = EXIT_OK;

	kerr_clear(&e);
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":l:h", opts, NULL)) != -1) {
		switch (c) {
		case 'l': ledger = optarg; break;
		case OPT_SMTP: smtp = optarg; break;
		case OPT_SMTP_INSECURE: insecure = true; break;
		case OPT_SMTP_CRED: cred = optarg; break;
		case OPT_FORCE: force = true; break;
		case 'h': fputs(send_usage, stdout); return EXIT_OK;
		default: return cli_bad_option("send", argv, c);
		}
	}
	if (!ledger || !smtp)
		return cli_usage("send", "--ledger and --smtp are required");
	if (argc - optind != 1)
		return cli_usage("send", "exactly one PACKAGE-ID");
	if (!kfile_exists(ledger)) {
		kerr_set(&e, KERR_USAGE, ledger, "no ledger here");
		return cli_fail("send", &e);
	}
	if (smtp_setup(&so, smtp, insecure, cred, &user, &pass, &e) ||
	    export_send(ledger, argv[optind], &so, force, &e))
		rc = cli_fail("send", &e);
	else
		printf("sent      %s\n", argv[optind]);
	free_creds(cred, user, pass);
	return rc;
}
