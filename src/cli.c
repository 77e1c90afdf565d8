/*
 * cli — shared plumbing for the commands: errors to stderr with the exit
 * codes the man page documents, passphrases from file, environment or
 * terminal (never argv), and process hardening.
 */
#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <termios.h>
#include <unistd.h>

#include "banned.h"

#define PASS_MAX 1024
#define PASS_FILE_MAX (64 * 1024)

int cli_exit_code(enum kerr_code code)
{
	switch (code) {
	case KERR_OK:
		return EXIT_OK;
	case KERR_LIMIT:
	case KERR_FORMAT:
	case KERR_ARMOR:
	case KERR_HEADER:
	case KERR_NOMATCH:
	case KERR_HMAC:
	case KERR_PAYLOAD:
	case KERR_SIGNATURE:
	case KERR_PASSPHRASE:
	case KERR_POLICY:
		return EXIT_REFUSED;
	default:
		return EXIT_ERROR;
	}
}

int cli_fail(const char *cmd, const struct kerr *e)
{
	char msg[512];

	fprintf(stderr, "kluis: %s: %s\n", cmd, kerr_str(e, msg, sizeof msg));
	return cli_exit_code(e->code);
}

int cli_usage(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "kluis: %s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry 'kluis %s --help'.\n", cmd);
	return EXIT_ERROR;
}

void cli_warn(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "kluis: %s: warning: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int cli_bad_option(const char *cmd, char **argv, int c)
{
	const char *arg = optind > 0 ? argv[optind - 1] : "";
	char name[64];

	/* getopt's own message is off (opterr = 0): one line, in our format,
	 * naming the option as typed; never echo a value given with '='. */
	if (arg && strncmp(arg, "--", 2) == 0)
		snprintf(name, sizeof name, "%.*s", (int)strcspn(arg, "="), arg);
	else
		snprintf(name, sizeof name, "-%c", optopt ? optopt : '?');
	if (c == ':')
		return cli_usage(cmd, "option '%s' needs an argument", name);
	if (arg && strncmp(arg, "--", 2) == 0 && strchr(arg, '=') && optopt)
		return cli_usage(cmd, "option '%s' takes no argument", name);
	return cli_usage(cmd, "unknown option '%s'", name);
}

/* First line of the buffer, without its line ending. */
static void first_line(struct kbuf *b)
{
	uint8_t *nl = b->p ? memchr(b->p, '\n', b->len) : NULL;
	size_t len = nl ? (size_t)(nl - b->p) : b->len;

	if (len && b->p[len - 1] == '\r')
		len--;
	kbuf_truncate(b, len);
}

static int tty_read(int fd, const char *prompt, struct kbuf *out,
		    struct kerr *e)
{
	struct termios old, quiet;
	bool restore = false;
	int rc = 0;

	if (write(fd, prompt, strlen(prompt)) < 0)
		return kerr_errno(e, errno, "/dev/tty", "write");
	if (tcgetattr(fd, &old) == 0) {
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		quiet.c_lflag |= ECHONL;
		/* TCSANOW keeps type-ahead, so a driver program can answer. */
		restore = tcsetattr(fd, TCSANOW, &quiet) == 0;
	}
	for (;;) {
		char c;
		ssize_t n = read(fd, &c, 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = kerr_errno(e, errno, "/dev/tty", "read");
			break;
		}
		if (n == 0 || c == '\n')
			break;
		if (c == '\r')
			continue;
		if ((rc = kbuf_putc(out, (uint8_t)c, e)))
			break;
	}
	if (restore)
		tcsetattr(fd, TCSANOW, &old);
	return rc;
}

int cli_passphrase(const char *prompt, bool confirm, const char *file,
		   struct kbuf *out, struct kerr *e)
{
	const char *env = getenv("KLUIS_PASSPHRASE");
	int rc, fd;

	kbuf_init(out, PASS_FILE_MAX, true);
	if (file) {
		rc = kfile_read(file, out, e);
		if (rc == KERR_LIMIT)
			return kerr_set(e, KERR_USAGE, file,
					"not a passphrase file (larger than %d bytes)",
					PASS_FILE_MAX);
		if (rc)
			return rc;
		first_line(out);
	} else if (env) {
		if (strlen(env) > PASS_MAX)
			return kerr_set(e, KERR_USAGE, "passphrase",
					"KLUIS_PASSPHRASE is longer than %d bytes",
					PASS_MAX);
		rc = kbuf_puts(out, env, e);
		if (rc)
			return rc;
	} else {
		struct kbuf again;

		fd = open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY);
		if (fd < 0)
			return kerr_set(e, KERR_USAGE, "passphrase",
					"no terminal to ask on; use "
					"--passphrase-file or KLUIS_PASSPHRASE");
		rc = tty_read(fd, prompt, out, e);
		if (rc == KERR_LIMIT)
			rc = kerr_set(e, KERR_USAGE, "passphrase",
				      "longer than %d bytes", PASS_MAX);
		if (!rc && confirm) {
			kbuf_init(&again, PASS_MAX, true);
			rc = tty_read(fd, "Confirm passphrase: ", &again, e);
			if (!rc && !kbuf_equal(&again, out))
				rc = kerr_set(e, KERR_USAGE, "passphrase",
					      "the two passphrases differ");
			kbuf_free(&again);
		}
		close(fd);
		if (rc)
			return rc;
	}
	if (out->len == 0)
		return kerr_set(e, KERR_USAGE, "passphrase", "empty passphrase");
	if (out->len > PASS_MAX)
		return kerr_set(e, KERR_USAGE, "passphrase",
				"longer than %d bytes", PASS_MAX);
	return 0;
}

static void on_signal(int sig)
{
	kfile_signal_cleanup();
	signal(sig, SIG_DFL);
	raise(sig);
}

void cli_harden(void)
{
	struct rlimit nocore = { 0, 0 };
	struct sigaction sa;

	/* Decrypted data and keys must never land in a core file. */
	setrlimit(RLIMIT_CORE, &nocore);
#if !defined(__SANITIZE_ADDRESS__) && !defined(KLUIS_SANITIZE)
	/* Not under ASan: LeakSanitizer needs to ptrace us. */
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
#endif
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	/* A closed pipe is an error to report, not a silent death that
	 * would leave a temporary file behind. */
	signal(SIGPIPE, SIG_IGN);
}

void cli_print_diag(FILE *f, const char *prefix, const char *file,
		    const struct pdiag *d, bool warnings)
{
	for (size_t i = 0; i < d->n; i++)
		if (!d->items[i].warning || warnings)
			fprintf(f, "%s%s: %s%s: %s\n", prefix, file,
				d->items[i].warning ? "warning: " : "",
				d->items[i].path, d->items[i].msg);
	if (d->n < d->errors + d->warnings)
		fprintf(f, "%s%s: … and %zu more\n", prefix, file,
			d->errors + d->warnings - d->n);
}

int cli_load_protocol(const char *cmd, const char *path, struct protocol **p,
		      bool print_warnings)
{
	struct pdiag d;
	struct kerr e;
	char prefix[64];
	int rc;

	kerr_clear(&e);
	pdiag_init(&d);
	rc = protocol_load(path, p, &d, &e);
	snprintf(prefix, sizeof prefix, "kluis: %s: ", cmd);
	cli_print_diag(stderr, prefix, path, &d, print_warnings);
	pdiag_free(&d);
	if (rc)
		return cli_fail(cmd, &e);
	return EXIT_OK;
}
