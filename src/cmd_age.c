/*
 * encrypt, decrypt — the age file format, compatible with the age tool.
 * Output given with -o appears only when complete (and, for decrypt, only
 * once the whole file authenticated); on stdout, decrypted data is released
 * chunk by chunk as each chunk authenticates.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "banned.h"

/* A batch and one chunk more per read: the encryptor seals the batch
 * straight from the buffer (it knows more data follows) and copies only
 * the one chunk it must hold back. */
#define IO_BUF (AGE_BATCH_BYTES + AGE_CHUNK_SIZE)

static const char encrypt_usage[] =
	"Usage: kluis encrypt (-r RECIPIENT | -R FILE)... [-a] [-o OUT] [IN]\n"
	"       kluis encrypt (-p | --passphrase-file F) [--work-factor N] [-a]\n"
	"                     [-o OUT] [IN]\n"
	"\n"
	"Encrypt IN (default: standard input) to the age format.\n"
	"\n"
	"Options:\n"
	"  -r, --recipient age1…     encrypt to this X25519 recipient (repeatable)\n"
	"  -R, --recipients-file F   encrypt to every recipient in F (age1… lines,\n"
	"                            '#' comments; a kluis .pub file works)\n"
	"  -p, --passphrase          encrypt with a passphrase (scrypt) instead\n"
	"      --passphrase-file F   read the passphrase from F (implies -p)\n"
	"      --work-factor N       scrypt work factor log2(N), default 18\n"
	"  -a, --armor               write the PEM-style ASCII armor\n"
	"  -o, --output OUT          write to OUT (atomically) instead of stdout\n"
	"                            ('-' is stdout)\n"
	"  -h, --help                this help\n";

static const char decrypt_usage[] =
	"Usage: kluis decrypt -i IDENTITY... [-p] [-o OUT] [IN]\n"
	"       kluis decrypt [-p | --passphrase-file F] [-o OUT] [IN]\n"
	"\n"
	"Decrypt an age file (binary or armored; detected) from IN or stdin.\n"
	"With -o, OUT (mode 0600) appears only after the whole file authenticated;\n"
	"a damaged, truncated or forged file leaves no output file.\n"
	"\n"
	"Options:\n"
	"  -i, --identity FILE       an identity file (AGE-SECRET-KEY-1… lines);\n"
	"                            repeatable\n"
	"  -p, --passphrase          the file is passphrase-encrypted (the default\n"
	"                            when no -i is given)\n"
	"      --passphrase-file F   read the passphrase from F\n"
	"  -o, --output OUT          write to OUT instead of stdout ('-' is stdout)\n"
	"  -d, --decrypt             ignored (for age's muscle memory)\n"
	"  -h, --help                this help\n"
	"Without -i the file must be passphrase-encrypted; the passphrase is\n"
	"asked for only then (or read from --passphrase-file/KLUIS_PASSPHRASE).\n";

/* Lazily asked passphrase for decrypt without -i. */
struct ask {
	const char *file;
	struct kbuf pass;
};

static int ask_passphrase(void *ctx, const char **p, size_t *n, struct kerr *e)
{
	struct ask *a = ctx;
	int rc = cli_passphrase("Passphrase: ", false, a->file, &a->pass, e);

	*p = (const char *)a->pass.p;
	*n = a->pass.len;
	return rc;
}

static int open_input(const char *cmd, const char *path, int *fd)
{
	if (!path || strcmp(path, "-") == 0) {
		*fd = STDIN_FILENO;
		return 0;
	}
	*fd = open(path, O_RDONLY | O_CLOEXEC);
	if (*fd < 0) {
		struct kerr e;
		kerr_errno(&e, errno, path, "cannot open");
		return cli_fail(cmd, &e);
	}
	return 0;
}

