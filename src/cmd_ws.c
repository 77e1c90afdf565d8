/*
 * init, receive, status, reidentify, audit — the recipient's commands on a
 * workspace.  The work is in lib/ (ws, wskey, wsdata, audit, receive); this
 * file parses options, gets the user and passphrase, and prints.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "banned.h"

static const char init_usage[] =
	"Usage: kluis init DIR --protocol P --identity RECIPIENT.age.key [options]\n"
	"\n"
	"Create the recipient's workspace DIR (mode 0700, files 0600): the\n"
	"protocol pinned by its digest with the discloser's public keys, fresh\n"
	"random workspace keys (vault, backup, audit signing) and the recipient's\n"
	"identity, all sealed for the first user (admin + custodian) under a key\n"
	"derived from their passphrase with Argon2id.  The identity file is not\n"
	"needed afterwards.\n"
	"\n"
	"Options:\n"
	"  -p, --protocol FILE       the protocol (with both parties' keys)\n"
	"  -i, --identity FILE       the recipient's age identity file\n"
	"  -u, --user NAME           the first user (default: $KLUIS_USER, else\n"
	"                            the login name, else \"custodian\")\n"
	"      --kdf LEVEL           Argon2id cost: interactive (default, 64 MiB),\n"
	"                            moderate (256 MiB) or sensitive (1 GiB)\n"
	"      --passphrase-file F   the new user's passphrase (else\n"
	"                            KLUIS_PASSPHRASE, else asked twice)\n"
	"  -h, --help                this help\n";

static const char receive_usage[] =
	"Usage: kluis receive DIR PACKAGE.age [--sig PACKAGE.age.minisig] [options]\n"
	"\n"
	"Verify the package's signature with the discloser key pinned in the\n"
	"workspace, decrypt it, check its manifest, validate every record again,\n"
	"give each person a random code, seal their identifying fields in the\n"
	"vault and store the research rows: all in one transaction.  The protocol\n"
	"allows one package: a second one, or the same again, is refused.\n"
	"\n"
	"Options:\n"
	"      --sig FILE            the signature (default PACKAGE.age.minisig)\n"
	"  -u, --user NAME           who receives (a custodian)\n"
	"      --passphrase-file F   their passphrase (else KLUIS_PASSPHRASE, else\n"
	"                            asked)\n"
	"      --json                print the summary as JSON\n"
	"  -q, --quiet               no progress line, no summary\n"
	"  -h, --help                this help\n"
	"\n"
	"Exit status: 0 received; 1 refused (signature, recipient, protocol\n"
	"version, field outside the protocol, count or digest, second package,\n"
	"wrong passphrase, no permission); 2 error.\n";

static const char status_usage[] =
	"Usage: kluis status DIR [--json]\n"
	"\n"
	"Show the workspace: protocol, parties, the package accepted, persons and\n"
	"records, retention end and days left, the audit head, open deadlines.\n"
	"Needs no passphrase and shows no personal data.\n";

static const char reidentify_usage[] =
	"Usage: kluis reidentify DIR CODE... --purpose TEXT [options]\n"
	"       kluis reidentify DIR --record N --purpose TEXT [options]\n"
	"\n"
	"Show the identity behind person codes (custodians only).  The purpose\n"
	"is recorded in the audit log with the codes.  A code that is mistyped\n"
	"(its check symbol) or that no person has refuses the whole request.\n"
	"\n"
	"Options:\n"
	"      --purpose TEXT        why (required)\n"
	"      --codes FILE          more codes, one per line (- for stdin)\n"
	"      --record N            the person of record N of the package (as a\n"
	"                            data-quality report names it)\n"
	"  -u, --user NAME           who asks\n"
	"      --passphrase-file F   their passphrase\n"
	"      --json                print as JSON\n"
	"  -h, --help                this help\n";

static const char audit_usage[] =
	"Usage: kluis audit verify DIR [--key HEX]\n"
	"       kluis audit list DIR [--json]\n"
	"\n"
	"verify: check the hash chain of the audit log and the signature of its\n"
	"head; exit 1 on any edit, removal, reordering or truncation.  With\n"
	"--key, also check that the workspace's audit key is the one given (as\n"
	"kluis init and kluis status print it): a log rewritten and signed with\n"
	"another key is refused.\n"
	"list: print the entries (no personal data is ever in them).\n";

static bool want_help(int argc, char **argv)
{
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0)
			return true;
	return false;
}

static void json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

/* ---- user and passphrase -------------------------------------------- */

