/*
 * psel — the selection rule: compiled once from the protocol's JSON,
 * evaluated on every record.
 *
 * Compiling checks everything the grammar in docs/protocol-format.md asks
 * and keeps going after an error, so one run reports every problem with its
 * JSON path.  The compiled tree holds resolved field indices and operands
 * already in the form the record side is compared in: int values and dates
 * as numbers (dates as YYYYMMDD, so year_between and date_between are one
 * inclusive range), bools as 1/0, everything else as exact strings.  It owns
 * copies of every string it needs, so neither the JSON nor the field array
 * has to outlive it.
 *
 * Records meet the rule in a flat form built from the tree once compiled
 * (struct step): the value-reading nodes in order, each with its jumps on
 * false and on true, all/any/not only in those jumps, so evaluation
 * short-circuits as the tree would, with one loop and no recursion.  The
 * commonest steps have their own quick test: a date range by the year's
 * four digits before the whole date, is_empty/is_set without converting
 * the value; every other node is evaluated as the tree does.  The tree's
 * own evaluator stays as the reference (psel_eval_tree).
 *
 * Invariants of a compiled rule: nesting depth <= PSEL_MAX_DEPTH and at most
 * PSEL_MAX_NODES rule objects plus `in` values, so the recursion and the
 * work per record are bounded whatever the file holds; every node's field
 * index is < n_fields and has the type its operator needs.
 *
 * On the record side NULL and "" are empty.  So is a value of an int, date
 * or bool field that is not in its normalised form: after pfield_normalise
 * that cannot happen, and reading it as empty is what `on_invalid: blank`
 * would have made of it, which keeps evaluation total.
 */
#include "psel.h"

#include "pfield.h"

#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "banned.h"

#define PSEL_MAX_DEPTH 64
#define PSEL_MAX_NODES 10000
#define PATH_CAP 256    /* pdiag keeps 191 bytes of a path anyway */
#define SHOW_MAX 48     /* bytes of a name or value quoted in a message */
#define YEAR_MIN 1800   /* the years norm_date accepts */
#define YEAR_MAX 2200

enum op {
	OP_ALL,
	OP_ANY,
	OP_NOT,
	OP_EMPTY,
	OP_SET,
	OP_RANGE, /* year_between, date_between: lo <= value <= hi */
	OP_EQ,
	OP_NE,
	OP_LT,
	OP_LE,
	OP_GT,
	OP_GE,
	OP_IN,
};

/* What an operator's JSON value looks like. */
enum shape {
	SH_LIST,   /* [rule, ...] */
	SH_RULE,   /* rule */
	SH_FIELD,  /* {field} */
	SH_YEARS,  /* {field, from: int, to: int} */
	SH_DATES,  /* {field, from: date, to: date} */
	SH_VALUE,  /* {field, value} */
	SH_ORDER,  /* {field, value}, int or date fields only */
	SH_VALUES, /* {field, values: [...]} */
};

struct opdef {
	const char *name;
	enum op op;
	enum shape shape;
};

static const struct opdef ops[] = {
	{ "all", OP_ALL, SH_LIST },
	{ "any", OP_ANY, SH_LIST },
	{ "not", OP_NOT, SH_RULE },
	{ "is_empty", OP_EMPTY, SH_FIELD },
	{ "is_set", OP_SET, SH_FIELD },
	{ "year_between", OP_RANGE, SH_YEARS },
	{ "date_between", OP_RANGE, SH_DATES },
	{ "eq", OP_EQ, SH_VALUE },
	{ "ne", OP_NE, SH_VALUE },
	{ "lt", OP_LT, SH_ORDER },
	{ "le", OP_LE, SH_ORDER },
	{ "gt", OP_GT, SH_ORDER },
	{ "ge", OP_GE, SH_ORDER },
	{ "in", OP_IN, SH_VALUES },
};

#define OP_LIST                                                         \
	"all, any, not, is_empty, is_set, year_between, date_between, " \
	"eq, ne, lt, le, gt, ge or in"

/* A rule-side operand: num for int, date and bool fields, else str. */
struct operand {
	long long num;
	char *str;
};

/* A record's value in the same form; str points into the record. */
struct rval {
	long long num;
	const char *str;
};

struct pnode {
	enum op op;
	size_t field;          /* value-reading operators */
	size_t n;              /* kids (all, any, not) or operands */
	struct pnode **kids;
	struct operand *vals;  /* eq..ge: 1; in: n; range: lo, hi */
	size_t leaves;         /* value-reading nodes in this subtree */
};

/*
 * The flat form: one step per value-reading node of the tree, in the
 * tree's order, each with where to go on false and on true.  all, any
 * and not leave no step of their own: they are only in the jumps (not
 * swaps a kid's two targets; a kid of all goes on to its next sibling
 * when true, a kid of any when false), so evaluation is a loop over
 * steps without recursion or a call per node.  Every jump goes forward,
 * so the loop ends, at a jump to a result.
 */
enum step_kind {
	ST_YEARS,      /* date in lo..hi, lo a 1 January, hi a 31 December:
			* the year decides, the rest must only be a date */
	ST_DATES,      /* date in lo..hi */
	ST_EMPTY_DATE, /* date field empty or not a date */
	ST_EMPTY_STR,  /* text, email, phone or enum field empty */
	ST_NODE,       /* anything else: eval_value on the node */
};

struct step {
	enum step_kind kind;
	size_t field;
	/* The next step on false, on true: its address, or a result, 0 or
	 * 1 (no step's address), which ends evaluation. */
	uintptr_t go[2];
	union {
		struct { /* ranges: lo and hi (bound_words) */
			uint32_t ylo, yspan; /* yspan: hi's year word - ylo */
			uint64_t tlo, thi;
		};
		struct { /* ST_NODE */
			const struct pnode *node;
			const struct psel *sel;
		};
	};
};

