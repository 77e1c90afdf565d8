/*
 * pubfile — parse and write kluis public key files.  Unknown "# key:"
 * comments are ignored so the format can grow; the two keys are required.
 */
#include "pubfile.h"

#include <stdio.h>
#include <string.h>

#include "agekey.h"
#include "kfile.h"
#include "banned.h"

#define MAGIC "# kluis public keys v1"

/* Labels end up on terminals and in reports: no control characters
 * (UTF-8 text is fine). */
static bool printable(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return false;
	return true;
}

int pubfile_format(const struct pubfile *p, struct kbuf *out, struct kerr *e)
{
	char ms[57], id[17], age[AGE_RECIPIENT_LEN + 1];

	if (!printable(p->label, strlen(p->label)) ||
	    !printable(p->created, strlen(p->created)))
		return kerr_set(e, KERR_USAGE, "label",
				"must be one line without control characters");
	ms_pubkey_encode(&p->ms, ms);
	ms_keyid_hex(p->ms.keynum, id);
	if (agekey_recipient_encode(p->age, age, sizeof age) != 0)
		return kerr_set(e, KERR_INTERNAL, "age recipient", "cannot encode");
	return kbuf_printf(out, e,
			   MAGIC "\n"
			   "# label: %s\n"
			   "# created: %s\n"
			   "# minisign: %s\n"
			   "# minisign key id: %s\n"
			   "%s\n",
			   p->label, p->created, ms, id, age);
}

static bool field(const char *l, size_t len, const char *key,
		  const char **val, size_t *vlen)
{
	size_t k = strlen(key);

	if (len < k || memcmp(l, key, k) != 0)
		return false;
	*val = l + k;
	*vlen = len - k;
	return true;
}

int pubfile_parse(const char *text, size_t len, struct pubfile *p,
		  struct kerr *e)
{
	const char *what = "kluis public key file";
	const char *s = text, *end = text + len;
	bool magic = false, has_age = false, has_ms = false;
	size_t line = 0;

	memset(p, 0, sizeof *p);
	while (s < end) {
		const char *nl = memchr(s, '\n', (size_t)(end - s));
		const char *le = nl ? nl : end, *v;
		size_t l, vl;
		int rc;

		line++;
		l = (size_t)(le - s);
		if (l && s[l - 1] == '\r')
			l--;
		if (line == 1 && l == strlen(MAGIC) && memcmp(s, MAGIC, l) == 0)
			magic = true;
		else if (field(s, l, "# label: ", &v, &vl) ||
			 field(s, l, "# created: ", &v, &vl)) {
			bool is_label = s[2] == 'l';
			if (!printable(v, vl) ||
			    vl >= (is_label ? sizeof p->label : sizeof p->created)) {
				kerr_set(e, KERR_KEY, what, "%s",
					 is_label ? "label too long or with control characters"
						  : "bad created line");
				return kerr_where(e, "line %zu", line);
			}
			memcpy(is_label ? p->label : p->created, v, vl);
			(is_label ? p->label : p->created)[vl] = '\0';
		}
		else if (field(s, l, "# minisign: ", &v, &vl)) {
			rc = ms_pubkey_decode(v, vl, &p->ms, e);
			if (rc)
				return kerr_where(e, "line %zu", line);
			has_ms = true;
		} else if (l > 0 && s[0] != '#') {
			if (has_age) {
				kerr_set(e, KERR_KEY, what,
					 "more than one age recipient");
				return kerr_where(e, "line %zu", line);
			}
			rc = agekey_recipient_decode(s, l, p->age, e);
			if (rc)
				return kerr_where(e, "line %zu", line);
			has_age = true;
		}
		s = nl ? nl + 1 : end;
	}
	if (!magic)
		return kerr_set(e, KERR_KEY, what,
				"missing the '" MAGIC "' first line");
	if (!has_ms)
		return kerr_set(e, KERR_KEY, what, "no '# minisign:' line");
	if (!has_age)
		return kerr_set(e, KERR_KEY, what, "no age1… recipient line");
	return 0;
}

int pubfile_load(const char *path, struct pubfile *p, struct kerr *e)
{
	struct kbuf b = KBUF_INIT(64 * 1024);
	int rc = kfile_read(path, &b, e);

	if (!rc && (rc = pubfile_parse((const char *)b.p, b.len, p, e)))
		snprintf(e->what, sizeof e->what, "%s", path);
	kbuf_free(&b);
	return rc;
}

int pubfile_load_minisign(const char *path, struct ms_pubkey *pk,
			  struct kerr *e)
{
	struct kbuf b = KBUF_INIT(64 * 1024);
	struct pubfile p;
	int rc = kfile_read(path, &b, e);

	if (rc)
		goto out;
	if (b.len >= strlen(MAGIC) && memcmp(b.p, MAGIC, strlen(MAGIC)) == 0) {
		rc = pubfile_parse((const char *)b.p, b.len, &p, e);
		if (!rc)
			*pk = p.ms;
	} else {
		rc = ms_pubkey_parse((const char *)b.p, b.len, pk, e);
	}
	if (rc)
		snprintf(e->what, sizeof e->what, "%s", path);
out:
	kbuf_free(&b);
	return rc;
}
