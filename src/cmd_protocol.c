/*
 * protocol — check, show, digest, set-keys and render a protocol file.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "protocol.h"
#include "prender.h"
#include "banned.h"

static const char protocol_usage[] =
	"Usage: kluis protocol check FILE\n"
	"       kluis protocol show FILE\n"
	"       kluis protocol digest FILE\n"
	"       kluis protocol set-keys FILE --discloser PUB --recipient PUB [-o OUT]\n"
	"       kluis protocol render FILE [--format md|html] [-o OUT]\n"
	"\n"
	"The protocol file says what kluis enforces: fields, selection,\n"
	"retention, roles, deadlines (see docs/protocol-format.md).\n"
	"\n"
	"  check     validate; report every problem with its JSON path;\n"
	"            exit 1 if there is an error (warnings alone exit 0)\n"
	"  show      a readable summary\n"
	"  digest    sha256 of the canonical form: what packages and\n"
	"            workspaces bind to (layout and key order do not count)\n"
	"  set-keys  write the parties' public keys (PREFIX.pub files from\n"
	"            kluis keygen) into the protocol; in place unless -o\n"
	"  render    the protocol in Dutch as Markdown (default) or HTML\n";

static int sub_check(int argc, char **argv)
{
	struct protocol *p = NULL;
	struct pdiag d;
	struct kerr e;
	int rc;

	if (argc != 2)
		return cli_usage("protocol check", "exactly one FILE");
	kerr_clear(&e);
	pdiag_init(&d);
	rc = protocol_load(argv[1], &p, &d, &e);
	if (rc && !d.errors) {
		/* The file itself could not be read. */
		pdiag_free(&d);
		return cli_fail("protocol check", &e);
	}
	cli_print_diag(stdout, "", argv[1], &d, true);
	printf("%s: %zu error%s, %zu warning%s%s%s\n", argv[1], d.errors,
	       d.errors == 1 ? "" : "s", d.warnings, d.warnings == 1 ? "" : "s",
	       p ? "; " : "", p ? p->digest : "");
	pdiag_free(&d);
	protocol_free(p);
	return rc ? EXIT_REFUSED : EXIT_OK;
}

static int sub_digest(int argc, char **argv)
{
	struct protocol *p = NULL;
	int rc;

	if (argc != 2)
		return cli_usage("protocol digest", "exactly one FILE");
	rc = cli_load_protocol("protocol digest", argv[1], &p, false);
	if (rc)
		return rc;
	printf("%s\n", p->digest);
	protocol_free(p);
	return EXIT_OK;
}

static const char *duration_en(const struct pduration *d, char *buf,
			       size_t n)
{
	const char *unit = d->unit == 'Y' ? "year" : d->unit == 'M' ? "month"
			 : d->unit == 'D' ? "day" : "hour";

	if (!d->unit)
		snprintf(buf, n, "-");
	else if (d->n == 0)
		snprintf(buf, n, "at once");
	else
		snprintf(buf, n, "%u %s%s", d->n, unit, d->n == 1 ? "" : "s");
	return buf;
}

static void show_party(const char *role, const struct pparty *pp)
{
	printf("%-12s %s (%s), %s\n", role, pp->name, pp->legal_name,
	       pp->address);
	printf("%-12s represented by %s, %s\n", "", pp->rep_name,
	       pp->rep_function);
	printf("%-12s DPO: %s <%s>\n", "", pp->dpo_name,
	       *pp->dpo_email ? pp->dpo_email : "no address");
	if (pp->has_keys) {
		char id[17];
		ms_keyid_hex(pp->ms.keynum, id);
		printf("%-12s keys: %s, minisign key id %s\n", "",
		       pp->age_recipient, id);
	} else {
		printf("%-12s keys: not set (kluis protocol set-keys)\n", "");
	}
}

