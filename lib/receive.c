/*
 * receive — see receive.h.
 *
 * Linking.  The records of one person get one code: the same normalised
 * e-mail address, or, when a record has no e-mail address, the same
 * identifying fields otherwise (name, first name and phone number), but
 * only if a phone number is there: two people called Jan Peeters with
 * neither address nor number are not merged on the name alone.  Values are
 * compared in Unicode NFC, case-folded, with accents kept (Renée is not
 * Renee).  The comparison uses a BLAKE2b digest keyed with a random key
 * that exists only during the import, so the link map in memory holds no
 * identity and nothing that could be matched later.  Which fields are the
 * e-mail, phone and names comes from the protocol's types and categories.
 */
#include "receive.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <utf8proc.h>

#include "age.h"
#include "importq.h"
#include "audit.h"
#include "kio.h"
#include "krand.h"
#include "ktime.h"
#include "linkmap.h"
#include "minisign.h"
#include "pcache.h"
#include "pcode.h"
#include "pfield.h"
#include "pkgread.h"
#include "psel.h"
#include "vault.h"

#include "banned.h"

/* A source that hashes what it passes on: the bytes decrypted must be the
 * bytes whose signature was checked. */
struct hash_src {
	struct ksrc base;
	struct ksrc *in;
	crypto_generichash_state st;
	uint64_t bytes, total;
	const struct receive_opts *o;
	uint64_t *records;
};

static int hash_read(struct ksrc *s, uint8_t *buf, size_t cap, size_t *got,
		     struct kerr *e)
{
	struct hash_src *h = (struct hash_src *)s;
	int rc = h->in->read(h->in, buf, cap, got, e);

	if (!rc && *got) {
		crypto_generichash_update(&h->st, buf, *got);
		uint64_t before = h->bytes;
		h->bytes += *got;
		/* A progress call every 16 MiB is plenty. */
		if (h->o->progress && (before >> 24) != (h->bytes >> 24))
			h->o->progress(h->o->progress_ctx, h->bytes, h->total,
				       *h->records);
	}
	return rc;
}

/* What one run holds; freed (and wiped) in one place. */
struct rx {
	struct ws *w;
	const struct ws_session *s;
	const struct protocol *p;
	const struct receive_opts *o;
	struct receive_result *r;
	struct ms_sig sig;
	char tc_id[PKG_ID_LEN + 1];
	uint64_t tc_records;
	uint8_t prehash[64];
	int fd;
	struct kfd_src fsrc;
	struct hash_src hsrc;
	struct age_dec *dec;
	struct pkg_reader *rd;
	struct ws_import *im;
	struct importq *q;
	struct linkmap *lm;
	uint8_t *link_key;            /* sodium_malloc'd, 32 bytes */
	/* Per protocol field. */
	long *col_of;                 /* package column of field i, or -1 */
	struct kbuf *val;             /* normalised value of field i */
	struct pcache **pc;           /* remembered results (enums repeat) */
	const char **cval;            /* NUL-terminated view, for psel */
	/* Per identifying / attribute field, in protocol order. */
	size_t n_ident, n_attr;
	size_t *ident, *attr;         /* protocol field indexes */
	struct kbuf *sealed;
	const uint8_t **sealed_p;
	size_t *sealed_len;
	const char **attr_v;
	size_t *attr_len;
	struct kbuf fold;             /* case-folded text, secret */
	bool committed;
};

static int nomem(struct kerr *e)
{
	return kerr_set(e, KERR_NOMEM, "receive", "out of memory");
}

/* ---- the signature ------------------------------------------------- */

