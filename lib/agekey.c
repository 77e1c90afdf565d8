/*
 * agekey — key encodings and key files.  Decoded secret bytes pass only
 * through stack buffers that are wiped, and the locked list.
 */
#include "agekey.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "bech32.h"
#include "kbuf.h"
#include "kfile.h"
#include "banned.h"

#define HRP_SECRET "age-secret-key-"
#define HRP_PUBLIC "age"

int agekey_identity_encode(const uint8_t sk[32], char *out, size_t cap)
{
	return bech32_encode(HRP_SECRET, sk, 32, true, out, cap);
}

int agekey_recipient_encode(const uint8_t pk[32], char *out, size_t cap)
{
	return bech32_encode(HRP_PUBLIC, pk, 32, false, out, cap);
}

int agekey_identity_decode(const char *s, size_t len, uint8_t sk[32],
			   struct kerr *e)
{
	char hrp[32];
	uint8_t data[64];
	size_t n = 0;
	int rc = 0;

	if (bech32_decode(s, len, hrp, sizeof hrp, data, sizeof data, &n) != 0)
		rc = kerr_set(e, KERR_KEY, "age identity",
			      "malformed (bad Bech32 encoding or checksum)");
	else if (strcmp(hrp, HRP_SECRET) != 0)
		rc = kerr_set(e, KERR_KEY, "age identity",
			      "not an X25519 identity (AGE-SECRET-KEY-1…)");
	else if (n != 32)
		rc = kerr_set(e, KERR_KEY, "age identity", "wrong key length");
	else
		memcpy(sk, data, 32);
	sodium_memzero(data, sizeof data);
	return rc;
}

int agekey_recipient_decode(const char *s, size_t len, uint8_t pk[32],
			    struct kerr *e)
{
	char hrp[32];
	uint8_t data[64];
	size_t n = 0;

	if (bech32_decode(s, len, hrp, sizeof hrp, data, sizeof data, &n) != 0)
		return kerr_set(e, KERR_KEY, "age recipient",
				"malformed (bad Bech32 encoding or checksum)");
	if (strcmp(hrp, HRP_PUBLIC) != 0)
		return kerr_set(e, KERR_KEY, "age recipient",
				"not an X25519 recipient (age1…)");
	if (n != 32)
		return kerr_set(e, KERR_KEY, "age recipient", "wrong key length");
	memcpy(pk, data, 32);
	return 0;
}

void agekey_public(const uint8_t sk[32], uint8_t pk[32])
{
	crypto_scalarmult_base(pk, sk);
}

void agekey_generate(uint8_t sk[32])
{
	randombytes_buf(sk, 32);
}

void agekey_ids_init(struct agekey_ids *l)
{
	memset(l, 0, sizeof *l);
}

int agekey_ids_add(struct agekey_ids *l, const uint8_t sk[32], struct kerr *e)
{
	if (l->n == l->cap) {
		size_t ncap = l->cap ? l->cap * 2 : 4;
		uint8_t *np = sodium_malloc(ncap * 32);
		if (!np)
			return kerr_set(e, KERR_NOMEM, "age identity",
					"cannot allocate locked memory");
		if (l->sk) {
			memcpy(np, l->sk, l->n * 32);
			sodium_free(l->sk);
		}
		l->sk = np;
		l->cap = ncap;
	}
	memcpy(l->sk + 32 * l->n++, sk, 32);
	return 0;
}

void agekey_ids_free(struct agekey_ids *l)
{
	if (l->sk)
		sodium_free(l->sk);
	memset(l, 0, sizeof *l);
}

/* Call fn for each key line of a key file: trimmed, not blank, not '#'. */
static int each_line(const char *path, struct kbuf *b,
		     int (*fn)(void *ctx, const char *s, size_t len,
			       size_t line, struct kerr *e),
		     void *ctx, struct kerr *e)
{
	size_t line = 0, keys = 0;
	const char *p, *end;
	int rc = kfile_read(path, b, e);

	if (rc)
		return rc;
	p = (const char *)b->p;
	end = p + b->len;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end, *s = p;

		line++;
		while (s < le && (*s == ' ' || *s == '\t'))
			s++;
		while (le > s && (le[-1] == '\r' || le[-1] == ' ' ||
				  le[-1] == '\t'))
			le--;
		if (le > s && *s != '#') {
			rc = fn(ctx, s, (size_t)(le - s), line, e);
			if (rc) {
				snprintf(e->what, sizeof e->what, "%s", path);
				kerr_where(e, "line %zu", line);
				return rc;
			}
			keys++;
		}
		p = nl ? nl + 1 : end;
	}
	if (keys == 0)
		return kerr_set(e, KERR_KEY, path, "no keys in file");
	return 0;
}

static int add_identity_line(void *ctx, const char *s, size_t len,
			     size_t line, struct kerr *e)
{
	uint8_t sk[32];
	int rc;

	(void)line;
	rc = agekey_identity_decode(s, len, sk, e);
	if (!rc)
		rc = agekey_ids_add(ctx, sk, e);
	sodium_memzero(sk, sizeof sk);
	return rc;
}

int agekey_ids_load(struct agekey_ids *l, const char *path, struct kerr *e)
{
	struct kbuf b;
	int rc;

	kbuf_init(&b, AGEKEY_FILE_MAX, true);
	rc = each_line(path, &b, add_identity_line, l, e);
	kbuf_free(&b);
	return rc;
}

void agekey_rcpts_init(struct agekey_rcpts *l)
{
	memset(l, 0, sizeof *l);
}

int agekey_rcpts_add(struct agekey_rcpts *l, const uint8_t pk[32],
		     struct kerr *e)
{
	if (l->n == l->cap) {
		size_t ncap = l->cap ? l->cap * 2 : 4;
		void *np = realloc(l->pk, ncap * sizeof *l->pk);
		if (!np)
			return kerr_set(e, KERR_NOMEM, "age recipient",
					"out of memory");
		l->pk = np;
		l->cap = ncap;
	}
	memcpy(l->pk[l->n++], pk, 32);
	return 0;
}

int agekey_rcpts_add_string(struct agekey_rcpts *l, const char *s,
			    struct kerr *e)
{
	uint8_t pk[32];
	int rc = agekey_recipient_decode(s, strlen(s), pk, e);

	return rc ? rc : agekey_rcpts_add(l, pk, e);
}

static int add_recipient_line(void *ctx, const char *s, size_t len,
			      size_t line, struct kerr *e)
{
	uint8_t pk[32];
	int rc;

	(void)line;
	rc = agekey_recipient_decode(s, len, pk, e);
	return rc ? rc : agekey_rcpts_add(ctx, pk, e);
}

int agekey_rcpts_load(struct agekey_rcpts *l, const char *path,
		      struct kerr *e)
{
	struct kbuf b;
	int rc;

	kbuf_init(&b, AGEKEY_FILE_MAX, false);
	rc = each_line(path, &b, add_recipient_line, l, e);
	kbuf_free(&b);
	return rc;
}

void agekey_rcpts_free(struct agekey_rcpts *l)
{
	free(l->pk);
	memset(l, 0, sizeof *l);
}