int cmd_encrypt(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "recipient", required_argument, NULL, 'r' },
		{ "recipients-file", required_argument, NULL, 'R' },
		{ "passphrase", no_argument, NULL, 'p' },
		{ "passphrase-file", required_argument, NULL, 'F' },
		{ "work-factor", required_argument, NULL, 'w' },
		{ "armor", no_argument, NULL, 'a' },
		{ "output", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct agekey_rcpts rcpts;
	struct age_recipients r = { 0 };
	struct kfile_out out = { .fd = -1 };
	struct kfd_sink stdout_sink;
	struct ksink *sink;
	struct age_enc *enc = NULL;
	struct kbuf pass;
	struct kerr e;
	const char *outpath = NULL, *pass_file = NULL, *inpath = NULL;
	bool armor = false, use_pass = false, have_out = false;
	struct kpump *pump = NULL;
	int c, rc = EXIT_OK, fd = -1;
	char *end;

	kerr_clear(&e);
	agekey_rcpts_init(&rcpts);
	kbuf_init(&pass, 0, true);
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":r:R:pao:h", opts, NULL)) != -1) {
		switch (c) {
		case 'r':
			if (agekey_rcpts_add_string(&rcpts, optarg, &e)) {
				/* Never echo a secret key given here by mistake. */
				if (strncasecmp(optarg, "AGE-SECRET-KEY-", 15) == 0)
					rc = cli_usage("encrypt", "-r: that is a secret "
						       "key (AGE-SECRET-KEY-1…), not a "
						       "recipient; it is not repeated here");
				else
					rc = cli_usage("encrypt", "-r '%s': %s",
						       optarg, e.why);
				goto out;
			}
			break;
		case 'R':
			if (agekey_rcpts_load(&rcpts, optarg, &e)) {
				rc = cli_fail("encrypt", &e);
				goto out;
			}
			break;
		case 'p': use_pass = true; break;
		case 'F': use_pass = true; pass_file = optarg; break;
		case 'w':
			errno = 0;
			r.scrypt_log2n = (unsigned)strtoul(optarg, &end, 10);
			if (errno || *end || r.scrypt_log2n < 10 ||
			    r.scrypt_log2n > AGE_SCRYPT_MAX_LOG2N) {
				rc = cli_usage("encrypt",
					       "--work-factor must be 10..%d",
					       AGE_SCRYPT_MAX_LOG2N);
				goto out;
			}
			break;
		case 'a': armor = true; break;
		case 'o': outpath = strcmp(optarg, "-") ? optarg : NULL; break;
		case 'h': fputs(encrypt_usage, stdout); goto out;
		default: rc = cli_bad_option("encrypt", argv, c); goto out;
		}
	}
	if (argc - optind > 1) {
		rc = cli_usage("encrypt", "only one input file");
		goto out;
	}
	inpath = optind < argc ? argv[optind] : NULL;
	if (use_pass && rcpts.n) {
		rc = cli_usage("encrypt", "-p and -r/-R exclude each other");
		goto out;
	}
	if (!use_pass && !rcpts.n) {
		rc = cli_usage("encrypt", "need -r, -R or --passphrase");
		goto out;
	}
	if (r.scrypt_log2n && !use_pass) {
		rc = cli_usage("encrypt", "--work-factor only applies with --passphrase");
		goto out;
	}
	if (!outpath && !armor && isatty(STDOUT_FILENO)) {
		rc = cli_usage("encrypt",
			       "refusing to write binary to a terminal; use -a or -o");
		goto out;
	}
	if (use_pass) {
		if (cli_passphrase("Passphrase: ", true, pass_file, &pass, &e)) {
			rc = cli_fail("encrypt", &e);
			goto out;
		}
		r.passphrase = (const char *)pass.p;
		r.passphrase_len = pass.len;
	}
	r.x25519 = (const uint8_t(*)[32])rcpts.pk;
	r.n_x25519 = rcpts.n;

	if ((rc = open_input("encrypt", inpath, &fd)))
		goto out;
	if (outpath) {
		if (kfile_out_open(&out, outpath, 0644, 0, &e)) {
			rc = cli_fail("encrypt", &e);
			goto out;
		}
		have_out = true;
		sink = &out.sink.base;
	} else {
		kfd_sink_init(&stdout_sink, STDOUT_FILENO, "standard output");
		sink = &stdout_sink.base;
	}
	/* Reading ahead on a helper thread overlaps the copy out of the
	 * page cache with sealing. */
	if (kpump_start(&pump, fd, IO_BUF, inpath ? inpath : "standard input",
			&e))
		goto fail;
	if (age_enc_begin(&enc, &r, armor, sink, &e))
		goto fail;
	for (;;) {
		const uint8_t *data;
		size_t n;

		if (kpump_next(pump, &data, &n, &e))
			goto fail;
		if (n == 0)
			break;
		if (age_enc_write(enc, data, n, &e))
			goto fail;
	}
	if (age_enc_finish(enc, &e))
		goto fail;
	if (have_out) {
		have_out = false;
		if (kfile_out_commit(&out, &e))
			goto fail;
	}
	goto out;
