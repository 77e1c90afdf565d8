/*
 * kpump — double-buffered read-ahead: a kring of two buffers, the helper
 * the producer and the caller the consumer.  The caller holds the block
 * it was given until its next call, which releases it to the helper.  The
 * helper closes the ring at end of input or at the first error, so the
 * caller gets the error after the blocks read before it.
 */
#include "kpump.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kring.h"

#include "banned.h"

struct kpump {
	struct kring ring;
	pthread_t thread;
	bool started;
	bool held;       /* the caller holds the block taken last */
	int fd;
	const char *name;
	size_t block;
	uint8_t *buf[2];
	size_t len[2];
};

/* Fill one buffer completely unless input ends; 0 or an errno. */
static int fill(struct kpump *p, uint8_t *b, size_t *len, bool *eof)
{
	size_t n = 0;

	while (n < p->block) {
		ssize_t r = read(p->fd, b + n, p->block - n);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			*len = n;
			return errno;
		}
		if (r == 0) {
			*eof = true;
			break;
		}
		n += (size_t)r;
	}
	*len = n;
	return 0;
}

static void *pump_main(void *arg)
{
	struct kpump *p = arg;
	unsigned i;

	while (kring_reserve(&p->ring, &i) == KRING_OK) {
		bool eof = false;
		int err = fill(p, p->buf[i], &p->len[i], &eof);
		struct kerr e;

		if (p->len[i])
			kring_put(&p->ring);
		if (err)
			kerr_errno(&e, err, p->name, "read");
		if (err || eof) {
			kring_close(&p->ring, err ? &e : NULL);
			break;
		}
	}
	return NULL;
}

int kpump_start(struct kpump **out, int fd, size_t block, const char *name,
		struct kerr *e)
{
	struct kpump *p = calloc(1, sizeof *p);
	struct stat st;

	*out = NULL;
	if (!p)
		return kerr_set(e, KERR_NOMEM, name, "out of memory");
	p->fd = fd;
	p->name = name;
	p->block = block;
	p->buf[0] = malloc(block);
	p->buf[1] = malloc(block);
	if (!p->buf[0] || !p->buf[1]) {
		kpump_free(p);
		return kerr_set(e, KERR_NOMEM, name, "out of memory");
	}
	/* Only regular files are read ahead: a read from a pipe or terminal
	 * may block indefinitely, and kpump_free must be able to join.
	 * Without a thread, kpump_next reads synchronously. */
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
	    kring_init(&p->ring, 2, NULL) == 0)
		p->started = pthread_create(&p->thread, NULL, pump_main, p) == 0;
	*out = p;
	return 0;
}

int kpump_next(struct kpump *p, const uint8_t **data, size_t *n,
	       struct kerr *e)
{
	unsigned i;

	*data = NULL;
	*n = 0;
	if (!p->started) {
		bool eof = false;
		int err = fill(p, p->buf[0], n, &eof);
		*data = p->buf[0];
		return err ? kerr_errno(e, err, p->name, "read") : 0;
	}
	if (p->held)
		kring_release(&p->ring);
	p->held = kring_take(&p->ring, &i) == KRING_OK;
	if (!p->held)
		return kring_error(&p->ring, e); /* the end, or its error */
	*data = p->buf[i];
	*n = p->len[i];
	return 0;
}

void kpump_free(struct kpump *p)
{
	if (!p)
		return;
	if (p->started) {
		kring_stop(&p->ring, NULL);
		pthread_join(p->thread, NULL);
	}
	for (int i = 0; i < 2; i++)
		if (p->buf[i]) {
			explicit_bzero(p->buf[i], p->block);
			free(p->buf[i]);
		}
	kring_destroy(&p->ring);
	free(p);
}
