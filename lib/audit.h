/*
 * audit — the workspace's tamper-evident log (layer 3, store).
 *
 * Every command that reads or changes personal data appends one entry:
 * time, user, role, command, purpose, object, outcome and counts (a small
 * JSON object) — never a personal value.  Entry n carries
 *
 *   hash_n = BLAKE2b-256("kluis audit v1" || hash_{n-1} || seq || fields)
 *
 * with each field length-prefixed, and hash_0 derived from the workspace
 * id, so entries cannot be edited, removed, reordered or moved to another
 * workspace without breaking the chain.  After each command the head (seq
 * and hash of the last entry) is signed with the workspace's Ed25519 key;
 * the signature covers the workspace id, so truncating the log below the
 * signed head is found too.  Entries appended by someone who could not
 * unlock the signing key (a wrong passphrase) stay after the signed head
 * until the next signed command, and audit_verify reports them as such.
 */
#ifndef KLUIS_AUDIT_H
#define KLUIS_AUDIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kerr.h"
#include "ws.h"

struct audit_entry {
	const char *user, *role, *command, *purpose, *object, *outcome;
	const char *counts;          /* JSON object text, "{}" if none */
};

/* Append in the caller's transaction (or on its own); *seq may be NULL. */
int audit_append(struct ws *w, const struct audit_entry *a, uint64_t *seq,
		 struct kerr *e);
/* Sign the last entry as the head. */
int audit_sign(struct ws *w, const uint8_t sign_sk[64], const char *user,
	       struct kerr *e);

struct audit_state {
	uint64_t entries;            /* rows in the log */
	uint64_t last_seq;
	uint64_t signed_seq;         /* 0 if no head signed yet */
	char signed_at[21];
	char head_hash[65];          /* hex of the last entry's hash */
	uint64_t unsigned_tail;      /* entries after the signed head */
};
/* Check the whole chain and the head signature.  0 with st filled; on a
 * broken log KERR_SIGNATURE (bad signature) or KERR_FORMAT (broken chain,
 * missing entries) with where = "entry N". */
int audit_verify(struct ws *w, struct audit_state *st, struct kerr *e);
/* One stored entry, as audit_each hands it over. */
struct audit_row {
	uint64_t seq;
	const char *at, *user, *role, *command, *purpose, *object, *outcome;
	const char *counts;
	char hash[65];
};
/* Call fn for every entry in order; a nonzero return stops and is
 * returned. */
int audit_each(struct ws *w, int (*fn)(void *ctx, const struct audit_row *r),
	       void *ctx, struct kerr *e);
/* The head as recorded, without checking (for status). */
int audit_state(struct ws *w, struct audit_state *st, struct kerr *e);

#endif