/* What evaluation needs to know about a field the rule reads. */
struct pslot {
	bool used;
	enum pfield_type type;
	char *true_value, *false_value; /* bool fields: copies */
};

struct psel {
	struct pnode *root;
	struct pslot *slots; /* n_fields */
	size_t n_fields;
	struct step *steps;  /* root->leaves */
};

/* ---- values -------------------------------------------------------- */

static bool numeric(enum pfield_type t)
{
	return t == PF_INT || t == PF_DATE || t == PF_BOOL;
}

static const char *type_name(enum pfield_type t)
{
	switch (t) {
	case PF_TEXT: return "text";
	case PF_EMAIL: return "email";
	case PF_PHONE: return "phone";
	case PF_DATE: return "date";
	case PF_INT: return "int";
	case PF_ENUM: return "enum";
	case PF_BOOL: return "bool";
	}
	return "unknown";
}

static bool is_digit(char ch)
{
	return ch >= '0' && ch <= '9';
}

/* The decimal digit ch, or >= 10 if it is none. */
static unsigned digit_of(char ch)
{
	return (unsigned)((unsigned char)ch - '0');
}

/* Exactly YYYY-MM-DD, a real Gregorian date, as YYYYMMDD: for the rule's
 * own dates and the tree's evaluation, and written plainly, as the
 * reference that iso_date (the steps' quick check) is tested against. */
static bool parse_date(const char *s, size_t len, long long *ymd)
{
	static const unsigned char mdays[12] = { 31, 28, 31, 30, 31, 30,
						 31, 31, 30, 31, 30, 31 };
	unsigned y0, y1, y2, y3, m0, m1, d0, d1, y, m, d, dim;

	if (len != 10 || s[4] != '-' || s[7] != '-')
		return false;
	y0 = digit_of(s[0]);
	y1 = digit_of(s[1]);
	y2 = digit_of(s[2]);
	y3 = digit_of(s[3]);
	m0 = digit_of(s[5]);
	m1 = digit_of(s[6]);
	d0 = digit_of(s[8]);
	d1 = digit_of(s[9]);
	if (y0 > 9 || y1 > 9 || y2 > 9 || y3 > 9 || m0 > 9 || m1 > 9 ||
	    d0 > 9 || d1 > 9)
		return false;
	y = ((y0 * 10 + y1) * 10 + y2) * 10 + y3;
	m = m0 * 10 + m1;
	d = d0 * 10 + d1;
	if (y < 1 || m < 1 || m > 12 || d < 1)
		return false;
	dim = mdays[m - 1];
	if (m == 2 && (y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)))
		dim = 29;
	if (d > dim)
		return false;
	*ymd = (long long)y * 10000 + m * 100 + d;
	return true;
}

/* "-?[0-9]+" within long long; strtoll would also take blanks and "+",
 * which a normalised value never has. */
static bool parse_int(const char *s, long long *out)
{
	unsigned long long v = 0, lim = (unsigned long long)LLONG_MAX;
	bool neg = *s == '-';

	if (neg) {
		s++;
		lim++;
	}
	if (!is_digit(*s))
		return false;
	for (; *s; s++) {
		unsigned dig;

		if (!is_digit(*s))
			return false;
		dig = (unsigned)(*s - '0');
		if (v > (lim - dig) / 10)
			return false;
		v = v * 10 + dig;
	}
	/* -(v - 1) - 1 reaches LLONG_MIN without overflowing. */
	*out = neg ? (v ? -(long long)(v - 1) - 1 : 0) : (long long)v;
	return true;
}

/* The four bytes at p as a big-endian word: for ASCII digits, a word that
 * orders as the number they spell. */
static inline uint32_t load_be32(const char *p)
{
	uint32_t w;

	memcpy(&w, p, sizeof w);
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	w = __builtin_bswap32(w);
#endif
	return w;
}

/* The two bytes at p as a big-endian word. */
static inline uint16_t load_be16(const char *p)
{
	uint16_t w;

	memcpy(&w, p, sizeof w);
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	w = __builtin_bswap16(w);
#endif
	return w;
}

/* The eight bytes at p as a big-endian word. */
static inline uint64_t load_be64(const char *p)
{
	uint64_t w;

	memcpy(&w, p, sizeof w);
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	w = __builtin_bswap64(w);
#endif
	return w;
}

/* The eight bytes at p, p[0] in the low byte. */
static inline uint64_t load_le64(const char *p)
{
	uint64_t w;

	memcpy(&w, p, sizeof w);
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	w = __builtin_bswap64(w);
#endif
	return w;
}

/*
 * A range's bound, a date as YYYYMMDD, in the form the steps compare a
 * record's date with: the big-endian words of its ISO form's bytes 0..3
 * (the year) and 2..9 ("YY-MM-DD").  For strings of digits and dashes in
 * their places these order as the dates do, so a date is at least the
 * bound when its year word is greater, or equal and its "YY-MM-DD" word
 * at least the bound's.  Compiling took only dates of years 1..9999.
 */
static void bound_words(long long ymd, uint32_t *year, uint64_t *tail)
{
	char iso[10];
	long long v = ymd;

	for (int i = 9; i >= 0; i--) {
		if (i == 4 || i == 7) {
			iso[i] = '-';
			continue;
		}
		iso[i] = (char)('0' + v % 10);
		v /= 10;
	}
	*year = load_be32(iso);
	*tail = load_be64(iso + 2);
}

/* ---- compiling ----------------------------------------------------- */

struct cc {
	const struct pfield *fields;
	size_t n_fields;
	struct pslot *slots;
	struct pdiag *d;
	char path[PATH_CAP];
	size_t plen;
	size_t nodes;
	bool too_deep, too_big;
};

