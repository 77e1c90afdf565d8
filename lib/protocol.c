/*
 * protocol — load, check and model a protocol file.
 *
 * One pass over the JSON both checks it and fills the model: every getter
 * reports a problem at its JSON path and returns a neutral value, so the
 * pass always completes and the user sees every error at once.  The model
 * is returned only if no error was found.  Strings in the model point into
 * the jansson document, which the model owns.
 */
#include "protocol.h"

#include <ctype.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "agekey.h"
#include "kfile.h"
#include "norm.h"
#include "psel.h"
#include "banned.h"

#define PATH_MAX_LEN 192

/* ------------------------------------------------------------------ */
/* names                                                               */

static const char *const type_names[] = {
	"text", "email", "phone", "date", "int", "enum", "bool",
};
static const char *const category_names[] = { "identifying", "attribute" };
static const char *const on_invalid_names[] = { "reject", "blank" };
static const char *const role_names[] = {
	"custodian", "researcher", "dpo", "admin",
};
static const char *const perm_names[PP_COUNT] = {
	"receive", "reidentify", "query", "stats", "survey", "quality",
	"incident", "disclose", "backup", "purge", "audit", "evidence",
	"users",
};
static const char *const periodicity_names[] = {
	"once", "daily", "weekly", "monthly", "quarterly", "yearly",
};
static const char *const ground_names[] = {
	"consent", "contract", "legal_obligation", "vital_interests",
	"public_task", "legitimate_interests",
};
static const char *const kind_names[] = {
	"scientific_research", "statistics", "historical_research",
	"public_task", "service", "policy",
};
static const char *const method_names[] = { "age+minisign" };
static const char *const channel_names[] = { "email", "file" };
static const char *const from_names[] = { "receipt", "transfer" };
static const char *const after_names[] = { "destroy", "aggregate_only" };
static const char *const onward_names[] = {
	"forbidden", "prior_notice", "allowed",
};

#define N(a) (sizeof(a) / sizeof *(a))

const char *pfield_type_name(enum pfield_type t)
{
	return (size_t)t < N(type_names) ? type_names[t] : "?";
}

const char *prole_name_str(enum prole_name r)
{
	return (size_t)r < N(role_names) ? role_names[r] : "?";
}

const char *pperm_name(unsigned bit)
{
	for (unsigned i = 0; i < PP_COUNT; i++)
		if (bit == 1u << i)
			return perm_names[i];
	return "?";
}

const char *pperiodicity_name(enum pperiodicity p)
{
	return (size_t)p < N(periodicity_names) ? periodicity_names[p] : "?";
}

/* ------------------------------------------------------------------ */
/* checking helpers                                                    */

struct ck {
	struct pdiag *d;
	struct protocol *p;
};

/* Paths are cut with "..." rather than overflow; hostile nesting is
 * refused long before that matters. */
static void cut(char *out, int n)
{
	if (n < 0 || n >= PATH_MAX_LEN)
		memcpy(out + PATH_MAX_LEN - 4, "...", 4);
}

static void subpath(char *out, const char *base, const char *key)
{
	cut(out, snprintf(out, PATH_MAX_LEN, "%s.%s", base, key));
}

static void idxpath(char *out, const char *base, size_t i)
{
	cut(out, snprintf(out, PATH_MAX_LEN, "%s[%zu]", base, i));
}

static const char *json_kind(json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT: return "an object";
	case JSON_ARRAY: return "an array";
	case JSON_STRING: return "a string";
	case JSON_INTEGER: return "an integer";
	case JSON_REAL: return "a fractional number";
	case JSON_TRUE:
	case JSON_FALSE: return "a boolean";
	case JSON_NULL: return "null";
	}
	return "?";
}

/* Report keys of obj not in allowed[] (x_ extensions are fine). */
static void check_keys(struct ck *c, const char *path, json_t *obj,
		       const char *const *allowed, size_t n)
{
	const char *key;
	json_t *v;

	json_object_foreach(obj, key, v) {
		bool ok = strncmp(key, "x_", 2) == 0;
		char p[PATH_MAX_LEN];

		for (size_t i = 0; !ok && i < n; i++)
			ok = strcmp(key, allowed[i]) == 0;
		if (!ok) {
			subpath(p, path, key);
			pdiag_error(c->d, p, "unknown key \"%s\"", key);
		}
	}
}

/* Valid UTF-8 without control characters (line feeds allowed if text). */
static bool clean_string(const char *s, size_t len, bool text)
{
	utf8proc_ssize_t i = 0;

	while ((size_t)i < len) {
		utf8proc_int32_t cp;
		utf8proc_ssize_t n = utf8proc_iterate((const utf8proc_uint8_t *)s + i,
						      (utf8proc_ssize_t)len - i, &cp);
		if (n <= 0)
			return false;
		if ((cp < 0x20 && !(text && cp == '\n')) || cp == 0x7f ||
		    (cp >= 0x80 && cp < 0xa0))
			return false;
		i += n;
	}
	return true;
}

/* The member `key` of obj with its path in p; NULL if absent (reported
 * as missing when required). */
static json_t *member(struct ck *c, const char *path, json_t *obj,
		      const char *key, bool required, char *p)
{
	json_t *v = json_object_get(obj, key);

	subpath(p, path, key);
	if (!v && required)
		pdiag_error(c->d, p, "missing");
	return v;
}

enum {
	OPT = 0,          /* optional */
	REQ = 1 << 0,     /* required */
	EMPTY_OK = 1 << 1, /* "" allowed */
	TEXT = 1 << 2,    /* free text: line feeds allowed */
};

/* A string member; NULL (and a report) if missing or wrong.  Optional
 * members that are absent return `dflt` without a report. */
static const char *get_str(struct ck *c, const char *path, json_t *obj,
			   const char *key, int flags, const char *dflt)
{
	char p[PATH_MAX_LEN];
	const char *s;
	json_t *v = member(c, path, obj, key, flags & REQ, p);

	if (!v)
		return dflt;
	if (!json_is_string(v)) {
		pdiag_error(c->d, p, "must be a string, not %s", json_kind(v));
		return dflt;
	}
	s = json_string_value(v);
	if (!clean_string(s, json_string_length(v), flags & TEXT)) {
		pdiag_error(c->d, p, "invalid UTF-8 or a control character");
		return dflt;
	}
	if (!*s && !(flags & EMPTY_OK)) {
		pdiag_error(c->d, p, "must not be empty");
		return dflt;
	}
	return s;
}

static bool get_bool(struct ck *c, const char *path, json_t *obj,
		     const char *key, bool required, bool dflt)
{
	char p[PATH_MAX_LEN];
	json_t *v = member(c, path, obj, key, required, p);

	if (!v)
		return dflt;
	if (!json_is_boolean(v)) {
		pdiag_error(c->d, p, "must be true or false, not %s", json_kind(v));
		return dflt;
	}
	return json_is_true(v);
}

/* An integer in [lo, hi]; returns false (with a report if required or
 * wrong) when absent or invalid. */
static bool get_int(struct ck *c, const char *path, json_t *obj,
		    const char *key, bool required, long long lo, long long hi,
		    long long *out)
{
	char p[PATH_MAX_LEN];
	json_t *v = member(c, path, obj, key, required, p);

	if (!v)
		return false;
	if (!json_is_integer(v)) {
		pdiag_error(c->d, p, "must be an integer, not %s", json_kind(v));
		return false;
	}
	*out = json_integer_value(v);
	if (*out < lo || *out > hi) {
		pdiag_error(c->d, p, "must be between %lld and %lld", lo, hi);
		return false;
	}
	return true;
}