static int sub_show(int argc, char **argv)
{
	struct protocol *p = NULL;
	char b1[32], b2[32];
	int rc;

	if (argc != 2)
		return cli_usage("protocol show", "exactly one FILE");
	rc = cli_load_protocol("protocol show", argv[1], &p, true);
	if (rc)
		return rc;
	printf("%-12s %s, version %s\n", "protocol", p->id, p->version);
	printf("%-12s %s\n", "digest", p->digest);
	printf("%-12s %s\n", "title", p->title);
	printf("%-12s %s%s%s\n", "signed",
	       *p->signed_date ? p->signed_date : "not yet",
	       *p->signed_place ? ", " : "", p->signed_place);
	show_party("discloser", &p->discloser);
	show_party("recipient", &p->recipient);
	printf("%-12s", "services");
	for (size_t i = 0; i < p->n_services; i++)
		printf(" %s (%s)%s", p->services[i].id, p->services[i].name,
		       i + 1 < p->n_services ? "," : "");
	printf("\n%-12s %s, %s by %s\n", "transfer",
	       pperiodicity_name(p->periodicity), p->method, p->channel);
	printf("%-12s %s from %s, then %s\n", "retention",
	       duration_en(&p->retention, b1, sizeof b1),
	       p->retention_from_receipt ? "receipt" : "transfer",
	       p->retention_aggregate_only ? "aggregate statistics only"
					   : "everything destroyed");
	printf("%-12s %s\n", "selection",
	       json_string_value(json_object_get(
		       json_object_get(p->doc, "selection"), "description")));
	printf("\nfields (%zu):\n", p->n_fields);
	for (size_t i = 0; i < p->n_fields; i++) {
		const struct pfield *f = &p->fields[i];
		printf("  %-22s %-6s %-11s %-8s %-8s %s\n", f->name,
		       pfield_type_name(f->type),
		       f->category == PF_IDENTIFYING ? "identifying" : "attribute",
		       f->required ? "required" : "optional",
		       f->blank_invalid ? "blank" : "reject", f->label);
	}
	printf("\nroles:\n");
	for (int r = 0; r < PROLE_COUNT; r++) {
		const struct prole *ro = &p->roles[r];
		if (!ro->defined)
			continue;
		printf("  %-11s", prole_name_str((enum prole_name)r));
		for (unsigned b = 0; b < PP_COUNT; b++)
			if (ro->perms & (1u << b))
				printf(" %s", pperm_name(1u << b));
		if (ro->n_services) {
			printf("  (services:");
			for (size_t s = 0; s < ro->n_services; s++)
				printf(" %s", ro->services[s]);
			printf(")");
		}
		printf("\n");
	}
	printf("\nsecurity measures (%zu):", p->n_measures);
	for (size_t i = 0; i < p->n_measures; i++)
		printf(" %s", p->measures[i].id);
	printf("\nprocessors:  %zu\n", p->n_processors);
	printf("deadlines:   quality report %s, quality action %s,\n",
	       duration_en(&p->quality_report, b1, sizeof b1),
	       duration_en(&p->quality_action, b2, sizeof b2));
	printf("             incident to controller %s, ",
	       duration_en(&p->incident_controller, b1, sizeof b1));
	printf("breach notification %s\n",
	       duration_en(&p->breach_notification, b2, sizeof b2));
	printf("statistics:  cells under %u persons suppressed; dominance: top %u > %u%%\n",
	       p->min_cell_count, p->dominance_top, p->dominance_percent);
	protocol_free(p);
	return EXIT_OK;
}