fail:
	rc = cli_fail("encrypt", &e);
out:
	if (have_out)
		kfile_out_abort(&out);
	age_enc_free(enc);
	kpump_free(pump);
	if (fd > STDIN_FILENO)
		close(fd);
	agekey_rcpts_free(&rcpts);
	kbuf_free(&pass);
	return rc;
}

int cmd_decrypt(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "identity", required_argument, NULL, 'i' },
		{ "passphrase", no_argument, NULL, 'p' },
		{ "passphrase-file", required_argument, NULL, 'F' },
		{ "output", required_argument, NULL, 'o' },
		{ "decrypt", no_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct agekey_ids ids;
	struct age_identities idset = { 0 };
	struct kfile_out out = { .fd = -1 };
	struct kfd_sink stdout_sink;
	struct kfd_src insrc;
	struct ksink *sink;
	struct age_dec *dec = NULL;
	struct ask ask = { 0 };
	struct kerr e;
	const char *outpath = NULL, *inpath = NULL;
	bool have_out = false;
	uint64_t released = 0;
	int c, rc = EXIT_OK, fd = -1;

	kerr_clear(&e);
	agekey_ids_init(&ids);
	kbuf_init(&ask.pass, 0, true);
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":i:po:dh", opts, NULL)) != -1) {
		switch (c) {
		case 'i':
			if (agekey_ids_load(&ids, optarg, &e)) {
				rc = cli_fail("decrypt", &e);
				goto out;
			}
			break;
		case 'p': idset.ask_passphrase = ask_passphrase; break;
		case 'F':
			idset.ask_passphrase = ask_passphrase;
			ask.file = optarg;
			break;
		case 'o': outpath = strcmp(optarg, "-") ? optarg : NULL; break;
		case 'd': break; /* accepted for age's muscle memory */
		case 'h': fputs(decrypt_usage, stdout); goto out;
		default: rc = cli_bad_option("decrypt", argv, c); goto out;
		}
	}
	if (argc - optind > 1) {
		rc = cli_usage("decrypt", "only one input file");
		goto out;
	}
	inpath = optind < argc ? argv[optind] : NULL;
	if (!ids.n)
		idset.ask_passphrase = ask_passphrase;
	idset.ask_ctx = &ask;
	idset.x25519 = ids.sk;
	idset.n_x25519 = ids.n;

	if ((rc = open_input("decrypt", inpath, &fd)))
		goto out;
	kfd_src_init(&insrc, fd, inpath ? inpath : "standard input");
	rc = age_dec_begin(&dec, &insrc.base, &idset, &e);
	kbuf_free(&ask.pass);
	if (rc) {
		rc = cli_fail("decrypt", &e);
		if (e.code == KERR_NOMATCH && !ids.n && !idset.passphrase &&
		    strstr(e.why, "not encrypted with a passphrase"))
			fprintf(stderr, "kluis: decrypt: give an identity with -i\n");
		goto out;
	}
	if (outpath) {
		if (kfile_out_open(&out, outpath, 0600, 0, &e))
			goto fail;
		have_out = true;
		sink = &out.sink.base;
	} else {
		kfd_sink_init(&stdout_sink, STDOUT_FILENO, "standard output");
		sink = &stdout_sink.base;
	}
	for (;;) {
		const uint8_t *p;
		size_t n;

		if (age_dec_next(dec, &p, &n, &e))
			goto fail;
		if (n == 0)
			break;
		if (sink->write(sink, p, n, &e))
			goto fail;
		released += n;
	}
	if (have_out) {
		have_out = false;
		if (kfile_out_commit(&out, &e))
			goto fail;
	}
	goto out;
fail:
	rc = cli_fail("decrypt", &e);
	if (!outpath && released > 0)
		cli_warn("decrypt",
			 "%llu bytes already written to standard output are "
			 "incomplete; discard them",
			 (unsigned long long)released);
out:
	if (have_out)
		kfile_out_abort(&out);
	age_dec_free(dec);
	if (fd > STDIN_FILENO)
		close(fd);
	agekey_ids_free(&ids);
	kbuf_free(&ask.pass);
	return rc;
}
