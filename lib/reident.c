/*
 * reident — see reident.h.
 */
#include "reident.h"

#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "kbuf.h"
#include "vault.h"
#include "wsdata.h"

#include "banned.h"

static int nomem(struct kerr *e)
{
	return kerr_set(e, KERR_NOMEM, "reidentify", "out of memory");
}

static int field_names(const struct protocol *p, struct reident_result *r,
		       struct kerr *e)
{
	size_t n = 0;

	for (size_t i = 0; i < p->n_fields; i++)
		n += p->fields[i].category == PF_IDENTIFYING;
	if (!(r->fields = calloc(n ? n : 1, sizeof *r->fields)))
		return nomem(e);
	r->n_fields = n;
	for (size_t i = 0, k = 0; i < p->n_fields; i++)
		if (p->fields[i].category == PF_IDENTIFYING &&
		    !(r->fields[k++] = strdup(p->fields[i].name)))
			return nomem(e);
	return 0;
}

/* Opened values go into r->arena, NUL-terminated; values[k] holds the
 * offset + 1 until run() turns offsets into pointers (the arena moves as
 * it grows; one locked arena instead of a guarded allocation per value,
 * which would exhaust the locked-memory limit at a few thousand). */
static int open_one(struct ws *w, const struct ws_session *s,
		    struct reident_result *r, struct reident_person *pp,
		    uint64_t code, struct kbuf *sealed, struct kerr *e)
{
	bool found;
	int rc = ws_vault_get(w, code, sealed, r->n_fields, &pp->first_record,
			      &found, e);

	if (rc)
		return rc;
	if (!found)
		return kerr_set(e, KERR_USAGE, "person code",
				"no person has code %s", pp->code);
	if (!(pp->values = calloc(r->n_fields ? r->n_fields : 1,
				  sizeof *pp->values)))
		return nomem(e);
	for (size_t k = 0; k < r->n_fields; k++) {
		size_t len, at = r->arena.len;
		if (!sealed[k].len)
			continue;
		if (sealed[k].len < VAULT_OVERHEAD)
			return kerr_set(e, KERR_SIGNATURE, "vault",
					"a sealed value is too short");
		if ((rc = kbuf_reserve(&r->arena, sealed[k].len, e)))
			return rc;
		if ((rc = vault_open(s->k->vault, code, r->fields[k], sealed[k].p,
				     sealed[k].len, r->arena.p + at, &len, e)))
			return rc;
		r->arena.p[at + len] = '\0';
		r->arena.len = at + len + 1;
		pp->values[k] = (const char *)(uintptr_t)(at + 1);
	}
	return 0;
}

static int run(struct ws *w, const struct ws_session *s,
	       const char *const *codes, size_t n_codes,
	       struct reident_result *r, struct kerr *e)
{
	struct kbuf *sealed;
	int rc;

	if (!n_codes || n_codes > REIDENT_MAX_CODES)
		return kerr_set(e, KERR_USAGE, "reidentify",
				"give 1 to %d codes", REIDENT_MAX_CODES);
	if (!(r->persons = calloc(n_codes, sizeof *r->persons)))
		return nomem(e);
	r->n = n_codes;
	for (size_t i = 0; i < n_codes; i++) {
		uint64_t code;
		if ((rc = pcode_parse(codes[i], strlen(codes[i]), &code, e)))
			return kerr_where(e, "code %zu", i + 1);
		pcode_format(code, r->persons[i].code);
	}
	if ((rc = ws_require(s, PP_REIDENTIFY, e)))
		return rc;
	if (!s->k->have[WSK_VAULT])
		return kerr_set(e, KERR_POLICY, "access",
				"user %s holds no vault key", s->user);
	if ((rc = field_names(ws_protocol(w), r, e)))
		return rc;
	if (!(sealed = calloc(r->n_fields ? r->n_fields : 1, sizeof *sealed)))
		return nomem(e);
	for (size_t k = 0; k < r->n_fields; k++)
		kbuf_init(&sealed[k], 1 << 21, false);
	for (size_t i = 0; !rc && i < n_codes; i++) {
		uint64_t code;
		(void)pcode_parse(r->persons[i].code, PCODE_LEN, &code, e);
		rc = open_one(w, s, r, &r->persons[i], code, sealed, e);
	}
	for (size_t k = 0; k < r->n_fields; k++)
		kbuf_free(&sealed[k]);
	free(sealed);
	for (size_t i = 0; !rc && i < n_codes; i++)
		for (size_t k = 0; k < r->n_fields; k++)
			if (r->persons[i].values[k])
				r->persons[i].values[k] =
					(const char *)r->arena.p +
					((uintptr_t)r->persons[i].values[k] - 1);
	return rc;
}

