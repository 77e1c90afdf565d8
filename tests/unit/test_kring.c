/* kring: the hand-off between threads on its own, with real threads —
 * order, the producer held while every slot is busy, stop waking every
 * waiter, release and wait, many start/stop rounds.  A call that should
 * block runs on a thread of its own and is watched with a deadline, so a
 * broken ring fails the case instead of hanging the run; a case that
 * failed leaks its ring and threads rather than free what they use. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>

#include "kring.h"
#include "unit.h"

#define DEADLINE_MS 5000
#define PENDING (-1)
#define MAX_CAP 8

static void nap_ms(long ms)
{
	struct timespec t = { ms / 1000, (ms % 1000) * 1000000 };

	nanosleep(&t, NULL);
}

/* Poll until *v >= want, for up to ms; true if it got there. */
static bool reaches(atomic_int *v, int want, long ms)
{
	for (long t = 0; t < ms; t++) {
		if (atomic_load(v) >= want)
			return true;
		nap_ms(1);
	}
	return atomic_load(v) >= want;
}

/* One blocking call on a thread of its own. */
enum { OP_RESERVE, OP_TAKE, OP_WAIT };

struct call {
	struct kring *r;
	int op;
	uint64_t n;
	unsigned slot;
	atomic_int rc;
	pthread_t th;
};

static void *call_main(void *arg)
{
	struct call *c = arg;
	unsigned slot = 0;
	int rc = c->op == OP_RESERVE ? kring_reserve(c->r, &slot) :
		 c->op == OP_TAKE    ? kring_take(c->r, &slot) :
				       kring_wait(c->r, c->n);

	c->slot = slot;
	atomic_store(&c->rc, rc);
	return NULL;
}

static bool call_start(struct call *c, struct kring *r, int op, uint64_t n)
{
	c->r = r;
	c->op = op;
	c->n = n;
	atomic_store(&c->rc, PENDING);
	return pthread_create(&c->th, NULL, call_main, c) == 0;
}

/* The call's result within ms, joined; PENDING (not joined) if none. */
static int call_end(struct call *c, long ms)
{
	for (long t = 0; t < ms && atomic_load(&c->rc) == PENDING; t++)
		nap_ms(1);
	if (atomic_load(&c->rc) == PENDING)
		return PENDING;
	pthread_join(c->th, NULL);
	return atomic_load(&c->rc);
}

/* A call that must not block: its result, or PENDING after the
 * deadline.  c must outlive a call that hangs (the case then leaks). */
static int call_now(struct call *c, struct kring *r, int op, uint64_t n)
{
	if (!call_start(c, r, op, n))
		return -2;
	return call_end(c, DEADLINE_MS);
}

/* A producer and a consumer moving n numbered jobs through slots. */
struct fifo {
	struct kring r;
	unsigned cap;
	uint64_t slot[MAX_CAP];
	uint64_t n, got;
	int slow_consumer, slow_producer;  /* nap every this many jobs */
	atomic_int bad;
	atomic_int taken;
	atomic_int exited;
	int last_rc;
};

static void *fifo_producer(void *arg)
{
	struct fifo *f = arg;
	unsigned i;

	for (uint64_t k = 0; k < f->n; k++) {
		if (kring_reserve(&f->r, &i) != KRING_OK)
			goto out;
		if (i != k % f->cap)
			atomic_store(&f->bad, 1);
		f->slot[i] = k;
		if (f->slow_producer && k % f->slow_producer == 0)
			nap_ms(1);
		if (kring_put(&f->r) != k + 1)
			atomic_store(&f->bad, 1);
	}
	kring_close(&f->r, NULL);
out:
	atomic_fetch_add(&f->exited, 1);
	return NULL;
}

static void *fifo_consumer(void *arg)
{
	struct fifo *f = arg;
	unsigned i;
	int rc;

	while ((rc = kring_take(&f->r, &i)) == KRING_OK) {
		if (f->slot[i] != f->got)
			atomic_store(&f->bad, 1);
		/* The slot is ours until released: a slow consumer gives
		 * the producer time to overwrite it if the ring let it. */
		if (f->slow_consumer && f->got % f->slow_consumer == 0)
			nap_ms(1);
		if (f->slot[i] != f->got)
			atomic_store(&f->bad, 1);
		f->got++;
		atomic_fetch_add(&f->taken, 1);
		kring_release(&f->r);
	}
	f->last_rc = rc;
	atomic_fetch_add(&f->exited, 1);
	return NULL;
}

/* Run producer and consumer to the end; false if they did not finish. */
static bool fifo_run(struct fifo *f)
{
	pthread_t p, c;

	if (pthread_create(&c, NULL, fifo_consumer, f) != 0)
		return false;
	if (pthread_create(&p, NULL, fifo_producer, f) != 0)
		return false;
	if (!reaches(&f->exited, 2, 4 * DEADLINE_MS))
		return false;
	pthread_join(p, NULL);
	pthread_join(c, NULL);
	return true;
}