static void err(struct cc *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void err(struct cc *c, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	pdiag_error(c->d, c->path, "%s", msg);
}

/*
 * A name or value from the file, fit to quote in a message: at most
 * SHOW_MAX bytes, cut between UTF-8 characters, control characters as '?'
 * (a message may end up on a terminal).
 */
static const char *show(char buf[SHOW_MAX + 4], const char *s, size_t len)
{
	size_t n = len;

	if (n > SHOW_MAX) {
		n = SHOW_MAX;
		while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
			n--;
	}
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];
		buf[i] = (ch < 0x20 || ch == 0x7f) ? '?' : (char)ch;
	}
	if (n < len) {
		memcpy(buf + n, "\xe2\x80\xa6", 3); /* "…" */
		n += 3;
	}
	buf[n] = '\0';
	return buf;
}

/* Append to the path, cutting between UTF-8 characters when it is full;
 * returns the length to restore with path_pop. */
static size_t path_add(struct cc *c, const char *s, size_t len)
{
	size_t mark = c->plen, room = PATH_CAP - 1 - c->plen;

	if (len > room) {
		len = room;
		while (len > 0 && ((unsigned char)s[len] & 0xC0) == 0x80)
			len--;
	}
	memcpy(c->path + c->plen, s, len);
	c->plen += len;
	c->path[c->plen] = '\0';
	return mark;
}

static size_t path_key(struct cc *c, const char *key)
{
	char buf[SHOW_MAX + 4];
	size_t mark = path_add(c, ".", 1);

	show(buf, key, strlen(key));
	path_add(c, buf, strlen(buf));
	return mark;
}

static size_t path_index(struct cc *c, size_t i)
{
	char buf[32];
	int n = snprintf(buf, sizeof buf, "[%zu]", i);

	return path_add(c, buf, (size_t)n);
}

static void path_pop(struct cc *c, size_t mark)
{
	c->plen = mark;
	c->path[mark] = '\0';
}

/* jansson's iterators take a non-const object but do not change it. */
static json_t *unconst(const json_t *j)
{
	return (json_t *)(uintptr_t)j;
}

static bool extension_key(const char *key)
{
	return key[0] == 'x' && key[1] == '_';
}

/* A JSON string without NUL bytes (a NUL would cut it short as a C
 * string and make it match something else). */
static const char *cstring(const json_t *j, size_t *len)
{
	const char *s;

	if (!json_is_string(j))
		return NULL;
	s = json_string_value(j);
	*len = json_string_length(j);
	if (strlen(s) != *len)
		return NULL;
	return s;
}

static char *copy_str(struct cc *c, const char *s)
{
	char *p;

	if (!s)
		return NULL;
	p = strdup(s);
	if (!p)
		err(c, "out of memory");
	return p;
}

static void free_node(struct pnode *n)
{
	if (!n)
		return;
	if (n->kids)
		for (size_t i = 0; i < n->n; i++)
			free_node(n->kids[i]);
	if (n->vals)
		for (size_t i = 0; i < n->n; i++)
			free(n->vals[i].str);
	free(n->kids);
	free(n->vals);
	free(n);
}

/* A node with room for n kids (all, any, not) or n operands. */
static struct pnode *new_node(struct cc *c, enum op op, size_t n)
{
	struct pnode *p = calloc(1, sizeof *p);
	bool kids = op == OP_ALL || op == OP_ANY || op == OP_NOT;

	if (p && n > 0) {
		if (kids)
			p->kids = calloc(n, sizeof *p->kids);
		else
			p->vals = calloc(n, sizeof *p->vals);
		if (!p->kids && !p->vals) {
			free(p);
			p = NULL;
		}
	}
	if (!p) {
		err(c, "out of memory");
		return NULL;
	}
	p->op = op;
	p->n = n;
	return p;
}

/* Count a node against the budget; false (reported once) past it. */
static bool budget(struct cc *c, size_t n)
{
	if (c->too_big)
		return false;
	if (n > PSEL_MAX_NODES - c->nodes) {
		c->too_big = true;
		err(c, "rule too large (more than %d rules and values)",
		    PSEL_MAX_NODES);
		return false;
	}
	c->nodes += n;
	return true;
}

/*
 * The operator's object: reports unknown keys (x_ extensions aside) and
 * missing ones.  False only if it is not an object at all.
 */
static bool op_keys(struct cc *c, const char *opname, const json_t *o,
		    const char *const *keys, size_t n_keys)
{
	char want[128];
	size_t w = 0;
	const char *key;
	json_t *v;

	for (size_t i = 0; i < n_keys; i++)
		w += (size_t)snprintf(want + w, sizeof want - w, "%s%s",
				      i ? ", " : "", keys[i]);
	if (!json_is_object(o)) {
		err(c, "%s needs an object with key%s %s", opname,
		    n_keys > 1 ? "s" : "", want);
		return false;
	}
	json_object_foreach(unconst(o), key, v) {
		bool known = extension_key(key);

		for (size_t i = 0; i < n_keys && !known; i++)
			known = strcmp(key, keys[i]) == 0;
		if (!known) {
			char buf[SHOW_MAX + 4];
			size_t mark = path_key(c, key);

			err(c, "unknown key \"%s\" (%s takes %s)",
			    show(buf, key, strlen(key)), opname, want);
			path_pop(c, mark);
		}
	}
	for (size_t i = 0; i < n_keys; i++)
		if (!json_object_get(o, keys[i]))
			err(c, "missing key \"%s\"", keys[i]);
	return true;
}

