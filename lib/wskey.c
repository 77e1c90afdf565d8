/*
 * wskey — workspace keys, users and roles (see wskey.h).
 */
#include "wskey.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kdb.h"
#include "ktime.h"
#include "ws_int.h"

#include "banned.h"

#define SALT_LEN crypto_pwhash_SALTBYTES
#define NONCE_LEN crypto_aead_xchacha20poly1305_ietf_NPUBBYTES
#define TAG_LEN crypto_aead_xchacha20poly1305_ietf_ABYTES
/* Costs a stored user row may ask for: a damaged or hostile database must
 * not make login take hours or all memory. */
#define OPS_MAX 64u
#define MEM_MAX (4ull << 30)

static const char *const key_names[WSK_COUNT] = {
	[WSK_VAULT] = "vault",
	[WSK_IDENTITY] = "identity",
	[WSK_BACKUP] = "backup",
	[WSK_SIGN] = "sign",
};

const char *wskey_name(enum ws_keyname k)
{
	return k < WSK_COUNT ? key_names[k] : "?";
}

static uint8_t *key_bytes(struct ws_keys *k, enum ws_keyname n, size_t *len)
{
	switch (n) {
	case WSK_VAULT:
		*len = sizeof k->vault;
		return k->vault;
	case WSK_IDENTITY:
		*len = sizeof k->identity;
		return k->identity;
	case WSK_BACKUP:
		*len = sizeof k->backup;
		return k->backup;
	case WSK_SIGN:
	default:
		*len = sizeof k->sign;
		return k->sign;
	}
}

static unsigned perms_of(const struct protocol *p, unsigned roles)
{
	unsigned perms = 0;

	for (int r = 0; r < PROLE_COUNT; r++)
		if (roles & 1u << r && p->roles[r].defined)
			perms |= p->roles[r].perms;
	return perms;
}

unsigned wskey_needed(const struct protocol *p, unsigned roles)
{
	unsigned perms = perms_of(p, roles), k = 1u << WSK_SIGN;

	/* Sealing at receive, opening at reidentify, addresses for the
	 * survey: the three things that touch identities. */
	if (perms & (PP_RECEIVE | PP_REIDENTIFY | PP_SURVEY))
		k |= 1u << WSK_VAULT;
	if (perms & PP_RECEIVE)
		k |= 1u << WSK_IDENTITY;
	if (perms & PP_BACKUP)
		k |= 1u << WSK_BACKUP;
	return k;
}

void wskey_roles_str(unsigned roles, char *out, size_t cap)
{
	size_t o = 0;

	out[0] = '\0';
	/* admin first: "admin+custodian" reads as the issue writes it. */
	static const int order[] = { PROLE_ADMIN, PROLE_CUSTODIAN, PROLE_DPO,
				     PROLE_RESEARCHER };
	for (size_t i = 0; i < sizeof order / sizeof order[0]; i++) {
		if (!(roles & 1u << order[i]))
			continue;
		int n = snprintf(out + o, cap - o, "%s%s", o ? "+" : "",
				 prole_name_str((enum prole_name)order[i]));
		if (n < 0 || (size_t)n >= cap - o)
			return;
		o += (size_t)n;
	}
}

int wskey_roles_parse(const char *s, unsigned *roles)
{
	*roles = 0;
	while (*s) {
		size_t n = strcspn(s, "+,");
		int found = -1;
		for (int r = 0; r < PROLE_COUNT; r++) {
			const char *name = prole_name_str((enum prole_name)r);
			if (strlen(name) == n && strncmp(s, name, n) == 0)
				found = r;
		}
		if (found < 0)
			return -1;
		*roles |= 1u << found;
		s += n;
		if (*s)
			s++;
	}
	return *roles ? 0 : -1;
}

int wskey_generate(struct ws_keys **out, const uint8_t identity[32],
		   struct kerr *e)
{
	struct ws_keys *k = sodium_malloc(sizeof *k);
	uint8_t pk[32];

	*out = NULL;
	if (!k)
		return kerr_set(e, KERR_NOMEM, "keys", "out of memory");
	sodium_memzero(k, sizeof *k);
	randombytes_buf(k->vault, sizeof k->vault);
	randombytes_buf(k->backup, sizeof k->backup);
	crypto_sign_keypair(pk, k->sign);
	memcpy(k->identity, identity, 32);
	for (int i = 0; i < WSK_COUNT; i++)
		k->have[i] = true;
	*out = k;
	return 0;
}

