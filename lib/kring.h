/*
 * kring — a bounded ring of slots handed from one producer thread to one
 * consumer thread.  A low layer: it knows nothing of what the slots hold
 * and includes nothing of kluis but kerr.
 *
 * The ring counts jobs, not memory: the user keeps its own array of
 * `cap` slots (buffers, batches, job records) and job k lives in slot
 * k % cap.  The producer reserves the next slot (waiting while all are
 * busy), fills it and puts it; the consumer takes slots in order and
 * releases each when it is done with it.  A slot stays busy from put
 * until release, not just until take, so the producer never refills
 * memory the consumer still reads.  All slots are free after init.
 *
 * Ending: the producer closes the ring (take returns KRING_END once the
 * jobs put before are taken), optionally with an error, which is how a
 * producer that fails delivers what it had before the failure.  Anyone
 * may stop it: every wait, present or future, returns KRING_STOP at
 * once and jobs not yet taken are abandoned; a consumer that fails stops
 * the ring with its error.  The first error given sticks.
 */
#ifndef KLUIS_KRING_H
#define KLUIS_KRING_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "kerr.h"

enum { KRING_OK, KRING_END, KRING_STOP };

struct kring {
	pthread_mutex_t mu;
	pthread_cond_t cv_put;   /* to the consumer: a job, an end, a stop */
	pthread_cond_t cv_free;  /* to the producer: a release, a stop */
	unsigned cap;
	uint64_t tail, next, head; /* jobs put, taken, released (under mu) */
	bool closed, stopped;
	bool live;               /* mu and both conditions exist */
	struct kerr err;
};

/* A ring of cap >= 1 slots; KERR_INTERNAL if pthreads refuse. */
int kring_init(struct kring *r, unsigned cap, struct kerr *e);
/* No thread may use r any more.  A zeroed or failed ring is fine. */
void kring_destroy(struct kring *r);

/* Producer.  Wait until the next slot is free: KRING_OK and *slot, or
 * KRING_STOP. */
int kring_reserve(struct kring *r, unsigned *slot);
/* Hand the reserved slot over; returns the number of jobs put so far,
 * for kring_wait. */
uint64_t kring_put(struct kring *r);
/* No more jobs; e (NULL: none) is the error that ended them. */
void kring_close(struct kring *r, const struct kerr *e);

/* Consumer.  The oldest job not yet taken: KRING_OK and *slot, or
 * KRING_END (closed, all taken) or KRING_STOP. */
int kring_take(struct kring *r, unsigned *slot);
/* Done with the oldest job taken: its slot is free again. */
void kring_release(struct kring *r);

/* Any thread.  Wait until the first n jobs are released: KRING_OK or
 * KRING_STOP. */
int kring_wait(struct kring *r, uint64_t n);
/* How many jobs are released (the slots of jobs below are the
 * producer's again). */
uint64_t kring_released(struct kring *r);
/* Wake every waiter; from now on every wait returns KRING_STOP.  e
 * (NULL: none) is the error that stopped the ring. */
void kring_stop(struct kring *r, const struct kerr *e);
/* The first error given to close or stop, into e; 0 if none. */
int kring_error(struct kring *r, struct kerr *e);

#endif