/* Resolve "field" to an index; NULL (reported) if it names nothing. */
static const struct pfield *get_field(struct cc *c, const json_t *o,
				      size_t *idx)
{
	const json_t *j = json_object_get(o, "field");
	const struct pfield *f = NULL;
	const char *name;
	size_t len, mark;

	if (!j)
		return NULL; /* op_keys said so */
	mark = path_key(c, "field");
	name = cstring(j, &len);
	if (!name && json_is_string(j)) {
		err(c, "field name contains a NUL character");
	} else if (!name) {
		err(c, "field must be a string naming a field of the protocol");
	} else {
		for (size_t i = 0; i < c->n_fields && !f; i++)
			if (c->fields[i].name &&
			    strcmp(c->fields[i].name, name) == 0) {
				f = &c->fields[i];
				*idx = i;
			}
		if (!f) {
			char buf[SHOW_MAX + 4];
			err(c, "unknown field \"%s\"", show(buf, name, len));
		}
	}
	path_pop(c, mark);
	return f;
}

static bool mark_used(struct cc *c, const struct pfield *f, size_t i)
{
	struct pslot *s = &c->slots[i];

	if (s->used)
		return true;
	s->used = true;
	s->type = f->type;
	if (f->type == PF_BOOL) {
		s->true_value = copy_str(c, f->true_value);
		s->false_value = copy_str(c, f->false_value);
		if ((f->true_value && !s->true_value) ||
		    (f->false_value && !s->false_value))
			return false;
	}
	return true;
}

/* The allowed values of an enum field, for a message. */
static const char *enum_list(char *buf, size_t cap, const struct pfield *f)
{
	size_t n = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < f->n_values; i++) {
		const char *v = f->values[i].value ? f->values[i].value : "";
		size_t need = strlen(v) + (i ? 2 : 0);

		/* Leave room for ", …" and the NUL. */
		if (n + need + 6 >= cap) {
			snprintf(buf + n, cap - n, "%s\xe2\x80\xa6",
				 i ? ", " : "");
			break;
		}
		n += (size_t)snprintf(buf + n, cap - n, "%s%s", i ? ", " : "",
				      v);
	}
	return buf;
}

/* A rule-side value for field f, converted to an operand. */
static bool get_operand(struct cc *c, const struct pfield *f, const json_t *j,
			struct operand *out)
{
	char buf[SHOW_MAX + 4];
	const char *s = NULL;
	size_t len = 0;

	switch (f->type) {
	case PF_INT:
		if (!json_is_integer(j)) {
			err(c, "\"%s\" is int; expected a JSON integer",
			    f->name);
			return false;
		}
		out->num = json_integer_value(j);
		return true;
	case PF_BOOL:
		if (!json_is_boolean(j)) {
			err(c, "\"%s\" is bool; expected true or false",
			    f->name);
			return false;
		}
		out->num = json_is_true(j);
		return true;
	case PF_DATE:
		s = cstring(j, &len);
		if (!s) {
			err(c, "\"%s\" is date; expected a date string "
			       "\"YYYY-MM-DD\"", f->name);
			return false;
		}
		if (!parse_date(s, len, &out->num)) {
			err(c, "\"%s\" is not a valid date (YYYY-MM-DD)",
			    show(buf, s, len));
			return false;
		}
		return true;
	case PF_ENUM:
	case PF_TEXT:
	case PF_EMAIL:
	case PF_PHONE:
		break;
	}
	s = cstring(j, &len);
	if (!s && json_is_string(j)) {
		err(c, "value contains a NUL character");
		return false;
	}
	if (!s) {
		err(c, "\"%s\" is %s; expected a string", f->name,
		    type_name(f->type));
		return false;
	}
	if (len == 0) {
		/* A comparison with an empty value is never true. */
		err(c, "empty value never matches; use is_empty");
		return false;
	}
	if (f->type == PF_ENUM) {
		bool found = false;
		char list[160];

		for (size_t i = 0; i < f->n_values && !found; i++)
			found = f->values[i].value &&
				strcmp(f->values[i].value, s) == 0;
		if (!found) {
			err(c, "\"%s\" is not a value of \"%s\" (%s)",
			    show(buf, s, len), f->name,
			    enum_list(list, sizeof list, f));
			return false;
		}
	}
	if (f->type != PF_ENUM) {
		/* Records carry normalised values: compare with the rule's
		 * value in the same form, so " Gent" or "0470 12 34 56"
		 * match as written. */
		struct kbuf norm = KBUF_INIT(64 * 1024);
		const char *why = NULL;
		int nr = pfield_normalise(f, s, len, &norm, &why);

		if (nr != NORM_OK) {
			err(c, "\"%s\" is not a valid %s value: %s",
			    show(buf, s, len), type_name(f->type),
			    nr == NORM_EMPTY ? "empty" : why ? why : "invalid");
			kbuf_free(&norm);
			return false;
		}
		out->str = copy_str(c, (const char *)norm.p);
		kbuf_free(&norm);
		return out->str != NULL;
	}
	out->str = copy_str(c, s);
	return out->str != NULL;
}

static bool get_year(struct cc *c, const json_t *o, const char *key,
		     long long *y)
{
	const json_t *j = json_object_get(o, key);
	size_t mark;
	bool ok = false;

	if (!j)
		return false;
	mark = path_key(c, key);
	if (!json_is_integer(j))
		err(c, "expected a year (a JSON integer)");
	else if (json_integer_value(j) < YEAR_MIN ||
		 json_integer_value(j) > YEAR_MAX)
		err(c, "year %lld is outside %d..%d",
		    (long long)json_integer_value(j), YEAR_MIN, YEAR_MAX);
	else {
		*y = json_integer_value(j);
		ok = true;
	}
	path_pop(c, mark);
	return ok;
}

static bool get_date(struct cc *c, const json_t *o, const char *key,
		     long long *ymd)
{
	const json_t *j = json_object_get(o, key);
	const char *s;
	size_t len, mark;
	bool ok = false;

	if (!j)
		return false;
	mark = path_key(c, key);
	s = cstring(j, &len);
	if (!s) {
		err(c, "expected a date string \"YYYY-MM-DD\"");
	} else if (!parse_date(s, len, ymd)) {
		char buf[SHOW_MAX + 4];
		err(c, "\"%s\" is not a valid date (YYYY-MM-DD)",
		    show(buf, s, len));
	} else {
		ok = true;
	}
	path_pop(c, mark);
	return ok;
}