/* "kluis-package ID protocol=… digest=… records=N …": the fields we use. */
static int parse_comment(struct rx *x, const struct ws_package *prev,
			 bool have_prev, struct kerr *e)
{
	const char *t = x->sig.trusted, *p;
	static const char pre[] = "kluis-package ";

	if (strncmp(t, pre, sizeof pre - 1) != 0 ||
	    strlen(t) < sizeof pre - 1 + PKG_ID_LEN)
		return kerr_set(e, KERR_FORMAT, "signature",
				"the trusted comment does not name a kluis package");
	memcpy(x->tc_id, t + sizeof pre - 1, PKG_ID_LEN);
	x->tc_id[PKG_ID_LEN] = '\0';
	if (have_prev)
		return strcmp(prev->id, x->tc_id) == 0
			       ? kerr_set(e, KERR_POLICY, "package",
					  "package %s was already received on %s: "
					  "a replay is refused", prev->id,
					  prev->received_at)
			       : kerr_set(e, KERR_POLICY, "package",
					  "package %s was already accepted on %s; "
					  "the protocol allows one transfer",
					  prev->id, prev->received_at);
	if (!(p = strstr(t, " digest=")) ||
	    strncmp(p + 8, x->p->digest, strlen(x->p->digest)) != 0 ||
	    (p[8 + strlen(x->p->digest)] != ' ' &&
	     p[8 + strlen(x->p->digest)] != '\0')) {
		/* Name both: the package's own words (signed, so true) and the
		 * workspace's. */
		const char *pv = strstr(t, " version="), *pd = strstr(t, " digest=");
		int lv = pv ? (int)strcspn(pv + 9, " ") : 1;
		int ld = pd ? (int)strcspn(pd + 8, " ") : 1;
		return kerr_set(e, KERR_POLICY, "package",
				"made under another protocol version (%.*s, %.*s) "
				"than this workspace's (%s %s, %s)",
				lv > 32 ? 32 : lv, pv ? pv + 9 : "?",
				ld > 80 ? 80 : ld, pd ? pd + 8 : "?", x->p->id,
				x->p->version, x->p->digest);
	}
	if (!(p = strstr(t, " records=")) ||
	    sscanf(p + 9, "%" SCNu64, &x->tc_records) != 1)
		return kerr_set(e, KERR_FORMAT, "signature",
				"the trusted comment has no record count");
	return 0;
}

static int verify(struct rx *x, struct kerr *e)
{
	const struct ms_pubkey *pk = &x->p->discloser.ms;
	char sigpath[4096];
	struct ws_package prev;
	bool have;
	int rc, n;

	x->fd = open(x->o->package, O_RDONLY | O_CLOEXEC);
	if (x->fd < 0)
		return kerr_errno(e, errno, x->o->package, "open");
	n = x->o->sig ? snprintf(sigpath, sizeof sigpath, "%s", x->o->sig)
		      : snprintf(sigpath, sizeof sigpath, "%s.minisig",
				 x->o->package);
	if (n < 0 || (size_t)n >= sizeof sigpath)
		return kerr_set(e, KERR_LIMIT, "signature", "path too long");
	/* A malformed signature file is a refusal (exit 1), like a bad
	 * signature; a missing one is an operational error. */
	if ((rc = ms_sig_load(sigpath, &x->sig, e))) {
		if (rc != KERR_IO)
			e->code = KERR_SIGNATURE;
		return e->code;
	}
	if (!x->sig.prehashed)
		return kerr_set(e, KERR_SIGNATURE, "signature",
				"a legacy (not prehashed) signature: kluis "
				"packages are signed prehashed");
	if (memcmp(pk->keynum, x->sig.keynum, MS_KEYNUM) != 0) {
		char a[17], b[17];
		ms_keyid_hex(x->sig.keynum, a);
		ms_keyid_hex(pk->keynum, b);
		return kerr_set(e, KERR_SIGNATURE, "signature",
				"signed by key %s, not by the discloser's key %s "
				"(%s)", a, b, x->p->discloser.name);
	}
	/* Verified first: what the trusted comment says (the package id
	 * the once rule and the audit entry use) is then the discloser's. */
	kfd_src_init(&x->fsrc, x->fd, x->o->package);
	if ((rc = ms_prehash(&x->fsrc.base, x->prehash, e)) ||
	    (rc = ms_verify(pk, &x->sig, x->prehash, sizeof x->prehash, e)) ||
	    (rc = ws_package_get(x->w, &prev, &have, e)))
		return rc;
	return parse_comment(x, &prev, have, e);
}