static void fifo_order(void)
{
	static const unsigned caps[] = { 1, 2, 3, 8 };

	for (size_t k = 0; k < sizeof caps / sizeof *caps; k++) {
		for (int mode = 0; mode < 3; mode++) {
			struct fifo *f = calloc(1, sizeof *f);

			CHECK(f);
			f->cap = caps[k];
			CHECK(kring_init(&f->r, f->cap, NULL) == 0);
			f->n = 20000;
			f->slow_consumer = mode == 1 ? 499 : 0;
			f->slow_producer = mode == 2 ? 499 : 0;
			CHECK(fifo_run(f));
			CHECK(!atomic_load(&f->bad));
			CHECK(f->got == f->n);
			CHECK(f->last_rc == KRING_END);
			CHECK(kring_released(&f->r) == f->n);
			CHECK(kring_error(&f->r, NULL) == 0);
			kring_destroy(&f->r);
			free(f);
		}
	}
}

/* A producer that puts as many jobs as it may, counting them. */
struct greedy {
	struct kring r;
	atomic_int in;
	atomic_int rc;
};

static void *greedy_main(void *arg)
{
	struct greedy *g = arg;
	unsigned i;
	int rc;

	while ((rc = kring_reserve(&g->r, &i)) == KRING_OK) {
		kring_put(&g->r);
		atomic_fetch_add(&g->in, 1);
	}
	atomic_store(&g->rc, rc);
	return NULL;
}

static void producer_blocks_when_full(void)
{
	for (unsigned cap = 1; cap <= 4; cap++) {
		struct greedy *g = calloc(1, sizeof *g);
		struct call *c = calloc(2, sizeof *c);
		pthread_t th;

		CHECK(g && c);
		atomic_store(&g->rc, PENDING);
		CHECK(kring_init(&g->r, cap, NULL) == 0);
		CHECK(pthread_create(&th, NULL, greedy_main, g) == 0);
		/* The consumer is held shut: cap jobs get in, no more. */
		CHECK(reaches(&g->in, (int)cap, DEADLINE_MS));
		nap_ms(50);
		CHECK(atomic_load(&g->in) == (int)cap);
		/* Taken is not free: the slot is busy until released. */
		CHECK(call_now(c, &g->r, OP_TAKE, 0) == KRING_OK);
		CHECK(c->slot == 0);
		nap_ms(50);
		CHECK(atomic_load(&g->in) == (int)cap);
		/* A release wakes every waiter for it, not just one. */
		CHECK(call_start(&c[1], &g->r, OP_WAIT, 1));
		nap_ms(20);
		CHECK(atomic_load(&c[1].rc) == PENDING);
		kring_release(&g->r);
		CHECK(call_end(&c[1], DEADLINE_MS) == KRING_OK);
		CHECK(reaches(&g->in, (int)cap + 1, DEADLINE_MS));
		nap_ms(20);
		CHECK(atomic_load(&g->in) == (int)cap + 1);
		CHECK(atomic_load(&g->rc) == PENDING);
		kring_stop(&g->r, NULL);
		CHECK(reaches(&g->rc, KRING_STOP, DEADLINE_MS));
		pthread_join(th, NULL);
		kring_destroy(&g->r);
		free(g);
		free(c);
	}
}

static void stop_wakes_producer(void)
{
	struct kring *r = calloc(1, sizeof *r);
	struct call *c = calloc(5, sizeof *c);
	unsigned i;

	CHECK(r && c);
	CHECK(kring_init(r, 3, NULL) == 0);
	for (int k = 0; k < 3; k++) {
		CHECK(kring_reserve(r, &i) == KRING_OK);
		kring_put(r);
	}
	/* Two waiters on the producer's side: one for a slot, one for
	 * the jobs to be done. */
	CHECK(call_start(&c[0], r, OP_RESERVE, 0));
	CHECK(call_start(&c[1], r, OP_WAIT, 3));
	nap_ms(50);
	CHECK(atomic_load(&c[0].rc) == PENDING);
	CHECK(atomic_load(&c[1].rc) == PENDING);
	kring_stop(r, NULL);
	CHECK(call_end(&c[0], DEADLINE_MS) == KRING_STOP);
	CHECK(call_end(&c[1], DEADLINE_MS) == KRING_STOP);
	/* From now on every wait returns at once, jobs or not. */
	CHECK(call_now(&c[2], r, OP_RESERVE, 0) == KRING_STOP);
	CHECK(call_now(&c[3], r, OP_TAKE, 0) == KRING_STOP);
	CHECK(call_now(&c[4], r, OP_WAIT, 0) == KRING_STOP);
	CHECK(kring_error(r, NULL) == 0);
	kring_destroy(r);
	free(r);
	free(c);
}