static struct pnode *rule(struct cc *c, const json_t *j, unsigned depth);

static struct pnode *compile_list(struct cc *c, const struct opdef *def,
				  const json_t *v, unsigned depth)
{
	struct pnode *n;
	size_t count;

	if (!json_is_array(v)) {
		err(c, "%s needs a non-empty array of rules", def->name);
		return NULL;
	}
	count = json_array_size(v);
	if (count == 0) {
		err(c, "%s needs at least one rule", def->name);
		return NULL;
	}
	/* Each element is at least one node: refuse a huge array before
	 * allocating for it. */
	if (count > PSEL_MAX_NODES - c->nodes) {
		budget(c, count);
		return NULL;
	}
	n = new_node(c, def->op, count);
	if (!n)
		return NULL;
	for (size_t i = 0; i < count; i++) {
		size_t mark = path_index(c, i);

		n->kids[i] = rule(c, json_array_get(v, i), depth + 1);
		path_pop(c, mark);
	}
	return n;
}

static struct pnode *compile_not(struct cc *c, const json_t *v,
				 unsigned depth)
{
	struct pnode *n = new_node(c, OP_NOT, 1);

	if (!n)
		return NULL;
	n->kids[0] = rule(c, v, depth + 1);
	return n;
}

static struct pnode *compile_range(struct cc *c, const struct opdef *def,
				   const json_t *v, const struct pfield *f)
{
	long long lo = 0, hi = 0;
	bool ok;
	struct pnode *n;

	if (def->shape == SH_YEARS) {
		ok = get_year(c, v, "from", &lo);
		ok = get_year(c, v, "to", &hi) && ok;
		if (ok && lo > hi)
			err(c, "from (%lld) is after to (%lld)", lo, hi);
		/* A whole year as a YYYYMMDD range. */
		lo = lo * 10000 + 101;
		hi = hi * 10000 + 1231;
	} else {
		ok = get_date(c, v, "from", &lo);
		ok = get_date(c, v, "to", &hi) && ok;
		if (ok && lo > hi)
			err(c, "from (%s) is after to (%s)",
			    json_string_value(json_object_get(v, "from")),
			    json_string_value(json_object_get(v, "to")));
	}
	if (!ok || lo > hi || !f)
		return NULL;
	n = new_node(c, OP_RANGE, 2);
	if (!n)
		return NULL;
	n->vals[0].num = lo;
	n->vals[1].num = hi;
	return n;
}

static struct pnode *compile_values(struct cc *c, const struct opdef *def,
				    const json_t *v, const struct pfield *f)
{
	const json_t *j;
	struct pnode *n;
	size_t count, mark;

	if (def->shape != SH_VALUES) {
		j = json_object_get(v, "value");
		if (!j || !f)
			return NULL;
		n = new_node(c, def->op, 1);
		if (!n)
			return NULL;
		mark = path_key(c, "value");
		get_operand(c, f, j, &n->vals[0]);
		path_pop(c, mark);
		return n;
	}
	j = json_object_get(v, "values");
	if (!j)
		return NULL;
	mark = path_key(c, "values");
	if (!json_is_array(j) || json_array_size(j) == 0) {
		err(c, "in needs a non-empty array of values");
		path_pop(c, mark);
		return NULL;
	}
	count = json_array_size(j);
	if (!budget(c, count) || !f) {
		path_pop(c, mark);
		return NULL;
	}
	n = new_node(c, OP_IN, count);
	if (!n) {
		path_pop(c, mark);
		return NULL;
	}
	for (size_t i = 0; i < count; i++) {
		size_t m2 = path_index(c, i);

		get_operand(c, f, json_array_get(j, i), &n->vals[i]);
		path_pop(c, m2);
	}
	path_pop(c, mark);
	return n;
}

/* An operator that reads a field: is_empty .. in. */
static struct pnode *compile_field_op(struct cc *c, const struct opdef *def,
				      const json_t *v)
{
	static const char *const k_field[] = { "field" };
	static const char *const k_range[] = { "field", "from", "to" };
	static const char *const k_value[] = { "field", "value" };
	static const char *const k_values[] = { "field", "values" };
	const char *const *keys;
	size_t n_keys, idx = 0;
	const struct pfield *f;
	struct pnode *n;

	switch (def->shape) {
	case SH_YEARS:
	case SH_DATES:
		keys = k_range;
		n_keys = 3;
		break;
	case SH_VALUE:
	case SH_ORDER:
		keys = k_value;
		n_keys = 2;
		break;
	case SH_VALUES:
		keys = k_values;
		n_keys = 2;
		break;
	default:
		keys = k_field;
		n_keys = 1;
		break;
	}
	if (!op_keys(c, def->name, v, keys, n_keys))
		return NULL;
	f = get_field(c, v, &idx);
	if (f && (def->shape == SH_YEARS || def->shape == SH_DATES) &&
	    f->type != PF_DATE) {
		err(c, "%s needs a date field; \"%s\" is %s", def->name,
		    f->name, type_name(f->type));
		f = NULL;
	}
	if (f && def->shape == SH_ORDER && f->type != PF_INT &&
	    f->type != PF_DATE) {
		err(c, "%s needs an int or date field; \"%s\" is %s",
		    def->name, f->name, type_name(f->type));
		f = NULL;
	}
	if (f && !mark_used(c, f, idx))
		f = NULL;
	switch (def->shape) {
	case SH_YEARS:
	case SH_DATES:
		/* from and to are checked even when the field is wrong. */
		n = compile_range(c, def, v, f);
		break;
	case SH_VALUE:
	case SH_ORDER:
	case SH_VALUES:
		n = compile_values(c, def, v, f);
		break;
	default:
		n = f ? new_node(c, def->op, 0) : NULL;
		break;
	}
	if (n)
		n->field = idx;
	return n;
}