void wskey_free(struct ws_keys *k)
{
	if (k)
		sodium_free(k); /* wipes */
}

static void kdf_cost(enum ws_kdf kdf, unsigned long long *ops, size_t *mem)
{
	switch (kdf) {
	case WS_KDF_SENSITIVE:
		*ops = crypto_pwhash_OPSLIMIT_SENSITIVE;
		*mem = crypto_pwhash_MEMLIMIT_SENSITIVE;
		break;
	case WS_KDF_MODERATE:
		*ops = crypto_pwhash_OPSLIMIT_MODERATE;
		*mem = crypto_pwhash_MEMLIMIT_MODERATE;
		break;
	case WS_KDF_INTERACTIVE:
	default:
		*ops = crypto_pwhash_OPSLIMIT_INTERACTIVE;
		*mem = crypto_pwhash_MEMLIMIT_INTERACTIVE;
		break;
	}
}

/* Associated data of a sealed key: where it belongs. */
static size_t key_ad(const struct ws *w, const char *user,
		     enum ws_keyname n, uint8_t *ad, size_t cap)
{
	int len = snprintf((char *)ad, cap, "kluis key v1%c%s%c%s%c%s", 0,
			   w->id, 0, user, 0, wskey_name(n));

	return len < 0 || (size_t)len >= cap ? 0 : (size_t)len;
}

static int derive(uint8_t kek[32], const char *pass, size_t pass_len,
		  const uint8_t salt[SALT_LEN], unsigned long long ops,
		  size_t mem, struct kerr *e)
{
	if (crypto_pwhash(kek, 32, pass, pass_len, salt, ops, mem,
			  crypto_pwhash_ALG_ARGON2ID13) != 0)
		return kerr_set(e, KERR_NOMEM, "passphrase",
				"not enough memory for the key derivation "
				"(%zu MiB)", mem >> 20);
	return 0;
}

int wskey_add_user(struct ws *w, const char *user, unsigned roles,
		   const char *pass, size_t pass_len, enum ws_kdf kdf,
		   const struct ws_keys *k, struct kerr *e)
{
	unsigned need = wskey_needed(w->p, roles);
	uint8_t salt[SALT_LEN], nonce[NONCE_LEN], ad[256];
	uint8_t sealed[64 + TAG_LEN];
	unsigned long long ops = 0, clen;
	uint8_t *kek = NULL;
	sqlite3_stmt *st = NULL;
	char now[21], rs[64];
	size_t mem = 0;
	int rc;

	if (!user[0] || strlen(user) > WS_USER_MAX ||
	    strcspn(user, "\n\r\t/") != strlen(user))
		return kerr_set(e, KERR_USAGE, "user",
				"a user name is 1 to %d bytes, without tabs, "
				"newlines or slashes", WS_USER_MAX);
	if (pass_len == 0)
		return kerr_set(e, KERR_USAGE, "passphrase", "empty passphrase");
	for (int i = 0; i < WSK_COUNT; i++)
		if (need & 1u << i && !k->have[i])
			return kerr_set(e, KERR_POLICY, "user",
					"cannot give %s the %s key: it is not "
					"unlocked", user,
					wskey_name((enum ws_keyname)i));
	kdf_cost(kdf, &ops, &mem);
	randombytes_buf(salt, sizeof salt);
	ktime_now(now);
	wskey_roles_str(roles, rs, sizeof rs);
	if ((rc = kdb_prep(w->db, w->what,
			   "INSERT INTO users (name, roles, created_at, kdf,"
			   " opslimit, memlimit, salt) VALUES (?,?,?,?,?,?,?)",
			   &st, e)))
		return rc;
	sqlite3_bind_text(st, 1, user, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, rs, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, now, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, "argon2id13", -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, (sqlite3_int64)ops);
	sqlite3_bind_int64(st, 6, (sqlite3_int64)mem);
	sqlite3_bind_blob(st, 7, salt, sizeof salt, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE) {
		rc = (sqlite3_extended_errcode(w->db) & 0xff) == SQLITE_CONSTRAINT
			     ? kerr_set(e, KERR_EXISTS, "user",
					"%s already exists", user)
			     : kdb_fail(w->db, w->what, "add user", NULL, e);
		sqlite3_finalize(st);
		return rc;
	}
	sqlite3_finalize(st);
	if (!(kek = sodium_malloc(32)))
		return kerr_set(e, KERR_NOMEM, "keys", "out of memory");
	if ((rc = derive(kek, pass, pass_len, salt, ops, mem, e)) ||
	    (rc = kdb_prep(w->db, w->what,
			   "INSERT INTO user_keys (user, key, nonce, sealed)"
			   " VALUES (?,?,?,?)", &st, e)))
		goto out;
	for (int i = 0; !rc && i < WSK_COUNT; i++) {
		if (!(need & 1u << i))
			continue;
		size_t klen, adlen = key_ad(w, user, (enum ws_keyname)i, ad,
					    sizeof ad);
		const uint8_t *kb = key_bytes((struct ws_keys *)(uintptr_t)k,
					      (enum ws_keyname)i, &klen);
		randombytes_buf(nonce, sizeof nonce);
		crypto_aead_xchacha20poly1305_ietf_encrypt(
			sealed, &clen, kb, klen, ad, adlen, NULL, nonce, kek);
		sqlite3_reset(st);
		sqlite3_bind_text(st, 1, user, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, wskey_name((enum ws_keyname)i), -1,
				  SQLITE_STATIC);
		sqlite3_bind_blob(st, 3, nonce, sizeof nonce, SQLITE_STATIC);
		sqlite3_bind_blob(st, 4, sealed, (int)clen, SQLITE_STATIC);
		if (sqlite3_step(st) != SQLITE_DONE)
			rc = kdb_fail(w->db, w->what, "store key", NULL, e);
	}
out:
	sqlite3_finalize(st);
	sodium_memzero(sealed, sizeof sealed);
	sodium_free(kek);
	return rc;
}