static void stop_wakes_consumer(void)
{
	struct kring *r = calloc(1, sizeof *r);
	struct call *c = calloc(4, sizeof *c);
	struct kerr e1, e2, got;

	CHECK(r && c);
	CHECK(kring_init(r, 2, NULL) == 0);
	/* Two takers on an empty ring (the stop must reach both). */
	CHECK(call_start(&c[0], r, OP_TAKE, 0));
	CHECK(call_start(&c[1], r, OP_TAKE, 0));
	nap_ms(50);
	CHECK(atomic_load(&c[0].rc) == PENDING);
	CHECK(atomic_load(&c[1].rc) == PENDING);
	kerr_set(&e1, KERR_IO, "first", "the consumer failed");
	kerr_set(&e2, KERR_NOMEM, "second", "too late");
	kring_stop(r, &e1);
	CHECK(call_end(&c[0], DEADLINE_MS) == KRING_STOP);
	CHECK(call_end(&c[1], DEADLINE_MS) == KRING_STOP);
	/* The first error sticks. */
	kring_stop(r, &e2);
	kring_close(r, &e2);
	CHECK(kring_error(r, &got) == KERR_IO);
	CHECK_STR(got.what, "first");
	CHECK(call_now(&c[2], r, OP_TAKE, 0) == KRING_STOP);
	CHECK(call_now(&c[3], r, OP_RESERVE, 0) == KRING_STOP);
	kring_destroy(r);
	free(r);
	free(c);
}

static void release_and_wait(void)
{
	struct kring *r = calloc(1, sizeof *r);
	struct call *c = calloc(8, sizeof *c);
	struct kerr e, got;
	unsigned i;

	CHECK(r && c);
	CHECK(kring_init(r, 4, NULL) == 0);
	CHECK(call_now(&c[0], r, OP_WAIT, 0) == KRING_OK);
	for (uint64_t k = 1; k <= 3; k++) {
		CHECK(kring_reserve(r, &i) == KRING_OK);
		CHECK(kring_put(r) == k);
	}
	CHECK(call_start(&c[1], r, OP_WAIT, 3));
	for (unsigned k = 0; k < 3; k++) {
		CHECK(call_now(&c[2], r, OP_TAKE, 0) == KRING_OK);
		CHECK(c[2].slot == k);
	}
	/* Taken is not done. */
	nap_ms(50);
	CHECK(atomic_load(&c[1].rc) == PENDING);
	kring_release(r);
	kring_release(r);
	nap_ms(50);
	CHECK(atomic_load(&c[1].rc) == PENDING);
	CHECK(kring_released(r) == 2);
	kring_release(r);
	CHECK(call_end(&c[1], DEADLINE_MS) == KRING_OK);
	CHECK(kring_released(r) == 3);
	CHECK(call_now(&c[3], r, OP_WAIT, 3) == KRING_OK);
	/* A close with an error comes after the jobs put before it. */
	for (int k = 0; k < 2; k++) {
		CHECK(kring_reserve(r, &i) == KRING_OK);
		kring_put(r);
	}
	kerr_set(&e, KERR_IO, "input", "read: broken");
	kring_close(r, &e);
	CHECK(call_now(&c[4], r, OP_TAKE, 0) == KRING_OK);
	CHECK(c[4].slot == 3);
	CHECK(call_now(&c[5], r, OP_TAKE, 0) == KRING_OK);
	CHECK(c[5].slot == 0);
	CHECK(call_now(&c[6], r, OP_TAKE, 0) == KRING_END);
	CHECK(kring_error(r, &got) == KERR_IO);
	CHECK_STR(got.why, "read: broken");
	/* Closed is not stopped: waits still wait for the jobs. */
	kring_release(r);
	kring_release(r);
	CHECK(call_now(&c[7], r, OP_WAIT, 5) == KRING_OK);
	kring_destroy(r);
	free(r);
	free(c);
}

/* Many rounds of start, some jobs, then an end or a stop from outside
 * at some point, with both threads possibly waiting. */
static void start_stop_rounds(void)
{
	for (int round = 0; round < 300; round++) {
		struct fifo *f = calloc(1, sizeof *f);
		pthread_t p, c;
		bool stop = round % 2;

		CHECK(f);
		f->cap = 1 + (unsigned)round % 4;
		CHECK(kring_init(&f->r, f->cap, NULL) == 0);
		f->n = stop ? UINT64_MAX : (uint64_t)round % 50;
		f->slow_consumer = round % 3 == 0 ? 5 : 0;
		CHECK(pthread_create(&c, NULL, fifo_consumer, f) == 0);
		CHECK(pthread_create(&p, NULL, fifo_producer, f) == 0);
		if (stop) {
			CHECK(reaches(&f->taken, round % 7, DEADLINE_MS));
			kring_stop(&f->r, NULL);
		}
		CHECK(reaches(&f->exited, 2, DEADLINE_MS));
		pthread_join(p, NULL);
		pthread_join(c, NULL);
		CHECK(!atomic_load(&f->bad));
		CHECK(f->last_rc == (stop ? KRING_STOP : KRING_END));
		CHECK(stop || f->got == f->n);
		kring_destroy(&f->r);
		free(f);
	}
}

const struct unit_case suite_kring[] = {
	{ "kring: FIFO order, slow and fast sides", fifo_order },
	{ "kring: producer held while every slot is busy",
	  producer_blocks_when_full },
	{ "kring: stop wakes the producer's waiters", stop_wakes_producer },
	{ "kring: stop wakes the consumer's waiters", stop_wakes_consumer },
	{ "kring: release, wait, close with an error", release_and_wait },
	{ "kring: many start/stop rounds", start_stop_rounds },
	{ NULL, NULL },
};
