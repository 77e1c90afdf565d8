/*
 * kfile — atomic output files.  The registry of temporary names is a fixed
 * array of fixed buffers so that the signal handler touches no allocator.
 */
#include "kfile.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "kring.h"

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

/*
 * Write-behind: the caller's writes fill a buffer; a full buffer goes to a
 * writer thread that write()s it while the caller produces the next one.
 * Small files never start the thread: commit writes their one buffer.
 *
 * Once the thread starts, the file is switched to O_DIRECT where the
 * filesystem allows it: the data then goes from our buffer to the disk
 * without a copy into the page cache, and nothing is left for the kernel's
 * writeback threads, which on a small machine compete with us for the same
 * cores (a gigabyte package cost about a second of CPU that way).  It also
 * keeps a large output (perhaps decrypted data) out of the page cache.
 * O_DIRECT needs aligned memory, file offsets and lengths: the buffers are
 * page-aligned, each handoff writes the whole pages of the buffer and
 * moves the last partial page to the front of the next buffer, so every
 * write starts at a page boundary of the file; the final partial page is
 * written after O_DIRECT is switched off again.  Where O_DIRECT is refused
 * (tmpfs, some network filesystems) the writer stays with buffered writes
 * and asks the kernel to start writing back every 8 MiB, so that the fsync
 * at commit finds little left.
 */
/* 2 MiB and a little more: a sealed age batch (2 MiB plus tags) fits in
 * one buffer, so the encryptor can seal straight into it (reserve), also
 * behind a carried partial page. */
#define OUT_BUF ((2u << 20) + (68u << 10))
#define WRITEBACK_WINDOW (8u << 20)
#define PAGE ((size_t)4096)

/*
 * The buffers are the slots of a kring: a job is a buffer queued or being
 * written, and the caller fills buf[cur], a slot it reserved.  With two
 * buffers the caller fills one while the other is written; more let a
 * producer run on while one slow write (the disk is busy) holds the
 * writer, instead of stalling everything upstream of it.  A failed write
 * stops the ring with its error, which the caller gets at its next
 * handoff or at flush.
 */
struct kfile_writer {
	struct kring ring;
	pthread_t thread;
	bool started;
	bool sync;              /* no (more) thread: handoffs write inline */
	unsigned depth;
	unsigned cur;           /* the caller's buffer */
	uint8_t *buf[KFILE_MAX_DEPTH];
	size_t len[KFILE_MAX_DEPTH];   /* bytes of a queued buffer */
	size_t fill;                   /* bytes in the caller's buffer */
	atomic_bool direct;     /* fd has O_DIRECT: page-aligned writes only */
	int fd;
	const char *path;       /* for the writer's errors */
	uint64_t written, flushed;
	crypto_generichash_state *hash; /* optional, see kfile_out_hash */
};

#define CUR(w) ((w)->buf[(w)->cur])

/* Back to buffered writes; 0 or -1. */
static int direct_off(struct kfile_writer *w)
{
	int fl = fcntl(w->fd, F_GETFL);

	if (fl < 0 || fcntl(w->fd, F_SETFL, fl & ~O_DIRECT) != 0)
		return -1;
	atomic_store(&w->direct, false);
	w->flushed = w->written;
	return 0;
}

/* Try O_DIRECT; the file must be at a page boundary (it is empty). */
static void direct_on(struct kfile_writer *w)
{
	int fl = fcntl(w->fd, F_GETFL);

	if (getenv("KLUIS_NO_DIRECT_IO"))
		return;
	if (fl >= 0 && fcntl(w->fd, F_SETFL, fl | O_DIRECT) == 0)
		atomic_store(&w->direct, true);
}

static uint8_t *buf_new(void)
{
	return aligned_alloc(PAGE, OUT_BUF);
}

