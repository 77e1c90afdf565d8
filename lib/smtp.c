/*
 * smtp — one SMTP transaction through libcurl's easy interface.  libcurl
 * does the protocol (EHLO, STARTTLS, AUTH, MAIL/RCPT/DATA, dot-stuffing);
 * this file chooses safe options, streams the file, and turns libcurl's
 * result codes into reasons a user can act on.
 */
#include "smtp.h"

#include <curl/curl.h>
#include <dlfcn.h>
#include <pthread.h>
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kbuf.h"
#include "kio.h"
#include "mime.h"
#include "banned.h"

#define DEFAULT_TIMEOUT 60L
#define CRED_MAX 4096

/* ---- upload --------------------------------------------------------------- */

struct upload {
	int fd;
	int err; /* errno of a failed read, reported after curl returns */
};

static size_t read_cb(char *buf, size_t size, size_t nitems, void *ud)
{
	struct upload *u = ud;
	ssize_t r;

	do {
		r = read(u->fd, buf, size * nitems);
	} while (r < 0 && errno == EINTR);
	if (r < 0) {
		u->err = errno;
		return CURL_READFUNC_ABORT;
	}
	return (size_t)r;
}

/* ---- options ------------------------------------------------------------ */

struct target {
	char host[256];
	long port;
	bool tls_from_start; /* smtps:// */
};

/* Only smtp:// and smtps:// are accepted, without user info: credentials
 * in a URL end up in shell history and process listings. */
/*
 * libcurl is opened when the first mail is about to go out, not linked:
 * linking it loads some forty libraries (TLS, HTTP/2, LDAP, SSH, …) into
 * every kluis command, about 6 MiB of memory that encrypt and decrypt
 * promise not to use.  The table holds the few functions this file calls,
 * typed from libcurl's own header.  curl_global_init is not thread-safe
 * against other threads in libcurl or its TLS library: kluis mails only
 * from the main thread, after any worker threads are gone, so once is
 * enough.
 */
#define CURL_SONAME "libcurl.so.4"
static struct {
	__typeof__(&curl_global_init) global_init;
	__typeof__(&curl_easy_init) easy_init;
	__typeof__(&curl_easy_setopt) easy_setopt;
	__typeof__(&curl_easy_perform) easy_perform;
	__typeof__(&curl_easy_getinfo) easy_getinfo;
	__typeof__(&curl_easy_cleanup) easy_cleanup;
	__typeof__(&curl_easy_strerror) easy_strerror;
	__typeof__(&curl_slist_append) slist_append;
	__typeof__(&curl_slist_free_all) slist_free_all;
	__typeof__(&curl_free) free;
	__typeof__(&curl_url) url;
	__typeof__(&curl_url_cleanup) url_cleanup;
	__typeof__(&curl_url_get) url_get;
	__typeof__(&curl_url_set) url_set;
} K;
static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static const char *curl_problem = "not initialised";

static void curl_load(void)
{
	void *h = dlopen(CURL_SONAME, RTLD_NOW | RTLD_LOCAL);

	if (!h) {
		curl_problem = CURL_SONAME " cannot be loaded (Debian: "
			       "apt-get install libcurl4)";
		return;
	}
#define LOAD(field, sym)                                               \
	do {                                                           \
		*(void **)(void *)&K.field = dlsym(h, sym);            \
		if (!K.field) {                                        \
			curl_problem = CURL_SONAME " lacks " sym;      \
			return;                                        \
		}                                                      \
	} while (0)
	LOAD(global_init, "curl_global_init");
	LOAD(easy_init, "curl_easy_init");
	LOAD(easy_setopt, "curl_easy_setopt");
	LOAD(easy_perform, "curl_easy_perform");
	LOAD(easy_getinfo, "curl_easy_getinfo");
	LOAD(easy_cleanup, "curl_easy_cleanup");
	LOAD(easy_strerror, "curl_easy_strerror");
	LOAD(slist_append, "curl_slist_append");
	LOAD(slist_free_all, "curl_slist_free_all");
	LOAD(free, "curl_free");
	LOAD(url, "curl_url");
	LOAD(url_cleanup, "curl_url_cleanup");
	LOAD(url_get, "curl_url_get");
	LOAD(url_set, "curl_url_set");
#undef LOAD
	/* The handle stays open for the life of the process. */
	curl_problem = K.global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK
			       ? NULL
			       : "curl_global_init failed";
}