static int pick_user(struct ws *w, const char *opt, char out[WS_USER_MAX + 1],
		     struct kerr *e)
{
	const char *u = opt ? opt : getenv("KLUIS_USER");

	if (u && u[0]) {
		if (strlen(u) > WS_USER_MAX)
			return kerr_set(e, KERR_USAGE, "user", "name too long");
		memcpy(out, u, strlen(u) + 1);
		return 0;
	}
	return ws_default_user(w, out, e);
}

/* Log in; a wrong passphrase is refused and audited (unsigned: the
 * signing key stays locked). */
static int login(struct ws *w, const char *cmd, const char *user_opt,
		 const char *pass_file, struct ws_session *s, struct kerr *e)
{
	char user[WS_USER_MAX + 1], prompt[128];
	struct kbuf pass;
	int rc;

	if ((rc = pick_user(w, user_opt, user, e)))
		return rc;
	kbuf_init(&pass, 0, true);
	snprintf(prompt, sizeof prompt, "Passphrase for %s: ", user);
	rc = cli_passphrase(prompt, false, pass_file, &pass, e);
	if (!rc)
		rc = ws_login(w, user, (const char *)pass.p, pass.len, s, e);
	kbuf_free(&pass);
	if (rc == KERR_PASSPHRASE) {
		struct kerr e2;
		const struct audit_entry a = {
			.user = user, .role = "", .command = cmd,
			.purpose = "", .object = "",
			.outcome = "refused: wrong passphrase", .counts = "{}",
		};
		kerr_clear(&e2);
		(void)audit_append(w, &a, NULL, &e2);
	}
	return rc;
}

/* ---- init ----------------------------------------------------------- */

int cmd_init(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "protocol", required_argument, NULL, 'p' },
		{ "identity", required_argument, NULL, 'i' },
		{ "user", required_argument, NULL, 'u' },
		{ "kdf", required_argument, NULL, 'K' },
		{ "passphrase-file", required_argument, NULL, 'P' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *proto = NULL, *ident = NULL, *user = NULL, *pfile = NULL;
	struct ws_create_opts o = { .kdf = WS_KDF_INTERACTIVE };
	struct kbuf text = KBUF_INIT(PROTOCOL_FILE_MAX), pass;
	struct agekey_ids ids;
	struct kerr e;
	int c, rc;

	kerr_clear(&e);
	while ((c = getopt_long(argc, argv, "p:i:u:h", opts, NULL)) != -1) {
		switch (c) {
		case 'p': proto = optarg; break;
		case 'i': ident = optarg; break;
		case 'u': user = optarg; break;
		case 'P': pfile = optarg; break;
		case 'K':
			if (ws_kdf_parse(optarg, &o.kdf))
				return cli_usage("init", "--kdf: interactive, "
						 "moderate or sensitive");
			break;
		case 'h': fputs(init_usage, stdout); return EXIT_OK;
		default: return cli_usage("init", "bad option");
		}
	}
	if (optind + 1 != argc || !proto || !ident)
		return cli_usage("init", "need DIR, --protocol and --identity");
	o.dir = argv[optind];
	if (!user)
		user = getenv("KLUIS_USER");
	if (!user || !user[0])
		user = getlogin();
	if (!user || !user[0])
		user = "custodian";
	o.user = user;
	if ((rc = kfile_read(proto, &text, &e)))
		return cli_fail("init", &e);
	agekey_ids_init(&ids);
	kbuf_init(&pass, 0, true);
	if (!(rc = agekey_ids_load(&ids, ident, &e)) &&
	    !(rc = cli_passphrase("New passphrase for the workspace: ", true,
				  pfile, &pass, &e))) {
		o.protocol_text = (const char *)text.p;
		o.protocol_len = text.len;
		o.identities = ids.sk;
		o.n_identities = ids.n;
		o.pass = (const char *)pass.p;
		o.pass_len = pass.len;
		rc = ws_create(&o, &e);
	}
	kbuf_free(&pass);
	agekey_ids_free(&ids);
	kbuf_free(&text);
	if (rc)
		return cli_fail("init", &e);
	printf("workspace %s created for user %s (admin + custodian)\n", o.dir,
	       o.user);
	struct ws *w;
	char hex[65];
	if (ws_open(o.dir, &w, &e) == 0) {
		ws_sign_pk_hex(w, hex);
		printf("audit key %s\n"
		       "          (keep a copy outside the workspace: kluis audit "
		       "verify --key checks the log against it)\n", hex);
		ws_close(w);
	}
	return EXIT_OK;
}

