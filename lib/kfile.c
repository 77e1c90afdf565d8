/*
 * kfile — atomic output files.  The registry of temporary names is a fixed
 * array of fixed buffers so that the signal handler touches no allocator.
 */
#include "kfile.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "banned.h"

#define KFILE_MAX_PENDING 8

static char pending[KFILE_MAX_PENDING][PATH_MAX];
static volatile sig_atomic_t pending_used[KFILE_MAX_PENDING];

static void pending_add(const char *tmp)
{
	size_t l = strlen(tmp);

	if (l >= PATH_MAX)
		return;
	for (int i = 0; i < KFILE_MAX_PENDING; i++) {
		if (!pending_used[i]) {
			memcpy(pending[i], tmp, l + 1);
			pending_used[i] = 1;
			return;
		}
	}
}

static void pending_del(const char *tmp)
{
	for (int i = 0; i < KFILE_MAX_PENDING; i++)
		if (pending_used[i] && strcmp(pending[i], tmp) == 0) {
			pending_used[i] = 0;
			return;
		}
}

void kfile_signal_cleanup(void)
{
	for (int i = 0; i < KFILE_MAX_PENDING; i++)
		if (pending_used[i])
			unlink(pending[i]);
}

bool kfile_exists(const char *path)
{
	struct stat st;
	return lstat(path, &st) == 0;
}

static char *dir_of(const char *path)
{
	char *copy = strdup(path), *d, *r;

	if (!copy)
		return NULL;
	d = dirname(copy);
	r = strdup(d);
	free(copy);
	return r;
}

static void out_free(struct kfile_out *o)
{
	if (o->fd >= 0)
		close(o->fd);
	o->fd = -1;
	if (o->tmp)
		pending_del(o->tmp);
	free(o->tmp);
	free(o->path);
	o->tmp = o->path = NULL;
}

/* Name a temporary file in the destination's directory (not created). */
static char *tmp_name(const char *path, const char *suffix)
{
	char *copy = strdup(path), *dir = dir_of(path), *out = NULL;
	size_t n;

	if (copy && dir) {
		const char *base = basename(copy);
		n = strlen(dir) + strlen(base) + strlen(suffix) + 16;
		out = malloc(n);
		if (out)
			snprintf(out, n, "%s/.%s.tmp-%s", dir, base, suffix);
	}
	free(copy);
	free(dir);
	return out;
}

int kfile_out_open(struct kfile_out *o, const char *path, mode_t mode,
		   int flags, struct kerr *e)
{
	char *dir;

	memset(o, 0, sizeof *o);
	o->fd = -1;
	o->flags = flags;
	o->mode = mode;
	if ((flags & KFILE_NO_REPLACE) && kfile_exists(path))
		return kerr_set(e, KERR_EXISTS, path,
				"already exists; refusing to overwrite");
	o->path = strdup(path);
	dir = dir_of(path);
	if (!o->path || !dir) {
		free(dir);
		out_free(o);
		return kerr_set(e, KERR_NOMEM, path, "out of memory");
	}
	/* Preferably an unnamed file: until commit gives it a name, no crash,
	 * not even SIGKILL, can leave partial data behind.  Naming it later
	 * goes through /proc/self/fd, so both must be available. */
	if (access("/proc/self/fd", X_OK) == 0)
		o->fd = open(dir, O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600);
	free(dir);
	if (o->fd < 0) {
		o->tmp = tmp_name(path, "XXXXXX");
		if (!o->tmp) {
			out_free(o);
			return kerr_set(e, KERR_NOMEM, path, "out of memory");
		}
		o->fd = mkostemp(o->tmp, O_CLOEXEC);
		if (o->fd < 0) {
			int err = errno;
			free(o->tmp);
			o->tmp = NULL;
			out_free(o);
			return kerr_errno(e, err, path,
					  "cannot create output file");
		}
		pending_add(o->tmp);
	}
	kfd_sink_init(&o->sink, o->fd, o->path);
	return 0;
}

static int fsync_dir(const char *path)
{
	char *dir = dir_of(path);
	int fd, rc = 0;

	if (!dir)
		return -1;
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	free(dir);
	if (fd < 0)
		return -1;
	if (fsync(fd) != 0 && errno != EINVAL)
		rc = -1;
	close(fd);
	return rc;
}