static int user_row(struct ws *w, const char *user, struct ws_session *s,
		    uint8_t salt[SALT_LEN], unsigned long long *ops,
		    size_t *mem, struct kerr *e);

int ws_login(struct ws *w, const char *user, const char *pass,
	     size_t pass_len, struct ws_session *s, struct kerr *e)
{
	uint8_t salt[SALT_LEN], ad[256];
	unsigned long long ops = 0, mlen;
	uint8_t *kek = NULL;
	sqlite3_stmt *st = NULL;
	size_t mem = 0;
	int rc, n_keys = 0;

	memset(s, 0, sizeof *s);
	if ((rc = user_row(w, user, s, salt, &ops, &mem, e)))
		return rc;
	if (!(kek = sodium_malloc(32)) || !(s->k = sodium_malloc(sizeof *s->k))) {
		sodium_free(kek);
		return kerr_set(e, KERR_NOMEM, "keys", "out of memory");
	}
	sodium_memzero(s->k, sizeof *s->k);
	if ((rc = derive(kek, pass, pass_len, salt, ops, mem, e)) ||
	    (rc = kdb_prep(w->db, w->what,
			   "SELECT key, nonce, sealed FROM user_keys"
			   " WHERE user = ?", &st, e)))
		goto out;
	sqlite3_bind_text(st, 1, user, -1, SQLITE_STATIC);
	while (!rc && sqlite3_step(st) == SQLITE_ROW) {
		const char *name = (const char *)sqlite3_column_text(st, 0);
		int which = -1;
		for (int i = 0; name && i < WSK_COUNT; i++)
			if (strcmp(name, key_names[i]) == 0)
				which = i;
		if (which < 0)
			continue; /* a key a newer kluis knows */
		size_t klen, adlen = key_ad(w, user, (enum ws_keyname)which, ad,
					    sizeof ad);
		uint8_t *kb = key_bytes(s->k, (enum ws_keyname)which, &klen);
		int clen = sqlite3_column_bytes(st, 2);
		if (sqlite3_column_bytes(st, 1) != NONCE_LEN ||
		    clen != (int)(klen + TAG_LEN) ||
		    crypto_aead_xchacha20poly1305_ietf_decrypt(
			    kb, &mlen, NULL, sqlite3_column_blob(st, 2),
			    (unsigned long long)clen, ad, adlen,
			    sqlite3_column_blob(st, 1), kek) != 0) {
			rc = kerr_set(e, KERR_PASSPHRASE, "passphrase",
				      "wrong passphrase for user %s", user);
			break;
		}
		s->k->have[which] = true;
		n_keys++;
	}
	if (!rc && !s->k->have[WSK_SIGN])
		rc = kerr_set(e, KERR_FORMAT, w->what,
			      "damaged: user %s has no signing key", user);
	/* The public key the log is checked with is stored in the clear;
	 * the sealed secret key is the authority.  A swapped public key (to
	 * pass off a rewritten, re-signed log) is found at every login. */
	if (!rc && sodium_memcmp(s->k->sign + 32, w->sign_pk, 32) != 0)
		rc = kerr_set(e, KERR_SIGNATURE, w->what,
			      "the audit key recorded in the workspace is not "
			      "the workspace's signing key: the audit log may "
			      "have been rewritten");
out:
	sqlite3_finalize(st);
	sodium_free(kek);
	if (rc)
		ws_logout(s);
	(void)n_keys;
	return rc;
}