/* ---- the manifest --------------------------------------------------- */

static int check_head(struct rx *x, struct kerr *e)
{
	const struct pkg_info *in = pkg_reader_info(x->rd);
	const char *const *cols;
	size_t n_cols;

	if (strcmp(in->id, x->tc_id) != 0)
		return kerr_set(e, KERR_FORMAT, "package",
				"the manifest names package %s, the signature %s",
				in->id, x->tc_id);
	if (strcmp(in->protocol_digest, x->p->digest) != 0)
		return kerr_set(e, KERR_POLICY, "package",
				"made under another protocol version than this "
				"workspace's (%s %s, %s)", x->p->id, x->p->version,
				x->p->digest);
	if (strcmp(in->recipient, x->p->recipient.age_recipient) != 0)
		return kerr_set(e, KERR_POLICY, "package",
				"made for another recipient (%s), not this "
				"workspace's %s", in->recipient,
				x->p->recipient.age_recipient);
	cols = pkg_reader_columns(x->rd, &n_cols);
	for (size_t i = 0; i < x->p->n_fields; i++)
		x->col_of[i] = -1;
	for (size_t c = 0; c < n_cols; c++) {
		const struct pfield *f = protocol_field(x->p, cols[c]);
		if (!f)
			return kerr_set(e, KERR_POLICY, "package",
					"field '%s' is not in the protocol: the "
					"whole package is refused (art. 3, "
					"proportionality)", cols[c]);
		x->col_of[f->index] = (long)c;
	}
	for (size_t i = 0; i < x->p->n_fields; i++)
		if (x->col_of[i] < 0 && x->p->fields[i].required)
			return kerr_set(e, KERR_FORMAT, "package",
					"the required field '%s' is missing",
					x->p->fields[i].name);
	return 0;
}

/* ---- one record ----------------------------------------------------- */

static void issue(struct rx *x, uint64_t rec, const struct pfield *f,
		  const char *action, const char *reason)
{
	struct receive_result *r = x->r;

	r->issues_total++;
	if (r->n_issues < RECEIVE_MAX_ISSUES)
		r->issues[r->n_issues++] = (struct receive_issue){
			rec, f ? f->name : "", action, reason
		};
}

/* Validate the record into x->val; false if it is rejected. */
static bool judge(struct rx *x, uint64_t rec, const char *const *vals,
		  const size_t *lens)
{
	const struct protocol *p = x->p;
	bool ok = true;

	for (size_t i = 0; i < p->n_fields; i++) {
		const struct pfield *f = &p->fields[i];
		const char *why = NULL;
		int rc = NORM_EMPTY;

		kbuf_reset(&x->val[i]);
		if (x->col_of[i] >= 0)
			rc = x->pc[i] ? pcache_normalise(x->pc[i], vals[x->col_of[i]],
							 lens[x->col_of[i]],
							 &x->val[i], &why)
				      : pfield_normalise(f, vals[x->col_of[i]],
							 lens[x->col_of[i]],
							 &x->val[i], &why);
		if (rc == NORM_EMPTY && f->required) {
			rc = NORM_INVALID;
			why = "no value for a required field";
		}
		if (rc == NORM_INVALID) {
			kbuf_reset(&x->val[i]);
			if (f->blank_invalid && !f->required) {
				x->r->blanked++;
				issue(x, rec, f, "blanked", why);
			} else {
				issue(x, rec, f, "rejected", why);
				ok = false;
			}
		} else if (rc == NORM_EMPTY) {
			kbuf_reset(&x->val[i]);
		}
		x->cval[i] = x->val[i].p ? (const char *)x->val[i].p : "";
	}
	if (ok && p->selection && !psel_eval(p->selection, x->cval)) {
		issue(x, rec, NULL, "rejected", "outside the protocol's selection");
		ok = false;
	}
	return ok;
}