/* One of names[]; -1 if absent or invalid (reported if required/wrong). */
static int get_enum(struct ck *c, const char *path, json_t *obj,
		    const char *key, bool required, const char *const *names,
		    size_t n)
{
	const char *s = get_str(c, path, obj, key, required ? REQ : OPT, NULL);
	char p[PATH_MAX_LEN], list[256] = "";

	if (!s)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (strcmp(s, names[i]) == 0)
			return (int)i;
	for (size_t i = 0; i < n; i++) {
		size_t l = strlen(list);
		snprintf(list + l, sizeof list - l, "%s%s", i ? ", " : "",
			 names[i]);
	}
	subpath(p, path, key);
	pdiag_error(c->d, p, "unknown value \"%s\" (expected %s)", s, list);
	return -1;
}

/* Days in a month of the Gregorian calendar. */
static int month_days(int y, int m)
{
	static const int days[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	return m == 2 && leap ? 29 : days[m - 1];
}

static bool iso_date(const char *s)
{
	int y, m, d;

	if (strlen(s) != 10 || s[4] != '-' || s[7] != '-')
		return false;
	for (int i = 0; i < 10; i++)
		if (i != 4 && i != 7 && !isdigit((unsigned char)s[i]))
			return false;
	y = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0');
	m = (s[5] - '0') * 10 + (s[6] - '0');
	d = (s[8] - '0') * 10 + (s[9] - '0');
	return y >= 1800 && y <= 2200 && m >= 1 && m <= 12 && d >= 1 &&
	       d <= month_days(y, m);
}

/* A date member ("" allowed with EMPTY_OK). */
static const char *get_date(struct ck *c, const char *path, json_t *obj,
			    const char *key, int flags)
{
	const char *s = get_str(c, path, obj, key, flags | EMPTY_OK, NULL);
	char p[PATH_MAX_LEN];

	if (!s || (!*s && (flags & EMPTY_OK)))
		return s;
	if (!*s || !iso_date(s)) {
		subpath(p, path, key);
		pdiag_error(c->d, p, "not a date YYYY-MM-DD");
		return NULL;
	}
	return s;
}

/* ISO 8601 duration with one unit: PnY, PnM, PnD, PTnH. */
static bool parse_duration(const char *s, struct pduration *out)
{
	const char *q = s;
	unsigned long n = 0;
	bool hours = false, digits = false;

	if (*q++ != 'P')
		return false;
	if (*q == 'T') {
		hours = true;
		q++;
	}
	while (isdigit((unsigned char)*q)) {
		n = n * 10 + (unsigned long)(*q++ - '0');
		digits = true;
		if (n > 100000)
			return false;
	}
	if (!digits)
		return false;
	if (hours ? *q != 'H' : (*q != 'Y' && *q != 'M' && *q != 'D'))
		return false;
	if (q[1])
		return false;
	out->unit = *q;
	out->n = (unsigned)n;
	out->iso = s;
	return true;
}

static bool get_duration(struct ck *c, const char *path, json_t *obj,
			 const char *key, bool required, struct pduration *out)
{
	const char *s = get_str(c, path, obj, key, required ? REQ : OPT, NULL);
	char p[PATH_MAX_LEN];

	memset(out, 0, sizeof *out);
	if (!s)
		return false;
	if (!parse_duration(s, out)) {
		subpath(p, path, key);
		pdiag_error(c->d, p,
			    "not a duration (PnY, PnM, PnD or PTnH; P0D = at once)");
		memset(out, 0, sizeof *out);
		return false;
	}
	return true;
}

static bool is_ident(const char *s)
{
	size_t n = strlen(s);

	if (n < 1 || n > 64 || !(s[0] >= 'a' && s[0] <= 'z'))
		return false;
	for (size_t i = 1; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || isdigit((unsigned char)s[i]) ||
		      s[i] == '_' || s[i] == '-'))
			return false;
	return true;
}

static const char *get_ident(struct ck *c, const char *path,
			     json_t *obj, const char *key)
{
	const char *s = get_str(c, path, obj, key, REQ, NULL);
	char p[PATH_MAX_LEN];

	if (s && !is_ident(s)) {
		subpath(p, path, key);
		pdiag_error(c->d, p,
			    "\"%s\" is not an identifier ([a-z][a-z0-9_-], at most 64)",
			    s);
		return NULL;
	}
	return s;
}

static json_t *get_object(struct ck *c, const char *path, json_t *obj,
			  const char *key, bool required)
{
	char p[PATH_MAX_LEN];
	json_t *v = member(c, path, obj, key, required, p);

	if (!v)
		return NULL;
	if (!json_is_object(v)) {
		pdiag_error(c->d, p, "must be an object, not %s", json_kind(v));
		return NULL;
	}
	return v;
}

static json_t *get_array(struct ck *c, const char *path, json_t *obj,
			 const char *key, bool required, bool nonempty)
{
	char p[PATH_MAX_LEN];
	json_t *v = member(c, path, obj, key, required, p);

	if (!v)
		return NULL;
	if (!json_is_array(v)) {
		pdiag_error(c->d, p, "must be an array, not %s", json_kind(v));
		return NULL;
	}
	if (nonempty && json_array_size(v) == 0) {
		pdiag_error(c->d, p, "must not be empty");
		return NULL;
	}
	return v;
}

/* An array element that must be an object. */
static json_t *elem_object(struct ck *c, const char *path, json_t *arr,
			   size_t i, char *p)
{
	json_t *v = json_array_get(arr, i);

	idxpath(p, path, i);
	if (!json_is_object(v)) {
		pdiag_error(c->d, p, "must be an object, not %s", json_kind(v));
		return NULL;
	}
	return v;
}

/* An array of strings as a NULL-free pointer list (into the document). */
static const char **get_strings(struct ck *c, const char *path,
				json_t *obj, const char *key,
				bool required, bool nonempty, size_t *n)
{
	json_t *arr = get_array(c, path, obj, key, required, nonempty);
	char p[PATH_MAX_LEN], q[PATH_MAX_LEN];
	const char **out;

	*n = 0;
	if (!arr || json_array_size(arr) == 0)
		return NULL;
	out = calloc(json_array_size(arr), sizeof *out);
	if (!out) {
		pdiag_error(c->d, path, "out of memory");
		return NULL;
	}
	subpath(p, path, key);
	for (size_t i = 0; i < json_array_size(arr); i++) {
		json_t *v = json_array_get(arr, i);
		idxpath(q, p, i);
		if (!json_is_string(v) ||
		    !clean_string(json_string_value(v), json_string_length(v),
				  false) ||
		    !*json_string_value(v)) {
			pdiag_error(c->d, q, "must be a non-empty one-line string");
			continue;
		}
		out[(*n)++] = json_string_value(v);
	}
	return out;
}

/* ------------------------------------------------------------------ */
/* match keys                                                          */

/* The match key of s, allocated; NULL (with a report at path) if s has no
 * letter or digit or is not valid UTF-8. */
