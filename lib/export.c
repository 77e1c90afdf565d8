/*
 * export — one pass from register to package; see export.h for the rules
 * and the order of commits.  The issue list is spooled to an unnamed
 * temporary file while streaming, so it never has to fit in memory, and is
 * copied into the report at the end.
 *
 * How records are judged and tallied, and by which thread: export_int.h;
 * the parallel pass over blocks of the register: xpar.c.
 */
#include "export_int.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <libgen.h>
#include <limits.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "age.h"
#include "agekey.h"
#include "kfile.h"
#include "ledger.h"
#include "mime.h"
#include "norm.h"
#include "pcache.h"
#include "pfield.h"
#include "psel.h"
#include "smtp.h"

#include "banned.h"


#define LIKELY(x) __builtin_expect(!!(x), 1)
#define UNLIKELY(x) __builtin_expect(!!(x), 0)

/* ---- small helpers ---- */

static const char *base_name(const char *path)
{
	const char *s = strrchr(path, '/');
	return s ? s + 1 : path;
}

static void note_issue(struct ex *x, struct judge *j, size_t field,
		       size_t column, const char *reason, bool blanked)
{
	struct pending_issue *pi;

	if (j->n_pend >= x->p->n_fields + 2)
		return; /* more than one per field cannot happen; be safe */
	pi = &j->pend[j->n_pend++];
	pi->field = field;
	pi->column = column;
	pi->reason = reason;
	pi->blanked = blanked;
}

static int flush_issues(struct ex *x, const struct pending_issue *pend,
			size_t n_pend, uint64_t line, bool rejected,
			struct kerr *e)
{
	for (size_t i = 0; i < n_pend; i++) {
		const struct pending_issue *pi = &pend[i];
		const char *action = pi->blanked && !rejected ? "blanked"
				   : pi->blanked ? "would be blanked"
						 : "rejected";
		json_t *j = json_pack(
			"{s:I, s:s?, s:s?, s:s, s:s}", "line", (json_int_t)line,
			"field",
			pi->field == SIZE_MAX ? NULL
					      : x->p->fields[pi->field].name,
			"column",
			pi->column == SIZE_MAX ? NULL
					       : x->cols[pi->column].header,
			"action", action, "reason", pi->reason);
		char *s = j ? json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER)
			    : NULL;

		json_decref(j);
		if (!s)
			return kerr_set(e, KERR_NOMEM, "report",
					"out of memory");
		if (x->r->n_issues < EXPORT_FIRST_ISSUES) {
			snprintf(x->r->first_issues[x->r->n_issues],
				 sizeof x->r->first_issues[0],
				 "line %llu%s%s: %s (%s)",
				 (unsigned long long)line,
				 pi->field == SIZE_MAX ? "" : ", field ",
				 pi->field == SIZE_MAX
					 ? ""
					 : x->p->fields[pi->field].name,
				 pi->reason, action);
		}
		x->r->n_issues++;
		if (fputs(s, x->spool) == EOF || fputc('\n', x->spool) == EOF) {
			free(s);
			return kerr_errno(e, errno, "report spool", "write");
		}
		free(s);
	}
	return 0;
}

/* ---- columns ---- */

static int key_matches(const char *a, size_t alen, const char *b,
		       size_t blen)
{
	struct kbuf ka = KBUF_INIT(4096), kb = KBUF_INIT(4096);
	const char *why;
	int same = 0;

	if (norm_match_key(a, alen, &ka, &why) == NORM_OK &&
	    norm_match_key(b, blen, &kb, &why) == NORM_OK)
		same = kbuf_equal(&ka, &kb);
	kbuf_free(&ka);
	kbuf_free(&kb);
	return same;
}

static int list_headers(struct ex *x, char *out, size_t cap)
{
	size_t used = 0;

	out[0] = '\0';
	for (size_t c = 0; c < x->n_cols; c++) {
		int n = snprintf(out + used, cap - used, "%s\"%s\"",
				 c ? ", " : "", x->cols[c].header);
		if (n < 0 || (size_t)n >= cap - used) {
			snprintf(out + (used < cap - 4 ? used : cap - 4),
				 4, "...");
			break;
		}
		used += (size_t)n;
	}
	return 0;
}

static int map_columns(struct ex *x, const struct csv_record *h,
		       struct kerr *e)
{
	const struct protocol *p = x->p;
	char missing[512] = "", found[1024];
	size_t n_missing = 0;

	x->n_cols = h->n;
	x->cols = calloc(h->n, sizeof *x->cols);
	if (!x->cols)
		return kerr_set(e, KERR_NOMEM, "register", "out of memory");
	for (size_t i = 0; i < p->n_fields; i++)
		x->col_of[i] = -1;
	x->key_col = -1;
	for (size_t c = 0; c < h->n; c++) {
		const struct csv_field *f = &h->fields[c];
		const struct pfield *pf;

		x->cols[c].header = strndup(f->p, f->len);
		if (!x->cols[c].header)
			return kerr_set(e, KERR_NOMEM, "register",
					"out of memory");
		if (x->o->key_column && x->key_col < 0 &&
		    key_matches(f->p, f->len, x->o->key_column,
				strlen(x->o->key_column))) {
			x->key_col = (ssize_t)c;
			x->cols[c].is_key = true;
		}
		pf = protocol_field_by_header(p, f->p, f->len);
		if (!pf)
			continue;
		if (x->col_of[pf->index] >= 0) {
			kerr_set(e, KERR_FORMAT, "register",
				 "columns %zu (\"%s\") and %zu (\"%s\") both "
				 "match protocol field '%s'; rename one",
				 (size_t)x->col_of[pf->index] + 1,
				 x->cols[x->col_of[pf->index]].header, c + 1,
				 x->cols[c].header, pf->name);
			return kerr_where(e, "line %llu",
					  (unsigned long long)h->line);
		}
		x->col_of[pf->index] = (ssize_t)c;
		x->cols[c].field = pf;
	}
	if (x->o->key_column && x->key_col < 0) {
		list_headers(x, found, sizeof found);
		return kerr_set(e, KERR_FORMAT, "register",
				"no column '%s' for --key-column; the "
				"header has %s",
				x->o->key_column, found);
	}
	for (size_t i = 0; i < p->n_fields; i++) {
		const struct pfield *f = &p->fields[i];
		bool needed = f->required || x->in_rule[i];

		if (x->col_of[i] >= 0)
			continue;
		if (!needed) {
			x->r->n_missing++;
			continue;
		}
		n_missing++;
		size_t used = strlen(missing);
		snprintf(missing + used, sizeof missing - used, "%s'%s'",
			 used ? ", " : "", f->name);
	}
	if (n_missing) {
		list_headers(x, found, sizeof found);
		kerr_set(e, KERR_FORMAT, "register",
			 "no column for required protocol field%s %s; the "
			 "header has %s",
			 n_missing > 1 ? "s" : "", missing, found);
		return kerr_where(e, "line %llu", (unsigned long long)h->line);
	}
	for (size_t c = 0; c < h->n; c++)
		if (!x->cols[c].field)
			x->r->n_dropped++;
	return 0;
}

