/*
 * sign, verify — minisign signatures, compatible with the minisign tool.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "banned.h"

static const char sign_usage[] =
	"Usage: kluis sign -s KEY [-t COMMENT] [-c COMMENT] [-l] [-x SIG] FILE\n"
	"\n"
	"Sign FILE with a minisign secret key; writes FILE.minisig.\n"
	"\n"
	"Options:\n"
	"  -s, --secret-key KEY      minisign secret key file (kluis or minisign)\n"
	"  -t, --trusted-comment C   signed comment (default: timestamp and file)\n"
	"  -c, --comment C           unsigned comment\n"
	"  -l, --legacy              sign the file itself, not its BLAKE2b hash\n"
	"                            (needs the whole file in memory)\n"
	"  -x, --signature SIG       where to write (default: FILE.minisig)\n"
	"      --passphrase-file F   passphrase of an encrypted key\n"
	"  -h, --help                this help\n";

static const char verify_usage[] =
	"Usage: kluis verify (-p PUBKEY | -P KEY) [-x SIG] [-H] [-q | -Q] FILE\n"
	"\n"
	"Verify FILE against its minisign signature (default FILE.minisig) and\n"
	"the signed trusted comment; print the trusted comment.  Exit 1 if\n"
	"either does not verify.\n"
	"\n"
	"Options:\n"
	"  -p, --public-key PUB      a kluis .pub file, a minisign .pub file, or\n"
	"                            a file holding the base64 key\n"
	"  -P, --public-key-string K the base64 minisign public key itself\n"
	"  -x, --signature SIG       signature file (default: FILE.minisig)\n"
	"  -H, --require-prehashed   refuse legacy (non-prehashed) signatures\n"
	"  -q, --quiet               print nothing; the exit status tells\n"
	"  -Q, --trusted-only        print only the trusted comment\n"
	"  -h, --help                this help\n";

int cmd_sign(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "secret-key", required_argument, NULL, 's' },
		{ "trusted-comment", required_argument, NULL, 't' },
		{ "comment", required_argument, NULL, 'c' },
		{ "legacy", no_argument, NULL, 'l' },
		{ "signature", required_argument, NULL, 'x' },
		{ "passphrase-file", required_argument, NULL, 'F' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *keypath = NULL, *trusted = NULL, *untrusted = NULL,
		   *sigpath = NULL, *pass_file = NULL, *file;
	char deftc[512], *defsig = NULL;
	struct ms_seckey_file skf = { 0 };
	struct ms_seckey *sk = NULL;
	struct kbuf pass, sig = KBUF_INIT(MS_FILE_MAX);
	struct kerr e;
	bool legacy = false;
	int c, rc = EXIT_OK;

	kerr_clear(&e);
	kbuf_init(&pass, 0, true);
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":s:t:c:lx:h", opts, NULL)) != -1) {
		switch (c) {
		case 's': keypath = optarg; break;
		case 't': trusted = optarg; break;
		case 'c': untrusted = optarg; break;
		case 'l': legacy = true; break;
		case 'x': sigpath = optarg; break;
		case 'F': pass_file = optarg; break;
		case 'h': fputs(sign_usage, stdout); return EXIT_OK;
		default: return cli_bad_option("sign", argv, c);
		}
	}
	if (!keypath)
		return cli_usage("sign", "-s KEY is required");
	if (argc - optind != 1)
		return cli_usage("sign", "exactly one FILE to sign");
	file = argv[optind];
	if (strcmp(file, "-") == 0)
		return cli_usage("sign", "sign a file, not standard input");
	if (!sigpath) {
		size_t n = strlen(file) + sizeof ".minisig";
		defsig = malloc(n);
		if (!defsig)
			return EXIT_ERROR;
		snprintf(defsig, n, "%s.minisig", file);
		sigpath = defsig;
	}
	if (!trusted) {
		const char *base = strrchr(file, '/');
		snprintf(deftc, sizeof deftc, "timestamp:%lld\tfile:%s%s",
			 (long long)time(NULL), base ? base + 1 : file,
			 legacy ? "" : "\thashed");
		trusted = deftc;
	}
	if (!untrusted)
		untrusted = "signature from kluis secret key";

	if (ms_seckey_file_load(keypath, &skf, &e))
		goto fail;
	if (skf.encrypted &&
	    cli_passphrase("Passphrase for the minisign key: ", false,
			   pass_file, &pass, &e))
		goto fail;
	sk = ms_seckey_new();
	if (!sk) {
		kerr_set(&e, KERR_NOMEM, "sign", "cannot allocate locked memory");
		goto fail;
	}
	if (ms_seckey_open(&skf, skf.encrypted ? (const char *)pass.p : NULL,
			   pass.len, sk, &e))
		goto fail;
	kbuf_free(&pass);
	if (ms_sign_file(sk, file, legacy, trusted, untrusted, &sig, &e))
		goto fail;
	if (kfile_write(sigpath, sig.p, sig.len, 0644, 0, &e))
		goto fail;
	goto out;
fail:
	rc = cli_fail("sign", &e);
out:
	ms_seckey_file_wipe(&skf);
	ms_seckey_free(sk);
	kbuf_free(&pass);
	kbuf_free(&sig);
	free(defsig);
	return rc;
}

int cmd_verify(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "public-key", required_argument, NULL, 'p' },
		{ "public-key-string", required_argument, NULL, 'P' },
		{ "signature", required_argument, NULL, 'x' },
		{ "require-prehashed", no_argument, NULL, 'H' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "trusted-only", no_argument, NULL, 'Q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *pubpath = NULL, *pubstr = NULL, *sigpath = NULL, *file;
	char *defsig = NULL, id[17];
	struct ms_pubkey pk;
	struct ms_sig s;
	struct kerr e;
	bool require_hashed = false;
	int quiet = 0, c, rc = EXIT_OK;

	kerr_clear(&e);
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":p:P:x:HqQh", opts, NULL)) != -1) {
		switch (c) {
		case 'p': pubpath = optarg; break;
		case 'P': pubstr = optarg; break;
		case 'x': sigpath = optarg; break;
		case 'H': require_hashed = true; break;
		case 'q': quiet = 2; break;
		case 'Q': quiet = 1; break;
		case 'h': fputs(verify_usage, stdout); return EXIT_OK;
		default: return cli_bad_option("verify", argv, c);
		}
	}
	if (!pubpath == !pubstr)
		return cli_usage("verify", "need exactly one of -p PUBKEY or -P KEY");
	if (argc - optind != 1)
		return cli_usage("verify", "exactly one FILE to verify");
	file = argv[optind];
	if (!sigpath) {
		size_t n = strlen(file) + sizeof ".minisig";
		defsig = malloc(n);
		if (!defsig)
			return EXIT_ERROR;
		snprintf(defsig, n, "%s.minisig", file);
		sigpath = defsig;
	}
	if (pubpath ? pubfile_load_minisign(pubpath, &pk, &e)
		    : ms_pubkey_decode(pubstr, strlen(pubstr), &pk, &e)) {
		rc = cli_fail("verify", &e);
		goto out;
	}
	if (ms_sig_load(sigpath, &s, &e)) {
		rc = cli_fail("verify", &e);
		goto out;
	}
	if (require_hashed && !s.prehashed) {
		kerr_set(&e, KERR_SIGNATURE, sigpath,
			 "legacy signature, but --require-prehashed was given");
		rc = cli_fail("verify", &e);
		goto out;
	}
	if (ms_verify_file(&pk, &s, file, &e)) {
		rc = cli_fail("verify", &e);
		goto out;
	}
	ms_keyid_hex(pk.keynum, id);
	if (quiet == 0)
		printf("signature verified: key %s, %s\ntrusted comment: %s\n", id,
		       s.prehashed ? "prehashed" : "legacy", s.trusted);
	else if (quiet == 1)
		printf("%s\n", s.trusted);
out:
	free(defsig);
	return rc;
}