static const struct opdef *find_op(const char *key)
{
	for (size_t i = 0; i < sizeof ops / sizeof *ops; i++)
		if (strcmp(ops[i].name, key) == 0)
			return &ops[i];
	return NULL;
}

/* One rule object at c->path; NULL if it is wrong (reported). */
static struct pnode *rule(struct cc *c, const json_t *j, unsigned depth)
{
	struct pnode *node = NULL;
	char names[64] = "";
	size_t n_ops = 0, n_unknown = 0, w = 0;
	const char *key;
	json_t *v;

	if (depth > PSEL_MAX_DEPTH) {
		if (!c->too_deep)
			err(c, "rule nested too deeply (more than %d levels)",
			    PSEL_MAX_DEPTH);
		c->too_deep = true;
		return NULL;
	}
	if (!budget(c, 1))
		return NULL;
	if (!json_is_object(j)) {
		err(c, "a rule must be an object with one key: %s", OP_LIST);
		return NULL;
	}
	json_object_foreach(unconst(j), key, v) {
		const struct opdef *def;
		struct pnode *n = NULL;
		size_t mark;

		/* x_ keys are extensions, allowed anywhere (docs: general
		 * rules), so {"x_why": …, "any": […]} is one rule. */
		if (extension_key(key))
			continue;
		def = find_op(key);
		mark = path_key(c, key);
		if (!def) {
			char buf[SHOW_MAX + 4];
			err(c, "unknown rule \"%s\" (expected %s)",
			    show(buf, key, strlen(key)), OP_LIST);
			n_unknown++;
		} else {
			/* Compile even a second operator: its own errors
			 * are worth reporting too. */
			if (def->shape == SH_LIST)
				n = compile_list(c, def, v, depth);
			else if (def->shape == SH_RULE)
				n = compile_not(c, v, depth);
			else
				n = compile_field_op(c, def, v);
			if (w < sizeof names)
				w += (size_t)snprintf(names + w,
						      sizeof names - w, "%s%s",
						      n_ops ? ", " : "",
						      def->name);
			if (n_ops++ == 0)
				node = n;
			else
				free_node(n);
		}
		path_pop(c, mark);
	}
	if (n_ops == 0 && n_unknown == 0)
		err(c, "empty rule; expected one key: %s", OP_LIST);
	if (n_ops > 1) {
		err(c, "a rule has exactly one key; this one has %zu (%s)",
		    n_ops, names);
		free_node(node);
		node = NULL;
	}
	return node;
}

/* ---- flattening ---------------------------------------------------- */

/* Set each node's count of value-reading nodes under it (a compiled tree:
 * every kid is there). */
static size_t count_leaves(struct pnode *n)
{
	if (n->op != OP_ALL && n->op != OP_ANY && n->op != OP_NOT)
		return n->leaves = 1;
	n->leaves = 0;
	for (size_t i = 0; i < n->n; i++)
		n->leaves += count_leaves(n->kids[i]);
	return n->leaves;
}

struct flat {
	struct step *steps;
	size_t n;
	const struct psel *sel;
};

/* Where the jump to target (a step's index, or GO_FALSE, GO_TRUE) goes. */
#define GO_FALSE SIZE_MAX
#define GO_TRUE (SIZE_MAX - 1)

static uintptr_t go_to(const struct flat *f, size_t target)
{
	if (target == GO_FALSE || target == GO_TRUE)
		return target == GO_TRUE;
	return (uintptr_t)(f->steps + target);
}

/* A value-reading node as the next step. */
static void flat_step(struct flat *f, const struct pnode *n, size_t on_false,
		      size_t on_true)
{
	struct step *st = &f->steps[f->n++];
	enum pfield_type t = f->sel->slots[n->field].type;
	bool swap = false;

	st->field = n->field;
	if ((n->op == OP_EMPTY || n->op == OP_SET) && t == PF_DATE) {
		st->kind = ST_EMPTY_DATE;
		swap = n->op == OP_SET;
	} else if ((n->op == OP_EMPTY || n->op == OP_SET) && !numeric(t)) {
		/* Any other value of these types is one. */
		st->kind = ST_EMPTY_STR;
		swap = n->op == OP_SET;
	} else if (n->op == OP_RANGE && t == PF_DATE) {
		long long lo = n->vals[0].num, hi = n->vals[1].num;
		uint32_t yhi;

		bound_words(lo, &st->ylo, &st->tlo);
		bound_words(hi, &yhi, &st->thi);
		st->yspan = yhi - st->ylo;
		/* Whole years (year_between, or date_between written so). */
		st->kind = lo % 10000 == 101 && hi % 10000 == 1231 ? ST_YEARS
								   : ST_DATES;
	} else {
		st->kind = ST_NODE;
		st->node = n;
		st->sel = f->sel;
	}
	st->go[0] = go_to(f, swap ? on_true : on_false);
	st->go[1] = go_to(f, swap ? on_false : on_true);
}

/* The steps of n, going to on_false or on_true (step indices or GO_*)
 * with n's result. */
static void flatten(struct flat *f, const struct pnode *n, size_t on_false,
		    size_t on_true)
{
	switch (n->op) {
	case OP_NOT:
		flatten(f, n->kids[0], on_true, on_false);
		return;
	case OP_ALL:
	case OP_ANY:
		for (size_t i = 0; i + 1 < n->n; i++) {
			/* The next sibling's first step. */
			size_t next = f->n + n->kids[i]->leaves;

			if (n->op == OP_ALL)
				flatten(f, n->kids[i], on_false, next);
			else
				flatten(f, n->kids[i], next, on_true);
		}
		flatten(f, n->kids[n->n - 1], on_false, on_true);
		return;
	default:
		flat_step(f, n, on_false, on_true);
		return;
	}
}