/* ---- receive -------------------------------------------------------- */

struct progress {
	bool on;
	struct timespec start, last;
};

static void show_progress(void *ctx, uint64_t done, uint64_t total,
			  uint64_t records)
{
	struct progress *p = ctx;
	struct timespec now;

	if (!p->on)
		return;
	clock_gettime(CLOCK_MONOTONIC, &now);
	double since_last = (double)(now.tv_sec - p->last.tv_sec) +
			    (double)(now.tv_nsec - p->last.tv_nsec) / 1e9;
	if (since_last < 0.2 && done < total)
		return;
	p->last = now;
	double t = (double)(now.tv_sec - p->start.tv_sec) +
		   (double)(now.tv_nsec - p->start.tv_nsec) / 1e9;
	fprintf(stderr, "\rkluis: receive: %" PRIu64 " records, %.0f records/s, "
		"%3.0f%%   ", records, t > 0 ? (double)records / t : 0.0,
		total ? 100.0 * (double)done / (double)total : 0.0);
	fflush(stderr);
}

static void print_receive(const struct receive_result *r, bool json)
{
	const struct ws_package *p = &r->pkg;

	if (json) {
		printf("{\"package\":\"%s\",\"received_at\":\"%s\","
		       "\"records\":%" PRIu64 ",\"accepted\":%" PRIu64
		       ",\"rejected\":%" PRIu64 ",\"blanked\":%" PRIu64
		       ",\"persons\":%" PRIu64 ",\"retention_end\":\"%s\","
		       "\"issues_total\":%" PRIu64 ",\"issues\":[",
		       p->id, p->received_at, r->read, r->accepted, r->rejected,
		       r->blanked, p->persons, p->retention_end, r->issues_total);
		for (size_t i = 0; i < r->n_issues; i++) {
			printf("%s{\"record\":%" PRIu64 ",\"field\":", i ? "," : "",
			       r->issues[i].record);
			if (r->issues[i].field[0])
				json_str(stdout, r->issues[i].field);
			else
				fputs("null", stdout);
			printf(",\"action\":\"%s\",\"reason\":", r->issues[i].action);
			json_str(stdout, r->issues[i].reason);
			putchar('}');
		}
		printf("]}\n");
		return;
	}
	printf("package   %s (created %s)\n", p->id, p->created_at);
	printf("records   %" PRIu64 " = accepted %" PRIu64 " + rejected %" PRIu64
	       "\n", r->read, r->accepted, r->rejected);
	if (r->blanked)
		printf("blanked   %" PRIu64 " invalid value%s\n", r->blanked,
		       r->blanked == 1 ? "" : "s");
	printf("persons   %" PRIu64 " (codes drawn at random; %" PRIu64
	       " records joined a person met earlier)\n", p->persons, r->linked);
	printf("retention until %s\n", p->retention_end);
	if (r->issues_total) {
		printf("issues    %" PRIu64 "\n", r->issues_total);
		for (size_t i = 0; i < r->n_issues && i < 20; i++)
			printf("  record %" PRIu64 ": %s%s%s: %s\n",
			       r->issues[i].record, r->issues[i].field,
			       r->issues[i].field[0] ? ": " : "",
			       r->issues[i].action, r->issues[i].reason);
		if (r->issues_total > 20)
			printf("  … %" PRIu64 " more (--json lists %d)\n",
			       r->issues_total - 20, RECEIVE_MAX_ISSUES);
	}
}