/* ---- one record ---- */

/* A field without a usable value: empty in the record, and what the
 * protocol says that means (an issue; a reject unless blanked, which
 * sets j->reject: a flag in memory, not a value every field's loop
 * carries). */
static __attribute__((noinline)) void no_value(struct ex *x, struct judge *j,
					       size_t i, ssize_t c, int rc,
					       const char *why)
{
	const struct pfield *f = &x->p->fields[i];

	j->v[i] = "";
	j->lens[i] = 0;
	j->empty[j->n_empty++] = i;
	if (rc == NORM_INVALID && f->blank_invalid && !f->required) {
		note_issue(x, j, i, (size_t)c, why, true);
		return;
	}
	if (rc == NORM_INVALID) {
		note_issue(x, j, i, (size_t)c, why, false);
		j->reject = true;
		return;
	}
	if (f->required) {
		note_issue(x, j, i, c >= 0 ? (size_t)c : SIZE_MAX,
			   "required value missing", false);
		j->reject = true;
	}
}

/* A value that a spreadsheet would evaluate, by its first byte (OWASP
 * CSV injection list). */
static const bool formula_start[256] = {
	['='] = true, ['+'] = true, ['-'] = true,
	['@'] = true, ['\t'] = true, ['\r'] = true,
};

/* Field f has value v[0..n), noted as empty or formula-like if it is
 * (text: whether f may be a text field). */
static inline __attribute__((always_inline)) void
have_value(struct judge *j, const struct jfield *f, const char *v, size_t n,
	   bool text)
{
	*f->v = v;
	*f->len = n;
	if (UNLIKELY(!n))
		j->empty[j->n_empty++] = f->i;
	else if (text && f->text && formula_start[(unsigned char)*v])
		j->formula[j->n_formula++] = f->i;
}

/*
 * Normalise the fields plan[from..to) of the record; whether it is
 * rejected.  Inline in its loop, with pcache_hit (the cache's hit path)
 * inline too, and the empty and invalid cases out of line: a call per
 * field was a visible part of an export.  What each field needs comes
 * from one jfield, resolved once per judge: where its cell and its
 * result are, an empty cell's result (the cell empty most often),
 * whether it is text (counted when it looks like a formula), and for the
 * fields the cache never caches (dates, e-mail addresses, phone numbers)
 * their normaliser, called here rather than through the cache's
 * dispatch.  The loop carries as little as it can (the plan, the cells,
 * the judge): the lookup inlined in it needs the registers.  The fields
 * without a column come after the others in each part (plan[mid..to)):
 * empty cells, with no cell to look at.
 */
static inline __attribute__((always_inline)) bool
normalise(struct ex *x, struct judge *j, const struct csv_field *cf,
	  size_t from, size_t mid, size_t to)
{
	const struct jfield *f = j->plan + from;

	j->reject = false;
	for (const struct jfield *end = j->plan + mid; f < end; f++) {
		const struct csv_field *c =
			(const struct csv_field *)(const void *)((
				const char *)cf + f->cell);
		const struct pcache_entry_ *s;
		int rc;

		if (c->len == 0) {
			if (LIKELY(f->empty_quiet)) {
				/* what no_value does for it */
				*f->v = "";
				*f->len = 0;
				j->empty[j->n_empty++] = f->i;
				continue;
			}
			rc = f->empty_rc;
			j->why = f->empty_why;
			if (rc == NORM_OK) {
				have_value(j, f, "", 0, false);
				continue;
			}
		} else if (f->fn) {
			rc = f->fn(f->f, c->p, c->len, f->out, &j->why);
			if (LIKELY(rc == NORM_OK)) {
				have_value(j, f,
					   f->out->p ? (const char *)f->out->p
						     : "",
					   f->out->len, false);
				continue;
			}
		} else if (LIKELY(s = pcache_hit(f->cache, c->p, c->len))) {
			have_value(j, f, pcache_hit_value(s, c->len),
				   pcache_hit_len(s), true);
			continue;
		} else {
			rc = pcache_get_rest(f->cache, c->p, c->len,
					     &j->rest_v, &j->rest_n, &j->why);
			if (rc == NORM_OK) {
				have_value(j, f, j->rest_v, j->rest_n, true);
				continue;
			}
		}
		no_value(x, j, f->i, (ssize_t)f->col, rc, j->why);
	}
	for (const struct jfield *end = j->plan + to; f < end; f++)
		no_value(x, j, f->i, -1, NORM_EMPTY, NULL);
	return j->reject;
}

/* The judge's plan, once the columns are mapped: x->order resolved, and
 * in each part (the rule's fields, the others) the fields without a
 * column moved after the others. */
static __attribute__((noinline)) void make_plan(struct ex *x, struct judge *j)
{
	const struct pfield *pf = x->p->fields;
	size_t k = 0;

	for (int part = 0; part < 2; part++) {
		size_t from = part ? x->n_rule : 0;
		size_t to = part ? x->p->n_fields : x->n_rule;

		for (int absent = 0; absent < 2; absent++) {
			for (size_t o = from; o < to; o++) {
				size_t i = x->order[o];
				struct jfield *f = &j->plan[k];

				if ((x->col_of[i] < 0) != absent)
					continue;
				k++;
				*f = (struct jfield){ .cache = j->cache[i],
						      .v = &j->v[i],
						      .len = &j->lens[i],
						      .i = i };
				if (absent)
					continue;
				f->col = (size_t)x->col_of[i];
				f->cell = f->col * sizeof(struct csv_field);
				f->text = pf[i].type == PF_TEXT;
				f->empty_known = pcache_empty(
					f->cache, &f->empty_rc, &f->empty_why);
				/* (the loop does not look for formulas in
				 * what it calls a normaliser for itself) */
				if (f->text || !pcache_direct(f->cache, &f->fn,
							      &f->f, &f->out))
					f->fn = NULL;
				/* See no_value. */
				f->empty_quiet = f->empty_known &&
						 f->empty_rc == NORM_EMPTY &&
						 !pf[i].required;
			}
			if (!absent)
				j->plan_mid[part] = k;
		}
	}
	j->plan_ready = true;
}

