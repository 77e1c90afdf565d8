/*
 * kring — see kring.h.  Invariants, under mu: head <= next <= tail and
 * tail - head <= cap, so slot k % cap belongs to job k alone from put
 * until release.  Stop wakes both conditions with a broadcast: more than
 * one thread may wait on either (the producer and kring_wait callers on
 * cv_free), and a stop that woke only one would leave the others asleep.
 */
#include "kring.h"

#include <string.h>

#include "banned.h"

int kring_init(struct kring *r, unsigned cap, struct kerr *e)
{
	memset(r, 0, sizeof *r);
	r->cap = cap ? cap : 1;
	if (pthread_mutex_init(&r->mu, NULL) != 0)
		goto fail;
	if (pthread_cond_init(&r->cv_put, NULL) != 0)
		goto fail_mu;
	if (pthread_cond_init(&r->cv_free, NULL) != 0)
		goto fail_put;
	r->live = true;
	return 0;
fail_put:
	pthread_cond_destroy(&r->cv_put);
fail_mu:
	pthread_mutex_destroy(&r->mu);
fail:
	return kerr_set(e, KERR_INTERNAL, "thread", "cannot set up a lock");
}

void kring_destroy(struct kring *r)
{
	if (!r->live)
		return;
	pthread_cond_destroy(&r->cv_free);
	pthread_cond_destroy(&r->cv_put);
	pthread_mutex_destroy(&r->mu);
	r->live = false;
}

int kring_reserve(struct kring *r, unsigned *slot)
{
	int rc;

	pthread_mutex_lock(&r->mu);
	while (!r->stopped && r->tail - r->head >= r->cap)
		pthread_cond_wait(&r->cv_free, &r->mu);
	rc = r->stopped ? KRING_STOP : KRING_OK;
	if (rc == KRING_OK)
		*slot = (unsigned)(r->tail % r->cap);
	pthread_mutex_unlock(&r->mu);
	return rc;
}

uint64_t kring_put(struct kring *r)
{
	uint64_t n;

	pthread_mutex_lock(&r->mu);
	n = ++r->tail;
	pthread_cond_signal(&r->cv_put); /* the one consumer */
	pthread_mutex_unlock(&r->mu);
	return n;
}

static void set_err(struct kring *r, const struct kerr *e)
{
	if (e && e->code && !r->err.code)
		r->err = *e;
}

void kring_close(struct kring *r, const struct kerr *e)
{
	pthread_mutex_lock(&r->mu);
	r->closed = true;
	set_err(r, e);
	pthread_cond_broadcast(&r->cv_put);
	pthread_mutex_unlock(&r->mu);
}

int kring_take(struct kring *r, unsigned *slot)
{
	int rc = KRING_OK;

	pthread_mutex_lock(&r->mu);
	while (!r->stopped && r->next == r->tail && !r->closed)
		pthread_cond_wait(&r->cv_put, &r->mu);
	if (r->stopped)
		rc = KRING_STOP;
	else if (r->next == r->tail)
		rc = KRING_END;
	else
		*slot = (unsigned)(r->next++ % r->cap);
	pthread_mutex_unlock(&r->mu);
	return rc;
}

void kring_release(struct kring *r)
{
	pthread_mutex_lock(&r->mu);
	if (r->head < r->next)
		r->head++;
	pthread_cond_broadcast(&r->cv_free);
	pthread_mutex_unlock(&r->mu);
}

int kring_wait(struct kring *r, uint64_t n)
{
	int rc;

	pthread_mutex_lock(&r->mu);
	while (!r->stopped && r->head < n)
		pthread_cond_wait(&r->cv_free, &r->mu);
	rc = r->stopped ? KRING_STOP : KRING_OK;
	pthread_mutex_unlock(&r->mu);
	return rc;
}

uint64_t kring_released(struct kring *r)
{
	uint64_t n;

	pthread_mutex_lock(&r->mu);
	n = r->head;
	pthread_mutex_unlock(&r->mu);
	return n;
}

void kring_stop(struct kring *r, const struct kerr *e)
{
	pthread_mutex_lock(&r->mu);
	r->stopped = true;
	set_err(r, e);
	pthread_cond_broadcast(&r->cv_put);
	pthread_cond_broadcast(&r->cv_free);
	pthread_mutex_unlock(&r->mu);
}

int kring_error(struct kring *r, struct kerr *e)
{
	int code;

	pthread_mutex_lock(&r->mu);
	code = r->err.code;
	if (code && e)
		*e = r->err;
	pthread_mutex_unlock(&r->mu);
	return code;
}
