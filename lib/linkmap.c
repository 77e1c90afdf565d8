/*
 * linkmap — see linkmap.h.  Two open-addressing tables of uint32 slots
 * (person + 1; 0 is empty) with linear probing: one indexed by the digest,
 * one by the code.  The digest is already uniformly random, so its first
 * eight bytes place it; codes are random too, but a multiply spreads them
 * anyway.  Growing rebuilds both tables from the person arrays.
 */
#include "linkmap.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "pcode.h"

#include "banned.h"

struct linkmap {
	uint8_t (*keys)[LINKMAP_KEY]; /* per person; all-zero for "alone" */
	uint64_t *codes;              /* per person */
	size_t n, cap;
	uint32_t *kslot, *cslot;
	size_t mask;                  /* table size - 1 (a power of two) */
	uint64_t redraws;
};

static uint64_t key_pos(const uint8_t key[LINKMAP_KEY])
{
	uint64_t h;

	memcpy(&h, key, 8);
	return h;
}

static uint64_t code_pos(uint64_t code)
{
	return (code ^ code >> 29) * 0x9e3779b97f4a7c15u;
}

static int grow_people(struct linkmap *m, size_t want, struct kerr *e)
{
	void *k, *c;

	if (want <= m->cap)
		return 0;
	if (want > LINKMAP_MAX_PERSONS)
		return kerr_set(e, KERR_LIMIT, "persons",
				"more than %u persons", LINKMAP_MAX_PERSONS);
	if (!(k = realloc(m->keys, want * LINKMAP_KEY)))
		return kerr_set(e, KERR_NOMEM, "persons", "out of memory");
	m->keys = k;
	if (!(c = realloc(m->codes, want * sizeof *m->codes)))
		return kerr_set(e, KERR_NOMEM, "persons", "out of memory");
	m->codes = c;
	m->cap = want;
	return 0;
}

static void place(uint32_t *t, size_t mask, uint64_t h, uint32_t v)
{
	size_t i = (size_t)(h >> 32 ^ h) & mask;

	while (t[i])
		i = (i + 1) & mask;
	t[i] = v;
}

static int rebuild(struct linkmap *m, size_t size, struct kerr *e)
{
	uint32_t *k = calloc(size, sizeof *k), *c = calloc(size, sizeof *c);

	if (!k || !c) {
		free(k);
		free(c);
		return kerr_set(e, KERR_NOMEM, "persons", "out of memory");
	}
	for (size_t p = 0; p < m->n; p++) {
		if (!sodium_is_zero(m->keys[p], LINKMAP_KEY))
			place(k, size - 1, key_pos(m->keys[p]), (uint32_t)p + 1);
		place(c, size - 1, code_pos(m->codes[p]), (uint32_t)p + 1);
	}
	free(m->kslot);
	free(m->cslot);
	m->kslot = k;
	m->cslot = c;
	m->mask = size - 1;
	return 0;
}

int linkmap_new(struct linkmap **out, size_t expect, struct kerr *e)
{
	struct linkmap *m = calloc(1, sizeof *m);
	size_t size = 1024;
	int rc;

	*out = NULL;
	if (!m)
		return kerr_set(e, KERR_NOMEM, "persons", "out of memory");
	if (expect < 64)
		expect = 64;
	if ((rc = grow_people(m, expect, e)) || (rc = rebuild(m, size, e))) {
		linkmap_free(m);
		return rc;
	}
	*out = m;
	return 0;
}

/* Room for one more person: tables at most 70 % full. */
static int make_room(struct linkmap *m, struct kerr *e)
{
	int rc;

	if (m->n == m->cap &&
	    (rc = grow_people(m, m->cap * 2 > m->cap ? m->cap * 2 : m->cap + 1,
			      e)))
		return rc;
	if ((m->n + 1) * 10 > (m->mask + 1) * 7)
		return rebuild(m, (m->mask + 1) * 2, e);
	return 0;
}

static bool code_taken(const struct linkmap *m, uint64_t code)
{
	uint64_t h = code_pos(code);

	for (size_t i = (size_t)(h >> 32 ^ h) & m->mask; m->cslot[i];
	     i = (i + 1) & m->mask)
		if (m->codes[m->cslot[i] - 1] == code)
			return true;
	return false;
}

static uint32_t add(struct linkmap *m, const uint8_t *key)
{
	uint32_t p = (uint32_t)m->n++;
	uint64_t code;

	while (code_taken(m, code = pcode_random()))
		m->redraws++;
	m->codes[p] = code;
	if (key) {
		memcpy(m->keys[p], key, LINKMAP_KEY);
		place(m->kslot, m->mask, key_pos(key), p + 1);
	} else {
		memset(m->keys[p], 0, LINKMAP_KEY);
	}
	place(m->cslot, m->mask, code_pos(code), p + 1);
	return p;
}

int linkmap_get(struct linkmap *m, const uint8_t key[LINKMAP_KEY],
		uint32_t *person, bool *added, struct kerr *e)
{
	uint64_t h = key_pos(key);
	int rc;

	for (size_t i = (size_t)(h >> 32 ^ h) & m->mask; m->kslot[i];
	     i = (i + 1) & m->mask) {
		uint32_t p = m->kslot[i] - 1;
		if (memcmp(m->keys[p], key, LINKMAP_KEY) == 0) {
			*person = p;
			*added = false;
			return 0;
		}
	}
	if ((rc = make_room(m, e)))
		return rc;
	*person = add(m, key);
	*added = true;
	return 0;
}

int linkmap_add_alone(struct linkmap *m, uint32_t *person, struct kerr *e)
{
	int rc = make_room(m, e);

	if (!rc)
		*person = add(m, NULL);
	return rc;
}

uint64_t linkmap_code(const struct linkmap *m, uint32_t person)
{
	return m->codes[person];
}

size_t linkmap_persons(const struct linkmap *m)
{
	return m->n;
}

uint64_t linkmap_redraws(const struct linkmap *m)
{
	return m->redraws;
}

void linkmap_free(struct linkmap *m)
{
	if (!m)
		return;
	if (m->keys)
		sodium_memzero(m->keys, m->n * LINKMAP_KEY);
	free(m->keys);
	free(m->codes);
	free(m->kslot);
	free(m->cslot);
	free(m);
}