int cmd_receive(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "sig", required_argument, NULL, 'S' },
		{ "user", required_argument, NULL, 'u' },
		{ "passphrase-file", required_argument, NULL, 'P' },
		{ "json", no_argument, NULL, 'J' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *user = NULL, *pfile = NULL;
	struct receive_opts o = { 0 };
	struct receive_result r;
	struct progress pr = { 0 };
	struct ws_session s;
	struct ws *w = NULL;
	bool json = false, quiet = false;
	struct kerr e;
	int c, rc;

	kerr_clear(&e);
	while ((c = getopt_long(argc, argv, "u:qh", opts, NULL)) != -1) {
		switch (c) {
		case 'S': o.sig = optarg; break;
		case 'u': user = optarg; break;
		case 'P': pfile = optarg; break;
		case 'J': json = true; break;
		case 'q': quiet = true; break;
		case 'h': fputs(receive_usage, stdout); return EXIT_OK;
		default: return cli_usage("receive", "bad option");
		}
	}
	if (optind + 2 != argc)
		return cli_usage("receive", "need DIR and PACKAGE.age");
	o.package = argv[optind + 1];
	pr.on = !quiet && isatty(STDERR_FILENO);
	clock_gettime(CLOCK_MONOTONIC, &pr.start);
	pr.last = pr.start;
	o.progress = show_progress;
	o.progress_ctx = &pr;
	if ((rc = ws_open(argv[optind], &w, &e)))
		return cli_fail("receive", &e);
	if ((rc = login(w, "receive", user, pfile, &s, &e))) {
		ws_close(w);
		return cli_fail("receive", &e);
	}
	rc = receive_run(w, &s, &o, &r, &e);
	if (pr.on)
		fputs("\r\033[K", stderr);
	ws_logout(&s);
	/* Issues name protocol fields: print while the protocol is loaded. */
	if (!rc && (json || !quiet))
		print_receive(&r, json);
	ws_close(w);
	receive_result_free(&r);
	return rc ? cli_fail("receive", &e) : EXIT_OK;
}

/* ---- status --------------------------------------------------------- */

static long days_left(const char *iso)
{
	struct tm tm = { 0 };

	if (!strptime(iso, "%Y-%m-%dT%H:%M:%SZ", &tm))
		return 0;
	double d = difftime(timegm(&tm), time(NULL)) / 86400.0;
	return d > 0 ? (long)(d + 0.999) : (long)d;
}

