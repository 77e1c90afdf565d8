/*
 * kpump — double-buffered read-ahead.  State per buffer: empty (the helper
 * may fill it), full (the caller may take it), or held by the caller.  The
 * helper stops at end of input or at the first error, which the caller
 * receives after the blocks read before it.
 */
#include "kpump.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "banned.h"

struct kpump {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	pthread_t thread;
	bool started;
	int fd;
	const char *name;
	size_t block;
	uint8_t *buf[2];
	size_t len[2];
	bool full[2];
	int take;        /* the buffer the caller takes next */
	bool held;       /* the caller holds buf[!take] */
	bool eof, stop;
	int err;         /* errno of a failed read */
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
	int i = 0;

	pthread_mutex_lock(&p->mu);
	for (;;) {
		size_t len;
		bool eof = false;
		int err;

		/* Wait for buffer i to be free (not full, not held). */
		while (!p->stop && (p->full[i] || (p->held && i != p->take)))
			pthread_cond_wait(&p->cv, &p->mu);
		if (p->stop)
			break;
		pthread_mutex_unlock(&p->mu);
		err = fill(p, p->buf[i], &len, &eof);
		pthread_mutex_lock(&p->mu);
		p->len[i] = len;
		p->full[i] = true;
		if (err)
			p->err = err;
		if (eof)
			p->eof = true;
		pthread_cond_broadcast(&p->cv);
		if (err || eof)
			break;
		i = !i;
	}
	pthread_mutex_unlock(&p->mu);
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
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cv, NULL);
	if (!p->buf[0] || !p->buf[1]) {
		kpump_free(p);
		return kerr_set(e, KERR_NOMEM, name, "out of memory");
	}
	/* Only regular files are read ahead: a read from a pipe or terminal
	 * may block indefinitely, and kpump_free must be able to join.
	 * Without a thread, kpump_next reads synchronously. */
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode))
		p->started = pthread_create(&p->thread, NULL, pump_main, p) == 0;
	*out = p;
	return 0;
}

int kpump_next(struct kpump *p, const uint8_t **data, size_t *n,
	       struct kerr *e)
{
	int i;

	*data = NULL;
	*n = 0;
	if (!p->started) {
		bool eof = false;
		int err = fill(p, p->buf[0], n, &eof);
		*data = p->buf[0];
		return err ? kerr_errno(e, err, p->name, "read") : 0;
	}
	pthread_mutex_lock(&p->mu);
	/* Release the block handed out last time. */
	if (p->held) {
		p->held = false;
		p->full[!p->take] = false;
		pthread_cond_broadcast(&p->cv);
	}
	i = p->take;
	while (!p->full[i] && !(p->err || p->eof))
		pthread_cond_wait(&p->cv, &p->mu);
	if (!p->full[i]) {
		/* The helper stopped before filling this one. */
		int err = p->err;
		pthread_mutex_unlock(&p->mu);
		return err ? kerr_errno(e, err, p->name, "read") : 0;
	}
	*data = p->buf[i];
	*n = p->len[i];
	p->held = true;
	p->take = !i;
	if (p->len[i] == 0 && p->err) {
		int err = p->err;
		pthread_mutex_unlock(&p->mu);
		return kerr_errno(e, err, p->name, "read");
	}
	pthread_mutex_unlock(&p->mu);
	return 0;
}

void kpump_free(struct kpump *p)
{
	if (!p)
		return;
	if (p->started) {
		pthread_mutex_lock(&p->mu);
		p->stop = true;
		pthread_cond_broadcast(&p->cv);
		pthread_mutex_unlock(&p->mu);
		pthread_join(p->thread, NULL);
	}
	for (int i = 0; i < 2; i++)
		if (p->buf[i]) {
			explicit_bzero(p->buf[i], p->block);
			free(p->buf[i]);
		}
	pthread_cond_destroy(&p->cv);
	pthread_mutex_destroy(&p->mu);
	free(p);
}