/* The audit object: the codes, or for many a count and a digest of the
 * list (the list itself would make one entry megabytes long). */
static void object(const struct reident_result *r, size_t n_codes,
		   char *out, size_t cap)
{
	size_t o = 0;

	out[0] = '\0';
	if (!r->persons) {
		snprintf(out, cap, "%zu codes", n_codes);
		return;
	}
	if (n_codes <= 20) {
		for (size_t i = 0; i < n_codes; i++) {
			int k = snprintf(out + o, cap - o, "%s%s", i ? " " : "",
					 r->persons[i].code[0] ? r->persons[i].code
							       : "(not a code)");
			if (k < 0 || (size_t)k >= cap - o)
				return;
			o += (size_t)k;
		}
		return;
	}
	crypto_generichash_state st;
	uint8_t h[16];
	char hex[33];
	crypto_generichash_init(&st, NULL, 0, sizeof h);
	for (size_t i = 0; i < n_codes; i++)
		crypto_generichash_update(&st, (const uint8_t *)r->persons[i].code,
					  sizeof r->persons[i].code);
	crypto_generichash_final(&st, h, sizeof h);
	sodium_bin2hex(hex, sizeof hex, h, sizeof h);
	snprintf(out, cap, "%zu codes, from %s to %s (list blake2b-128 %s)",
		 n_codes, r->persons[0].code, r->persons[n_codes - 1].code, hex);
}

int reident_run(struct ws *w, const struct ws_session *s,
		const char *const *codes, size_t n_codes, const char *purpose,
		struct reident_result *r, struct kerr *e)
{
	char out[200], obj[600], counts[64];
	struct kerr e2;
	int rc, arc;

	memset(r, 0, sizeof *r);
	kbuf_init(&r->arena, (size_t)1 << 34, true);
	kerr_clear(e);
	rc = run(w, s, codes, n_codes, r, e);
	snprintf(out, sizeof out, "%s%.160s", rc ? "refused: " : "shown",
		 rc ? e->why : "");
	object(r, n_codes, obj, sizeof obj);
	snprintf(counts, sizeof counts, "{\"persons\":%zu}", rc ? 0 : n_codes);
	const struct audit_entry a = {
		.user = s->user, .role = s->role_names, .command = "reidentify",
		.purpose = purpose, .object = obj, .outcome = out,
		.counts = counts,
	};
	kerr_clear(&e2);
	arc = audit_append(w, &a, NULL, &e2);
	if (!arc)
		arc = audit_sign(w, s->k->sign, s->user, &e2);
	if (!rc && arc) {
		/* Nothing is shown that is not in the log. */
		*e = e2;
		rc = arc;
	}
	if (rc)
		reident_result_free(r);
	return rc;
}

void reident_result_free(struct reident_result *r)
{
	for (size_t i = 0; r->persons && i < r->n; i++)
		free(r->persons[i].values);
	kbuf_free(&r->arena);
	for (size_t k = 0; r->fields && k < r->n_fields; k++)
		free(r->fields[k]);
	free(r->persons);
	free(r->fields);
	memset(r, 0, sizeof *r);
}