int cmd_status(int argc, char **argv)
{
	struct ws_package pk;
	struct audit_state as;
	uint64_t n_rec = 0, n_pers = 0;
	struct ws *w = NULL;
	bool have = false, json = false;
	const char *dir = NULL;
	struct kerr e;
	int rc;

	kerr_clear(&e);
	if (want_help(argc, argv)) {
		fputs(status_usage, stdout);
		return EXIT_OK;
	}
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			json = true;
		else if (argv[i][0] == '-' || dir)
			return cli_usage("status", "usage: kluis status DIR [--json]");
		else
			dir = argv[i];
	}
	if (!dir)
		return cli_usage("status", "need DIR");
	if ((rc = ws_open(dir, &w, &e)) ||
	    (rc = ws_package_get(w, &pk, &have, &e)) ||
	    (rc = ws_data_counts(w, &n_rec, &n_pers, &e)) ||
	    (rc = audit_state(w, &as, &e))) {
		ws_close(w);
		return cli_fail("status", &e);
	}
	const struct protocol *p = ws_protocol(w);
	char dkey[17];
	ms_keyid_hex(p->discloser.ms.keynum, dkey);
	long left = have ? days_left(pk.retention_end) : 0;
	char akey[65];
	ws_sign_pk_hex(w, akey);
	if (json) {
		printf("{\"workspace\":");
		json_str(stdout, dir);
		printf(",\"id\":\"%s\",\"protocol\":{\"id\":", ws_id(w));
		json_str(stdout, p->id);
		printf(",\"version\":");
		json_str(stdout, p->version);
		printf(",\"digest\":\"%s\"},\"discloser\":{\"name\":", p->digest);
		json_str(stdout, p->discloser.name);
		printf(",\"minisign_key_id\":\"%s\"},\"recipient\":{\"name\":", dkey);
		json_str(stdout, p->recipient.name);
		printf(",\"age_recipient\":\"%s\"},", p->recipient.age_recipient);
		if (have)
			printf("\"package\":{\"id\":\"%s\",\"received_at\":\"%s\","
			       "\"received_by\":", pk.id, pk.received_at),
				json_str(stdout, pk.received_by),
				printf(",\"records\":%" PRIu64 ",\"persons\":%" PRIu64
				       ",\"rejected\":%" PRIu64 ",\"blanked\":%" PRIu64
				       ",\"records_digest\":\"%s\",\"package_digest\":\"%s\"},"
				       "\"retention\":{\"period\":\"%s\",\"end\":\"%s\","
				       "\"days_left\":%ld},",
				       pk.records, pk.persons, pk.rejected, pk.blanked,
				       pk.records_digest, pk.package_digest,
				       p->retention.iso, pk.retention_end, left);
		else
			printf("\"package\":null,\"retention\":{\"period\":\"%s\","
			       "\"end\":null,\"days_left\":null},", p->retention.iso);
		printf("\"records\":%" PRIu64 ",\"persons\":%" PRIu64
		       ",\"audit\":{\"key\":\"%s\",\"entries\":%" PRIu64 ",\"last\":%" PRIu64
		       ",\"signed\":%" PRIu64 ",\"signed_at\":\"%s\",\"head\":\"%s\","
		       "\"unsigned\":%" PRIu64 "},\"deadlines\":[",
		       n_rec, n_pers, akey, as.entries, as.last_seq, as.signed_seq,
		       as.signed_at, as.head_hash, as.unsigned_tail);
		if (have)
			printf("{\"what\":\"retention ends: purge\",\"due\":\"%s\","
			       "\"days_left\":%ld}", pk.retention_end, left);
		printf("]}\n");
	} else {
		printf("workspace %s (%s)\n", dir, ws_id(w));
		printf("protocol  %s %s (%s)\n", p->id, p->version, p->digest);
		printf("discloser %s (minisign key %s)\n", p->discloser.name, dkey);
		printf("recipient %s (%s)\n", p->recipient.name,
		       p->recipient.age_recipient);
		if (have) {
			printf("package   %s received %s by %s\n", pk.id,
			       pk.received_at, pk.received_by);
			printf("records   %" PRIu64 " (rejected %" PRIu64
			       ", blanked values %" PRIu64 ")\n", n_rec, pk.rejected,
			       pk.blanked);
			printf("persons   %" PRIu64 "\n", n_pers);
			printf("retention %s from %s: until %s (%ld days left)\n",
			       p->retention.iso,
			       p->retention_from_receipt ? "receipt" : "transfer",
			       pk.retention_end, left);
		} else {
			printf("package   none received yet\n");
			printf("retention %s from %s (clock not started)\n",
			       p->retention.iso,
			       p->retention_from_receipt ? "receipt" : "transfer");
		}
		printf("audit key %s\n", akey);
		printf("audit     %" PRIu64 " entr%s, head #%" PRIu64 " %s\n"
		       "          signed #%" PRIu64 " at %s\n", as.entries,
		       as.entries == 1 ? "y" : "ies", as.last_seq, as.head_hash,
		       as.signed_seq, as.signed_at[0] ? as.signed_at : "never");
		if (as.unsigned_tail)
			printf("          %" PRIu64 " entr%s after the signed head "
			       "(refused logins)\n", as.unsigned_tail,
			       as.unsigned_tail == 1 ? "y" : "ies");
		if (have)
			printf("deadlines %s  retention ends: purge (%ld days)\n",
			       pk.retention_end, left);
		else
			printf("deadlines none open\n");
	}
	ws_close(w);
	return EXIT_OK;
}

/* ---- reidentify ----------------------------------------------------- */