static int sub_set_keys(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "discloser", required_argument, NULL, 'd' },
		{ "recipient", required_argument, NULL, 'r' },
		{ "output", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *cmd = "protocol set-keys";
	const char *dpath = NULL, *rpath = NULL, *out = NULL, *file;
	struct pubfile dp, rp;
	struct kbuf text = KBUF_INIT(PROTOCOL_FILE_MAX);
	struct kbuf result = KBUF_INIT(PROTOCOL_FILE_MAX * 2);
	char dage[AGE_RECIPIENT_LEN + 1], rage[AGE_RECIPIENT_LEN + 1];
	char dms[57], rms[57];
	struct pdiag d;
	struct kerr e;
	int c, rc = EXIT_OK;

	kerr_clear(&e);
	pdiag_init(&d);
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":d:r:o:h", opts, NULL)) != -1) {
		switch (c) {
		case 'd': dpath = optarg; break;
		case 'r': rpath = optarg; break;
		case 'o': out = optarg; break;
		case 'h': fputs(protocol_usage, stdout); return EXIT_OK;
		default: return cli_bad_option(cmd, argv, c);
		}
	}
	if (argc - optind != 1)
		return cli_usage(cmd, "exactly one protocol FILE");
	if (!dpath || !rpath)
		return cli_usage(cmd, "--discloser PUB and --recipient PUB are required");
	file = argv[optind];
	if (pubfile_load(dpath, &dp, &e) || pubfile_load(rpath, &rp, &e) ||
	    kfile_read(file, &text, &e))
		goto fail;
	agekey_recipient_encode(dp.age, dage, sizeof dage);
	agekey_recipient_encode(rp.age, rage, sizeof rage);
	ms_pubkey_encode(&dp.ms, dms);
	ms_pubkey_encode(&rp.ms, rms);
	rc = protocol_set_keys((const char *)text.p, text.len, dage, dms, rage,
			       rms, &result, &d, &e);
	cli_print_diag(stderr, "kluis: protocol set-keys: ", file, &d, false);
	if (rc)
		goto fail;
	if (kfile_write(out ? out : file, result.p, result.len, 0644, 0, &e))
		goto fail;
	printf("keys of '%s' (discloser) and '%s' (recipient) written to %s\n",
	       dp.label, rp.label, out ? out : file);
	goto done;
fail:
	rc = cli_fail(cmd, &e);
done:
	pdiag_free(&d);
	kbuf_free(&text);
	kbuf_free(&result);
	return rc;
}

static int sub_render(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "format", required_argument, NULL, 'f' },
		{ "output", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *cmd = "protocol render";
	const char *out = NULL;
	enum prender_format fmt = PRENDER_MD;
	struct kbuf doc = KBUF_INIT(64u << 20);
	struct protocol *p = NULL;
	struct kfd_sink so;
	struct kerr e;
	int c, rc;

	kerr_clear(&e);
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":f:o:h", opts, NULL)) != -1) {
		switch (c) {
		case 'f':
			if (strcmp(optarg, "md") == 0)
				fmt = PRENDER_MD;
			else if (strcmp(optarg, "html") == 0)
				fmt = PRENDER_HTML;
			else
				return cli_usage(cmd, "--format must be md or html");
			break;
		case 'o': out = strcmp(optarg, "-") ? optarg : NULL; break;
		case 'h': fputs(protocol_usage, stdout); return EXIT_OK;
		default: return cli_bad_option(cmd, argv, c);
		}
	}
	if (argc - optind != 1)
		return cli_usage(cmd, "exactly one protocol FILE");
	rc = cli_load_protocol(cmd, argv[optind], &p, false);
	if (rc)
		return rc;
	if (prender(p, fmt, &doc, &e))
		goto fail;
	if (out) {
		if (kfile_write(out, doc.p, doc.len, 0644, 0, &e))
			goto fail;
	} else {
		kfd_sink_init(&so, 1, "standard output");
		if (so.base.write(&so.base, doc.p, doc.len, &e))
			goto fail;
	}
	rc = EXIT_OK;
	goto done;
fail:
	rc = cli_fail(cmd, &e);
done:
	protocol_free(p);
	kbuf_free(&doc);
	return rc;
}

int cmd_protocol(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*run)(int, char **);
	} subs[] = {
		{ "check", sub_check },
		{ "show", sub_show },
		{ "digest", sub_digest },
		{ "set-keys", sub_set_keys },
		{ "render", sub_render },
	};

	if (argc < 2 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "--help") == 0) {
		fputs(protocol_usage, argc < 2 ? stderr : stdout);
		return argc < 2 ? EXIT_ERROR : EXIT_OK;
	}
	for (size_t i = 0; i < sizeof subs / sizeof *subs; i++)
		if (strcmp(argv[1], subs[i].name) == 0) {
			for (int a = 2; a < argc; a++)
				if (strcmp(argv[a], "-h") == 0 ||
				    strcmp(argv[a], "--help") == 0) {
					fputs(protocol_usage, stdout);
					return EXIT_OK;
				}
			return subs[i].run(argc - 1, argv + 1);
		}
	return cli_usage("protocol", "unknown subcommand '%s'", argv[1]);
}
