/*
 * xpar — export's parallel pass: the register cut into blocks at record
 * boundaries, judged by worker threads, merged in file order.  The rules
 * of judging and tallying are export.c's (export_int.h); this file only
 * schedules them.
 *
 * The merging thread (the caller's) reads the register in blocks that
 * start at a record start and end right after an LF outside quotes; the
 * workers judge the blocks, each with its own reader (csv_open_block),
 * caches and buffers, into per-block results: one entry per record,
 * issues, escaped package lines, ledger keys, per-field counts.  The
 * merging thread takes the results strictly in block order and replays
 * the entries through ex_tally(), so counts, issues, --max-rejects, ledger
 * keys and package bytes come out as the sequential pass makes them.
 *
 * Whether a cut is right is not trusted to the splitter: a block whose
 * reader fails (a cut inside a quoted field ends in an unclosed quote,
 * and a real error looks the same) is read again by the sequential
 * reader from its start, which is a record start because every block
 * before it parsed to its end.  The sequential reader then gives the
 * file's own error, or carries on to the end of that block, after which
 * the blocks resume.  The same is done for a block with a byte >= 0x80
 * while the encoding is still undecided (the decision belongs to the
 * first such byte of the file), and for a block without a cut.  Later
 * blocks already in flight are then dropped.
 *
 * Line numbers: the splitter does not count lines (that was a pass over
 * every byte on the merging thread).  A block is read as if it started on
 * line 1; its entries, its last line, the line of its first byte >= 0x80
 * and the line after it come out relative to that, and the merge, which
 * knows where the block starts (the line after the block before it),
 * makes them absolute.  Nothing in a block's results depends on the line
 * numbers except those numbers: a reader's errors, which quote lines,
 * only send the block to the sequential reader, which reads it with the
 * true numbers.
 *
 * Memory: a fixed ring of 8 blocks (2 per worker beyond 4), each at most
 * par_block bytes of register plus its results.  Everything that held
 * register data is wiped before it is freed.
 */
#include "export_int.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "banned.h"

#define PAR_BLOCK ((size_t)1 << 20)
#define PAR_MIN_BYTES ((uint64_t)8 << 20)
#define PAR_MAX_THREADS 4
#define PAD 64                  /* csv_open_block reads past the end */

enum { B_FREE, B_READY, B_BUSY, B_DONE };

struct bentry {
	uint64_t line;
	uint32_t n_issues;
	uint32_t key_len;       /* bytes in keys; 0: a "line:N" key */
	uint8_t what;           /* enum outcome, or BLANK */
};
#define BLANK 255

struct block {
	uint64_t seq;
	int state;              /* under par.mu */
	uint8_t *buf;           /* par_block + PAD bytes */
	size_t n;
	struct csv_pos at;      /* at.line is 1: lines are block-relative */
	uint64_t end_line;      /* line right after the block (relative) */
	bool reseq;             /* read this one with the sequential reader */
	/* results */
	struct bentry *ent;
	size_t n_ent, ent_cap;
	struct pending_issue *iss;
	size_t n_iss, iss_cap;
	struct kbuf pkg, keys;
	uint64_t n_sel;
	struct fstats *stats;
	uint64_t last_line, enc_line;   /* relative; 0: none */
};

struct xpar {
	struct ex *x;
	pthread_mutex_t mu;
	pthread_cond_t cv_work, cv_done;
	struct block *b;
	size_t nb;
	pthread_t *th;
	size_t n_th;
	uint64_t next_work;     /* seq of the next block for a worker */
	uint64_t split_seq, merge_seq;
	bool stop, cancel;
};

static int grow(void **p, size_t *cap, size_t need, size_t size)
{
	size_t n = *cap ? *cap : 256;
	void *q;

	if (need <= *cap)
		return 0;
	while (n < need)
		n *= 2;
	if (!(q = realloc(*p, n * size)))
		return -1;
	*p = q;
	*cap = n;
	return 0;
}

