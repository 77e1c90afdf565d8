/*
 * keygen — create a party's keys.  The minisign key is passphrase-protected
 * unless --no-passphrase, as `minisign -G` does.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "banned.h"

static const char usage_text[] =
	"Usage: kluis keygen --out PREFIX [--label NAME] [--no-passphrase]\n"
	"                    [--passphrase-file FILE]\n"
	"\n"
	"Create a party's keys:\n"
	"  PREFIX.age.key       age X25519 identity (mode 0600)\n"
	"  PREFIX.minisign.key  minisign secret key (0600), passphrase-encrypted\n"
	"  PREFIX.minisign.pub  minisign public key (for minisign -V -p)\n"
	"  PREFIX.pub           public keys to give the other party; also a\n"
	"                       recipients file for age -R\n"
	"Existing files are never overwritten.\n"
	"\n"
	"Options:\n"
	"  -o, --out PREFIX          where to write the keys (required)\n"
	"  -l, --label NAME          a name for the keys (default: PREFIX's name)\n"
	"  -W, --no-passphrase       leave the minisign key unencrypted\n"
	"      --passphrase-file F   read the passphrase from F's first line\n"
	"  -h, --help                this help\n"
	"The passphrase is otherwise taken from KLUIS_PASSPHRASE or asked for.\n";

int cmd_keygen(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "out", required_argument, NULL, 'o' },
		{ "label", required_argument, NULL, 'l' },
		{ "no-passphrase", no_argument, NULL, 'W' },
		{ "passphrase-file", required_argument, NULL, 'F' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct keygen_opts o = { 0 };
	const char *pass_file = NULL;
	struct kbuf pass;
	struct pubfile pub;
	struct kerr e;
	bool no_pass = false;
	int c, rc;

	kerr_clear(&e);
	kbuf_init(&pass, 0, true);
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":o:l:Wh", opts, NULL)) != -1) {
		switch (c) {
		case 'o': o.prefix = optarg; break;
		case 'l': o.label = optarg; break;
		case 'W': no_pass = true; break;
		case 'F': pass_file = optarg; break;
		case 'h': fputs(usage_text, stdout); return EXIT_OK;
		default: return cli_bad_option("keygen", argv, c);
		}
	}
	if (optind != argc)
		return cli_usage("keygen", "unexpected argument '%s'", argv[optind]);
	if (!o.prefix)
		return cli_usage("keygen", "--out PREFIX is required");
	if (o.label && strlen(o.label) >= PUBFILE_LABEL_MAX)
		return cli_usage("keygen", "--label is longer than %d bytes",
				 PUBFILE_LABEL_MAX - 1);
	if (no_pass && pass_file)
		return cli_usage("keygen",
				 "--no-passphrase and --passphrase-file exclude each other");
	if (!no_pass) {
		rc = cli_passphrase("Passphrase for the new minisign key: ", true,
				    pass_file, &pass, &e);
		if (rc) {
			kbuf_free(&pass);
			return cli_fail("keygen", &e);
		}
		o.passphrase = (const char *)pass.p;
		o.passphrase_len = pass.len;
	}
	rc = keygen_write(&o, &pub, &e);
	kbuf_free(&pass);
	if (rc)
		return cli_fail("keygen", &e);
	{
		char id[17], path[4096];
		ms_keyid_hex(pub.ms.keynum, id);
		printf("created keys for '%s'\n", pub.label);
		for (int i = 0; i < KEYGEN_FILES; i++)
			printf("  %s\n", keygen_path(o.prefix, i, path, sizeof path));
		printf("minisign key id: %s%s\n", id,
		       no_pass ? " (secret key NOT passphrase-protected)" : "");
	}
	return EXIT_OK;
}
