/*
 * kpump — read a file descriptor ahead on a helper thread.
 *
 * Two buffers: while the caller works on one, the helper fills the other,
 * so reading (a copy out of the page cache, or waiting for a disk or pipe)
 * overlaps the caller's work.  Each buffer is filled as far as possible
 * before it is handed over, so the caller sees large blocks.  Only regular
 * files are read ahead (a pipe may block forever, and stopping must not
 * hang); other descriptors are read synchronously, block by block.  The
 * buffers may hold plaintext: they are wiped when freed.
 */
#ifndef KLUIS_KPUMP_H
#define KLUIS_KPUMP_H

#include <stddef.h>
#include <stdint.h>

#include "kerr.h"

struct kpump;

/* Start reading fd (borrowed) in blocks of up to `block` bytes. */
int kpump_start(struct kpump **out, int fd, size_t block, const char *name,
		struct kerr *e);

/* The next block: valid until the next call.  *n == 0 at end of input. */
int kpump_next(struct kpump *p, const uint8_t **data, size_t *n,
	       struct kerr *e);

/* Stop the helper and free everything.  NULL is fine. */
void kpump_free(struct kpump *p);

#endif
