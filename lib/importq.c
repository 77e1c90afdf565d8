/*
 * importq — see importq.h.  The batches are the slots of a kring: the
 * caller fills b[fill] and puts it, the writer takes, writes, wipes and
 * releases it.  A writer error stops the ring with the error.
 */
#include "importq.h"

#include <pthread.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "kring.h"

#include "banned.h"

#define Q_BATCHES 3
#define Q_ROWS 4096
#define Q_BYTES (1u << 20)

struct row {
	bool person;
	uint64_t a, b, c;          /* record, code | person, code, first */
	size_t off;                /* values: n lengths (size_t), then bytes */
};

struct batch {
	struct row rows[Q_ROWS];
	size_t n;
	uint8_t *bytes;            /* Q_BYTES, grows for a huge row */
	size_t used, cap;
};

struct importq {
	struct ws_import *im;
	size_t n_attr, n_ident;
	struct batch b[Q_BATCHES];
	unsigned fill;             /* the caller's: b[fill] */
	struct kring ring;
	bool started;
	pthread_t th;
	/* Scratch for the writer: pointers into a batch. */
	const char **vals;
	const uint8_t **sealed;
	size_t *lens;
};

static int write_batch(struct importq *q, struct batch *b, struct kerr *e)
{
	for (size_t i = 0; i < b->n; i++) {
		const struct row *r = &b->rows[i];
		size_t n = r->person ? q->n_ident : q->n_attr;
		const uint8_t *p = b->bytes + r->off;
		size_t at = n * sizeof(size_t);
		int rc;

		memcpy(q->lens, p, at);
		for (size_t k = 0; k < n; k++) {
			q->vals[k] = (const char *)p + at;
			q->sealed[k] = p + at;
			at += q->lens[k];
		}
		rc = r->person ? ws_import_person(q->im, r->a, r->b, r->c,
						  q->sealed, q->lens, e)
			       : ws_import_record(q->im, r->a, r->b, q->vals,
						  q->lens, e);
		if (rc)
			return rc;
	}
	return 0;
}

static void *writer(void *arg)
{
	struct importq *q = arg;
	unsigned i;

	pthread_setname_np(pthread_self(), "kluis-db");
	while (kring_take(&q->ring, &i) == KRING_OK) {
		struct batch *b = &q->b[i];
		struct kerr e;
		int rc;

		kerr_clear(&e);
		rc = write_batch(q, b, &e);
		sodium_memzero(b->bytes, b->used);
		b->n = b->used = 0;
		if (rc) {
			kring_stop(&q->ring, &e);
			break;
		}
		kring_release(&q->ring);
	}
	return NULL;
}

static int failed(struct importq *q, struct kerr *e)
{
	int rc = kring_error(&q->ring, e);

	return rc ? rc : KERR_INTERNAL;
}

/* Hand the caller's batch over and take an empty one. */
static int hand_over(struct importq *q, struct kerr *e)
{
	kring_put(&q->ring);
	if (kring_reserve(&q->ring, &q->fill) != KRING_OK)
		return failed(q, e);
	return 0;
}

int importq_start(struct importq **out, struct ws_import *im,
		  size_t n_attr, size_t n_ident, struct kerr *e)
{
	struct importq *q = calloc(1, sizeof *q);
	size_t n = (n_attr > n_ident ? n_attr : n_ident) + 1;

	*out = NULL;
	if (!q)
		return kerr_set(e, KERR_NOMEM, "receive", "out of memory");
	q->im = im;
	q->n_attr = n_attr;
	q->n_ident = n_ident;
	q->vals = calloc(n, sizeof *q->vals);
	q->sealed = calloc(n, sizeof *q->sealed);
	q->lens = calloc(n, sizeof *q->lens);
	bool ok = q->vals && q->sealed && q->lens;
	for (int i = 0; ok && i < Q_BATCHES; i++) {
		ok = (q->b[i].bytes = malloc(Q_BYTES)) != NULL;
		q->b[i].cap = Q_BYTES;
	}
	if (!ok) {
		importq_free(q);
		return kerr_set(e, KERR_NOMEM, "receive", "out of memory");
	}
	if (kring_init(&q->ring, Q_BATCHES, NULL) != 0 ||
	    pthread_create(&q->th, NULL, writer, q) != 0) {
		importq_free(q);
		return kerr_set(e, KERR_INTERNAL, "receive",
				"cannot start the writer thread");
	}
	q->started = true;
	*out = q;
	return 0;
}

static int append(struct importq *q, bool person, uint64_t a, uint64_t b,
		  uint64_t c, const void *const *vals, const size_t *lens,
		  size_t n, struct kerr *e)
{
	size_t need = n * sizeof(size_t);
	struct batch *bt;
	int rc;

	for (size_t k = 0; k < n; k++)
		need += lens[k];
	bt = &q->b[q->fill];
	if ((bt->n == Q_ROWS || bt->used + need > bt->cap) && bt->n &&
	    (rc = hand_over(q, e)))
		return rc;
	bt = &q->b[q->fill];
	if (bt->used + need > bt->cap) {
		/* One row bigger than a batch: grow this batch for it. */
		uint8_t *nb = malloc(need);
		if (!nb)
			return kerr_set(e, KERR_NOMEM, "receive", "out of memory");
		sodium_memzero(bt->bytes, bt->cap);
		free(bt->bytes);
		bt->bytes = nb;
		bt->cap = need;
	}
	struct row *r = &bt->rows[bt->n++];
	r->person = person;
	r->a = a;
	r->b = b;
	r->c = c;
	r->off = bt->used;
	memcpy(bt->bytes + bt->used, lens, n * sizeof(size_t));
	bt->used += n * sizeof(size_t);
	for (size_t k = 0; k < n; k++) {
		if (lens[k])
			memcpy(bt->bytes + bt->used, vals[k], lens[k]);
		bt->used += lens[k];
	}
	return 0;
}

int importq_record(struct importq *q, uint64_t record, uint64_t code,
		   const char *const *vals, const size_t *lens, struct kerr *e)
{
	return append(q, false, record, code, 0, (const void *const *)vals,
		      lens, q->n_attr, e);
}

int importq_person(struct importq *q, uint64_t person, uint64_t code,
		   uint64_t first_record, const uint8_t *const *sealed,
		   const size_t *lens, struct kerr *e)
{
	return append(q, true, person, code, first_record,
		      (const void *const *)sealed, lens, q->n_ident, e);
}

int importq_finish(struct importq *q, struct kerr *e)
{
	int rc = 0;

	if (q->b[q->fill].n)
		rc = hand_over(q, e);
	kring_close(&q->ring, NULL);
	pthread_join(q->th, NULL);
	q->started = false;
	if (!rc && kring_error(&q->ring, NULL))
		rc = failed(q, e);
	return rc;
}

void importq_free(struct importq *q)
{
	if (!q)
		return;
	if (q->started) {
		kring_stop(&q->ring, NULL);
		pthread_join(q->th, NULL);
	}
	for (int i = 0; i < Q_BATCHES; i++) {
		if (q->b[i].bytes) {
			sodium_memzero(q->b[i].bytes, q->b[i].cap);
			free(q->b[i].bytes);
		}
	}
	kring_destroy(&q->ring);
	free(q->vals);
	free(q->sealed);
	free(q->lens);
	free(q);
}