static char *match_key(struct ck *c, const char *path, const char *s)
{
	struct kbuf b = KBUF_INIT(4096);
	const char *why = NULL;
	char *k = NULL;
	int rc = norm_match_key(s, strlen(s), &b, &why);

	if (rc == NORM_OK)
		k = strdup((const char *)b.p);
	else if (rc == NORM_EMPTY)
		pdiag_error(c->d, path, "\"%s\" has no letter or digit to match on", s);
	else
		pdiag_error(c->d, path, "cannot be matched: %s", why ? why : "invalid");
	kbuf_free(&b);
	return k;
}

static void free_keys(char **keys, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(keys[i]);
	free(keys);
}

/* Append a key unless already there (a label equal to the name is fine). */
static void add_key(char ***keys, size_t *n, char *k)
{
	char **nk;

	if (!k)
		return;
	for (size_t i = 0; i < *n; i++)
		if (strcmp((*keys)[i], k) == 0) {
			free(k);
			return;
		}
	nk = realloc(*keys, (*n + 1) * sizeof *nk);
	if (!nk) {
		free(k);
		return;
	}
	nk[(*n)++] = k;
	*keys = nk;
}

/* ------------------------------------------------------------------ */
/* parties                                                             */

static void check_party(struct ck *c, const char *path, json_t *o,
			struct pparty *pp, bool recipient)
{
	static const char *const keys_disc[] = {
		"name", "legal_name", "address", "representative",
		"description", "dpo", "keys",
	};
	static const char *const keys_rcpt[] = {
		"name", "legal_name", "address", "representative",
		"description", "dpo", "keys", "services",
	};
	static const char *const rep_keys[] = { "name", "function" };
	static const char *const dpo_keys[] = { "name", "email", "advice_date" };
	static const char *const key_keys[] = { "age", "minisign" };
	char p[PATH_MAX_LEN], q[PATH_MAX_LEN];
	json_t *v;
	struct kerr e;

	if (recipient)
		check_keys(c, path, o, keys_rcpt, N(keys_rcpt));
	else
		check_keys(c, path, o, keys_disc, N(keys_disc));
	pp->name = get_str(c, path, o, "name", REQ, "");
	pp->legal_name = get_str(c, path, o, "legal_name", REQ, "");
	pp->address = get_str(c, path, o, "address", REQ, "");
	pp->description = get_str(c, path, o, "description", REQ | TEXT, "");
	subpath(p, path, "representative");
	if ((v = get_object(c, path, o, "representative", true))) {
		check_keys(c, p, v, rep_keys, N(rep_keys));
		pp->rep_name = get_str(c, p, v, "name", REQ, "");
		pp->rep_function = get_str(c, p, v, "function", REQ, "");
	} else {
		pp->rep_name = pp->rep_function = "";
	}
	subpath(p, path, "dpo");
	pp->dpo_name = pp->dpo_email = pp->dpo_advice_date = "";
	if ((v = get_object(c, path, o, "dpo", true))) {
		check_keys(c, p, v, dpo_keys, N(dpo_keys));
		pp->dpo_name = get_str(c, p, v, "name", REQ, "");
		pp->dpo_email = get_str(c, p, v, "email", REQ | EMPTY_OK, "");
		pp->dpo_advice_date = get_date(c, p, v, "advice_date", REQ | EMPTY_OK);
		if (!pp->dpo_advice_date)
			pp->dpo_advice_date = "";
		if (!*pp->dpo_email) {
			subpath(q, p, "email");
			pdiag_warning(c->d, q,
				      "empty: incident and breach notices need the DPO's address");
		} else if (!strchr(pp->dpo_email, '@')) {
			subpath(q, p, "email");
			pdiag_error(c->d, q, "not an e-mail address");
		}
	}
	subpath(p, path, "keys");
	pp->age_recipient = pp->minisign_key = "";
	if ((v = get_object(c, path, o, "keys", true))) {
		check_keys(c, p, v, key_keys, N(key_keys));
		pp->age_recipient = get_str(c, p, v, "age", REQ | EMPTY_OK, "");
		pp->minisign_key = get_str(c, p, v, "minisign", REQ | EMPTY_OK, "");
		kerr_clear(&e);
		if (*pp->age_recipient &&
		    agekey_recipient_decode(pp->age_recipient,
					    strlen(pp->age_recipient),
					    pp->age_pk, &e) != 0) {
			subpath(q, p, "age");
			pdiag_error(c->d, q, "invalid age recipient: %s", e.why);
		} else if (*pp->minisign_key &&
			   ms_pubkey_decode(pp->minisign_key,
					    strlen(pp->minisign_key), &pp->ms,
					    &e) != 0) {
			subpath(q, p, "minisign");
			pdiag_error(c->d, q, "invalid minisign public key: %s", e.why);
		} else if (*pp->age_recipient && *pp->minisign_key) {
			pp->has_keys = true;
		} else {
			pdiag_warning(c->d, p,
				      "%s keys not set: run kluis protocol set-keys before export or receive",
				      recipient ? "recipient" : "discloser");
		}
	}
	if (recipient) {
		json_t *arr = get_array(c, path, o, "services", true, true);
		struct protocol *pr = c->p;

		subpath(p, path, "services");
		if (arr) {
			pr->services = calloc(json_array_size(arr),
					      sizeof *pr->services);
			for (size_t i = 0; pr->services && i < json_array_size(arr); i++) {
				static const char *const svc_keys[] = { "id", "name" };
				json_t *s = elem_object(c, p, arr, i, q);
				const char *id;

				if (!s)
					continue;
				check_keys(c, q, s, svc_keys, N(svc_keys));
				id = get_ident(c, q, s, "id");
				for (size_t j = 0; id && j < pr->n_services; j++)
					if (strcmp(pr->services[j].id, id) == 0) {
						char r[PATH_MAX_LEN];
						subpath(r, q, "id");
						pdiag_error(c->d, r,
							    "duplicate service id \"%s\"", id);
						id = NULL;
					}
				if (!id)
					continue;
				pr->services[pr->n_services].id = id;
				pr->services[pr->n_services].name =
					get_str(c, q, s, "name", REQ, "");
				pr->n_services++;
			}
		}
	}
}

/* ------------------------------------------------------------------ */
/* fields                                                              */

static const char *const default_true[] = {
	"ja", "j", "yes", "y", "waar", "true", "1", "x",
};
static const char *const default_false[] = {
	"nee", "n", "no", "onwaar", "false", "0",
};

static void field_free(struct pfield *f)
{
	free_keys(f->header_keys, f->n_header_keys);
	for (size_t i = 0; i < f->n_values; i++)
		free_keys(f->values[i].keys, f->values[i].n_keys);
	free(f->values);
	free_keys(f->true_keys, f->n_true);
	free_keys(f->false_keys, f->n_false);
	memset(f, 0, sizeof *f);
}

static void check_enum(struct ck *c, const char *path, json_t *o,
		       struct pfield *f)
{
	json_t *arr = get_array(c, path, o, "values", true, true);
	char p[PATH_MAX_LEN], q[PATH_MAX_LEN], r[PATH_MAX_LEN];

