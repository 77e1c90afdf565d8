/*
 * keygen — create and write a key set.  Key files are created exclusively
 * (never replacing a file) and mode 0600.
 */
#include "keygen.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "agekey.h"
#include "kfile.h"
#include "ktime.h"
#include "minisign.h"

#include "banned.h"

static const char *const suffix[KEYGEN_FILES] = {
	".age.key", ".minisign.key", ".minisign.pub", ".pub",
};

const char *keygen_path(const char *prefix, int i, char *buf, size_t n)
{
	snprintf(buf, n, "%s%s", prefix, suffix[i]);
	return buf;
}

int keygen_write(const struct keygen_opts *o, struct pubfile *pub,
		 struct kerr *e)
{
	char paths[KEYGEN_FILES][4096];
	struct kbuf text[KEYGEN_FILES];
	uint8_t *age_sk = sodium_malloc(32);
	struct ms_seckey *ms = ms_seckey_new();
	char id[AGE_IDENTITY_LEN + 1], rc_pub[AGE_RECIPIENT_LEN + 1];
	int rc = 0, written = 0;

	for (int i = 0; i < KEYGEN_FILES; i++)
		kbuf_init(&text[i], 64 * 1024, i < 2);
	if (!age_sk || !ms) {
		rc = kerr_set(e, KERR_NOMEM, "keygen", "cannot allocate locked memory");
		goto out;
	}
	for (int i = 0; i < KEYGEN_FILES; i++) {
		keygen_path(o->prefix, i, paths[i], sizeof paths[i]);
		if (strlen(o->prefix) + strlen(suffix[i]) >= sizeof paths[i]) {
			rc = kerr_set(e, KERR_USAGE, "keygen", "prefix too long");
			goto out;
		}
		if (kfile_exists(paths[i])) {
			rc = kerr_set(e, KERR_EXISTS, paths[i],
				      "already exists; refusing to overwrite keys");
			goto out;
		}
	}

	memset(pub, 0, sizeof *pub);
	{
		const char *b = strrchr(o->prefix, '/');
		const char *label = o->label ? o->label : b ? b + 1 : o->prefix;

		if (strlen(label) >= sizeof pub->label) {
			rc = kerr_set(e, KERR_USAGE, "label",
				      "longer than %zu bytes%s",
				      sizeof pub->label - 1,
				      o->label ? "" : " (taken from PREFIX; give --label)");
			goto out;
		}
		memcpy(pub->label, label, strlen(label) + 1);
	}
	for (const char *c = pub->label; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f) {
			rc = kerr_set(e, KERR_USAGE, "label",
				      "must be one line without control characters");
			goto out;
		}
	ktime_now(pub->created);
	agekey_generate(age_sk);
	agekey_public(age_sk, pub->age);
	ms_keygen(ms);
	ms_seckey_public(ms, &pub->ms);

	if (agekey_identity_encode(age_sk, id, sizeof id) != 0 ||
	    agekey_recipient_encode(pub->age, rc_pub, sizeof rc_pub) != 0) {
		rc = kerr_set(e, KERR_INTERNAL, "keygen", "cannot encode key");
		goto out;
	}
	rc = kbuf_printf(&text[0], e, "# created: %s\n# public key: %s\n%s\n",
			 pub->created, rc_pub, id);
	if (!rc)
		rc = ms_seckey_format(ms, o->passphrase, o->passphrase_len,
				      o->opslimit, o->memlimit, &text[1], e);
	if (!rc)
		rc = ms_pubkey_format(&pub->ms, &text[2], e);
	if (!rc)
		rc = pubfile_format(pub, &text[3], e);
	for (int i = 0; !rc && i < KEYGEN_FILES; i++) {
		rc = kfile_write(paths[i], text[i].p, text[i].len,
				 i < 2 ? 0600 : 0644, KFILE_NO_REPLACE, e);
		if (!rc)
			written++;
	}
	if (rc)
		for (int i = 0; i < written; i++)
			unlink(paths[i]);
out:
	sodium_memzero(id, sizeof id);
	for (int i = 0; i < KEYGEN_FILES; i++)
		kbuf_free(&text[i]);
	if (age_sk)
		sodium_free(age_sk);
	ms_seckey_free(ms);
	return rc;
}
