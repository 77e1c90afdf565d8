/*
 * receive — the recipient's side of the transfer (layer 4, workflow).
 *
 *   verify the signature with the discloser key pinned in the workspace
 *   → decrypt with the workspace's recipient identity → check the
 *   manifest (protocol digest, recipient, package id, count, digest)
 *   → validate every record again → link the records of one person
 *   → random person codes → seal identities in the vault → research rows
 *   → package row, indexes and audit entry → COMMIT
 *
 * Never trusts the sender: the signature is checked before anything is
 * decrypted, and the bytes decrypted are hashed again and must be the
 * bytes that were verified (a file swapped in between is refused).  A
 * column that is not a protocol field refuses the whole package (art. 3).
 * Invalid values are blanked or their record rejected as the field says,
 * and reported by record number, field and reason, never by value.
 *
 * All or nothing: everything is written in one transaction.  A refusal
 * leaves the data as it was and appends one audit entry saying why.
 */
#ifndef KLUIS_RECEIVE_H
#define KLUIS_RECEIVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kerr.h"
#include "ws.h"
#include "wsdata.h"
#include "wskey.h"

#define RECEIVE_MAX_ISSUES 1000 /* issues kept in detail; all are counted */

struct receive_opts {
	const char *package;          /* path of the .age file */
	const char *sig;              /* NULL: package + ".minisig" */
	/* Progress: bytes of the package read so far; may be NULL. */
	void (*progress)(void *ctx, uint64_t done, uint64_t total,
			 uint64_t records);
	void *progress_ctx;
};

struct receive_issue {
	uint64_t record;              /* in the package, from 1 */
	const char *field;            /* protocol field name */
	const char *action;           /* "rejected" or "blanked" */
	const char *reason;           /* static, value-free */
};

struct receive_result {
	struct ws_package pkg;        /* as stored */
	uint64_t read;                /* records in the package */
	uint64_t accepted, rejected, blanked;
	uint64_t linked;              /* records that joined an earlier person */
	struct receive_issue *issues; /* the first RECEIVE_MAX_ISSUES */
	size_t n_issues;
	uint64_t issues_total;
};

/* Receive a package into the workspace as user s (who needs the receive
 * permission and the vault and identity keys). */
int receive_run(struct ws *w, const struct ws_session *s,
		const struct receive_opts *o, struct receive_result *r,
		struct kerr *e);
void receive_result_free(struct receive_result *r);

#endif