/* Judge one block; any failure leaves it to the sequential reader. */
static void judge_block(struct ex *x, struct judge *j, struct block *b)
{
	struct csv_reader *csv = NULL;
	struct csv_record rec;
	struct kerr e;
	size_t nf = x->p->n_fields;

	memset(b->stats, 0, nf * sizeof *b->stats);
	j->stats = b->stats;
	if (csv_open_block(&csv, b->buf, b->n, &x->co, &b->at, &e)) {
		b->reseq = true;
		return;
	}
	for (;;) {
		struct bentry *en;
		enum outcome out;

		if (csv_next(csv, &rec, &e)) {
			b->reseq = true;
			break;
		}
		if (rec.n == 0)
			break;
		b->last_line = rec.end_line;
		if (grow((void **)&b->ent, &b->ent_cap, b->n_ent + 1,
			 sizeof *b->ent)) {
			b->reseq = true;
			break;
		}
		en = &b->ent[b->n_ent++];
		memset(en, 0, sizeof *en);
		en->line = rec.line;
		if (ex_blank_row(&rec)) {
			en->what = BLANK;
			continue;
		}
		out = ex_classify(x, j, &rec);
		ex_count_fields(j, out);
		en->what = (uint8_t)out;
		en->n_issues = (uint32_t)j->n_pend;
		if (j->n_pend) {
			if (grow((void **)&b->iss, &b->iss_cap,
				 b->n_iss + j->n_pend, sizeof *b->iss)) {
				b->reseq = true;
				break;
			}
			memcpy(b->iss + b->n_iss, j->pend,
			       j->n_pend * sizeof *j->pend);
			b->n_iss += j->n_pend;
		}
		if (out != SELECTED)
			continue;
		b->n_sel++;
		ex_field_stats(j);
		if (x->pw &&
		    pkg_escape_record(nf, j->v, j->lens, &b->pkg, &e)) {
			b->reseq = true;
			break;
		}
		if (x->ledger) {
			const char *k;
			size_t klen;

			/* A line key needs the absolute line: the merge
			 * makes it. */
			if (!ex_column_key(x, &rec, &k, &klen))
				continue;
			if (kbuf_append(&b->keys, k, klen, &e)) {
				b->reseq = true;
				break;
			}
			en->key_len = (uint32_t)klen;
		}
	}
	if (!b->reseq) {
		struct csv_pos end;

		csv_pos_get(csv, &end);
		b->end_line = end.line;
	}
	b->enc_line = csv_encoding_line(csv);
	csv_free(csv);
}

static void block_clear(struct block *b)
{
	b->n_ent = b->n_iss = 0;
	b->n_sel = 0;
	b->last_line = b->enc_line = b->end_line = 0;
	b->reseq = false;
	kbuf_reset(&b->pkg);   /* wipes */
	kbuf_reset(&b->keys);
}

static void *worker(void *arg)
{
	struct xpar *pp = arg;
	struct ex *x = pp->x;
	struct judge j;
	bool ok = ex_judge_init(x, &j, NULL) == 0;

	pthread_mutex_lock(&pp->mu);
	for (;;) {
		struct block *b = &pp->b[pp->next_work % pp->nb];

		while (!pp->stop &&
		       !(b->state == B_READY && b->seq == pp->next_work)) {
			pthread_cond_wait(&pp->cv_work, &pp->mu);
			b = &pp->b[pp->next_work % pp->nb];
		}
		if (pp->stop)
			break;
		/* Blocks are taken in file order; any worker may take
		 * any block. */
		pp->next_work++;
		b->state = B_BUSY;
		if (pp->cancel || !ok) {
			b->reseq = true;
		} else {
			pthread_mutex_unlock(&pp->mu);
			judge_block(x, &j, b);
			pthread_mutex_lock(&pp->mu);
		}
		b->state = B_DONE;
		pthread_cond_broadcast(&pp->cv_done);
	}
	pthread_mutex_unlock(&pp->mu);
	ex_judge_free(x, &j);
	return NULL;
}