/* Codes from the arguments and, with --codes FILE ("-": stdin), one per
 * line (blank lines and #comments skipped); pointers into argv or b. */
static int gather_codes(int argc, char **argv, const char *file,
			struct kbuf *b, const char ***out, size_t *n,
			struct kerr *e)
{
	size_t cap = (size_t)argc + 1;
	int rc;

	*out = NULL;
	*n = 0;
	if (file) {
		if ((rc = kfile_read(file, b, e)))
			return rc;
		for (size_t i = 0; i < b->len; i++)
			cap += b->p[i] == '\n';
	}
	const char **v = calloc(cap, sizeof *v);
	if (!v)
		return kerr_set(e, KERR_NOMEM, "reidentify", "out of memory");
	for (int i = 0; i < argc; i++)
		v[(*n)++] = argv[i];
	for (char *p = (char *)b->p, *end = p ? p + b->len : NULL; p && p < end;) {
		char *nl = memchr(p, '\n', (size_t)(end - p));
		char *eol = nl ? nl : end;
		*eol = '\0';
		if (eol > p && eol[-1] == '\r')
			eol[-1] = '\0';
		p += strspn(p, " \t");
		if (*p && *p != '#')
			v[(*n)++] = p;
		p = eol + 1;
	}
	*out = v;
	return 0;
}

static void print_persons(const struct reident_result *r, bool json)
{
	for (size_t i = 0; i < r->n; i++) {
		const struct reident_person *pp = &r->persons[i];
		if (json) {
			printf("{\"code\":\"%s\",\"first_record\":%" PRIu64,
			       pp->code, pp->first_record);
			for (size_t k = 0; k < r->n_fields; k++) {
				putchar(',');
				json_str(stdout, r->fields[k]);
				putchar(':');
				if (pp->values[k])
					json_str(stdout, pp->values[k]);
				else
					fputs("null", stdout);
			}
			printf("}\n");
			continue;
		}
		printf("%scode      %s (first in record %" PRIu64 ")\n",
		       i ? "\n" : "", pp->code, pp->first_record);
		for (size_t k = 0; k < r->n_fields; k++)
			printf("%-16s %s\n", r->fields[k],
			       pp->values[k] ? pp->values[k] : "");
	}
}

int cmd_reidentify(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "purpose", required_argument, NULL, 'R' },
		{ "codes", required_argument, NULL, 'C' },
		{ "record", required_argument, NULL, 'r' },
		{ "user", required_argument, NULL, 'u' },
		{ "passphrase-file", required_argument, NULL, 'P' },
		{ "json", no_argument, NULL, 'J' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *user = NULL, *pfile = NULL, *purpose = NULL, *cfile = NULL;
	const char *record = NULL;
	char rcode[PCODE_LEN + 1];
	struct kbuf cbuf = KBUF_INIT(64u << 20);
	struct reident_result r = { 0 };
	const char **codes = NULL;
	struct ws_session s;
	struct ws *w = NULL;
	size_t n_codes = 0;
	bool json = false;
	struct kerr e;
	int c, rc;

	kerr_clear(&e);
	while ((c = getopt_long(argc, argv, "u:h", opts, NULL)) != -1) {
		switch (c) {
		case 'R': purpose = optarg; break;
		case 'C': cfile = optarg; break;
		case 'r': record = optarg; break;
		case 'u': user = optarg; break;
		case 'P': pfile = optarg; break;
		case 'J': json = true; break;
		case 'h': fputs(reidentify_usage, stdout); return EXIT_OK;
		default: return cli_usage("reidentify", "bad option");
		}
	}
	if (optind >= argc || (optind + 1 == argc && !cfile && !record) ||
	    (record && (cfile || optind + 1 != argc)))
		return cli_usage("reidentify", "need DIR and CODE..., --codes FILE "
				 "or --record N");
	char *end;
	unsigned long long recno = record ? strtoull(record, &end, 10) : 0;
	if (record && (!record[0] || *end || recno == 0))
		return cli_usage("reidentify", "--record: a record number (1, 2, …)");
	if (!purpose || !purpose[strspn(purpose, " \t")])
		return cli_usage("reidentify", "--purpose TEXT is required: it "
				 "goes into the audit log");
	if ((rc = gather_codes(argc - optind - 1, argv + optind + 1, cfile,
			       &cbuf, &codes, &n_codes, &e)) ||
	    (rc = ws_open(argv[optind], &w, &e))) {
		free(codes);
		kbuf_free(&cbuf);
		return cli_fail("reidentify", &e);
	}
	if (record) {
		/* The record's code, then as any code: the audit entry names
		 * the code that was opened. */
		uint64_t code;
		if ((rc = ws_code_of_record(w, recno, &code, &e))) {
			ws_close(w);
			free(codes);
			return cli_fail("reidentify", &e);
		}
		pcode_format(code, rcode);
		codes[n_codes++] = rcode;
	}
	if (!(rc = login(w, "reidentify", user, pfile, &s, &e))) {
		rc = reident_run(w, &s, codes, n_codes, purpose, &r, &e);
		ws_logout(&s);
	}
	ws_close(w);
	free(codes);
	kbuf_free(&cbuf);
	if (rc)
		return cli_fail("reidentify", &e);
	print_persons(&r, json);
	reident_result_free(&r);
	return EXIT_OK;
}