/* Write all of p; runs on the writer thread or, without one, the caller. */
static int write_out(struct kfile_writer *w, const uint8_t *p, size_t n)
{
	if (w->hash)
		crypto_generichash_update(w->hash, p, n);
	while (n > 0) {
		ssize_t r = write(w->fd, p, n);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			/* A filesystem that took the flag but not the
			 * write: go on buffered (the offset is unchanged). */
			if (errno == EINVAL && atomic_load(&w->direct) &&
			    direct_off(w) == 0)
				continue;
			return errno;
		}
		p += r;
		n -= (size_t)r;
		w->written += (uint64_t)r;
	}
	if (!atomic_load(&w->direct) &&
	    w->written - w->flushed >= WRITEBACK_WINDOW) {
		/* Advisory: failure only loses the head start. */
		(void)sync_file_range(w->fd, (off64_t)w->flushed,
				      (off64_t)(w->written - w->flushed),
				      SYNC_FILE_RANGE_WRITE);
		w->flushed = w->written;
	}
	return 0;
}

static void *writer_main(void *arg)
{
	struct kfile_writer *w = arg;
	unsigned i;

	while (kring_take(&w->ring, &i) == KRING_OK) {
		int err = write_out(w, w->buf[i], w->len[i]);
		struct kerr e;

		if (err) {
			kerr_errno(&e, err, w->path, "write");
			kring_stop(&w->ring, &e);
			break;
		}
		kring_release(&w->ring);
	}
	return NULL;
}

/* Queue the filled buffer for the writer and continue in the next one of
 * the ring, once that one is written.  With O_DIRECT the writer gets the
 * buffer's whole pages; the partial page left over starts the next buffer
 * (see the top). */
static int handoff(struct kfile_out *o, struct kerr *e)
{
	struct kfile_writer *w = o->w;
	size_t job, carry;
	uint8_t *from;
	int err;

	if (!w->started && !w->sync) {
		if (kring_init(&w->ring, w->depth, NULL) == 0 &&
		    pthread_create(&w->thread, NULL, writer_main, w) == 0) {
			w->started = true;
			if (w->written == 0)
				direct_on(w);
		} else {
			w->sync = true;
		}
	}
	if (w->sync) {
		/* No thread: write synchronously. */
		err = write_out(w, CUR(w), w->fill);
		w->fill = 0;
		return err ? kerr_errno(e, err, o->path, "write") : 0;
	}
	job = atomic_load(&w->direct) ? w->fill & ~(PAGE - 1) : w->fill;
	if (!job)
		return 0; /* less than a page: it stays for the last write */
	carry = w->fill - job;
	from = CUR(w);
	w->len[w->cur] = job;
	kring_put(&w->ring);
	/* The next buffer is free once the job depth buffers back is done. */
	if (kring_reserve(&w->ring, &w->cur) != KRING_OK)
		return kring_error(&w->ring, e);
	if (!CUR(w) && !(CUR(w) = buf_new()))
		return kerr_set(e, KERR_NOMEM, o->path, "out of memory");
	/* The writer reads only the first job bytes of from. */
	if (carry)
		memcpy(CUR(w), from + job, carry);
	w->fill = carry;
	return 0;
}

/* Let the writer thread, if any, finish the queue and go; its error, if
 * any.  Later handoffs write inline. */
static int writer_stop(struct kfile_writer *w, struct kerr *e)
{
	if (!w->started)
		return 0;
	kring_close(&w->ring, NULL);
	pthread_join(w->thread, NULL);
	w->started = false;
	w->sync = true;
	return kring_error(&w->ring, e);
}

/* Write everything buffered and wait for it.  The last partial page
 * cannot go out with O_DIRECT, so the writer is stopped, the flag
 * dropped, and the rest written here. */
static int out_flush(struct kfile_out *o, struct kerr *e)
{
	struct kfile_writer *w = o->w;
	int err = 0;

	if (w->fill && w->started && (err = handoff(o, e)))
		return err;
	if ((err = writer_stop(w, e)))
		return err;
	if (atomic_load(&w->direct) && direct_off(w) != 0)
		err = errno;
	if (!err && w->fill) {
		err = write_out(w, CUR(w), w->fill);
		w->fill = 0;
	}
	return err ? kerr_errno(e, err, o->path, "write") : 0;
}