void ex_count_fields_(struct judge *j, enum outcome out)
{
	for (size_t k = 0; k < j->n_pend; k++) {
		const struct pending_issue *pi = &j->pend[k];
		if (pi->field == SIZE_MAX)
			continue;
		if (out == REJECTED && !pi->blanked)
			j->stats[pi->field].rejected++;
		else if (out == SELECTED && pi->blanked)
			j->stats[pi->field].blanked++;
	}
}

enum outcome ex_classify(struct ex *x, struct judge *j,
			     const struct csv_record *rec)
{
	const struct protocol *p = x->p;

	j->n_pend = 0;
	j->n_empty = 0;
	j->n_formula = 0;
	if (UNLIKELY(!j->plan_ready))
		make_plan(x, j);
	if (rec->problem) {
		size_t c = rec->problem_field < x->n_cols ? rec->problem_field
							  : SIZE_MAX;
		note_issue(x, j,
			   c != SIZE_MAX && x->cols[c].field
				   ? x->cols[c].field->index
				   : SIZE_MAX,
			   c, rec->problem, false);
		return REJECTED;
	}
	if (rec->n != x->n_cols) {
		note_issue(x, j, SIZE_MAX, SIZE_MAX,
			   rec->n < x->n_cols
				   ? "fewer columns than the header"
				   : "more columns than the header",
			   false);
		return REJECTED;
	}
	/* Only what the rule needs, until the record is known to be in
	 * scope: a record out of scope (about a quarter) costs neither the
	 * hashing nor the normalising of the other fields.  (The slots are
	 * not prefetched ahead: the tables are small enough to stay in
	 * cache, and the prefetching pass cost 5 % of an export's
	 * instructions for no gain in time.) */
	if (normalise(x, j, rec->fields, 0, j->plan_mid[0], x->n_rule))
		return REJECTED;
	if (p->selection && !psel_eval_len(p->selection, j->v, j->lens)) {
		j->n_pend = 0; /* out of scope: not our business */
		return EXCLUDED;
	}
	return normalise(x, j, rec->fields, x->n_rule, j->plan_mid[1],
			 p->n_fields)
		       ? REJECTED
		       : SELECTED;
}

void ex_field_stats(struct judge *j)
{
	struct fstats *restrict st = j->stats;

	/* Both lists were made as the fields were normalised. */
	for (size_t k = 0; k < j->n_empty; k++)
		st[j->empty[k]].empty++;
	for (size_t k = 0; k < j->n_formula; k++)
		st[j->formula[k]].formula++;
}

bool ex_column_key(struct ex *x, const struct csv_record *rec,
		   const char **k, size_t *klen)
{
	const struct csv_field *f;
	const char *s;
	size_t n;

	if (x->key_col < 0)
		return false;
	f = &rec->fields[x->key_col];
	s = f->p;
	n = f->len;
	while (n && (*s == ' ' || *s == '\t')) {
		s++;
		n--;
	}
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	if (!n || n > LEDGER_KEY_MAX)
		return false;
	*k = s;
	*klen = n;
	return true;
}

size_t ex_line_key(char buf[EX_LINE_KEY], uint64_t line, const char **k)
{
	/* Formatted by hand, two digits at a time, backwards from the end
	 * of buf: snprintf was a noticeable share of the per-record cost. */
	static const char pairs[] = "00010203040506070809"
				    "10111213141516171819"
				    "20212223242526272829"
				    "30313233343536373839"
				    "40414243444546474849"
				    "50515253545556575859"
				    "60616263646566676869"
				    "70717273747576777879"
				    "80818283848586878889"
				    "90919293949596979899";
	char *d = buf + EX_LINE_KEY;

	while (line >= 100) {
		unsigned r = (unsigned)(line % 100);

		line /= 100;
		d -= 2;
		memcpy(d, pairs + 2 * r, 2);
	}
	if (line >= 10) {
		d -= 2;
		memcpy(d, pairs + 2 * line, 2);
	} else {
		*--d = (char)('0' + line);
	}
	d -= 5;
	memcpy(d, "line:", 5);
	*k = d;
	return (size_t)(buf + EX_LINE_KEY - d);
}

void ex_record_key(struct ex *x, struct judge *j,
		   const struct csv_record *rec, const char **k, size_t *klen)
{
	if (!ex_column_key(x, rec, k, klen))
		*klen = ex_line_key(j->key, rec->line, k);
}

/* ---- outputs ---- */

static int out_path(char *dst, size_t cap, const char *dir, const char *id,
		    const char *suffix, struct kerr *e)
{
	int n = snprintf(dst, cap, "%s/%s%s", dir, id, suffix);
	if (n < 0 || (size_t)n >= cap)
		return kerr_set(e, KERR_LIMIT, dir, "path too long");
	return 0;
}

static int open_outputs(struct ex *x, struct kerr *e)
{
	struct export_result *r = x->r;
	const char *dir = x->o->out_dir;
	struct age_recipients rc = { 0 };
	uint8_t pk[1][32];
	struct stat st;

	if (stat(dir, &st) != 0)
		return kerr_errno(e, errno, dir, "cannot use output directory");
	if (!S_ISDIR(st.st_mode))
		return kerr_set(e, KERR_USAGE, dir, "not a directory");
	if (out_path(r->age_path, sizeof r->age_path, dir, r->id, ".age", e) ||
	    out_path(r->sig_path, sizeof r->sig_path, dir, r->id,
		     ".age.minisig", e) ||
	    out_path(r->report_path, sizeof r->report_path, dir, r->id,
		     ".report.json", e))
		return e->code;
	if (kfile_out_open(&x->age_out, r->age_path, 0644, KFILE_NO_REPLACE,
			   e))
		return e->code;
	x->age_open = true;
	crypto_generichash_init(&x->prehash, NULL, 0, 64);
	kfile_out_hash(&x->age_out, &x->prehash);
	/* Four buffers behind the disk: one slow write must not stall
	 * the encryption and, behind it, the workers. */
	kfile_out_depth(&x->age_out, 4);
	memcpy(pk[0], x->p->recipient.age_pk, 32);
	rc.x25519 = (const uint8_t(*)[32])pk;
	rc.n_x25519 = 1;
	if (age_enc_begin(&x->enc, &rc, false, &x->age_out.sink.base, e))
		return e->code;
	/* The workers keep the cores busy: a sealing helper only waits. */
	age_enc_alone(x->enc);
	return pkg_writer_begin(&x->pw, &x->head, age_enc_sink(x->enc), e);
}