/* ---- audit ---------------------------------------------------------- */

static int print_row(void *ctx, const struct audit_row *r)
{
	bool json = *(bool *)ctx;

	if (!json) {
		printf("%5" PRIu64 " %s %s (%s) %s [%s] %s: %s %s\n", r->seq, r->at,
		       r->user, r->role[0] ? r->role : "-", r->command,
		       r->purpose[0] ? r->purpose : "-",
		       r->object[0] ? r->object : "-", r->outcome, r->counts);
		return 0;
	}
	const char *k[] = { "at", "user", "role", "command", "purpose", "object",
			    "outcome" };
	const char *v[] = { r->at, r->user, r->role, r->command, r->purpose,
			    r->object, r->outcome };
	printf("{\"seq\":%" PRIu64, r->seq);
	for (int i = 0; i < 7; i++) {
		printf(",\"%s\":", k[i]);
		json_str(stdout, v[i]);
	}
	printf(",\"counts\":%s,\"hash\":\"%s\"}\n", r->counts, r->hash);
	return 0;
}

int cmd_audit(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "key", required_argument, NULL, 'k' },
		{ "json", no_argument, NULL, 'J' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *key = NULL;
	struct audit_state as;
	struct ws *w = NULL;
	bool json = false, list;
	struct kerr e;
	int c, rc;

	kerr_clear(&e);
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'k': key = optarg; break;
		case 'J': json = true; break;
		case 'h': fputs(audit_usage, stdout); return EXIT_OK;
		default: return cli_usage("audit", "bad option");
		}
	}
	if (optind + 2 != argc || (strcmp(argv[optind], "verify") != 0 &&
				   strcmp(argv[optind], "list") != 0))
		return cli_usage("audit", "usage: kluis audit verify|list DIR");
	list = strcmp(argv[optind], "list") == 0;
	if ((list && key) || (!list && json))
		return cli_usage("audit", "--key goes with verify, --json with list");
	if ((rc = ws_open(argv[optind + 1], &w, &e)))
		return cli_fail("audit", &e);
	if (list) {
		rc = audit_each(w, print_row, &json, &e);
	} else if (!(rc = key ? ws_check_sign_pk(w, key, &e) : 0) &&
		   !(rc = audit_verify(w, &as, &e))) {
		printf("audit log of %s: %" PRIu64 " entr%s, chain intact, head "
		       "#%" PRIu64 " signed by the workspace key%s at %s\n",
		       argv[optind + 1], as.entries, as.entries == 1 ? "y" : "ies",
		       as.signed_seq, key ? " (the one given)" : "", as.signed_at);
		if (as.unsigned_tail)
			printf("%" PRIu64 " entr%s after the signed head (refused "
			       "logins; signed with the next command)\n",
			       as.unsigned_tail, as.unsigned_tail == 1 ? "y" : "ies");
	}
	ws_close(w);
	return rc ? cli_fail("audit", &e) : EXIT_OK;
}