/* Append v case-folded (NFC, accents kept) and a NUL to x->fold. */
static int fold(struct rx *x, const struct kbuf *v, struct kerr *e)
{
	size_t n = v->len;
	bool ascii = true;

	for (size_t i = 0; i < n; i++)
		if (v->p[i] & 0x80)
			ascii = false;
	if (ascii) {
		int rc = kbuf_reserve(&x->fold, n + 1, e);
		if (rc)
			return rc;
		for (size_t i = 0; i < n; i++) {
			uint8_t c = v->p[i];
			x->fold.p[x->fold.len++] =
				c >= 'A' && c <= 'Z' ? (uint8_t)(c + 32) : c;
		}
		x->fold.p[x->fold.len++] = 0;
		return 0;
	}
	utf8proc_uint8_t *out = NULL;
	utf8proc_ssize_t m = utf8proc_map(v->p, (utf8proc_ssize_t)n, &out,
					  UTF8PROC_STABLE | UTF8PROC_COMPOSE |
						  UTF8PROC_CASEFOLD);
	if (m < 0)
		return m == UTF8PROC_ERROR_NOMEM ? nomem(e)
			: kerr_set(e, KERR_INTERNAL, "receive",
				   "a validated value is not UTF-8");
	int rc = kbuf_append(&x->fold, out, (size_t)m + 1, e);
	sodium_memzero(out, (size_t)m);
	free(out);
	return rc;
}

static int person_of(struct rx *x, uint32_t *person, bool *added,
		     struct kerr *e)
{
	const struct protocol *p = x->p;
	bool email = false, phone = false;
	uint8_t d[LINKMAP_KEY];
	int rc = 0;

	for (size_t k = 0; k < x->n_ident; k++) {
		const struct pfield *f = &p->fields[x->ident[k]];
		if (!x->val[f->index].len)
			continue;
		email |= f->type == PF_EMAIL;
		phone |= f->type == PF_PHONE;
	}
	if (!email && !phone)
		return (*added = true, linkmap_add_alone(x->lm, person, e));
	kbuf_reset(&x->fold);
	rc = kbuf_putc(&x->fold, email ? 'e' : 'n', e);
	for (size_t k = 0; !rc && k < x->n_ident; k++) {
		const struct pfield *f = &p->fields[x->ident[k]];
		if (email == (f->type == PF_EMAIL))
			rc = fold(x, &x->val[f->index], e);
	}
	if (rc)
		return rc;
	crypto_generichash(d, sizeof d, x->fold.p, x->fold.len, x->link_key, 32);
	rc = linkmap_get(x->lm, d, person, added, e);
	sodium_memzero(d, sizeof d);
	return rc;
}

static int store(struct rx *x, uint64_t rec, struct kerr *e)
{
	uint32_t person;
	bool added;
	int rc;

	if ((rc = person_of(x, &person, &added, e)))
		return rc;
	uint64_t code = linkmap_code(x->lm, person);
	if (added) {
		for (size_t k = 0; k < x->n_ident; k++) {
			const struct pfield *f = &x->p->fields[x->ident[k]];
			const struct kbuf *v = &x->val[f->index];
			x->sealed_len[k] = 0;
			if (!v->len)
				continue;
			kbuf_reset(&x->sealed[k]);
			if ((rc = kbuf_reserve(&x->sealed[k],
					       v->len + VAULT_OVERHEAD, e)))
				return rc;
			vault_seal(x->s->k->vault, code, f->name, v->p, v->len,
				   x->sealed[k].p);
			x->sealed_p[k] = x->sealed[k].p;
			x->sealed_len[k] = v->len + VAULT_OVERHEAD;
		}
		if ((rc = importq_person(x->q, (uint64_t)person + 1, code, rec,
					   x->sealed_p, x->sealed_len, e)))
			return rc;
	} else {
		x->r->linked++;
	}
	for (size_t k = 0; k < x->n_attr; k++) {
		const struct kbuf *v = &x->val[x->attr[k]];
		x->attr_v[k] = v->len ? (const char *)v->p : "";
		x->attr_len[k] = v->len;
	}
	return importq_record(x->q, rec, code, x->attr_v, x->attr_len, e);
}

