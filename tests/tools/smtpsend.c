/*
 * smtpsend — drive lib/mime.c and lib/smtp.c from the shell tests.
 * Test-only; the CLI has its own mail commands.
 *
 *   smtpsend write OUT.eml FROM TO SUBJECT BODYFILE [ATTACH...]
 *       mime_write into OUT.eml (atomically, via kfile).  Each ATTACH is
 *       PATH or PATH=NAME; the shown name defaults to PATH's last
 *       component, the type is text/plain for *.txt, else
 *       application/octet-stream.  The Date is now, the Message-ID random.
 *   smtpsend send URL EML FROM TO [--insecure] [--cred FILE] [--timeout S]
 *       smtp_send_file; TO may be a comma-separated list.
 *
 * Errors: one line "smtpsend: <kerr>" on stderr, exit 1; usage errors exit 2.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kbuf.h"
#include "kerr.h"
#include "kfile.h"
#include "kluis.h"
#include "mime.h"
#include "smtp.h"
#include "banned.h"

static int fail(const struct kerr *e)
{
	char buf[512];

	fprintf(stderr, "smtpsend: %s\n", kerr_str(e, buf, sizeof buf));
	return 1;
}

static int usage(void)
{
	fprintf(stderr,
		"usage: smtpsend write OUT.eml FROM TO SUBJECT BODYFILE [PATH[=NAME]...]\n"
		"       smtpsend send URL EML FROM TO[,TO...] [--insecure] [--cred FILE] [--timeout S]\n");
	return 2;
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);

	return n >= k && strcmp(s + n - k, suffix) == 0;
}

static int cmd_write(int argc, char **argv)
{
	struct mime_attachment att[MIME_MAX_ATTACHMENTS];
	struct mime_message m;
	struct kbuf body = KBUF_INIT(16u << 20);
	struct kfile_out out;
	struct kerr e;
	size_t n_att = 0;
	int rc;

	if (argc < 7 || argc - 7 > MIME_MAX_ATTACHMENTS)
		return usage();
	for (int i = 7; i < argc; i++) {
		char *eq = strchr(argv[i], '=');
		const char *slash;

		if (eq) {
			*eq = '\0';
			att[n_att].filename = eq + 1;
		} else {
			slash = strrchr(argv[i], '/');
			att[n_att].filename = slash ? slash + 1 : argv[i];
		}
		att[n_att].path = argv[i];
		att[n_att].content_type = ends_with(argv[i], ".txt")
						  ? "text/plain; charset=utf-8"
						  : "application/octet-stream";
		n_att++;
	}
	if (kfile_read(argv[6], &body, &e) != 0)
		return fail(&e);
	memset(&m, 0, sizeof m);
	m.from = argv[3];
	m.to = argv[4];
	m.subject = argv[5];
	m.body = body.p ? (const char *)body.p : "";
	m.att = att;
	m.n_att = n_att;
	m.date = time(NULL);
	m.message_id = NULL;
	if (kfile_out_open(&out, argv[2], 0600, 0, &e) != 0) {
		kbuf_free(&body);
		return fail(&e);
	}
	rc = mime_write(&m, &out.sink.base, &e);
	kbuf_free(&body);
	if (rc) {
		kfile_out_abort(&out);
		return fail(&e);
	}
	if (kfile_out_commit(&out, &e) != 0)
		return fail(&e);
	return 0;
}

static int cmd_send(int argc, char **argv)
{
	struct smtp_opts o;
	const char *rcpt[16];
	char *user = NULL, *password = NULL, *to, *save = NULL, *tok;
	const char *cred = NULL;
	struct kerr e;
	int rc;

	if (argc < 6)
		return usage();
	memset(&o, 0, sizeof o);
	o.url = argv[2];
	o.from = argv[4];
	for (int i = 6; i < argc; i++) {
		if (!strcmp(argv[i], "--insecure")) {
			o.insecure = true;
		} else if (!strcmp(argv[i], "--cred") && i + 1 < argc) {
			cred = argv[++i];
		} else if (!strcmp(argv[i], "--timeout") && i + 1 < argc) {
			o.timeout_s = strtol(argv[++i], NULL, 10);
		} else {
			return usage();
		}
	}
	to = argv[5];
	for (tok = strtok_r(to, ",", &save); tok && o.n_rcpt < 16;
	     tok = strtok_r(NULL, ",", &save))
		rcpt[o.n_rcpt++] = tok;
	o.rcpt = rcpt;
	if (cred) {
		if (smtp_credentials_load(cred, &user, &password, &e) != 0)
			return fail(&e);
		o.user = user;
		o.password = password;
	}
	rc = smtp_send_file(&o, argv[3], &e);
	smtp_credentials_free(user, password);
	return rc ? fail(&e) : 0;
}

int main(int argc, char **argv)
{
	struct kerr e;

	if (kluis_init(&e) != 0)
		return fail(&e);
	if (argc >= 2 && !strcmp(argv[1], "write"))
		return cmd_write(argc, argv);
	if (argc >= 2 && !strcmp(argv[1], "send"))
		return cmd_send(argc, argv);
	return usage();
}