static int check_keys(struct ex *x, struct kerr *e)
{
	const struct protocol *p = x->p;
	struct ms_pubkey pub;

	/* A dry run may try a register before the keys are exchanged. */
	if (x->o->dry_run && !x->o->recipient_pk && !x->o->sign_key)
		return 0;
	if (!protocol_keys_set(p))
		return kerr_set(e, KERR_POLICY, "protocol",
				"the parties' public keys are not in the "
				"protocol file; add them with `kluis protocol "
				"set-keys`");
	if (!x->o->recipient_pk || !x->o->sign_key)
		return kerr_set(e, KERR_USAGE, "keys",
				"a recipient key and a signing key are "
				"needed");
	if (sodium_memcmp(x->o->recipient_pk, p->recipient.age_pk, 32) != 0)
		return kerr_set(e, KERR_POLICY, "recipient key",
				"is not the protocol's recipient (%s expects "
				"%s)",
				p->recipient.name, p->recipient.age_recipient);
	ms_seckey_public(x->o->sign_key, &pub);
	if (sodium_memcmp(pub.pk, p->discloser.ms.pk, 32) != 0 ||
	    memcmp(pub.keynum, p->discloser.ms.keynum, MS_KEYNUM) != 0) {
		char want[17], got[17];
		ms_keyid_hex(p->discloser.ms.keynum, want);
		ms_keyid_hex(pub.keynum, got);
		return kerr_set(e, KERR_POLICY, "signing key",
				"is not the protocol's discloser (key %s; %s "
				"signs with key %s)",
				got, p->discloser.name, want);
	}
	return 0;
}

int ex_judge_init(struct ex *x, struct judge *j, struct fstats *stats)
{
	size_t n = x->p->n_fields;

	memset(j, 0, sizeof *j);
	j->stats = stats;
	j->v = calloc(n, sizeof *j->v);
	j->lens = calloc(n, sizeof *j->lens);
	j->pend = calloc(n + 2, sizeof *j->pend);
	j->empty = calloc(n, sizeof *j->empty);
	j->formula = calloc(n, sizeof *j->formula);
	j->cache = calloc(n, sizeof *j->cache);
	j->plan = calloc(n, sizeof *j->plan);
	if (!j->v || !j->lens || !j->pend ||
	    !j->empty || !j->formula || !j->cache || !j->plan)
		return -1;
	/* The caches hold the values too (wiped when freed). */
	for (size_t i = 0; i < n; i++)
		if (!(j->cache[i] = pcache_new(&x->p->fields[i])))
			return -1;
	return 0;
}

void ex_judge_free(struct ex *x, struct judge *j)
{
	if (j->cache)
		for (size_t i = 0; i < x->p->n_fields; i++)
			pcache_free(j->cache[i]); /* wiped: cells and values */
	free(j->cache);
	free(j->plan);
	free(j->v);
	free(j->lens);
	free(j->pend);
	free(j->empty);
	free(j->formula);
	memset(j, 0, sizeof *j);
}

static int setup(struct ex *x, struct kerr *e)
{
	const struct protocol *p = x->p;
	size_t n = p->n_fields;

	x->col_of = calloc(n, sizeof *x->col_of);
	x->in_rule = calloc(n, sizeof *x->in_rule);
	x->order = calloc(n, sizeof *x->order);
	x->stats = calloc(n, sizeof *x->stats);
	x->field_names = calloc(n, sizeof *x->field_names);
	if (!x->col_of || !x->in_rule || !x->order ||
	    !x->stats || !x->field_names ||
	    ex_judge_init(x, &x->seq, x->stats))
		return kerr_set(e, KERR_NOMEM, "export", "out of memory");
	for (size_t i = 0; i < n; i++) {
		x->in_rule[i] = p->selection &&
				psel_uses_field(p->selection, i);
		x->field_names[i] = p->fields[i].name;
	}
	/* The rule's fields first, each part in field order (which is the
	 * order of a record's issues). */
	for (size_t i = 0; i < n; i++)
		if (x->in_rule[i])
			x->order[x->n_rule++] = i;
	for (size_t i = 0, k = x->n_rule; i < n; i++)
		if (!x->in_rule[i])
			x->order[k++] = i;
	x->spool = tmpfile();
	if (!x->spool)
		return kerr_errno(e, errno, "report spool", "create");
	return 0;
}

static void teardown(struct ex *x)
{
	/* Rolls back an unfinished entry and unlinks what it had linked. */
	ledger_close(x->ledger);
	pkg_writer_free(x->pw);
	age_enc_free(x->enc);
	if (x->age_open)
		kfile_out_abort(&x->age_out);
	if (x->sig_open)
		kfile_out_abort(&x->sig_out);
	if (x->rep_open)
		kfile_out_abort(&x->rep_out);
	xpar_free(x);
	csv_free(x->csv);
	if (x->fd >= 0)
		close(x->fd);
	if (x->cols)
		for (size_t c = 0; c < x->n_cols; c++)
			free(x->cols[c].header);
	free(x->cols);
	ex_judge_free(x, &x->seq);
	free(x->col_of);
	free(x->in_rule);
	free(x->order);
	free(x->stats);
	free(x->field_names);
	if (x->spool)
		fclose(x->spool);
}

/* ---- the report ---- */