/* ---- the run -------------------------------------------------------- */

static int setup(struct rx *x, struct kerr *e)
{
	const struct protocol *p = x->p;
	size_t nf = p->n_fields;

	x->col_of = calloc(nf, sizeof *x->col_of);
	x->val = calloc(nf, sizeof *x->val);
	x->pc = calloc(nf, sizeof *x->pc);
	x->cval = calloc(nf, sizeof *x->cval);
	x->ident = calloc(nf, sizeof *x->ident);
	x->attr = calloc(nf, sizeof *x->attr);
	x->sealed = calloc(nf, sizeof *x->sealed);
	x->sealed_p = calloc(nf, sizeof *x->sealed_p);
	x->sealed_len = calloc(nf, sizeof *x->sealed_len);
	x->attr_v = calloc(nf, sizeof *x->attr_v);
	x->attr_len = calloc(nf, sizeof *x->attr_len);
	x->r->issues = calloc(RECEIVE_MAX_ISSUES, sizeof *x->r->issues);
	x->link_key = sodium_malloc(32);
	if (!x->col_of || !x->val || !x->pc || !x->cval || !x->ident || !x->attr ||
	    !x->sealed || !x->sealed_p || !x->sealed_len || !x->attr_v ||
	    !x->attr_len || !x->r->issues || !x->link_key)
		return nomem(e);
	for (size_t i = 0; i < nf; i++) {
		/* Values are personal data: secret buffers, wiped on free. */
		kbuf_init(&x->val[i], 1 << 20, true);
		x->pc[i] = pcache_new(&p->fields[i]); /* NULL: no cache */
		kbuf_init(&x->sealed[i], (1 << 20) + VAULT_OVERHEAD, false);
		if (p->fields[i].category == PF_IDENTIFYING)
			x->ident[x->n_ident++] = i;
		else
			x->attr[x->n_attr++] = i;
	}
	kbuf_init(&x->fold, 4 << 20, true);
	randombytes_buf(x->link_key, 32);
	return 0;
}

static void teardown(struct rx *x)
{
	pkg_reader_free(x->rd);
	age_dec_free(x->dec);
	importq_free(x->q); /* the writer stops before the rollback */
	ws_import_free(x->im);
	linkmap_free(x->lm);
	if (x->fd >= 0)
		close(x->fd);
	if (x->link_key)
		sodium_free(x->link_key);
	for (size_t i = 0; x->val && i < x->p->n_fields; i++)
		kbuf_free(&x->val[i]);
	for (size_t i = 0; x->pc && i < x->p->n_fields; i++)
		pcache_free(x->pc[i]);
	free(x->pc);
	for (size_t i = 0; x->sealed && i < x->p->n_fields; i++)
		kbuf_free(&x->sealed[i]);
	kbuf_free(&x->fold);
	free(x->col_of);
	free(x->val);
	free(x->cval);
	free(x->ident);
	free(x->attr);
	free(x->sealed);
	free(x->sealed_p);
	free(x->sealed_len);
	free(x->attr_v);
	free(x->attr_len);
}

/* The end of the retention period: the protocol's period counted from
 * receipt or from the transfer (the package's creation).  Months and years
 * that end past the month's last day end on that day (31 January + P1M is
 * 28 or 29 February), as people count them. */
