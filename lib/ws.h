/*
 * ws — the recipient's workspace (layer 3, store): one directory per
 * protocol, holding one SQLite database (WAL) with the pinned protocol, the
 * users and their wrapped keys, the research rows, the sealed identities
 * and the audit log.  See docs/workspace.md.
 *
 * Invariants:
 *  - The directory is 0700 and every file in it 0600; ws_open refuses a
 *    workspace others can read.  A workspace appears whole: ws_create
 *    builds it in a fresh sibling directory and renames it into place.
 *  - The protocol is pinned: its text is stored, and every open checks
 *    that the stored text still has the digest recorded at creation.
 *  - The keys (vault, identity, backup, signing) exist only wrapped, per
 *    user, under a key derived from the user's passphrase with Argon2id
 *    (wskey.h); a role is given only the keys its permissions need.
 */
#ifndef KLUIS_WS_H
#define KLUIS_WS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kerr.h"
#include "protocol.h"

#define WS_SCHEMA_VERSION 1
#define WS_DB_FILE "kluis.db"
#define WS_ID_LEN 32              /* random 128-bit id, lowercase hex */
#define WS_USER_MAX 64

/* Argon2id cost, libsodium's named levels. */
enum ws_kdf {
	WS_KDF_INTERACTIVE, /* 2 passes, 64 MiB: the default */
	WS_KDF_MODERATE,    /* 3 passes, 256 MiB */
	WS_KDF_SENSITIVE,   /* 4 passes, 1 GiB */
};

struct ws_create_opts {
	const char *dir;              /* must not exist yet */
	const char *protocol_text;    /* the protocol file's bytes */
	size_t protocol_len;
	const uint8_t *identities;    /* X25519 secrets, 32 bytes each: the */
	size_t n_identities;          /* one for the protocol's recipient is kept */
	const char *user;             /* the first user: admin + custodian */
	const char *pass;             /* their passphrase */
	size_t pass_len;
	enum ws_kdf kdf;
};

struct ws;

/* Create a workspace.  The protocol must load and have both parties'
 * keys, and one of opts->identities must be the protocol's recipient
 * (KERR_POLICY otherwise).  The first audit entry records the creation. */
int ws_create(const struct ws_create_opts *opts, struct kerr *e);

/* Open an existing workspace (schema brought up to date). */
int ws_open(const char *dir, struct ws **out, struct kerr *e);
void ws_close(struct ws *w);

const struct protocol *ws_protocol(const struct ws *w);
const char *ws_id(const struct ws *w);
const char *ws_dir(const struct ws *w);
/* The workspace's audit-signing public key (Ed25519), and as hex: print
 * it at creation and keep it outside the workspace; `kluis audit verify
 * --key` then catches a log rewritten and re-signed with another key. */
const uint8_t *ws_sign_pk(const struct ws *w);
void ws_sign_pk_hex(const struct ws *w, char out[65]);
/* Does hex (64 digits) name the workspace's audit key?  KERR_SIGNATURE if
 * not, KERR_USAGE if it is not a key. */
int ws_check_sign_pk(const struct ws *w, const char *hex, struct kerr *e);

const char *ws_kdf_name(enum ws_kdf k);
int ws_kdf_parse(const char *s, enum ws_kdf *k);

#endif