static json_t *report_json(struct ex *x)
{
	const struct protocol *p = x->p;
	struct export_result *r = x->r;
	json_t *cols = json_array(), *dropped = json_array(),
	       *missing = json_array(), *fields = json_object(), *root;
	char delim[2] = { r->delimiter, 0 };

	if (!cols || !dropped || !missing || !fields)
		goto fail;
	for (size_t c = 0; c < x->n_cols; c++) {
		const struct column *col = &x->cols[c];
		json_array_append_new(
			cols, json_pack("{s:I, s:s, s:s?, s:b}", "column",
					(json_int_t)(c + 1), "header",
					col->header,
					"field",
					col->field ? col->field->name : NULL,
					"key", col->is_key));
		if (!col->field)
			json_array_append_new(dropped,
					      json_string(col->header));
	}
	for (size_t i = 0; i < p->n_fields; i++) {
		const struct fstats *s = &x->stats[i];
		if (x->col_of[i] < 0)
			json_array_append_new(missing,
					      json_string(p->fields[i].name));
		json_object_set_new(
			fields, p->fields[i].name,
			json_pack("{s:I, s:I, s:I, s:I}", "empty",
				  (json_int_t)s->empty, "blanked",
				  (json_int_t)s->blanked, "rejected",
				  (json_int_t)s->rejected, "formula_like",
				  (json_int_t)s->formula));
	}
	root = json_pack(
		"{s:i, s:s, s:s, s:b,"
		" s:{s:s, s:s, s:s},"
		" s:{s:s, s:I, s:s, s:b, s:I, s:s, s:I, s:I},"
		" s:o, s:s?, s:o, s:o,"
		" s:{s:I, s:I, s:I, s:I, s:I},"
		" s:o, s:I}",
		"kluis_report", 1, "package_id", r->id, "created_at",
		r->created_at, "dry_run", x->o->dry_run,
		"protocol", "id", p->id, "version", p->version, "digest",
		p->digest,
		"register", "name", base_name(x->o->register_path), "bytes",
		(json_int_t)x->total_bytes, "encoding", r->encoding,
		"encoding_detected", r->encoding_detected,
		"encoding_detected_line", (json_int_t)r->encoding_line,
		"delimiter", delim, "lines", (json_int_t)x->last_line,
		"blank_rows", (json_int_t)r->n_blank_rows,
		"columns", cols, "key_column",
		x->key_col >= 0 ? x->cols[x->key_col].header : NULL,
		"dropped_columns", dropped, "fields_without_column", missing,
		"counts", "read", (json_int_t)r->n_read, "selected",
		(json_int_t)r->n_selected, "excluded",
		(json_int_t)r->n_excluded, "rejected",
		(json_int_t)r->n_rejected, "blanked_values",
		(json_int_t)r->n_blanked,
		"fields", fields, "issues_count", (json_int_t)r->n_issues);
	if (!root)
		return NULL;
	if (!x->o->dry_run) {
		json_t *pk = json_pack(
			"{s:s, s:s, s:I, s:s, s:s, s:s, s:s, s:s?, s:s?}",
			"file", base_name(r->age_path), "signature",
			base_name(r->sig_path), "records",
			(json_int_t)r->n_selected, "records_digest",
			r->records_digest, "package_digest", r->package_digest,
			"recipient", x->recipient, "discloser_key_id",
			x->keyid, "supersedes",
			r->supersedes[0] ? r->supersedes : NULL,
			"supersede_reason", x->o->supersede_reason);
		json_object_set_new(root, "package", pk);
	}
	return root;
fail:
	json_decref(cols);
	json_decref(dropped);
	json_decref(missing);
	json_decref(fields);
	return NULL;
}

static int put(struct ksink *s, const char *t, size_t n, struct kerr *e)
{
	return s->write(s, (const uint8_t *)t, n, e);
}

/* Summary object, then the spooled issues as its last member. */
static int write_report(struct ex *x, json_t *root, struct kerr *e)
{
	struct ksink *s = &x->rep_out.sink.base;
	char *text = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	char *line = NULL;
	size_t cap = 0, n;
	ssize_t got;
	bool first = true;
	int rc;

	if (!text)
		return kerr_set(e, KERR_NOMEM, "report", "out of memory");
	n = strlen(text);
	while (n && text[n - 1] != '}')
		n--;
	if (!n) {
		free(text);
		return kerr_set(e, KERR_INTERNAL, "report", "bad summary");
	}
	rc = put(s, text, n - 1, e);
	free(text);
	if (rc)
		return rc;
	if ((rc = put(s, ",\n  \"issues\": [", 15, e)))
		return rc;
	rewind(x->spool);
	while ((got = getline(&line, &cap, x->spool)) > 0) {
		if (line[got - 1] == '\n')
			got--;
		if ((rc = put(s, first ? "\n    " : ",\n    ", first ? 5 : 6,
			      e)) ||
		    (rc = put(s, line, (size_t)got, e)))
			break;
		first = false;
	}
	free(line);
	if (rc)
		return rc;
	if (ferror(x->spool))
		return kerr_errno(e, errno, "report spool", "read");
	{
		const char *end = first ? "]\n}\n" : "\n  ]\n}\n";
		return put(s, end, strlen(end), e);
	}
}

/* ---- the .eml ---- */

static int write_eml(struct ex *x, struct kerr *e)
{
	struct export_result *r = x->r;
	const struct protocol *p = x->p;
	struct kfile_out out;
	struct mime_attachment att[2];
	struct mime_message m;
	char subject[256], body[4096], msgid[128], age_name[64], sig_name[64];
	int rc;

	if (out_path(r->eml_path, sizeof r->eml_path, x->o->out_dir, r->id,
		     ".eml", e))
		return e->code;
	snprintf(age_name, sizeof age_name, "%s.age", r->id);
	snprintf(sig_name, sizeof sig_name, "%s.age.minisig", r->id);
	snprintf(subject, sizeof subject, "Gegevenspakket %s (%s)", p->id,
		 r->id);
	rc = snprintf(
		body, sizeof body,
		"Beste,\n\n"
		"Hierbij het gegevenspakket volgens het protocol \"%s\" "
		"(%s, versie %s).\n\n"
		"Pakket:            %s\n"
		"Aantal records:    %llu\n"
		"Aangemaakt:        %s\n"
		"Digest records:    %s\n"
		"Digest protocol:   %s\n\n"
		"Het pakket (%s) is versleuteld voor %s en ondertekend door "
		"%s met minisign-sleutel %s (handtekening: %s).  Controleer "
		"de handtekening met de publieke sleutel van %s in het "
		"protocol voor u het pakket opent, bijvoorbeeld met\n\n"
		"  minisign -V -P %s -m %s\n\n"
		"Dit bericht bevat geen persoonsgegevens: die staan "
		"uitsluitend in het versleutelde pakket.\n\n"
		"Met vriendelijke groeten,\n%s\n",
		p->title, p->id, p->version, r->id,
		(unsigned long long)r->n_selected, r->created_at,
		r->records_digest, p->digest, age_name, p->recipient.name,
		p->discloser.name, x->keyid, sig_name, p->discloser.name,
		p->discloser.minisign_key, age_name, p->discloser.name);
	if (rc < 0 || (size_t)rc >= sizeof body)
		return kerr_set(e, KERR_LIMIT, "mail", "body too long");
	snprintf(msgid, sizeof msgid, "%s@kluis.invalid", r->id);
	att[0] = (struct mime_attachment){ r->age_path, age_name,
					   "application/octet-stream" };
	att[1] = (struct mime_attachment){ r->sig_path, sig_name,
					   "text/plain" };
	memset(&m, 0, sizeof m);
	m.from = x->o->mail_from;
	m.to = x->o->mail_to;
	m.subject = subject;
	m.body = body;
	m.att = att;
	m.n_att = 2;
	m.date = time(NULL);
	m.message_id = msgid;
	if (kfile_out_open(&out, r->eml_path, 0644, KFILE_NO_REPLACE, e))
		return e->code;
	if (mime_write(&m, &out.sink.base, e)) {
		kfile_out_abort(&out);
		return e->code;
	}
	return kfile_out_commit(&out, e);
}