static void retention_end(const struct protocol *p, const char *received,
			  const char *created, char out[21])
{
	const char *from = p->retention_from_receipt ? received : created;
	struct tm tm = { 0 };
	int day;

	if (!strptime(from, "%Y-%m-%dT%H:%M:%SZ", &tm)) {
		snprintf(out, 21, "%s", received);
		return;
	}
	day = tm.tm_mday;
	switch (p->retention.unit) {
	case 'Y':
		tm.tm_year += (int)p->retention.n;
		break;
	case 'M':
		tm.tm_year += (int)(p->retention.n / 12);
		tm.tm_mon += (int)(p->retention.n % 12);
		break;
	case 'D':
		tm.tm_mday += (int)p->retention.n;
		break;
	case 'H':
		tm.tm_hour += (int)p->retention.n;
		break;
	default:
		break;
	}
	if (p->retention.unit == 'Y' || p->retention.unit == 'M') {
		if (tm.tm_mon > 11) {
			tm.tm_year += tm.tm_mon / 12;
			tm.tm_mon %= 12;
		}
		static const int mdays[] = { 31, 28, 31, 30, 31, 30,
					     31, 31, 30, 31, 30, 31 };
		int y = tm.tm_year + 1900;
		int last = mdays[tm.tm_mon] +
			   (tm.tm_mon == 1 && (y % 4 == 0 && (y % 100 || y % 400 == 0)));
		tm.tm_mday = day > last ? last : day;
	}
	ktime_utc(timegm(&tm), out);
}

static int import(struct rx *x, struct kerr *e)
{
	const char *const *vals;
	const size_t *lens;
	struct ws_package *pk = &x->r->pkg;
	struct age_identities ids = { 0 };
	uint8_t h[64];
	struct stat st;
	bool done = false;
	int rc;

	if (lseek(x->fd, 0, SEEK_SET) != 0 || fstat(x->fd, &st) != 0)
		return kerr_errno(e, errno, x->o->package, "rewind");
	x->hsrc.base.read = hash_read;
	x->hsrc.in = &x->fsrc.base;
	x->hsrc.o = x->o;
	x->hsrc.total = (uint64_t)st.st_size;
	x->hsrc.records = &x->r->read;
	crypto_generichash_init(&x->hsrc.st, NULL, 0, 64);
	ids.x25519 = x->s->k->identity;
	ids.n_x25519 = 1;
	if ((rc = age_dec_begin(&x->dec, &x->hsrc.base, &ids, e)) ||
	    (rc = pkg_reader_open(&x->rd, age_dec_src(x->dec), e)) ||
	    (rc = check_head(x, e)) ||
	    (rc = linkmap_new(&x->lm, x->tc_records, e)) ||
	    (rc = ws_import_begin(x->w, &x->im, e)) ||
	    (rc = importq_start(&x->q, x->im, x->n_attr, x->n_ident, e)))
		return rc;
	while (!(rc = pkg_reader_next(x->rd, &vals, &lens, &done, e)) && !done) {
		uint64_t rec = ++x->r->read;
		if (!judge(x, rec, vals, lens)) {
			x->r->rejected++;
			continue;
		}
		if ((rc = store(x, rec, e))) {
			kerr_where(e, "record %" PRIu64, rec);
			return rc;
		}
		x->r->accepted++;
	}
	if (rc || (rc = importq_finish(x->q, e)))
		return rc;
	/* The link map is done with; free it before the indexes are built,
	 * which is when the import needs the most memory. */
	pk->persons = linkmap_persons(x->lm);
	linkmap_free(x->lm);
	x->lm = NULL;
	/* The age payload is authentic to its end (the reader saw EOF
	 * after the tail); now the bytes must be the ones verified. */
	crypto_generichash_final(&x->hsrc.st, h, sizeof h);
	if (sodium_memcmp(h, x->prehash, sizeof h) != 0)
		return kerr_set(e, KERR_SIGNATURE, x->o->package,
				"the file changed while it was being received");
	if (pkg_reader_records(x->rd) != x->tc_records)
		return kerr_set(e, KERR_FORMAT, "package",
				"the signature says %" PRIu64 " records, the "
				"package holds %" PRIu64, x->tc_records,
				pkg_reader_records(x->rd));
	if (!x->r->accepted)
		return kerr_set(e, KERR_POLICY, "package",
				"no record is valid: nothing was received");

	const struct pkg_info *in = pkg_reader_info(x->rd);
	snprintf(pk->id, sizeof pk->id, "%s", in->id);
	snprintf(pk->protocol_digest, sizeof pk->protocol_digest, "%s",
		 in->protocol_digest);
	ms_keyid_hex(x->sig.keynum, pk->discloser_key);
	snprintf(pk->created_at, sizeof pk->created_at, "%s", in->created_at);
	ktime_now(pk->received_at);
	snprintf(pk->received_by, sizeof pk->received_by, "%s", x->s->user);
	pk->records = x->r->accepted;
	pk->rejected = x->r->rejected;
	pk->blanked = x->r->blanked;
	snprintf(pk->records_digest, sizeof pk->records_digest, "%s",
		 pkg_reader_digest(x->rd));
	memcpy(pk->package_digest, "blake2b-512:", 12);
	sodium_bin2hex(pk->package_digest + 12, sizeof pk->package_digest - 12,
		       x->prehash, sizeof x->prehash);
	retention_end(x->p, pk->received_at, pk->created_at, pk->retention_end);
	/* Persons without any valid record were never made: persons counts
	 * those with at least one research row. */
	char counts[256];
	snprintf(counts, sizeof counts,
		 "{\"records\":%" PRIu64 ",\"accepted\":%" PRIu64
		 ",\"rejected\":%" PRIu64 ",\"blanked\":%" PRIu64
		 ",\"persons\":%" PRIu64 "}",
		 x->r->read, x->r->accepted, x->r->rejected, x->r->blanked,
		 pk->persons);
	const struct audit_entry a = {
		.user = x->s->user, .role = x->s->role_names,
		.command = "receive", .purpose = "transfer (art. 5)",
		.object = pk->id, .outcome = "accepted", .counts = counts,
	};
	if ((rc = ws_import_commit(x->im, pk, &a, e)))
		return rc;
	x->committed = true;
	return audit_sign(x->w, x->s->k->sign, x->s->user, e);
}

