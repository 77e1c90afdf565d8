/*
 * wskey — workspace keys, users and roles (layer 3, store).
 *
 * The workspace has four random keys: the vault key (seals identities),
 * the recipient's age identity (opens the package), the backup key and the
 * audit-signing key (Ed25519).  None is stored in the clear.  Each user has
 * a row with their roles and an Argon2id salt and cost; for every key their
 * roles need, a copy sealed (XChaCha20-Poly1305) under the key derived from
 * their passphrase, with the workspace id, user and key name as associated
 * data, so a sealed copy cannot be moved to another user, key or workspace.
 *
 * A role gets a key only if one of its permissions needs it (wskey_needed):
 * a researcher has no sealed copy of the vault key, so no code path can
 * show them an identity — enforced by cryptography, not by a check.  Every
 * user gets the signing key: every command they run signs the audit head.
 *
 * Unlocked keys live in sodium_malloc'd (guarded, mlocked) memory and are
 * wiped by ws_logout.
 */
#ifndef KLUIS_WSKEY_H
#define KLUIS_WSKEY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kerr.h"
#include "ws.h"

enum ws_keyname {
	WSK_VAULT,
	WSK_IDENTITY,
	WSK_BACKUP,
	WSK_SIGN,
	WSK_COUNT,
};

struct ws_keys {
	uint8_t vault[32];
	uint8_t identity[32];
	uint8_t backup[32];
	uint8_t sign[64];            /* Ed25519 secret key (seed + public) */
	bool have[WSK_COUNT];
};

struct ws_session {
	char user[WS_USER_MAX + 1];
	unsigned roles;              /* bits 1 << enum prole_name */
	unsigned perms;              /* enum pperm bits of all roles */
	char role_names[64];         /* "admin+custodian" */
	struct ws_keys *k;           /* sodium_malloc'd; NULL when locked */
};

const char *wskey_name(enum ws_keyname k);
/* Bits 1 << enum ws_keyname that roles (1 << enum prole_name bits) need
 * under protocol p. */
unsigned wskey_needed(const struct protocol *p, unsigned roles);
/* "admin+custodian" for a role set; roles from such a string (-1 if a
 * name is unknown). */
void wskey_roles_str(unsigned roles, char *out, size_t cap);
int wskey_roles_parse(const char *s, unsigned *roles);

/* Fresh random vault, backup and signing keys, and the given identity. */
int wskey_generate(struct ws_keys **out, const uint8_t identity[32],
		   struct kerr *e);
void wskey_free(struct ws_keys *k);

/* Add a user with these roles, sealing the keys they need from k (which
 * must have them).  Runs in the caller's transaction. */
int wskey_add_user(struct ws *w, const char *user, unsigned roles,
		   const char *pass, size_t pass_len, enum ws_kdf kdf,
		   const struct ws_keys *k, struct kerr *e);

/* Unlock: KERR_USAGE for an unknown user (the known ones named),
 * KERR_PASSPHRASE for a wrong passphrase. */
int ws_login(struct ws *w, const char *user, const char *pass,
	     size_t pass_len, struct ws_session *s, struct kerr *e);
void ws_logout(struct ws_session *s);
/* Who is asking when no user is named: the only user there is, else
 * KERR_USAGE asking for --user. */
int ws_default_user(struct ws *w, char out[WS_USER_MAX + 1], struct kerr *e);
/* The session may do `perm`, else KERR_POLICY naming user, roles and
 * what was refused. */
int ws_require(const struct ws_session *s, unsigned perm, struct kerr *e);

#endif