void xpar_free(struct ex *x)
{
	struct xpar *pp = x->par;

	if (!pp)
		return;
	pthread_mutex_lock(&pp->mu);
	pp->stop = true;
	pthread_cond_broadcast(&pp->cv_work);
	pthread_mutex_unlock(&pp->mu);
	for (size_t i = 0; i < pp->n_th; i++)
		pthread_join(pp->th[i], NULL);
	pthread_cond_destroy(&pp->cv_work);
	pthread_cond_destroy(&pp->cv_done);
	pthread_mutex_destroy(&pp->mu);
	for (size_t i = 0; pp->b && i < pp->nb; i++) {
		struct block *b = &pp->b[i];

		if (b->buf) {
			sodium_memzero(b->buf, x->par_block + PAD);
			free(b->buf);
		}
		free(b->ent);
		free(b->iss);
		free(b->stats);
		kbuf_free(&b->pkg);
		kbuf_free(&b->keys);
	}
	free(pp->b);
	free(pp->th);
	free(pp);
	x->par = NULL;
}

static int par_start(struct ex *x, struct kerr *e)
{
	struct xpar *pp = calloc(1, sizeof *pp);
	bool sync = false;

	if (!pp)
		return kerr_set(e, KERR_NOMEM, "export", "out of memory");
	pp->x = x;
	x->par = pp;
	if (pthread_mutex_init(&pp->mu, NULL)) {
		free(pp);
		x->par = NULL;
		return kerr_set(e, KERR_INTERNAL, "export", "no mutex");
	}
	if (pthread_cond_init(&pp->cv_work, NULL) == 0) {
		if (pthread_cond_init(&pp->cv_done, NULL) == 0)
			sync = true;
		else
			pthread_cond_destroy(&pp->cv_work);
	}
	if (!sync) {
		pthread_mutex_destroy(&pp->mu);
		free(pp);
		x->par = NULL;
		return kerr_set(e, KERR_INTERNAL, "export", "no condition");
	}
	/* Blocks judged ahead of the merge: with 2 per worker, 2 workers
	 * ran dry whenever the merge was held up downstream.  At least 8,
	 * and 2 per worker beyond that, so memory stays bounded on larger
	 * machines. */
	pp->nb = 2 * x->par_threads < 8 ? 8 : 2 * x->par_threads;
	pp->b = calloc(pp->nb, sizeof *pp->b);
	pp->th = calloc(x->par_threads, sizeof *pp->th);
	if (!pp->b || !pp->th)
		return kerr_set(e, KERR_NOMEM, "export", "out of memory");
	for (size_t i = 0; i < pp->nb; i++) {
		struct block *b = &pp->b[i];

		b->buf = malloc(x->par_block + PAD);
		b->stats = calloc(x->p->n_fields, sizeof *b->stats);
		/* The package lines of a block are about as big as the
		 * block; the bound only guards against the absurd. */
		kbuf_init(&b->pkg, SIZE_MAX / 4, false);
		kbuf_init(&b->keys, SIZE_MAX / 4, false);
		if (!b->buf || !b->stats)
			return kerr_set(e, KERR_NOMEM, "export",
					"out of memory");
	}
	for (size_t i = 0; i < x->par_threads; i++) {
		if (pthread_create(&pp->th[i], NULL, worker, pp))
			break;
		pp->n_th++;
	}
	if (!pp->n_th)
		return kerr_set(e, KERR_INTERNAL, "export",
				"cannot start a thread");
	return 0;
}

/*
 * Where to end a block of n bytes that starts at a record start: right
 * after its last LF outside quotes, as the reader sees quotes (one opens
 * a quoted field only as the field's first byte; "" inside is an
 * escape).  0 if there is none.  Only a guess the reader checks.
 */
static size_t find_cut(const uint8_t *p, size_t n, uint8_t d)
{
	size_t i = 0, u = 0, cut = 0;
	const uint8_t *q, *lf;

	for (;;) {
		/* outside quotes from u: the next quote that opens one */
		for (i = u;; i++) {
			q = memchr(p + i, '"', n - i);
			if (!q)
				break;
			i = (size_t)(q - p);
			if (i == 0 || p[i - 1] == d || p[i - 1] == '\n')
				break;
		}
		if (!q) {
			lf = memrchr(p + u, '\n', n - u);
			return lf ? (size_t)(lf - p) + 1 : cut;
		}
		if (i > u && (lf = memrchr(p + u, '\n', i - u)) != NULL)
			cut = (size_t)(lf - p) + 1;
		/* inside quotes from i + 1: to the closing quote */
		for (i = i + 1;; i += 2) {
			q = memchr(p + i, '"', n - i);
			if (!q)
				return cut;
			i = (size_t)(q - p);
			if (i + 1 >= n || p[i + 1] != '"')
				break;
		}
		u = i + 1;
	}
}