int receive_run(struct ws *w, const struct ws_session *s,
		const struct receive_opts *o, struct receive_result *r,
		struct kerr *e)
{
	struct rx x = { .w = w, .s = s, .p = ws_protocol(w), .o = o, .r = r,
			.fd = -1 };
	int rc;

	memset(r, 0, sizeof *r);
	kerr_clear(e);
	if (!(rc = ws_require(s, PP_RECEIVE, e))) {
		if (!s->k->have[WSK_VAULT] || !s->k->have[WSK_IDENTITY])
			rc = kerr_set(e, KERR_POLICY, "access",
				      "user %s holds no vault or identity key",
				      s->user);
	}
	if (!rc && !(rc = setup(&x, e)) && !(rc = verify(&x, e)))
		rc = import(&x, e);
	teardown(&x);
	krand_wipe();
	if (rc && !x.committed) {
		/* The refusal is audited on its own, after the rollback.  The
		 * reason holds no personal value (kerr's rule). */
		char outcome[300], counts[96];
		struct kerr e2;
		snprintf(outcome, sizeof outcome, "refused: %s", e->why);
		snprintf(counts, sizeof counts, "{\"records_read\":%" PRIu64 "}",
			 r->read);
		const struct audit_entry a = {
			.user = s->user, .role = s->role_names,
			.command = "receive", .purpose = "transfer (art. 5)",
			.object = x.tc_id[0] ? x.tc_id : "?",
			.outcome = outcome, .counts = counts,
		};
		kerr_clear(&e2);
		if (!audit_append(w, &a, NULL, &e2) && s->k && s->k->have[WSK_SIGN])
			(void)audit_sign(w, s->k->sign, s->user, &e2);
	}
	return rc;
}

void receive_result_free(struct receive_result *r)
{
	free(r->issues);
	r->issues = NULL;
}