static int list_users(struct ws *w, char *out, size_t cap, unsigned *count,
		      struct kerr *e)
{
	sqlite3_stmt *st;
	size_t o = 0;
	int rc;

	*count = 0;
	out[0] = '\0';
	if ((rc = kdb_prep(w->db, w->what, "SELECT name FROM users ORDER BY name",
			   &st, e)))
		return rc;
	while (sqlite3_step(st) == SQLITE_ROW) {
		const char *n = (const char *)sqlite3_column_text(st, 0);
		int k = snprintf(out + o, cap - o, "%s%s", o ? ", " : "",
				 n ? n : "");
		if (k > 0 && (size_t)k < cap - o)
			o += (size_t)k;
		(*count)++;
	}
	sqlite3_finalize(st);
	return 0;
}

static int user_row(struct ws *w, const char *user, struct ws_session *s,
		    uint8_t salt[SALT_LEN], unsigned long long *ops,
		    size_t *mem, struct kerr *e)
{
	sqlite3_stmt *st;
	int rc;

	if ((rc = kdb_prep(w->db, w->what,
			   "SELECT roles, kdf, opslimit, memlimit, salt FROM users"
			   " WHERE name = ?", &st, e)))
		return rc;
	sqlite3_bind_text(st, 1, user, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_ROW) {
		char names[512];
		unsigned n;
		sqlite3_finalize(st);
		if ((rc = list_users(w, names, sizeof names, &n, e)))
			return rc;
		return kerr_set(e, KERR_USAGE, "user",
				"no user %s in this workspace (users: %s)", user,
				names);
	}
	const char *roles = (const char *)sqlite3_column_text(st, 0);
	const char *kdf = (const char *)sqlite3_column_text(st, 1);
	sqlite3_int64 o = sqlite3_column_int64(st, 2);
	sqlite3_int64 m = sqlite3_column_int64(st, 3);
	if (!roles || wskey_roles_parse(roles, &s->roles) != 0 || !kdf ||
	    strcmp(kdf, "argon2id13") != 0 || o < 1 || (uint64_t)o > OPS_MAX ||
	    m < 8192 || (uint64_t)m > MEM_MAX ||
	    sqlite3_column_bytes(st, 4) != SALT_LEN) {
		sqlite3_finalize(st);
		return kerr_set(e, KERR_FORMAT, w->what,
				"damaged: the row of user %s is not valid", user);
	}
	*ops = (unsigned long long)o;
	*mem = (size_t)m;
	memcpy(salt, sqlite3_column_blob(st, 4), SALT_LEN);
	sqlite3_finalize(st);
	snprintf(s->user, sizeof s->user, "%s", user);
	s->perms = perms_of(w->p, s->roles);
	wskey_roles_str(s->roles, s->role_names, sizeof s->role_names);
	return 0;
}

void ws_logout(struct ws_session *s)
{
	if (s->k)
		sodium_free(s->k);
	sodium_memzero(s, sizeof *s);
}

int ws_default_user(struct ws *w, char out[WS_USER_MAX + 1], struct kerr *e)
{
	char names[512];
	unsigned n;
	int rc;

	if ((rc = list_users(w, names, sizeof names, &n, e)))
		return rc;
	if (n != 1)
		return kerr_set(e, KERR_USAGE, "user",
				"this workspace has %u users (%s): say which with "
				"--user or KLUIS_USER", n, names);
	if (strlen(names) > WS_USER_MAX)
		return kerr_set(e, KERR_FORMAT, w->what, "damaged: user name");
	memcpy(out, names, strlen(names) + 1);
	return 0;
}

int ws_require(const struct ws_session *s, unsigned perm, struct kerr *e)
{
	if (s->perms & perm)
		return 0;
	return kerr_set(e, KERR_POLICY, "access",
			"user %s (%s) may not %s under this protocol", s->user,
			s->role_names[0] ? s->role_names : "no role",
			pperm_name(perm));
}