void psel_free(struct psel *s)
{
	if (!s)
		return;
	free_node(s->root);
	free(s->steps);
	if (s->slots)
		for (size_t i = 0; i < s->n_fields; i++) {
			free(s->slots[i].true_value);
			free(s->slots[i].false_value);
		}
	free(s->slots);
	free(s);
}

int psel_compile(json_t *rule_json, const struct pfield *fields,
		 size_t n_fields, const char *path, struct psel **out,
		 struct pdiag *d)
{
	size_t errors = d->errors;
	struct psel *s;
	struct cc c;

	*out = NULL;
	memset(&c, 0, sizeof c);
	c.fields = fields;
	c.n_fields = n_fields;
	c.d = d;
	path_add(&c, path ? path : "$", strlen(path ? path : "$"));
	s = calloc(1, sizeof *s);
	/* One slot more than needed, so there is something to allocate
	 * when the protocol has no fields. */
	c.slots = calloc(n_fields + 1, sizeof *c.slots);
	if (!s || !c.slots) {
		err(&c, "out of memory");
		free(s);
		free(c.slots);
		return -1;
	}
	s->slots = c.slots;
	s->n_fields = n_fields;
	if (!rule_json)
		err(&c, "missing rule");
	else
		s->root = rule(&c, rule_json, 1);
	if (d->errors != errors || !s->root) {
		if (d->errors == errors)
			err(&c, "rule could not be compiled");
		psel_free(s);
		return -1;
	}
	s->steps = calloc(count_leaves(s->root), sizeof *s->steps);
	if (!s->steps) {
		err(&c, "out of memory");
		psel_free(s);
		return -1;
	}
	flatten(&(struct flat){ s->steps, 0, s }, s->root, GO_FALSE, GO_TRUE);
	*out = s;
	return 0;
}

/* ---- evaluating ---------------------------------------------------- */

/* The length of field i's value str (lens: the caller's, if it gave
 * them). */
static inline size_t len_of(const char *str, const size_t *lens, size_t i)
{
	return lens ? lens[i] : strlen(str);
}

/* Field i's value as an operand; false if it is empty. */
static bool value_of(const struct psel *s, const char *const *values,
		     const size_t *lens, size_t i, struct rval *v)
{
	const struct pslot *sl = &s->slots[i];
	const char *str = values ? values[i] : NULL;

	if (!str || !*str)
		return false;
	v->str = NULL;
	switch (sl->type) {
	case PF_INT:
		return parse_int(str, &v->num);
	case PF_DATE:
		return parse_date(str, len_of(str, lens, i), &v->num);
	case PF_BOOL:
		if (sl->true_value && strcmp(str, sl->true_value) == 0)
			v->num = 1;
		else if (sl->false_value && strcmp(str, sl->false_value) == 0)
			v->num = 0;
		else
			return false;
		return true;
	case PF_TEXT:
	case PF_EMAIL:
	case PF_PHONE:
	case PF_ENUM:
		break;
	}
	v->str = str;
	return true;
}

static int cmp(const struct pslot *sl, const struct rval *a,
	       const struct operand *b)
{
	if (numeric(sl->type))
		return (a->num > b->num) - (a->num < b->num);
	return strcmp(a->str, b->str);
}

/* A node that reads a value (not all, any or not): the reference for
 * every operator, and the flat form's step for those it has no quicker
 * way to decide.  Out of line, so that the step loop stays small. */
static __attribute__((noinline)) bool
eval_value(const struct psel *s, const struct pnode *n,
	   const char *const *values, const size_t *lens)
{
	const struct pslot *sl;
	struct rval v = { 0, NULL }; /* set by value_of; gcc cannot tell */

	sl = &s->slots[n->field];
	if (!value_of(s, values, lens, n->field, &v))
		return n->op == OP_EMPTY;
	switch (n->op) {
	case OP_EMPTY:
		return false;
	case OP_SET:
		return true;
	case OP_RANGE:
		return n->vals[0].num <= v.num && v.num <= n->vals[1].num;
	case OP_EQ:
		return cmp(sl, &v, &n->vals[0]) == 0;
	case OP_NE:
		return cmp(sl, &v, &n->vals[0]) != 0;
	case OP_LT:
		return cmp(sl, &v, &n->vals[0]) < 0;
	case OP_LE:
		return cmp(sl, &v, &n->vals[0]) <= 0;
	case OP_GT:
		return cmp(sl, &v, &n->vals[0]) > 0;
	case OP_GE:
		return cmp(sl, &v, &n->vals[0]) >= 0;
	case OP_IN:
		for (size_t i = 0; i < n->n; i++)
			if (cmp(sl, &v, &n->vals[i]) == 0)
				return true;
		return false;
	default:
		return false;
	}
}

/* The tree, node by node: the reference the steps are held to. */
static bool eval(const struct psel *s, const struct pnode *n,
		 const char *const *values, const size_t *lens)
{
	switch (n->op) {
	case OP_ALL:
		for (size_t i = 0; i < n->n; i++)
			if (!eval(s, n->kids[i], values, lens))
				return false;
		return true;
	case OP_ANY:
		for (size_t i = 0; i < n->n; i++)
			if (eval(s, n->kids[i], values, lens))
				return true;
		return false;
	case OP_NOT:
		return !eval(s, n->kids[0], values, lens);
	default:
		return eval_value(s, n, values, lens);
	}
}

/* For month m, 1 + the last day of the month less "01", both as big-endian
 * two-digit words; 0 for no month.  February's 29th is iso_date's
 * exception. */