	if (!arr)
		return;
	subpath(p, path, "values");
	f->values = calloc(json_array_size(arr), sizeof *f->values);
	if (!f->values)
		return;
	for (size_t i = 0; i < json_array_size(arr); i++) {
		json_t *v = json_array_get(arr, i);
		struct penum_value *ev = &f->values[f->n_values];
		const char **aliases = NULL;
		size_t na = 0;

		idxpath(q, p, i);
		if (json_is_string(v)) {
			ev->value = json_string_value(v);
			if (!*ev->value || !clean_string(ev->value,
							 json_string_length(v),
							 false)) {
				pdiag_error(c->d, q, "must be a non-empty one-line string");
				continue;
			}
			ev->label = ev->value;
		} else if (json_is_object(v)) {
			static const char *const ev_keys[] = {
				"value", "label", "aliases",
			};
			check_keys(c, q, v, ev_keys, N(ev_keys));
			ev->value = get_str(c, q, v, "value", REQ, NULL);
			if (!ev->value)
				continue;
			ev->label = get_str(c, q, v, "label", OPT, ev->value);
			aliases = get_strings(c, q, v, "aliases", false, false, &na);
		} else {
			pdiag_error(c->d, q, "must be a string or an object, not %s",
				    json_kind(v));
			continue;
		}
		for (size_t j = 0; j < f->n_values; j++)
			if (strcmp(f->values[j].value, ev->value) == 0)
				pdiag_error(c->d, q, "duplicate value \"%s\"", ev->value);
		add_key(&ev->keys, &ev->n_keys, match_key(c, q, ev->value));
		add_key(&ev->keys, &ev->n_keys, match_key(c, q, ev->label));
		subpath(r, q, "aliases");
		for (size_t j = 0; j < na; j++)
			add_key(&ev->keys, &ev->n_keys, match_key(c, r, aliases[j]));
		free(aliases);
		/* Every spelling must lead to exactly one value. */
		for (size_t j = 0; j < f->n_values; j++)
			for (size_t a = 0; a < f->values[j].n_keys; a++)
				for (size_t b = 0; b < ev->n_keys; b++)
					if (strcmp(f->values[j].keys[a],
						   ev->keys[b]) == 0)
						pdiag_error(c->d, q,
							    "matches the same spelling as value \"%s\" (\"%s\")",
							    f->values[j].value,
							    ev->keys[b]);
		f->n_values++;
	}
}

static void bool_words(struct ck *c, const char *path, json_t *o,
		       const char *key, const char *const *dflt, size_t ndflt,
		       char ***keys, size_t *n, const char **first)
{
	size_t na = 0;
	const char **words = get_strings(c, path, o, key, false, true, &na);
	char p[PATH_MAX_LEN];

	subpath(p, path, key);
	if (!words) {
		for (size_t i = 0; i < ndflt; i++)
			add_key(keys, n, match_key(c, p, dflt[i]));
		*first = dflt[0];
		return;
	}
	for (size_t i = 0; i < na; i++)
		add_key(keys, n, match_key(c, p, words[i]));
	*first = words[0];
	free(words);
}

static void check_field(struct ck *c, const char *path, json_t *o,
			struct pfield *f)
{
	static const char *const common[] = {
		"name", "label", "description", "type", "category", "required",
		"on_invalid", "aliases",
	};
	static const char *const extra_text[] = { "max_length" };
	static const char *const extra_range[] = { "min", "max" };
	static const char *const extra_phone[] = { "region" };
	static const char *const extra_enum[] = { "values" };
	static const char *const extra_bool[] = { "true_values", "false_values" };
	const char *allowed[16];
	size_t na = 0, nal = 0;
	const char **aliases;
	char p[PATH_MAX_LEN];
	int t;

	f->name = get_ident(c, path, o, "name");
	f->label = get_str(c, path, o, "label", REQ, f->name ? f->name : "");
	f->description = get_str(c, path, o, "description", OPT | TEXT | EMPTY_OK, "");
	t = get_enum(c, path, o, "type", true, type_names, N(type_names));
	f->type = t < 0 ? PF_TEXT : (enum pfield_type)t;
	t = get_enum(c, path, o, "category", true, category_names,
		     N(category_names));
	f->category = t == 0 ? PF_IDENTIFYING : PF_ATTRIBUTE;
	f->required = get_bool(c, path, o, "required", true, false);
	t = get_enum(c, path, o, "on_invalid", true, on_invalid_names,
		     N(on_invalid_names));
	f->blank_invalid = t == 1;
	if (f->required && f->blank_invalid) {
		subpath(p, path, "on_invalid");
		pdiag_error(c->d, p,
			    "a required field cannot be blanked; use \"reject\"");
	}

	/* Keys allowed depend on the type. */
	for (size_t i = 0; i < N(common); i++)
		allowed[na++] = common[i];
	switch (f->type) {
	case PF_TEXT:
		allowed[na++] = extra_text[0];
		break;
	case PF_INT:
	case PF_DATE:
		allowed[na++] = extra_range[0];
		allowed[na++] = extra_range[1];
		break;
	case PF_PHONE:
		allowed[na++] = extra_phone[0];
		break;
	case PF_ENUM:
		allowed[na++] = extra_enum[0];
		break;
	case PF_BOOL:
		allowed[na++] = extra_bool[0];
		allowed[na++] = extra_bool[1];
		break;
	case PF_EMAIL:
		break;
	}
	if (t >= 0 || json_object_get(o, "type"))
		check_keys(c, path, o, allowed, na);

	switch (f->type) {
	case PF_TEXT: {
		long long v = 500;
		get_int(c, path, o, "max_length", false, 1, 10000, &v);
		f->max_length = (size_t)v;
		break;
	}
	case PF_INT:
		f->has_min = get_int(c, path, o, "min", false, -1000000000000LL,
				     1000000000000LL, &f->min);
		f->has_max = get_int(c, path, o, "max", false, -1000000000000LL,
				     1000000000000LL, &f->max);
		if (f->has_min && f->has_max && f->min > f->max) {
			subpath(p, path, "min");
			pdiag_error(c->d, p, "greater than max");
		}
		break;
	case PF_DATE: {
		const char *lo = get_date(c, path, o, "min", OPT);
		const char *hi = get_date(c, path, o, "max", OPT);
		if (lo)
			snprintf(f->date_min, sizeof f->date_min, "%s", lo);
		if (hi)
			snprintf(f->date_max, sizeof f->date_max, "%s", hi);
		if (lo && hi && strcmp(lo, hi) > 0) {
			subpath(p, path, "min");
			pdiag_error(c->d, p, "later than max");
		}
		break;
	}
	case PF_PHONE:
		f->region = get_str(c, path, o, "region", OPT, "BE");
		if (f->region && strcmp(f->region, "BE") != 0) {
			subpath(p, path, "region");
			pdiag_error(c->d, p, "unknown region \"%s\" (only BE is known)",
				    f->region);
		}
		break;
	case PF_ENUM:
		check_enum(c, path, o, f);
		break;
	case PF_BOOL:
		bool_words(c, path, o, "true_values", default_true,
			   N(default_true), &f->true_keys, &f->n_true,
			   &f->true_value);
		bool_words(c, path, o, "false_values", default_false,
			   N(default_false), &f->false_keys, &f->n_false,
			   &f->false_value);
		for (size_t i = 0; i < f->n_true; i++)
			for (size_t j = 0; j < f->n_false; j++)
				if (strcmp(f->true_keys[i], f->false_keys[j]) == 0) {
					subpath(p, path, "false_values");
					pdiag_error(c->d, p,
						    "\"%s\" is both true and false",
						    f->false_keys[j]);
				}
		break;
	case PF_EMAIL:
		break;
	}