/* ---- the pass ---- */

static int read_header(struct ex *x, struct kerr *e)
{
	struct csv_record h;

	if (csv_next(x->csv, &h, e))
		return e->code;
	if (h.n == 0)
		return kerr_set(e, KERR_FORMAT, x->o->register_path,
				"the register is empty");
	x->last_line = h.end_line;
	return map_columns(x, &h, e);
}

bool ex_blank_row_(const struct csv_record *rec)
{
	if (rec->problem)
		return false;
	for (size_t i = 0; i < rec->n; i++)
		for (size_t j = 0; j < rec->fields[i].len; j++)
			if (rec->fields[i].p[j] != ' ' &&
			    rec->fields[i].p[j] != '\t')
				return false;
	return true;
}

/* Keep the caller's progress display moving (now and then). */
void ex_progress(struct ex *x, uint64_t bytes)
{
	if (x->o->progress && x->r->n_read >= x->next_progress) {
		x->next_progress += PROGRESS_EVERY;
		x->o->progress(x->o->progress_ctx, x->r->n_read, bytes,
			       x->total_bytes);
	}
}

/* The fate of one record, in file order, whichever thread judged it:
 * counts, issues, the --max-rejects stop and the ledger key.  The
 * package bytes are the caller's. */
int ex_tally(struct ex *x, enum outcome out, uint64_t line,
		 const struct pending_issue *pend, size_t n_pend,
		 const char *k, size_t klen, struct kerr *e)
{
	struct export_result *r = x->r;

	r->n_read++;
	if (out == EXCLUDED) {
		r->n_excluded++;
	} else if (out == REJECTED) {
		r->n_rejected++;
		if (flush_issues(x, pend, n_pend, line, true, e))
			return e->code;
		if (x->o->has_max_rejects &&
		    r->n_rejected > x->o->max_rejects) {
			kerr_set(e, KERR_LIMIT, x->o->register_path,
				 "more than %llu records rejected "
				 "(--max-rejects); nothing was exported",
				 (unsigned long long)x->o->max_rejects);
			return kerr_where(e, "line %llu",
					  (unsigned long long)line);
		}
	} else {
		r->n_selected++;
		for (size_t i = 0; i < n_pend; i++)
			r->n_blanked += pend[i].blanked;
		if (flush_issues(x, pend, n_pend, line, false, e))
			return e->code;
		if (x->ledger && ledger_add_key(x->ledger, k, klen, e))
			return e->code;
	}
	return 0;
}

/* Records from the sequential reader until it has consumed `until`
 * bytes or the input ends (*eof). */
static int seq_records(struct ex *x, uint64_t until, bool *eof,
		       struct kerr *e)
{
	struct judge *j = &x->seq;
	struct csv_record rec;
	int rc = 0;

	*eof = false;
	while (csv_bytes_read(x->csv) < until) {
		enum outcome out;
		const char *k = NULL;
		size_t klen = 0;

		if ((rc = csv_next(x->csv, &rec, e)))
			break;
		if (rec.n == 0) {
			*eof = true;
			break;
		}
		x->last_line = rec.end_line;
		if (ex_blank_row(&rec)) {
			/* Spreadsheets leave rows of bare delimiters: not
			 * records, like blank lines. */
			x->r->n_blank_rows++;
			continue;
		}
		out = ex_classify(x, j, &rec);
		ex_count_fields(j, out);
		if (out == SELECTED) {
			ex_field_stats(j);
			if (x->pw &&
			    (rc = pkg_write_record(x->pw, j->v, j->lens, e)))
				break;
			if (x->ledger)
				ex_record_key(x, j, &rec, &k, &klen);
		}
		if ((rc = ex_tally(x, out, rec.line, j->pend, j->n_pend, k, klen,
				e)))
			break;
		ex_progress(x, csv_bytes_read(x->csv));
	}
	csv_pos_get(x->csv, &x->cst);
	return rc;
}

static int stream(struct ex *x, struct kerr *e)
{
	struct export_result *r = x->r;
	uint64_t until = x->par_threads ? 0 : UINT64_MAX;
	bool eof = false;
	int rc;

	x->next_progress = PROGRESS_EVERY;
	for (;;) {
		struct csv_pos at;

		if ((rc = seq_records(x, until, &eof, e)))
			return rc;
		if (eof)
			break;
		csv_pos_get(x->csv, &at);
		if ((rc = xpar_run(x, &at, &until, &eof, e)))
			return rc;
		if (eof)
			break;
		/* The sequential reader takes over at a record start. */
		csv_free(x->csv);
		x->csv = NULL;
		if (lseek(x->fd, (off_t)at.offset, SEEK_SET) < 0)
			return kerr_errno(e, errno, x->o->register_path,
					  "cannot seek");
		kfd_src_init(&x->src, x->fd, x->o->register_path);
		if ((rc = csv_open_at(&x->csv, &x->src.base, &x->co, &at, e)))
			return rc;
	}
	if (x->o->progress)
		x->o->progress(x->o->progress_ctx, r->n_read, x->cst.offset,
			       x->total_bytes);
	if (r->n_read == 0)
		return kerr_set(e, KERR_FORMAT, x->o->register_path,
				"the register has a header but no records");
	if (r->n_selected == 0)
		return kerr_set(e, KERR_FORMAT, x->o->register_path,
				"no record is selected (%llu excluded, %llu "
				"rejected); nothing to export",
				(unsigned long long)r->n_excluded,
				(unsigned long long)r->n_rejected);
	return 0;
}