#define DAYS(n) \
	(uint16_t)((('0' + (n) / 10) << 8 | ('0' + (n) % 10)) - 0x3031 + 1)
static const uint16_t day_limit[100] = {
	[1] = DAYS(31),  [2] = DAYS(28),  [3] = DAYS(31), [4] = DAYS(30),
	[5] = DAYS(31),  [6] = DAYS(30),  [7] = DAYS(31), [8] = DAYS(31),
	[9] = DAYS(30),  [10] = DAYS(31), [11] = DAYS(30), [12] = DAYS(31),
};
#undef DAYS

/* The number the n ASCII digits at s spell. */
static inline unsigned digits_value(const char *s, int n)
{
	unsigned v = 0;

	for (int i = 0; i < n; i++)
		v = v * 10 + (unsigned)((unsigned char)s[i] - '0');
	return v;
}

/*
 * Whether the ten bytes at s are YYYY-MM-DD, a real Gregorian date, as
 * parse_date decides; that stays the reference, and the unit tests hold
 * the two to each other.  This one costs a fraction of it, for the date of
 * every record a range or is_empty looks at:
 *   - the first eight bytes at once: XOR turns the digits into bytes 0..9
 *     and the dashes into 0, and adding 0x76 to a digit's byte (0x7F to a
 *     dash's) reaches the byte's high bit exactly when it is too large (a
 *     carry out of a byte only comes from one whose own high bit is set,
 *     so refused anyway);
 *   - the day as a big-endian two-byte word, which for digits orders as
 *     the number, against the month's last day: that bounds the tens too,
 *     so only the last digit needs its own check.
 * Year 0000 passes unless no_year0 (a range cannot reach it).
 */
static inline __attribute__((always_inline)) bool
iso_date(const char *s, bool no_year0)
{
	uint64_t x = load_le64(s) ^ 0x2D30302D30303030u;
	unsigned dd = load_be16(s + 8), m;

	if (((x | (x + 0x7F76767F76767676u)) & 0x8080808080808080u) != 0 ||
	    (dd & 0xFF) - '0' > 9)
		return false;
	m = digits_value(s + 5, 2);
	dd -= 0x3031u;
	if (no_year0 && (uint32_t)x == 0)
		return false;
	if (dd < day_limit[m])
		return true;
	if (m == 2 && dd == 0x3239u - 0x3031u) { /* 29 February */
		unsigned y = digits_value(s, 4);

		return y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
	}
	return false;
}

/*
 * A step of the kinds with a quick test: its result, or -1 for the others
 * (and for ST_DATES unless dates: run leaves them to run_from, where they
 * cost no registers saved in the loop of the usual rule).  A range reads
 * the date's year digits first: most dates are out of the range by their
 * year alone (a value that is no date is false either way, as empty, so
 * bytes that are no digits may pass this test: iso_date refuses them).
 */
static inline __attribute__((always_inline)) int
quick(const struct step *st, const char *const *values, const size_t *lens,
      bool dates)
{
	const char *str = values[st->field];
	uint32_t y;

	/* Ranges first: the usual rule has most of its steps there. */
	if (st->kind == ST_YEARS || (dates && st->kind == ST_DATES)) {
		if (!str || len_of(str, lens, st->field) != 10)
			return 0;
		/* Unsigned: below ylo wraps past the span too. */
		y = load_be32(str) - st->ylo;
		if (y > st->yspan || !iso_date(str, false))
			return 0;
		/* Whole years need no more, nor a year strictly inside. */
		if (st->kind == ST_YEARS)
			return 1;
		return (y != 0 || load_be64(str + 2) >= st->tlo) &&
		       (y != st->yspan || load_be64(str + 2) <= st->thi);
	}
	if (st->kind == ST_EMPTY_DATE)
		return !str || len_of(str, lens, st->field) != 10 ||
		       !iso_date(str, true);
	if (st->kind == ST_EMPTY_STR)
		return !str || !*str;
	return -1;
}

/* The steps from st on, any kind. */
static __attribute__((noinline)) bool run_from(const struct step *st,
					       const char *const *values,
					       const size_t *lens)
{
	for (;;) {
		int r = quick(st, values, lens, true);
		uintptr_t go;

		if (r < 0)
			r = eval_value(st->sel, st->node, values, lens);
		go = st->go[r];
		if (go <= 1)
			return go;
		st = (const struct step *)go;
	}
}

/* The steps from the first until a jump ends them, as long as they are
 * quick ones; at another, run_from takes over.  So this loop calls
 * nothing but that, as its last act, and needs no registers saved. */
static inline __attribute__((always_inline)) bool
run(const struct psel *s, const char *const *values, const size_t *lens)
{
	const struct step *st = s->steps;

	for (;;) {
		int r = quick(st, values, lens, false);
		uintptr_t go;

		if (r < 0)
			return run_from(st, values, lens);
		go = st->go[r];
		if (go <= 1)
			return go;
		st = (const struct step *)go;
	}
}

bool psel_eval(const struct psel *s, const char *const *values)
{
	/* No values at all: every one empty, which the tree reads. */
	if (!values)
		return eval(s, s->root, NULL, NULL);
	return run(s, values, NULL);
}

bool psel_eval_len(const struct psel *s, const char *const *values,
		   const size_t *lens)
{
	if (!values)
		return eval(s, s->root, NULL, NULL);
	/* psel_eval measures: this loop need not ask on every step whether
	 * there are lengths, nor save registers for strlen. */
	if (!lens)
		return psel_eval(s, values);
	return run(s, values, lens);
}

bool psel_eval_tree(const struct psel *s, const char *const *values,
		    const size_t *lens)
{
	return eval(s, s->root, values, lens);
}

bool psel_uses_field(const struct psel *s, size_t i)
{
	return i < s->n_fields && s->slots[i].used;
}