	/* Header keys: name, label and aliases. */
	if (f->name)
		add_key(&f->header_keys, &f->n_header_keys,
			match_key(c, path, f->name));
	if (f->label && *f->label)
		add_key(&f->header_keys, &f->n_header_keys,
			match_key(c, path, f->label));
	aliases = get_strings(c, path, o, "aliases", false, false, &nal);
	subpath(p, path, "aliases");
	for (size_t i = 0; i < nal; i++) {
		char q[PATH_MAX_LEN];
		idxpath(q, p, i);
		add_key(&f->header_keys, &f->n_header_keys,
			match_key(c, q, aliases[i]));
	}
	free(aliases);
}

static void check_fields(struct ck *c, json_t *root)
{
	struct protocol *p = c->p;
	json_t *arr = get_array(c, "$", root, "fields", true, true);
	char q[PATH_MAX_LEN];

	if (!arr)
		return;
	p->fields = calloc(json_array_size(arr), sizeof *p->fields);
	if (!p->fields)
		return;
	for (size_t i = 0; i < json_array_size(arr); i++) {
		struct pfield *f = &p->fields[p->n_fields];
		json_t *o = elem_object(c, "$.fields", arr, i, q);

		if (!o)
			continue;
		check_field(c, q, o, f);
		if (!f->name) {
			field_free(f);
			continue;
		}
		for (size_t j = 0; j < p->n_fields; j++) {
			const struct pfield *g = &p->fields[j];
			char r[PATH_MAX_LEN];

			if (strcmp(g->name, f->name) == 0) {
				subpath(r, q, "name");
				pdiag_error(c->d, r, "duplicate field name \"%s\"",
					    f->name);
				continue;
			}
			/* A column header must lead to one field only. */
			for (size_t a = 0; a < f->n_header_keys; a++)
				for (size_t b = 0; b < g->n_header_keys; b++)
					if (strcmp(f->header_keys[a],
						   g->header_keys[b]) == 0) {
						subpath(r, q, "aliases");
						pdiag_error(c->d, r,
							    "a column named like \"%s\" would match both \"%s\" and \"%s\"",
							    f->header_keys[a],
							    g->name, f->name);
					}
		}
		f->index = p->n_fields++;
	}
}

/* ------------------------------------------------------------------ */
/* the rest of the document                                            */

static void check_legal(struct ck *c, json_t *root)
{
	static const char *const lb_keys[] = {
		"ground", "text", "original_purpose", "compatibility",
	};
	static const char *const op_keys[] = { "name", "reference", "description" };
	static const char *const pu_keys[] = { "id", "description", "kinds" };
	static const char *const data_keys[] = {
		"subjects", "proportionality", "special_categories",
		"special_categories_text",
	};
	char p[PATH_MAX_LEN], q[PATH_MAX_LEN];
	json_t *o, *arr;

	if ((o = get_object(c, "$", root, "legal_basis", true))) {
		check_keys(c, "$.legal_basis", o, lb_keys, N(lb_keys));
		get_enum(c, "$.legal_basis", o, "ground", true, ground_names,
			 N(ground_names));
		get_str(c, "$.legal_basis", o, "text", OPT | TEXT, NULL);
		get_str(c, "$.legal_basis", o, "compatibility", OPT | TEXT, NULL);
		if ((o = get_object(c, "$.legal_basis", o, "original_purpose", true))) {
			check_keys(c, "$.legal_basis.original_purpose", o, op_keys,
				   N(op_keys));
			get_str(c, "$.legal_basis.original_purpose", o, "name", REQ, NULL);
			get_str(c, "$.legal_basis.original_purpose", o, "reference",
				OPT, NULL);
			get_str(c, "$.legal_basis.original_purpose", o, "description",
				OPT | TEXT, NULL);
		}
	}
	if ((arr = get_array(c, "$", root, "purposes", true, true))) {
		for (size_t i = 0; i < json_array_size(arr); i++) {
			size_t nk = 0;
			const char **kinds;

			if (!(o = elem_object(c, "$.purposes", arr, i, p)))
				continue;
			check_keys(c, p, o, pu_keys, N(pu_keys));
			get_ident(c, p, o, "id");
			get_str(c, p, o, "description", REQ | TEXT, NULL);
			kinds = get_strings(c, p, o, "kinds", true, true, &nk);
			subpath(q, p, "kinds");
			for (size_t k = 0; k < nk; k++) {
				bool ok = false;
				for (size_t j = 0; j < N(kind_names); j++)
					ok = ok || strcmp(kinds[k], kind_names[j]) == 0;
				if (!ok) {
					char r[PATH_MAX_LEN];
					idxpath(r, q, k);
					pdiag_error(c->d, r, "unknown purpose kind \"%s\"",
						    kinds[k]);
				}
			}
			free(kinds);
		}
	}
	if ((o = get_object(c, "$", root, "data", true))) {
		bool special;

		check_keys(c, "$.data", o, data_keys, N(data_keys));
		get_str(c, "$.data", o, "subjects", REQ, NULL);
		get_str(c, "$.data", o, "proportionality", REQ | TEXT, NULL);
		special = get_bool(c, "$.data", o, "special_categories", true, false);
		get_str(c, "$.data", o, "special_categories_text",
			(special ? REQ : OPT) | TEXT, NULL);
	}
}

static void check_transfer(struct ck *c, json_t *root)
{
	static const char *const tr_keys[] = {
		"periodicity", "method", "channel", "description", "end",
	};
	static const char *const re_keys[] = {
		"period", "from", "justification", "after",
	};
	static const char *const ac_keys[] = { "need_to_know", "onward_disclosure" };
	struct protocol *p = c->p;
	json_t *o;
	int t;

	if ((o = get_object(c, "$", root, "transfer", true))) {
		check_keys(c, "$.transfer", o, tr_keys, N(tr_keys));
		t = get_enum(c, "$.transfer", o, "periodicity", true,
			     periodicity_names, N(periodicity_names));
		p->periodicity = t < 0 ? PPER_ONCE : (enum pperiodicity)t;
		t = get_enum(c, "$.transfer", o, "method", true, method_names,
			     N(method_names));
		p->method = t < 0 ? "" : method_names[t];
		t = get_enum(c, "$.transfer", o, "channel", true, channel_names,
			     N(channel_names));
		p->channel = t < 0 ? "" : channel_names[t];
		get_str(c, "$.transfer", o, "description", OPT | TEXT, NULL);
		if (get_date(c, "$.transfer", o, "end", OPT) &&
		    p->periodicity == PPER_ONCE)
			pdiag_error(c->d, "$.transfer.end",
				    "an end date needs a recurring periodicity");
	}
	if ((o = get_object(c, "$", root, "retention", true))) {
		check_keys(c, "$.retention", o, re_keys, N(re_keys));
		if (get_duration(c, "$.retention", o, "period", true,
				 &p->retention) && p->retention.n == 0)
			pdiag_error(c->d, "$.retention.period", "must be longer than 0");
		t = get_enum(c, "$.retention", o, "from", true, from_names,
			     N(from_names));
		p->retention_from_receipt = t != 1;
		get_str(c, "$.retention", o, "justification", REQ | TEXT, NULL);
		t = get_enum(c, "$.retention", o, "after", true, after_names,
			     N(after_names));
		p->retention_aggregate_only = t == 1;
	}
	if ((o = get_object(c, "$", root, "access", true))) {
		check_keys(c, "$.access", o, ac_keys, N(ac_keys));
		p->need_to_know = get_bool(c, "$.access", o, "need_to_know", true,
					   true);
		t = get_enum(c, "$.access", o, "onward_disclosure", true,
			     onward_names, N(onward_names));
		p->onward = t < 0 ? PONWARD_FORBIDDEN : (enum ponward)t;
	}
}