static void note_encoding(struct ex *x)
{
	struct export_result *r = x->r;
	enum csv_encoding enc = x->cst.encoding;

	snprintf(r->encoding, sizeof r->encoding, "%s",
		 enc == CSV_ENC_CP1252 ? "windows-1252" : "utf-8");
	r->encoding_detected = x->cst.detected;
	r->encoding_line = x->cst.enc_line;
	r->delimiter = x->cst.delimiter;
}

static int ledger_entry(struct ex *x, struct ledger_package *lp,
			struct kerr *e)
{
	struct export_result *r = x->r;
	const struct protocol *p = x->p;
	char dir[PATH_MAX];

	if (!realpath(x->o->out_dir, dir))
		return kerr_errno(e, errno, x->o->out_dir,
				  "cannot resolve output directory");
	memset(lp, 0, sizeof *lp);
	snprintf(lp->id, sizeof lp->id, "%s", r->id);
	snprintf(lp->protocol_id, sizeof lp->protocol_id, "%s", p->id);
	snprintf(lp->protocol_version, sizeof lp->protocol_version, "%s",
		 p->version);
	snprintf(lp->protocol_digest, sizeof lp->protocol_digest, "%s",
		 p->digest);
	snprintf(lp->created_at, sizeof lp->created_at, "%s", r->created_at);
	snprintf(lp->recipient, sizeof lp->recipient, "%s", x->recipient);
	snprintf(lp->discloser_key, sizeof lp->discloser_key, "%s", x->keyid);
	snprintf(lp->out_dir, sizeof lp->out_dir, "%s", dir);
	snprintf(lp->register_name, sizeof lp->register_name, "%s",
		 base_name(x->o->register_path));
	if (x->o->mail_to)
		snprintf(lp->mail_to, sizeof lp->mail_to, "%s",
			 x->o->mail_to);
	return 0;
}

static int finish_package(struct ex *x, struct ledger_package *lp,
			  struct kerr *e)
{
	struct export_result *r = x->r;
	uint8_t h[64];
	struct kbuf sig = KBUF_INIT(MS_FILE_MAX);
	char trusted[MS_COMMENT_MAX], untrusted[128];
	json_t *root;
	int rc;

	if (pkg_writer_finish(x->pw, &x->tail, e) ||
	    age_enc_finish(x->enc, e) || kfile_out_flush(&x->age_out, e))
		return e->code;
	crypto_generichash_final(&x->prehash, h, sizeof h);
	/* The package digest is the signature's prehash: BLAKE2b-512 of
	 * the .age file, as `b2sum` prints it; no second pass. */
	memcpy(r->package_digest, "blake2b-512:", 12);
	sodium_bin2hex(r->package_digest + 12, sizeof r->package_digest - 12,
		       h, sizeof h);
	memcpy(r->records_digest, x->tail.records_digest,
	       sizeof r->records_digest);
	if (pkg_trusted_comment(&x->head, &x->tail, trusted, sizeof trusted,
				e))
		return e->code;
	snprintf(untrusted, sizeof untrusted,
		 "signature from kluis secret key %s", x->keyid);
	rc = ms_sign(x->o->sign_key, true, h, sizeof h, trusted, untrusted,
		     &sig, e);
	if (!rc && !(rc = kfile_out_open(&x->sig_out, r->sig_path, 0644,
					 KFILE_NO_REPLACE, e))) {
		x->sig_open = true;
		rc = x->sig_out.sink.base.write(&x->sig_out.sink.base, sig.p,
						sig.len, e);
	}
	kbuf_free(&sig);
	if (rc)
		return rc;
	if (kfile_out_open(&x->rep_out, r->report_path, 0644,
			   KFILE_NO_REPLACE, e))
		return e->code;
	x->rep_open = true;
	root = report_json(x);
	if (!root)
		return kerr_set(e, KERR_NOMEM, "report", "out of memory");
	rc = write_report(x, root, e);
	if (!rc) {
		r->summary_json = json_dumps(root, JSON_INDENT(2) |
							   JSON_PRESERVE_ORDER);
		if (!r->summary_json)
			rc = kerr_set(e, KERR_NOMEM, "report",
				      "out of memory");
	}
	json_decref(root);
	if (rc)
		return rc;

	/* Commit: ledger 'pending' → files → ledger 'complete'. */
	lp->n_read = r->n_read;
	lp->n_selected = r->n_selected;
	lp->n_excluded = r->n_excluded;
	lp->n_rejected = r->n_rejected;
	lp->n_blanked = r->n_blanked;
	snprintf(lp->records_digest, sizeof lp->records_digest, "%s",
		 r->records_digest);
	snprintf(lp->package_digest, sizeof lp->package_digest, "%s",
		 r->package_digest);
	if (ledger_prepare(x->ledger, lp, e))
		return e->code;
	/* From here a failure is undone by ledger_abort (teardown): it
	 * unlinks what was linked and drops the pending entry. */
	x->sig_open = false;
	if (kfile_out_commit(&x->sig_out, e))
		return e->code;
	x->rep_open = false;
	if (kfile_out_commit(&x->rep_out, e))
		return e->code;
	x->age_open = false;
	if (kfile_out_commit(&x->age_out, e))
		return e->code;
	if (x->o->mail_to && write_eml(x, e))
		return e->code;
	return ledger_complete(x->ledger, r->id, e);
}

int export_run(const struct export_opts *o, struct export_result *r,
	       struct kerr *e)
{
	struct ex x;
	struct ledger_package lp, prior;
	struct stat st;
	int rc;

	memset(r, 0, sizeof *r);
	memset(&x, 0, sizeof x);
	x.o = o;
	x.p = o->proto;
	x.r = r;
	x.fd = -1;
	x.key_col = -1;
	if ((!o->mail_to) != (!o->mail_from))
		return kerr_set(e, KERR_USAGE, "export",
				"--mail-to and --mail-from go together");
	if ((rc = check_keys(&x, e)))
		return rc;
	pkg_new_id(r->id);
	ktime_now(r->created_at);
	if ((rc = setup(&x, e)))
		goto out;