static bool has_high(const uint8_t *p, size_t n)
{
	uint64_t acc = 0;
	size_t i = 0;

	for (; i + 8 <= n; i += 8) {
		uint64_t w;

		memcpy(&w, p + i, 8);
		acc |= w;
		if ((i & 4095) == 0 && (acc & UINT64_C(0x8080808080808080)))
			return true;
	}
	for (; i < n; i++)
		acc |= p[i];
	return (acc & UINT64_C(0x8080808080808080)) != 0;
}

/* Read up to cap bytes at off; *eof when the file ended before. */
static int read_at(struct ex *x, uint8_t *buf, size_t cap, uint64_t off,
		   size_t *got, bool *eof, struct kerr *e)
{
	*got = 0;
	*eof = false;
	while (*got < cap) {
		ssize_t k = pread(x->fd, buf + *got, cap - *got,
				  (off_t)(off + *got));
		if (k < 0) {
			if (errno == EINTR)
				continue;
			return kerr_errno(e, errno, x->o->register_path,
					  "cannot read");
		}
		if (k == 0) {
			*eof = true;
			break;
		}
		*got += (size_t)k;
	}
	return 0;
}

/* Merge one judged block, in file order.  It starts where the merged
 * blocks end (x->cst): there its relative line 1 becomes absolute. */
static int merge(struct ex *x, struct block *b, struct kerr *e)
{
	const struct pending_issue *iss = b->iss;
	const char *key = (const char *)b->keys.p;
	size_t nf = x->p->n_fields;
	const uint64_t shift = x->cst.line - 1;
	char lkey[EX_LINE_KEY];

	for (size_t i = 0; i < b->n_ent; i++) {
		const struct bentry *en = &b->ent[i];
		const char *k = key;
		size_t klen = en->key_len;

		if (en->what == BLANK) {
			x->r->n_blank_rows++;
			continue;
		}
		if (en->what == SELECTED && !klen && x->ledger)
			klen = ex_line_key(lkey, en->line + shift, &k);
		if (ex_tally(x, (enum outcome)en->what, en->line + shift, iss,
			  en->n_issues, k, klen, e))
			return e->code;
		iss += en->n_issues;
		key += en->key_len;
		ex_progress(x, b->at.offset + b->n);
	}
	/* The block's lines go to the writer as they are: it takes the
	 * buffer and leaves an emptied one in its place. */
	if (x->pw && pkg_write_kbuf(x->pw, &b->pkg, b->n_sel, e))
		return e->code;
	for (size_t i = 0; i < nf; i++) {
		x->stats[i].empty += b->stats[i].empty;
		x->stats[i].blanked += b->stats[i].blanked;
		x->stats[i].rejected += b->stats[i].rejected;
		x->stats[i].formula += b->stats[i].formula;
	}
	if (b->last_line)
		x->last_line = b->last_line + shift;
	/* Set by this block only if it was 0 when the block was cut, so
	 * then it is relative. */
	if (!x->cst.enc_line && b->enc_line)
		x->cst.enc_line = b->enc_line + shift;
	x->cst.offset = b->at.offset + b->n;
	x->cst.line = b->end_line + shift;
	return 0;
}

/* Drop the blocks in flight after a stop; wait for the workers first. */
static void par_cancel(struct xpar *pp)
{
	pthread_mutex_lock(&pp->mu);
	pp->cancel = true;
	pthread_cond_broadcast(&pp->cv_work);
	for (uint64_t s = pp->merge_seq; s < pp->split_seq; s++) {
		struct block *b = &pp->b[s % pp->nb];

		while (b->state == B_READY || b->state == B_BUSY)
			pthread_cond_wait(&pp->cv_done, &pp->mu);
		b->state = B_FREE;
		block_clear(b);
	}
	pp->merge_seq = pp->split_seq;
	/* A block the splitter left to the sequential reader was never
	 * taken by a worker. */
	pp->next_work = pp->split_seq;
	pp->cancel = false;
	pthread_mutex_unlock(&pp->mu);
}