static void check_roles(struct ck *c, json_t *root)
{
	static const char *const ro_keys[] = {
		"name", "description", "services", "permissions",
	};
	struct protocol *p = c->p;
	json_t *arr = get_array(c, "$", root, "roles", true, true);
	char q[PATH_MAX_LEN], r[PATH_MAX_LEN];

	if (!arr)
		return;
	for (size_t i = 0; i < json_array_size(arr); i++) {
		json_t *o = elem_object(c, "$.roles", arr, i, q);
		const char **perms, **svcs;
		size_t np = 0, ns = 0;
		struct prole *role;
		int t;

		if (!o)
			continue;
		check_keys(c, q, o, ro_keys, N(ro_keys));
		t = get_enum(c, q, o, "name", true, role_names, N(role_names));
		perms = get_strings(c, q, o, "permissions", true, true, &np);
		svcs = get_strings(c, q, o, "services", true, false, &ns);
		if (t >= 0 && p->roles[t].defined) {
			subpath(r, q, "name");
			pdiag_error(c->d, r, "role \"%s\" defined twice", role_names[t]);
			t = -1;
		}
		role = t >= 0 ? &p->roles[t] : NULL;
		if (role) {
			role->defined = true;
			role->description = get_str(c, q, o, "description",
						    OPT | TEXT, "");
		}
		for (size_t k = 0; k < np; k++) {
			unsigned bit = 0;
			for (unsigned j = 0; j < PP_COUNT; j++)
				if (strcmp(perms[k], perm_names[j]) == 0)
					bit = 1u << j;
			if (!bit) {
				char s[PATH_MAX_LEN];
				subpath(r, q, "permissions");
				idxpath(s, r, k);
				pdiag_error(c->d, s, "unknown permission \"%s\"",
					    perms[k]);
			} else if (role) {
				role->perms |= bit;
			}
		}
		free(perms);
		for (size_t k = 0; k < ns; k++) {
			bool found = false;
			for (size_t j = 0; j < p->n_services; j++)
				found = found || strcmp(p->services[j].id, svcs[k]) == 0;
			if (!found) {
				char s[PATH_MAX_LEN];
				subpath(r, q, "services");
				idxpath(s, r, k);
				pdiag_error(c->d, s,
					    "unknown service \"%s\" (not among the recipient's services)",
					    svcs[k]);
			}
		}
		if (role) {
			role->services = svcs;
			role->n_services = ns;
		} else {
			free(svcs);
		}
	}
}

static void check_measures(struct ck *c, json_t *root)
{
	static const char *const me_keys[] = { "id", "text" };
	static const char *const pr_keys[] = {
		"name", "address", "tasks", "agreement_date",
	};
	struct protocol *p = c->p;
	json_t *arr;
	char q[PATH_MAX_LEN], r[PATH_MAX_LEN];

	if ((arr = get_array(c, "$", root, "security_measures", true, true))) {
		p->measures = calloc(json_array_size(arr), sizeof *p->measures);
		for (size_t i = 0; p->measures && i < json_array_size(arr); i++) {
			json_t *o = elem_object(c, "$.security_measures", arr, i, q);
			const char *id;

			if (!o)
				continue;
			check_keys(c, q, o, me_keys, N(me_keys));
			id = get_ident(c, q, o, "id");
			for (size_t j = 0; id && j < p->n_measures; j++)
				if (strcmp(p->measures[j].id, id) == 0) {
					subpath(r, q, "id");
					pdiag_error(c->d, r, "duplicate measure id \"%s\"", id);
				}
			p->measures[p->n_measures].id = id ? id : "";
			p->measures[p->n_measures].text =
				get_str(c, q, o, "text", REQ | TEXT, "");
			p->n_measures++;
		}
	}
	if ((arr = get_array(c, "$", root, "processors", true, false))) {
		for (size_t i = 0; i < json_array_size(arr); i++) {
			json_t *o = elem_object(c, "$.processors", arr, i, q);
			if (!o)
				continue;
			check_keys(c, q, o, pr_keys, N(pr_keys));
			get_str(c, q, o, "name", REQ, NULL);
			get_str(c, q, o, "address", REQ, NULL);
			get_str(c, q, o, "tasks", REQ | TEXT, NULL);
			get_date(c, q, o, "agreement_date", REQ);
			p->n_processors++;
		}
	}
}

static void check_deadlines(struct ck *c, json_t *root)
{
	static const char *const dl_keys[] = {
		"quality_report", "quality_action", "incident_controller",
		"breach_notification", "change_notification",
	};
	static const char *const dc_keys[] = { "min_cell_count", "dominance" };
	static const char *const do_keys[] = { "top", "percent" };
	static const char *const law_keys[] = { "law", "court" };
	static const char *const an_keys[] = { "title", "sections" };
	static const char *const se_keys[] = { "title", "text" };
	static const char *const su_keys[] = { "reminder_after" };
	struct protocol *p = c->p;
	json_t *o, *arr;
	long long v;
	char q[PATH_MAX_LEN];

	if ((o = get_object(c, "$", root, "deadlines", true))) {
		check_keys(c, "$.deadlines", o, dl_keys, N(dl_keys));
		get_duration(c, "$.deadlines", o, "quality_report", true,
			     &p->quality_report);
		get_duration(c, "$.deadlines", o, "quality_action", true,
			     &p->quality_action);
		get_duration(c, "$.deadlines", o, "incident_controller", true,
			     &p->incident_controller);
		get_duration(c, "$.deadlines", o, "breach_notification", true,
			     &p->breach_notification);
		get_duration(c, "$.deadlines", o, "change_notification", false,
			     &p->change_notification);
	}
	if ((o = get_object(c, "$", root, "disclosure_control", true))) {
		check_keys(c, "$.disclosure_control", o, dc_keys, N(dc_keys));
		if (get_int(c, "$.disclosure_control", o, "min_cell_count", true,
			    1, 1000000, &v))
			p->min_cell_count = (unsigned)v;
		if ((o = get_object(c, "$.disclosure_control", o, "dominance", true))) {
			check_keys(c, "$.disclosure_control.dominance", o, do_keys,
				   N(do_keys));
			if (get_int(c, "$.disclosure_control.dominance", o, "top",
				    true, 1, 100, &v))
				p->dominance_top = (unsigned)v;
			if (get_int(c, "$.disclosure_control.dominance", o,
				    "percent", true, 1, 100, &v))
				p->dominance_percent = (unsigned)v;
		}
	}
	get_str(c, "$", root, "termination", OPT | TEXT, NULL);
	if ((o = get_object(c, "$", root, "law", true))) {
		check_keys(c, "$.law", o, law_keys, N(law_keys));
		get_str(c, "$.law", o, "law", REQ, NULL);
		get_str(c, "$.law", o, "court", REQ, NULL);
	}
	if ((o = get_object(c, "$", root, "annex", false))) {
		check_keys(c, "$.annex", o, an_keys, N(an_keys));
		get_str(c, "$.annex", o, "title", REQ, NULL);
		if ((arr = get_array(c, "$.annex", o, "sections", true, true)))
			for (size_t i = 0; i < json_array_size(arr); i++) {
				json_t *s = elem_object(c, "$.annex.sections", arr, i, q);
				if (!s)
					continue;
				check_keys(c, q, s, se_keys, N(se_keys));
				get_str(c, q, s, "title", REQ, NULL);
				get_str(c, q, s, "text", REQ | TEXT, NULL);
			}
	}
	if ((o = get_object(c, "$", root, "survey", false))) {
		check_keys(c, "$.survey", o, su_keys, N(su_keys));
		get_duration(c, "$.survey", o, "reminder_after", true,
			     &p->survey_reminder);
	}
}