/* Give the unnamed file o->fd the name `name`; fails with EEXIST if taken. */
static int link_anon(const struct kfile_out *o, const char *name)
{
	char proc[64];

	snprintf(proc, sizeof proc, "/proc/self/fd/%d", o->fd);
	return linkat(AT_FDCWD, proc, AT_FDCWD, name, AT_SYMLINK_FOLLOW);
}

static int exists_err(struct kfile_out *o, struct kerr *e)
{
	return kerr_set(e, KERR_EXISTS, o->path,
			"already exists; refusing to overwrite");
}

/* Exclusive: never replaces an existing file. */
static int commit_no_replace(struct kfile_out *o, struct kerr *e)
{
	if (!o->tmp) {
		if (link_anon(o, o->path) == 0)
			return 0;
		return errno == EEXIST ? exists_err(o, e)
				       : kerr_errno(e, errno, o->path, "cannot create");
	}
	if (renameat2(AT_FDCWD, o->tmp, AT_FDCWD, o->path,
		      RENAME_NOREPLACE) == 0)
		return 0;
	if (errno == EEXIST)
		return exists_err(o, e);
	/* Filesystems without RENAME_NOREPLACE: link is exclusive too. */
	if (link(o->tmp, o->path) != 0)
		return errno == EEXIST ? exists_err(o, e)
				       : kerr_errno(e, errno, o->path, "cannot create");
	unlink(o->tmp);
	return 0;
}

/* Replacing: an unnamed file gets a temporary name for the rename. */
static int commit_replace(struct kfile_out *o, struct kerr *e)
{
	if (!o->tmp) {
		for (int tries = 0; !o->tmp; tries++) {
			char suffix[24];
			snprintf(suffix, sizeof suffix, "%ld-%d", (long)getpid(),
				 tries);
			o->tmp = tmp_name(o->path, suffix);
			if (!o->tmp)
				return kerr_set(e, KERR_NOMEM, o->path,
						"out of memory");
			if (link_anon(o, o->tmp) == 0)
				break;
			free(o->tmp);
			o->tmp = NULL;
			if (errno != EEXIST || tries > 100)
				return kerr_errno(e, errno, o->path,
						  "cannot name output file");
		}
		pending_add(o->tmp);
	}
	if (rename(o->tmp, o->path) != 0)
		return kerr_errno(e, errno, o->path, "cannot rename into place");
	return 0;
}

int kfile_out_commit(struct kfile_out *o, struct kerr *e)
{
	mode_t um = umask(0);
	int rc;

	umask(um);
	if (fchmod(o->fd, o->mode & ~um) != 0 || fsync(o->fd) != 0) {
		rc = kerr_errno(e, errno, o->path, "cannot finish output file");
		goto fail;
	}
	rc = (o->flags & KFILE_NO_REPLACE) ? commit_no_replace(o, e)
					   : commit_replace(o, e);
	if (rc)
		goto fail;
	if (o->tmp)
		pending_del(o->tmp);
	free(o->tmp);
	o->tmp = NULL;
	if (close(o->fd) != 0) {
		o->fd = -1;
		rc = kerr_errno(e, errno, o->path, "cannot close output file");
		out_free(o);
		return rc;
	}
	o->fd = -1;
	fsync_dir(o->path);
	out_free(o);
	return 0;
fail:
	kfile_out_abort(o);
	return rc;
}

void kfile_out_abort(struct kfile_out *o)
{
	if (o->tmp)
		unlink(o->tmp);
	out_free(o);
}

int kfile_write(const char *path, const void *p, size_t n, mode_t mode,
		int flags, struct kerr *e)
{
	struct kfile_out o;
	int rc = kfile_out_open(&o, path, mode, flags, e);

	if (rc)
		return rc;
	rc = o.sink.base.write(&o.sink.base, p, n, e);
	if (rc) {
		kfile_out_abort(&o);
		return rc;
	}
	return kfile_out_commit(&o, e);
}

int kfile_read(const char *path, struct kbuf *b, struct kerr *e)
{
	struct kfd_src src;
	int fd, rc;
	bool is_stdin = strcmp(path, "-") == 0;

	fd = is_stdin ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return kerr_errno(e, errno, path, "cannot open");
	kfd_src_init(&src, fd, path);
	rc = ksrc_slurp(&src.base, b, e);
	if (rc == KERR_LIMIT)
		kerr_set(e, KERR_LIMIT, path, "file too large (more than %zu bytes)",
			 b->max);
	else if (rc && e && !e->what[0])
		snprintf(e->what, sizeof e->what, "%s", path);
	if (!is_stdin)
		close(fd);
	return rc;
}
