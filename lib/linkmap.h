/*
 * linkmap — persons met during one import, and their codes (layer 1).
 *
 * Maps a 16-byte link digest (a keyed hash of what identifies a person,
 * computed by the caller under a key that lives only for the import) to a
 * person number, 0, 1, 2 … in the order persons are first met, and gives
 * each new person a fresh random person code (pcode) that no earlier
 * person of this map has.  The digest is compared in full, so two persons
 * are merged only if their digests are equal: with 128 bits that is never
 * by accident.
 *
 * Memory: per person the digest and the code (24 bytes) plus two index
 * tables of 4-byte slots kept at most 70 % full; the person arrays are
 * reserved for the expected count up front (address space only: pages are
 * touched as persons arrive).  Nothing here is a personal value, but the
 * digests are wiped on free anyway: with the import key they would link.
 */
#ifndef KLUIS_LINKMAP_H
#define KLUIS_LINKMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kerr.h"

#define LINKMAP_KEY 16
#define LINKMAP_MAX_PERSONS 0xfffffffeu

struct linkmap;

/* A map expecting up to `expect` persons (it grows past that if needed). */
int linkmap_new(struct linkmap **out, size_t expect, struct kerr *e);
/* The person with this digest; a new one (with a fresh code) if none. */
int linkmap_get(struct linkmap *m, const uint8_t key[LINKMAP_KEY],
		uint32_t *person, bool *added, struct kerr *e);
/* A person who matches no one (nothing to link them by): always new. */
int linkmap_add_alone(struct linkmap *m, uint32_t *person, struct kerr *e);
uint64_t linkmap_code(const struct linkmap *m, uint32_t person);
size_t linkmap_persons(const struct linkmap *m);
/* Redraws the code index touched (for tests: draws that hit a code
 * already given). */
uint64_t linkmap_redraws(const struct linkmap *m);
void linkmap_free(struct linkmap *m);

#endif