static void check_root(struct ck *c, json_t *root)
{
	static const char *const top_keys[] = {
		"kluis_protocol", "id", "version", "title", "context",
		"legal_framework", "signed", "parties", "recitals",
		"legal_basis", "purposes", "data", "fields", "selection",
		"transfer", "retention", "access", "roles", "security_measures",
		"processors", "deadlines", "disclosure_control", "termination",
		"law", "annex", "survey",
	};
	static const char *const signed_keys[] = { "date", "place" };
	static const char *const parties_keys[] = { "discloser", "recipient" };
	static const char *const sel_keys[] = { "rule", "description" };
	struct protocol *p = c->p;
	json_t *o, *arr;
	long long v;
	char q[PATH_MAX_LEN];

	check_keys(c, "$", root, top_keys, N(top_keys));
	if (get_int(c, "$", root, "kluis_protocol", true, 0, 1000000, &v) &&
	    v != PROTOCOL_FORMAT)
		pdiag_error(c->d, "$.kluis_protocol",
			    "format version %lld is not supported (this kluis reads %d)",
			    v, PROTOCOL_FORMAT);
	p->id = get_ident(c, "$", root, "id");
	p->version = get_str(c, "$", root, "version", REQ, "");
	p->title = get_str(c, "$", root, "title", REQ, "");
	p->context = get_str(c, "$", root, "context", OPT, "");
	p->legal_framework = get_str(c, "$", root, "legal_framework", REQ | TEXT, "");
	p->signed_date = p->signed_place = "";
	if ((o = get_object(c, "$", root, "signed", true))) {
		check_keys(c, "$.signed", o, signed_keys, N(signed_keys));
		p->signed_date = get_date(c, "$.signed", o, "date", REQ | EMPTY_OK);
		p->signed_place = get_str(c, "$.signed", o, "place", REQ, "");
		if (!p->signed_date)
			p->signed_date = "";
		else if (!*p->signed_date)
			pdiag_warning(c->d, "$.signed.date", "not signed yet");
	}
	if ((o = get_object(c, "$", root, "parties", true))) {
		json_t *d, *r;

		check_keys(c, "$.parties", o, parties_keys, N(parties_keys));
		if ((d = get_object(c, "$.parties", o, "discloser", true)))
			check_party(c, "$.parties.discloser", d, &p->discloser, false);
		if ((r = get_object(c, "$.parties", o, "recipient", true)))
			check_party(c, "$.parties.recipient", r, &p->recipient, true);
		if (d && r && *p->discloser.age_recipient &&
		    strcmp(p->discloser.age_recipient, p->recipient.age_recipient) == 0)
			pdiag_error(c->d, "$.parties.recipient.keys.age",
				    "the same key as the discloser's");
		if (d && r && *p->discloser.minisign_key &&
		    strcmp(p->discloser.minisign_key, p->recipient.minisign_key) == 0)
			pdiag_error(c->d, "$.parties.recipient.keys.minisign",
				    "the same key as the discloser's");
	}
	if ((arr = get_array(c, "$", root, "recitals", false, false)))
		for (size_t i = 0; i < json_array_size(arr); i++) {
			json_t *s = json_array_get(arr, i);
			idxpath(q, "$.recitals", i);
			if (!json_is_string(s) || !*json_string_value(s) ||
			    !clean_string(json_string_value(s), json_string_length(s),
					  true))
				pdiag_error(c->d, q, "must be a non-empty text");
		}
	check_legal(c, root);
	check_fields(c, root);
	if ((o = get_object(c, "$", root, "selection", true))) {
		json_t *rule;

		check_keys(c, "$.selection", o, sel_keys, N(sel_keys));
		get_str(c, "$.selection", o, "description", REQ | TEXT, NULL);
		rule = json_object_get(o, "rule");
		if (!rule)
			pdiag_error(c->d, "$.selection.rule", "missing");
		else if (p->fields)
			psel_compile(rule, p->fields, p->n_fields,
				     "$.selection.rule", &p->selection, c->d);
	}
	check_transfer(c, root);
	check_roles(c, root);
	check_measures(c, root);
	check_deadlines(c, root);
}

/* No fractions anywhere: the canonical form must be exact. */
static void check_no_reals(struct ck *c, json_t *v, const char *path,
			   int depth)
{
	char p[PATH_MAX_LEN];

	if (depth > 64) {
		pdiag_error(c->d, path, "nested too deeply");
		return;
	}
	if (json_is_real(v)) {
		pdiag_error(c->d, path, "fractional numbers are not allowed");
	} else if (json_is_object(v)) {
		const char *key;
		json_t *m;
		json_object_foreach(v, key, m) {
			subpath(p, path, key);
			check_no_reals(c, m, p, depth + 1);
		}
	} else if (json_is_array(v)) {
		for (size_t i = 0; i < json_array_size(v); i++) {
			idxpath(p, path, i);
			check_no_reals(c, json_array_get(v, i), p, depth + 1);
		}
	}
}

/* ------------------------------------------------------------------ */
/* canonical form and digest                                           */

static int canon_string(struct kbuf *b, const char *s, struct kerr *e)
{
	utf8proc_uint8_t *nfc = utf8proc_NFC((const utf8proc_uint8_t *)s);
	const unsigned char *q;
	int rc;

	if (!nfc)
		return kerr_set(e, KERR_FORMAT, "protocol", "invalid UTF-8");
	rc = kbuf_putc(b, '"', e);
	for (q = nfc; !rc && *q; q++) {
		switch (*q) {
		case '"': rc = kbuf_puts(b, "\\\"", e); break;
		case '\\': rc = kbuf_puts(b, "\\\\", e); break;
		case '\n': rc = kbuf_puts(b, "\\n", e); break;
		case '\t': rc = kbuf_puts(b, "\\t", e); break;
		case '\r': rc = kbuf_puts(b, "\\r", e); break;
		case '\b': rc = kbuf_puts(b, "\\b", e); break;
		case '\f': rc = kbuf_puts(b, "\\f", e); break;
		default:
			if (*q < 0x20)
				rc = kbuf_printf(b, e, "\\u%04X", *q);
			else
				rc = kbuf_putc(b, *q, e);
		}
	}
	if (!rc)
		rc = kbuf_putc(b, '"', e);
	free(nfc);
	return rc;
}

