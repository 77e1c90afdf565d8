/*
 * kfile — files that appear whole or not at all.
 *
 * An output file is written as an unnamed file (O_TMPFILE, mode 0600) in the
 * destination's directory and gets its name only in kfile_out_commit(),
 * after fsync; a crash, even SIGKILL, or an error leaves the old file (or
 * nothing) and no partial file.  Where O_TMPFILE or /proc is unavailable a
 * hidden temporary name is used instead; such names are registered so a
 * signal handler can remove them (kfile_signal_cleanup is async-signal-safe).
 * Writes are buffered and written behind by a helper thread for large
 * files; errors surface at a later write or at commit.
 */
#ifndef KLUIS_KFILE_H
#define KLUIS_KFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include <sodium.h>

#include "kbuf.h"
#include "kerr.h"
#include "kio.h"

enum {
	KFILE_NO_REPLACE = 1 << 0, /* fail with KERR_EXISTS if path exists */
};

struct kfile_out {
	int fd;
	int flags;
	mode_t mode;
	char *path;  /* final name */
	char *tmp;   /* temporary name, same directory (fallback only) */
	struct kfd_sink sink;   /* write here (sink.base) */
	struct kfile_writer *w; /* write-behind buffers and thread */
};

/* Start writing `path`; the data goes to o->sink.base (or o->fd).  mode is
 * applied at commit (minus the umask).  */
int kfile_out_open(struct kfile_out *o, const char *path, mode_t mode,
		   int flags, struct kerr *e);
/*
 * Hash everything written to o, on the thread that writes it (so a
 * signature's prehash of a large output costs the producer nothing).  Set
 * before the first write; `st` is an initialised BLAKE2b state that the
 * caller finalises after kfile_out_flush().
 */
void kfile_out_hash(struct kfile_out *o, crypto_generichash_state *st);
/*
 * Buffers written behind (2 to KFILE_MAX_DEPTH, each about 2 MiB; 2 unless
 * set).  More of them let the producer run on while the disk is slow to
 * take one.  Set before the first write.
 */
#define KFILE_MAX_DEPTH 8
void kfile_out_depth(struct kfile_out *o, unsigned n);
/* Write out everything buffered (and hashed); o stays open for commit. */
int kfile_out_flush(struct kfile_out *o, struct kerr *e);
/* fsync, move into place, fsync the directory; frees o. */
int kfile_out_commit(struct kfile_out *o, struct kerr *e);
/* Remove the temporary file and free o.  Safe on a zeroed struct. */
void kfile_out_abort(struct kfile_out *o);

/* Write a whole small file atomically (e.g. a key), honouring flags. */
int kfile_write(const char *path, const void *p, size_t n, mode_t mode,
		int flags, struct kerr *e);

/* Read a whole file ("-" = stdin) into b, bounded by b->max. */
int kfile_read(const char *path, struct kbuf *b, struct kerr *e);

/* Unlink every registered temporary file.  Async-signal-safe. */
void kfile_signal_cleanup(void);

/* True if path exists (lstat). */
bool kfile_exists(const char *path);

#endif