static int curl_ready(struct kerr *e)
{
	pthread_once(&curl_once, curl_load);
	if (curl_problem)
		return kerr_set(e, KERR_INTERNAL, "libcurl", "%s",
				curl_problem);
	return 0;
}

static int parse_url(const char *url, struct target *t, struct kerr *e)
{
	CURLU *u;
	char *scheme = NULL, *host = NULL, *port = NULL, *user = NULL;
	int rc = 0;

	if (!url || !*url)
		return kerr_set(e, KERR_USAGE, "SMTP", "no server URL given");
	if (strncasecmp(url, "smtp://", 7) && strncasecmp(url, "smtps://", 8))
		return kerr_set(e, KERR_USAGE, "SMTP",
				"server URL must start with smtp:// or smtps://");
	if ((rc = curl_ready(e)) != 0)
		return rc;
	u = K.url();
	if (!u)
		return kerr_set(e, KERR_NOMEM, "SMTP", "out of memory");
	if (K.url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    K.url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    K.url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
	    K.url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) !=
		    CURLUE_OK) {
		rc = kerr_set(e, KERR_USAGE, "SMTP",
			      "server URL is not a valid smtp:// or smtps:// URL");
		goto out;
	}
	if (K.url_get(u, CURLUPART_USER, &user, 0) == CURLUE_OK) {
		rc = kerr_set(e, KERR_USAGE, "SMTP",
			      "server URL must not hold a user name or password; use a credentials file");
		goto out;
	}
	snprintf(t->host, sizeof t->host, "%s", host);
	t->port = strtol(port, NULL, 10);
	t->tls_from_start = strcasecmp(scheme, "smtps") == 0;
out:
	K.free(scheme);
	K.free(host);
	K.free(port);
	K.free(user);
	K.url_cleanup(u);
	return rc;
}

static int check_opts(const struct smtp_opts *o, struct kerr *e)
{
	int rc;

	if ((rc = mime_check_addr(o->from, "envelope sender", e)) != 0)
		return rc;
	if (o->n_rcpt == 0 || !o->rcpt)
		return kerr_set(e, KERR_USAGE, "SMTP", "no recipient given");
	for (size_t i = 0; i < o->n_rcpt; i++) {
		char field[48];

		snprintf(field, sizeof field, "envelope recipient %zu", i + 1);
		if ((rc = mime_check_addr(o->rcpt[i], field, e)) != 0)
			return rc;
	}
	if (o->user) {
		/* libcurl would put these into AUTH lines as given. */
		if (!*o->user || strpbrk(o->user, "\r\n"))
			return kerr_set(e, KERR_USAGE, "SMTP",
					"user name is empty or contains a line break");
		if (!o->password || strpbrk(o->password, "\r\n"))
			return kerr_set(e, KERR_USAGE, "SMTP",
					"password is missing or contains a line break");
	}
	if (o->timeout_s < 0)
		return kerr_set(e, KERR_USAGE, "SMTP", "negative timeout");
	return 0;
}

int smtp_check(const struct smtp_opts *o, struct kerr *e)
{
	struct target t;
	int rc = check_opts(o, e);

	if (rc)
		return rc;
	memset(&t, 0, sizeof t);
	return parse_url(o->url, &t, e);
}