static int cmp_keys(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int canon(struct kbuf *b, json_t *v, int depth, struct kerr *e)
{
	int rc = 0;

	if (depth > 64)
		return kerr_set(e, KERR_LIMIT, "protocol", "nested too deeply");
	switch (json_typeof(v)) {
	case JSON_OBJECT: {
		size_t n = json_object_size(v), i = 0;
		const char **keys = calloc(n ? n : 1, sizeof *keys);
		const char *key;
		json_t *m;

		if (!keys)
			return kerr_set(e, KERR_NOMEM, "protocol", "out of memory");
		json_object_foreach(v, key, m)
			keys[i++] = key;
		qsort(keys, n, sizeof *keys, cmp_keys);
		rc = kbuf_putc(b, '{', e);
		for (i = 0; !rc && i < n; i++) {
			if (i)
				rc = kbuf_putc(b, ',', e);
			if (!rc)
				rc = canon_string(b, keys[i], e);
			if (!rc)
				rc = kbuf_putc(b, ':', e);
			if (!rc)
				rc = canon(b, json_object_get(v, keys[i]), depth + 1, e);
		}
		if (!rc)
			rc = kbuf_putc(b, '}', e);
		free(keys);
		return rc;
	}
	case JSON_ARRAY:
		rc = kbuf_putc(b, '[', e);
		for (size_t i = 0; !rc && i < json_array_size(v); i++) {
			if (i)
				rc = kbuf_putc(b, ',', e);
			if (!rc)
				rc = canon(b, json_array_get(v, i), depth + 1, e);
		}
		return rc ? rc : kbuf_putc(b, ']', e);
	case JSON_STRING:
		return canon_string(b, json_string_value(v), e);
	case JSON_INTEGER:
		return kbuf_printf(b, e, "%" JSON_INTEGER_FORMAT,
				   json_integer_value(v));
	case JSON_TRUE:
		return kbuf_puts(b, "true", e);
	case JSON_FALSE:
		return kbuf_puts(b, "false", e);
	case JSON_NULL:
		return kbuf_puts(b, "null", e);
	case JSON_REAL:
		break;
	}
	return kerr_set(e, KERR_FORMAT, "protocol", "fractional number");
}

static int digest(struct protocol *p, struct kerr *e)
{
	struct kbuf b = KBUF_INIT(PROTOCOL_FILE_MAX * 2);
	uint8_t h[crypto_hash_sha256_BYTES];
	int rc = canon(&b, p->doc, 0, e);

	if (!rc) {
		crypto_hash_sha256(h, b.p, b.len);
		memcpy(p->digest, "sha256:", 7);
		sodium_bin2hex(p->digest + 7, sizeof p->digest - 7, h, sizeof h);
	}
	kbuf_free(&b);
	return rc;
}

/* ------------------------------------------------------------------ */
/* public API                                                          */

void protocol_free(struct protocol *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->n_fields; i++)
		field_free(&p->fields[i]);
	free(p->fields);
	psel_free(p->selection);
	free(p->services);
	free(p->measures);
	for (int i = 0; i < PROLE_COUNT; i++)
		free(p->roles[i].services);
	json_decref(p->doc);
	free(p);
}

int protocol_parse(const char *text, size_t len, struct protocol **out,
		   struct pdiag *d, struct kerr *e)
{
	struct protocol *p;
	json_error_t jerr;
	struct ck c;

	*out = NULL;
	p = calloc(1, sizeof *p);
	if (!p)
		return kerr_set(e, KERR_NOMEM, "protocol", "out of memory");
	p->doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!p->doc) {
		pdiag_error(d, "$", "not valid JSON: line %d, column %d: %s",
			    jerr.line, jerr.column, jerr.text);
		free(p);
		return kerr_set(e, KERR_FORMAT, "protocol", "not valid JSON");
	}
	c.d = d;
	c.p = p;
	if (!json_is_object(p->doc)) {
		pdiag_error(d, "$", "must be an object, not %s", json_kind(p->doc));
	} else {
		size_t before = d->errors;

		check_no_reals(&c, p->doc, "$", 0);
		check_root(&c, p->doc);
		if (d->errors == before) {
			int rc = digest(p, e);
			if (rc) {
				protocol_free(p);
				return rc;
			}
			*out = p;
			return 0;
		}
	}
	protocol_free(p);
	return kerr_set(e, KERR_FORMAT, "protocol", "%zu error%s in the protocol",
			d->errors, d->errors == 1 ? "" : "s");
}

int protocol_load(const char *path, struct protocol **out, struct pdiag *d,
		  struct kerr *e)
{
	struct kbuf b = KBUF_INIT(PROTOCOL_FILE_MAX);
	int rc = kfile_read(path, &b, e);

	*out = NULL;
	if (!rc) {
		rc = protocol_parse((const char *)b.p, b.len, out, d, e);
		if (rc)
			snprintf(e->what, sizeof e->what, "%s", path);
	}
	kbuf_free(&b);
	return rc;
}

const struct pfield *protocol_field(const struct protocol *p, const char *name)
{
	for (size_t i = 0; i < p->n_fields; i++)
		if (strcmp(p->fields[i].name, name) == 0)
			return &p->fields[i];
	return NULL;
}

const struct pfield *protocol_field_by_header(const struct protocol *p,
					      const char *header, size_t len)
{
	struct kbuf b = KBUF_INIT(4096);
	const struct pfield *found = NULL;
	const char *why;

	if (norm_match_key(header, len, &b, &why) == NORM_OK)
		for (size_t i = 0; !found && i < p->n_fields; i++)
			for (size_t k = 0; k < p->fields[i].n_header_keys; k++)
				if (strcmp(p->fields[i].header_keys[k],
					   (const char *)b.p) == 0) {
					found = &p->fields[i];
					break;
				}
	kbuf_free(&b);
	return found;
}

bool protocol_keys_set(const struct protocol *p)
{
	return p->discloser.has_keys && p->recipient.has_keys;
}

static int set_key(json_t *root, const char *party, const char *which,
		   const char *value, struct kerr *e)
{
	json_t *o = json_object_get(root, "parties");

	o = o ? json_object_get(o, party) : NULL;
	o = o ? json_object_get(o, "keys") : NULL;
	if (!json_is_object(o))
		return kerr_set(e, KERR_FORMAT, "protocol",
				"no $.parties.%s.keys object to set", party);
	if (json_object_set_new(o, which, json_string(value)) != 0)
		return kerr_set(e, KERR_NOMEM, "protocol", "out of memory");
	return 0;
}

int protocol_set_keys(const char *text, size_t len, const char *discloser_age,
		      const char *discloser_minisign, const char *recipient_age,
		      const char *recipient_minisign, struct kbuf *out,
		      struct pdiag *d, struct kerr *e)
{
	struct protocol *check = NULL;
	json_error_t jerr;
	json_t *root;
	char *dump = NULL;
	int rc;

	root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root) {
		pdiag_error(d, "$", "not valid JSON: line %d, column %d: %s",
			    jerr.line, jerr.column, jerr.text);
		return kerr_set(e, KERR_FORMAT, "protocol", "not valid JSON");
	}
	rc = set_key(root, "discloser", "age", discloser_age, e);
	if (!rc)
		rc = set_key(root, "discloser", "minisign", discloser_minisign, e);
	if (!rc)
		rc = set_key(root, "recipient", "age", recipient_age, e);
	if (!rc)
		rc = set_key(root, "recipient", "minisign", recipient_minisign, e);
	if (!rc) {
		/* jansson keeps insertion order: the file stays as written. */
		dump = json_dumps(root, JSON_INDENT(2));
		if (!dump)
			rc = kerr_set(e, KERR_NOMEM, "protocol", "out of memory");
	}
	if (!rc)
		rc = protocol_parse(dump, strlen(dump), &check, d, e);
	if (!rc)
		rc = kbuf_puts(out, dump, e);
	if (!rc)
		rc = kbuf_putc(out, '\n', e);
	protocol_free(check);
	free(dump);
	json_decref(root);
	return rc;
}