	x.fd = open(o->register_path, O_RDONLY | O_CLOEXEC);
	if (x.fd < 0) {
		rc = kerr_errno(e, errno, o->register_path, "cannot open");
		goto out;
	}
	if (fstat(x.fd, &st) == 0 && S_ISREG(st.st_mode))
		x.total_bytes = (uint64_t)st.st_size;
	(void)posix_fadvise(x.fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	kfd_src_init(&x.src, x.fd, o->register_path);
	x.co.encoding = o->encoding;
	x.co.delimiter = o->delimiter;
	x.co.name = o->register_path;
	if ((rc = csv_open(&x.csv, &x.src.base, &x.co, e)) ||
	    (rc = read_header(&x, e)))
		goto out;
	csv_pos_get(x.csv, &x.cst);
	xpar_plan(&x, S_ISREG(st.st_mode));

	if (!o->dry_run) {
		ms_keyid_hex(x.p->discloser.ms.keynum, x.keyid);
		snprintf(x.recipient, sizeof x.recipient, "%s",
			 x.p->recipient.age_recipient);
		memcpy(x.head.id, r->id, sizeof x.head.id);
		memcpy(x.head.created_at, r->created_at,
		       sizeof x.head.created_at);
		x.head.protocol_id = x.p->id;
		x.head.protocol_version = x.p->version;
		x.head.protocol_digest = x.p->digest;
		x.head.discloser_name = x.p->discloser.name;
		x.head.discloser_key_id = x.keyid;
		x.head.recipient_name = x.p->recipient.name;
		x.head.recipient = x.recipient;
		x.head.fields = x.field_names;
		x.head.n_fields = x.p->n_fields;
		if ((rc = ledger_open(o->ledger_path, &x.ledger,
				      &r->n_recovered, e)) ||
		    (rc = ledger_entry(&x, &lp, e)))
			goto out;
		memset(&prior, 0, sizeof prior);
		rc = ledger_begin(x.ledger, &lp, x.p->periodicity == PPER_ONCE,
				  o->supersede_reason, &prior, e);
		if (rc) {
			if (rc == KERR_EXISTS)
				rc = e->code = KERR_POLICY;
			snprintf(r->prior_id, sizeof r->prior_id, "%s",
				 prior.id);
			snprintf(r->prior_created, sizeof r->prior_created,
				 "%s", prior.created_at);
			goto out;
		}
		if (o->supersede_reason) {
			/* The entry being built knows what it supersedes. */
			if ((rc = ledger_get(x.ledger, r->id, &prior, e)))
				goto out;
			snprintf(r->supersedes, sizeof r->supersedes, "%s",
				 prior.supersedes);
		}
		if ((rc = open_outputs(&x, e)))
			goto out;
	}
	if ((rc = stream(&x, e)))
		goto out;
	note_encoding(&x);
	if (o->dry_run) {
		json_t *root = report_json(&x);
		r->summary_json = root ? json_dumps(root, JSON_INDENT(2) |
							  JSON_PRESERVE_ORDER)
				       : NULL;
		json_decref(root);
		rc = r->summary_json ? 0
				     : kerr_set(e, KERR_NOMEM, "report",
						"out of memory");
		goto out;
	}
	rc = finish_package(&x, &lp, e);
out:
	if (rc && x.cst.delimiter)
		note_encoding(&x);
	teardown(&x);
	if (rc) {
		r->age_path[0] = r->sig_path[0] = r->report_path[0] = '\0';
		r->eml_path[0] = '\0';
	}
	return rc;
}

void export_result_free(struct export_result *r)
{
	free(r->summary_json);
	r->summary_json = NULL;
}

/* The envelope sender: the From header of the .eml we wrote. */
static int eml_from(const char *path, char *out, size_t cap, struct kerr *e)
{
	char head[8192];
	FILE *f = fopen(path, "re");
	size_t n;
	const char *p, *end;

	if (!f)
		return kerr_errno(e, errno, path, "cannot open");
	n = fread(head, 1, sizeof head - 1, f);
	fclose(f);
	head[n] = '\0';
	p = strncmp(head, "From: ", 6) == 0 ? head : strstr(head, "\r\nFrom: ");
	if (!p)
		return kerr_set(e, KERR_FORMAT, path, "no From header");
	p += p == head ? 6 : 8;
	end = strstr(p, "\r\n");
	if (!end || (size_t)(end - p) >= cap || end == p)
		return kerr_set(e, KERR_FORMAT, path, "bad From header");
	memcpy(out, p, (size_t)(end - p));
	out[end - p] = '\0';
	return 0;
}

int export_send(const char *ledger_path, const char *id,
		const struct smtp_opts *so_in, bool force, struct kerr *e)
{
	struct ledger *l = NULL;
	struct ledger_package *lp = calloc(1, sizeof *lp);
	struct smtp_opts so = *so_in;
	char eml[PATH_MAX + 64], from[320];
	const char *rcpt[1];
	unsigned n_rec;
	int rc;

	if (!lp)
		return kerr_set(e, KERR_NOMEM, "send", "out of memory");
	rc = ledger_open(ledger_path, &l, &n_rec, e);
	/* What the ledger answers "no" to is refused (exit 1), as `ledger
	 * show` does; bad options stay usage errors. */
	if (!rc && (rc = ledger_get(l, id, lp, e)) == KERR_USAGE)
		rc = e->code = KERR_POLICY;
	if (!rc && strcmp(lp->state, "complete") != 0)
		rc = kerr_set(e, KERR_POLICY, id, "the export is not complete");
	if (!rc && !lp->mail_to[0])
		rc = kerr_set(e, KERR_POLICY, id,
			      "was exported without --mail-to; there is no "
			      ".eml to send");
	if (!rc && out_path(eml, sizeof eml, lp->out_dir, id, ".eml", e))
		rc = e->code;
	if (!rc && !so.from)
		rc = eml_from(eml, from, sizeof from, e);
	if (!rc) {
		if (!so.from)
			so.from = from;
		rcpt[0] = lp->mail_to;
		so.rcpt = rcpt;
		so.n_rcpt = 1;
		/* Options that cannot work are refused before the ledger
		 * says a mail is on its way. */
		rc = smtp_check(&so, e);
		if (!rc)
			rc = ledger_mail_started(l, id, lp->mail_to, force, e);
		if (rc == KERR_EXISTS)
			rc = e->code = KERR_POLICY;
	}
	if (!rc)
		rc = smtp_send_file(&so, eml, e);
	if (!rc)
		rc = ledger_mail_sent(l, id, e);
	if (l)
		ledger_close(l);
	free(lp);
	return rc;
}