/*
 * Blocks from *at on, until the end of input (*eof) or a block the
 * sequential reader must read: then *at is its start and *until its end.
 */
int xpar_run(struct ex *x, struct csv_pos *at, uint64_t *until,
		   bool *eof, struct kerr *e)
{
	struct xpar *pp;
	uint64_t off = at->offset;
	bool split_done = false;
	int rc;

	*eof = false;
	if (!x->par && (rc = par_start(x, e)))
		return rc;
	pp = x->par;
	for (;;) {
		struct block *b;

		while (!split_done && pp->split_seq - pp->merge_seq < pp->nb) {
			size_t got, cut;
			bool end;

			b = &pp->b[pp->split_seq % pp->nb];
			if ((rc = read_at(x, b->buf, x->par_block, off, &got,
					  &end, e))) {
				par_cancel(pp);
				return rc;
			}
			if (got == 0) {
				split_done = true;
				break;
			}
			block_clear(b);
			b->at = x->cst;
			b->at.offset = off;
			b->at.line = 1;
			cut = end ? got : find_cut(b->buf, got,
						   (uint8_t)x->cst.delimiter);
			if (!cut) {
				b->n = got;
				b->reseq = true;
			} else {
				b->n = cut;
				/* The first byte >= 0x80 decides the encoding:
				 * the sequential reader's job. */
				b->reseq = x->cst.encoding == CSV_ENC_AUTO &&
					   has_high(b->buf, cut);
				off += cut;
			}
			memset(b->buf + b->n, 0, PAD);
			if (b->reseq || (end && cut == got))
				split_done = true;
			pthread_mutex_lock(&pp->mu);
			b->seq = pp->split_seq++;
			b->state = b->reseq ? B_DONE : B_READY;
			pthread_cond_broadcast(&pp->cv_work);
			pthread_mutex_unlock(&pp->mu);
		}
		if (pp->merge_seq == pp->split_seq) {
			*eof = true;
			return 0;
		}
		b = &pp->b[pp->merge_seq % pp->nb];
		pthread_mutex_lock(&pp->mu);
		while (b->state != B_DONE)
			pthread_cond_wait(&pp->cv_done, &pp->mu);
		pthread_mutex_unlock(&pp->mu);
		if (b->reseq) {
			/* The merged blocks end where this one starts. */
			*at = x->cst;
			*until = b->at.offset + b->n;
			par_cancel(pp);
			return 0;
		}
		if ((rc = merge(x, b, e))) {
			par_cancel(pp);
			return rc;
		}
		pthread_mutex_lock(&pp->mu);
		b->state = B_FREE;
		pp->merge_seq++;
		pthread_mutex_unlock(&pp->mu);
	}
}

/*
 * Workers for the blocks, or none (par_threads 0: sequential).  A register
 * smaller than a few blocks, or a machine with one CPU, is read
 * sequentially.  KLUIS_EXPORT_BLOCK (tests only, see export.h) sets the
 * block size and forces at least two workers whatever the size.
 */
void xpar_plan(struct ex *x, bool regular)
{
	const char *force = getenv("KLUIS_EXPORT_BLOCK");
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	size_t n = ncpu < 1 ? 1 : ncpu > PAR_MAX_THREADS ? PAR_MAX_THREADS
							 : (size_t)ncpu;

	x->par_threads = 0;
	x->par_block = PAR_BLOCK;
	if (!regular) /* blocks are read at offsets */
		return;
	if (force && *force) {
		char *end;
		unsigned long long v = strtoull(force, &end, 10);

		if (*end || v == 0) /* "0" or junk: sequential */
			return;
		x->par_block = v > PAR_BLOCK ? PAR_BLOCK : (size_t)v;
		x->par_threads = n < 2 ? 2 : n;
		return;
	}
	if (n > 1 && x->total_bytes >= PAR_MIN_BYTES)
		x->par_threads = n;
}