static int out_write(struct ksink *s, const uint8_t *p, size_t n,
		     struct kerr *e)
{
	struct kfile_out *o = (struct kfile_out *)((char *)s -
						   offsetof(struct kfile_out, sink));
	struct kfile_writer *w = o->w;

	while (n > 0) {
		size_t take;
		int rc;

		if (!CUR(w) && !(CUR(w) = buf_new()))
			return kerr_set(e, KERR_NOMEM, o->path, "out of memory");
		if (w->fill == OUT_BUF && (rc = handoff(o, e)))
			return rc;
		take = OUT_BUF - w->fill < n ? OUT_BUF - w->fill : n;
		memcpy(CUR(w) + w->fill, p, take);
		w->fill += take;
		p += take;
		n -= take;
	}
	return 0;
}

/* Zero-copy: lend the rest of the current buffer, moving on to the other
 * buffer first if the request does not fit. */
static int out_reserve(struct ksink *s, size_t n, uint8_t **p,
		       struct kerr *e)
{
	struct kfile_out *o = (struct kfile_out *)((char *)s -
						   offsetof(struct kfile_out, sink));
	struct kfile_writer *w = o->w;
	int rc;

	*p = NULL;
	if (n > OUT_BUF - PAGE)
		return 0;
	if (!CUR(w) && !(CUR(w) = buf_new()))
		return kerr_set(e, KERR_NOMEM, o->path, "out of memory");
	if (OUT_BUF - w->fill < n && (rc = handoff(o, e)))
		return rc;
	*p = CUR(w) + w->fill;
	return 0;
}

static int out_commit(struct ksink *s, size_t n, struct kerr *e)
{
	struct kfile_out *o = (struct kfile_out *)((char *)s -
						   offsetof(struct kfile_out, sink));

	(void)e;
	o->w->fill += n;
	return 0;
}

static void out_free(struct kfile_out *o)
{
	if (o->w) {
		struct kerr e;

		writer_stop(o->w, &e);
		kring_destroy(&o->w->ring);
		for (unsigned i = 0; i < KFILE_MAX_DEPTH; i++)
			if (o->w->buf[i]) {
				/* It may have held decrypted data. */
				explicit_bzero(o->w->buf[i], OUT_BUF);
				free(o->w->buf[i]);
			}
		free(o->w);
		o->w = NULL;
	}
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
	o->w = calloc(1, sizeof *o->w);
	if (!o->w) {
		if (o->tmp)
			unlink(o->tmp);
		out_free(o);
		return kerr_set(e, KERR_NOMEM, path, "out of memory");
	}
	o->w->depth = 2;
	o->w->fd = o->fd;
	o->w->path = o->path;
	kfd_sink_init(&o->sink, o->fd, o->path);
	o->sink.base.write = out_write;
	o->sink.base.reserve = out_reserve;
	o->sink.base.commit = out_commit;
	return 0;
}

void kfile_out_hash(struct kfile_out *o, crypto_generichash_state *st)
{
	o->w->hash = st;
}

void kfile_out_depth(struct kfile_out *o, unsigned n)
{
	if (o->w->started || o->w->sync)
		return;
	o->w->depth = n < 2 ? 2 : n > KFILE_MAX_DEPTH ? KFILE_MAX_DEPTH : n;
}

int kfile_out_flush(struct kfile_out *o, struct kerr *e)
{
	return out_flush(o, e);
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

/* Replacing: an unnamed file is linked straight to its name when that is
 * free, else to a temporary name that is then renamed over the old file. */
static int commit_replace(struct kfile_out *o, struct kerr *e)
{
	if (!o->tmp && link_anon(o, o->path) == 0)
		return 0;
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
	rc = out_flush(o, e);
	if (rc)
		goto fail;
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