#define SET(h, opt, val)                                                  \
	do {                                                              \
		if (K.easy_setopt((h), (opt), (val)) != CURLE_OK)       \
			return kerr_set(e, KERR_INTERNAL, "SMTP",          \
					"libcurl refused option %s", #opt); \
	} while (0)

static int set_options(CURL *h, const struct smtp_opts *o,
		       struct curl_slist *rcpt, struct upload *up,
		       curl_off_t size, char *errbuf, long timeout,
		       struct kerr *e)
{
	SET(h, CURLOPT_URL, o->url);
#if LIBCURL_VERSION_NUM >= 0x075500
	SET(h, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
#else
	SET(h, CURLOPT_PROTOCOLS, (long)(CURLPROTO_SMTP | CURLPROTO_SMTPS));
#endif
	SET(h, CURLOPT_VERBOSE, 0L);
	SET(h, CURLOPT_NOPROGRESS, 1L);
	/* No SIGALRM in a library that may run in threads. */
	SET(h, CURLOPT_NOSIGNAL, 1L);
	SET(h, CURLOPT_ERRORBUFFER, errbuf);
	SET(h, CURLOPT_USE_SSL,
	    (long)(o->insecure ? CURLUSESSL_NONE : CURLUSESSL_ALL));
	SET(h, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
	/* Stated although they are libcurl's defaults: the guarantee should
	 * not rest on a default. */
	SET(h, CURLOPT_SSL_VERIFYPEER, 1L);
	SET(h, CURLOPT_SSL_VERIFYHOST, 2L);
	if (o->ca_file)
		SET(h, CURLOPT_CAINFO, o->ca_file);
	SET(h, CURLOPT_CONNECTTIMEOUT, timeout);
	SET(h, CURLOPT_SERVER_RESPONSE_TIMEOUT, timeout);
	/* No total limit (a large package may take long on a slow link),
	 * but a stalled transfer ends. */
	SET(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
	SET(h, CURLOPT_LOW_SPEED_TIME, timeout);
	if (o->user) {
		/* libcurl copies both into its own memory, which it does not
		 * wipe; the handle is cleaned up right after the transfer. */
		SET(h, CURLOPT_USERNAME, o->user);
		SET(h, CURLOPT_PASSWORD, o->password);
	}
	SET(h, CURLOPT_MAIL_FROM, o->from);
	SET(h, CURLOPT_MAIL_RCPT, rcpt);
	SET(h, CURLOPT_UPLOAD, 1L);
	SET(h, CURLOPT_READFUNCTION, read_cb);
	SET(h, CURLOPT_READDATA, up);
	SET(h, CURLOPT_INFILESIZE_LARGE, size);
	return 0;
}

/* ---- results ------------------------------------------------------------ */

static int map_result(CURL *h, CURLcode res, const struct smtp_opts *o,
		      const struct target *t, const struct upload *up,
		      const char *errbuf, const char *eml_path, long timeout,
		      struct kerr *e)
{
	long code = 0, oserr = 0;
	const char *w = "SMTP";

	K.easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
	K.easy_getinfo(h, CURLINFO_OS_ERRNO, &oserr);

	switch (res) {
	case CURLE_COULDNT_RESOLVE_HOST:
		return kerr_set(e, KERR_IO, w, "cannot resolve host %s",
				t->host);
	case CURLE_COULDNT_CONNECT:
		return kerr_set(e, KERR_IO, w,
				"cannot connect to %s port %ld: %s", t->host,
				t->port,
				oserr == ECONNREFUSED ? "connection refused"
				: oserr ? strerror((int)oserr)
					: "server unreachable");
	case CURLE_OPERATION_TIMEDOUT:
		return kerr_set(e, KERR_IO, w,
				"timed out after %ld s talking to %s port %ld",
				timeout, t->host, t->port);
	case CURLE_USE_SSL_FAILED:
		return kerr_set(e, KERR_IO, w,
				"server does not offer STARTTLS; use smtps:// or --smtp-insecure for a trusted local relay");
	case CURLE_LOGIN_DENIED:
		if (code >= 400)
			return kerr_set(e, KERR_IO, w,
					"authentication failed (SMTP reply %ld)",
					code);
		return kerr_set(e, KERR_IO, w,
				"authentication failed (no mechanism offered by the server was usable)");
	case CURLE_PEER_FAILED_VERIFICATION:
		return kerr_set(e, KERR_IO, w,
				"server certificate not trusted for %s (%s)",
				t->host, errbuf[0] ? errbuf : "verification failed");
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_CACERT_BADFILE:
		return kerr_set(e, KERR_IO, w, "TLS failed with %s: %s",
				t->host, errbuf[0] ? errbuf : K.easy_strerror(res));
	case CURLE_ABORTED_BY_CALLBACK:
	case CURLE_READ_ERROR:
		if (up->err)
			return kerr_errno(e, up->err, eml_path, "cannot read");
		break;
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_WEIRD_SERVER_REPLY:
		/* libcurl reports refusals of MAIL, RCPT and DATA as send
		 * errors; its error text names the command. */
		if (!strncmp(errbuf, "RCPT failed", 11))
			return kerr_set(e, KERR_IO, w,
					"recipient refused by the server (SMTP reply %ld)",
					code);
		if (!strncmp(errbuf, "MAIL failed", 11))
			return kerr_set(e, KERR_IO, w,
					"sender refused by the server (SMTP reply %ld)",
					code);
		if (code >= 400)
			return kerr_set(e, KERR_IO, w,
					"message refused by the server (SMTP reply %ld)",
					code);
		break;
	default:
		break;
	}
	(void)o;
	if (code >= 400)
		return kerr_set(e, KERR_IO, w, "%s (SMTP reply %ld)",
				errbuf[0] ? errbuf : K.easy_strerror(res),
				code);
	return kerr_set(e, KERR_IO, w, "%s",
			errbuf[0] ? errbuf : K.easy_strerror(res));
}

int smtp_send_file(const struct smtp_opts *o, const char *eml_path,
		   struct kerr *e)
{
	char errbuf[CURL_ERROR_SIZE];
	struct curl_slist *rcpt = NULL;
	struct upload up = { -1, 0 };
	struct target t;
	struct stat st;
	CURL *h = NULL;
	CURLcode res;
	long timeout;
	int rc;

	if (!o || !eml_path)
		return kerr_set(e, KERR_USAGE, "SMTP", "no options or file");
	if ((rc = parse_url(o->url, &t, e)) != 0 ||
	    (rc = check_opts(o, e)) != 0)
		return rc;
	timeout = o->timeout_s ? o->timeout_s : DEFAULT_TIMEOUT;

	up.fd = open(eml_path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (up.fd < 0)
		return kerr_errno(e, errno, eml_path, "cannot open");
	if (fstat(up.fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		rc = kerr_set(e, KERR_USAGE, eml_path, "not a regular file");
		goto out;
	}
	for (size_t i = 0; i < o->n_rcpt; i++) {
		struct curl_slist *n = K.slist_append(rcpt, o->rcpt[i]);
		if (!n) {
			rc = kerr_set(e, KERR_NOMEM, "SMTP", "out of memory");
			goto out;
		}
		rcpt = n;
	}
	h = K.easy_init();
	if (!h) {
		rc = kerr_set(e, KERR_INTERNAL, "SMTP",
			      "cannot create a libcurl handle (was kluis_init called?)");
		goto out;
	}
	errbuf[0] = '\0';
	if ((rc = set_options(h, o, rcpt, &up, (curl_off_t)st.st_size, errbuf,
			      timeout, e)) != 0)
		goto out;
	res = K.easy_perform(h);
	if (res != CURLE_OK)
		rc = map_result(h, res, o, &t, &up, errbuf, eml_path, timeout,
				e);
out:
	if (h)
		K.easy_cleanup(h);
	K.slist_free_all(rcpt);
	close(up.fd);
	return rc;
}

/* ---- credentials ---------------------------------------------------------- */

static char *dup_plain(const uint8_t *p, size_t n)
{
	char *s = malloc(n + 1);

	if (s) {
		memcpy(s, p, n);
		s[n] = '\0';
	}
	return s;
}

static char *dup_secret(const uint8_t *p, size_t n)
{
	char *s = sodium_malloc(n + 1);

	if (s) {
		memcpy(s, p, n);
		s[n] = '\0';
	}
	return s;
}

static int parse_credentials(const uint8_t *p, size_t len, const char *path,
			     char **user, char **password, struct kerr *e)
{
	const uint8_t *nl, *sep, *pw;
	size_t ulen, plen;

	if (memchr(p, '\0', len))
		return kerr_set(e, KERR_FORMAT, path,
				"credentials file contains a NUL byte");
	/* One final line end is optional. */
	if (len && p[len - 1] == '\n')
		len--;
	if (len && p[len - 1] == '\r')
		len--;
	nl = memchr(p, '\n', len);
	if (nl) {
		/* "user\npassword" */
		ulen = (size_t)(nl - p);
		if (ulen && p[ulen - 1] == '\r')
			ulen--;
		pw = nl + 1;
		plen = len - (size_t)(pw - p);
		if (memchr(pw, '\n', plen))
			return kerr_set(e, KERR_FORMAT, path,
					"credentials file has more than two lines (want \"user\" and \"password\" lines, or \"user:password\")");
	} else {
		/* "user:password"; the password may hold ':' itself. */
		sep = memchr(p, ':', len);
		if (!sep)
			return kerr_set(e, KERR_FORMAT, path,
					"credentials file must hold \"user:password\" or a user line and a password line");
		ulen = (size_t)(sep - p);
		pw = sep + 1;
		plen = len - ulen - 1;
	}
	if (ulen == 0 || plen == 0)
		return kerr_set(e, KERR_FORMAT, path,
				"credentials file has an empty user name or password");
	for (size_t i = 0; i < ulen; i++)
		if (p[i] < 0x20 || p[i] == 0x7f)
			return kerr_set(e, KERR_FORMAT, path,
					"user name contains a control character");
	for (size_t i = 0; i < plen; i++)
		if (pw[i] == '\r')
			return kerr_set(e, KERR_FORMAT, path,
					"password contains a carriage return");
	*user = dup_plain(p, ulen);
	*password = dup_secret(pw, plen);
	if (!*user || !*password) {
		smtp_credentials_free(*user, *password);
		*user = *password = NULL;
		return kerr_set(e, KERR_NOMEM, path, "out of memory");
	}
	return 0;
}

int smtp_credentials_load(const char *path, char **user, char **password,
			  struct kerr *e)
{
	struct kbuf b;
	struct kfd_src src;
	struct stat st;
	int fd, rc;

	*user = *password = NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return kerr_errno(e, errno, path, "cannot open credentials file");
	/* Checked on the open descriptor, so the file read is the file
	 * checked. */
	if (fstat(fd, &st) != 0) {
		rc = kerr_errno(e, errno, path, "cannot stat credentials file");
		close(fd);
		return rc;
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return kerr_set(e, KERR_USAGE, path,
				"credentials file is not a regular file");
	}
	if (st.st_mode & 077) {
		close(fd);
		return kerr_set(e, KERR_USAGE, path,
				"credentials file is accessible by group or others (mode %04o); run chmod 600 on it",
				(unsigned)(st.st_mode & 07777));
	}
	if (st.st_uid != geteuid() && st.st_uid != 0) {
		close(fd);
		return kerr_set(e, KERR_USAGE, path,
				"credentials file belongs to another user");
	}
	kbuf_init(&b, CRED_MAX, true);
	kfd_src_init(&src, fd, path);
	rc = ksrc_slurp(&src.base, &b, e);
	close(fd);
	if (rc == KERR_LIMIT)
		rc = kerr_set(e, KERR_LIMIT, path,
			      "credentials file larger than %d bytes",
			      CRED_MAX);
	if (rc == 0)
		rc = parse_credentials(b.p ? b.p : (const uint8_t *)"", b.len,
				       path, user, password, e);
	kbuf_free(&b);
	return rc;
}

void smtp_credentials_free(char *user, char *password)
{
	if (user) {
		sodium_memzero(user, strlen(user));
		free(user);
	}
	/* sodium_free wipes the whole allocation before releasing it. */
	if (password)
		sodium_free(password);
}
