/*
 * prender — the protocol as the Dutch text the parties sign.
 *
 * The structure and the generic wording follow the seed protocol
 * (Opgroeien regie → SERV, 2021): title, parties, recitals A, B, …,
 * articles 1 to 10, place and date, signatures, then the keys and the
 * annex.  Every specific (names, fields, periods, measures) comes from the
 * loaded model or, for narrative text the model does not carry, from
 * p->doc; the code knows no protocol.
 *
 * One walk over the document serves both formats: the emitters below know
 * Markdown and HTML, the article code only says "heading", "paragraph",
 * "list item".  All text — the file's and our own Dutch — goes through one
 * escaping routine, so a string from the file can never become markup:
 * in HTML & < > " ' are entities, in Markdown the characters that would
 * start structure are backslash-escaped.  Markup is only ever emitted by
 * raw(), never with file text in it.
 *
 * Errors (only buffer limits and memory) are sticky in struct rd, so the
 * article code reads as a document instead of a chain of checks; prender()
 * returns the first one.
 */
#include "prender.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "banned.h"

#define TEMP_MAX (1u << 20) /* one composed sentence or text, at most */

/* How text is escaped where it lands. */
enum ctx {
	C_INLINE, /* running text of a paragraph or list item */
	C_CELL,   /* a table cell: one line, '|' escaped in Markdown */
	C_HEAD,   /* a heading: one line, '#' escaped in Markdown */
	C_CODE,   /* inside `…` / <code>: identifiers, keys, digests */
};

struct rd {
	const struct protocol *p;
	bool html;
	struct kbuf *out;
	struct kerr *e;
	int rc;
	/* Markdown: at the start of a line, where '#', '-', '1.' … would
	 * start a block; leading blanks are dropped there (four of them make
	 * a code block). */
	bool bol;
	unsigned char prev; /* last text byte, for intraword '_' */
	const char *D, *R;  /* the parties' short names */
};

/* ------------------------------------------------------------------ */
/* output primitives                                                   */

static void raw(struct rd *r, const char *s)
{
	if (!r->rc)
		r->rc = kbuf_puts(r->out, s, r->e);
}

static void rawn(struct rd *r, const char *s, size_t n)
{
	if (!r->rc)
		r->rc = kbuf_append(r->out, s, n, r->e);
}

static void rawc(struct rd *r, char c)
{
	if (!r->rc)
		r->rc = kbuf_putc(r->out, (uint8_t)c, r->e);
}

static bool is_alnum(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
	       (c >= 'A' && c <= 'Z') || c >= 0x80;
}

/* Characters that start a Markdown block when they open a line. */
static bool md_line_special(unsigned char c)
{
	return c && strchr("#>-+*=`~|_<[", c) != NULL;
}

/*
 * Escape n bytes of text for context c.  Line feeds inside the text become
 * spaces (block text is split into lines before it gets here; a sentence
 * that quotes a multi-line value reads as one line).
 */
static void esc(struct rd *r, const char *s, size_t n, enum ctx c)
{
	for (size_t i = 0; i < n && !r->rc; i++) {
		unsigned char ch = (unsigned char)s[i];
		unsigned char next = i + 1 < n ? (unsigned char)s[i + 1] : 0;

		if (ch == '\n' || ch == '\r' || ch == '\t')
			ch = ' ';
		if (r->html) {
			switch (ch) {
			case '&': raw(r, "&amp;"); break;
			case '<': raw(r, "&lt;"); break;
			case '>': raw(r, "&gt;"); break;
			case '"': raw(r, "&quot;"); break;
			case '\'': raw(r, "&#39;"); break;
			default: rawc(r, (char)ch);
			}
			r->prev = ch;
			continue;
		}
		if (c == C_CODE) {
			rawc(r, (char)ch);
			continue;
		}
		if (r->bol && c != C_CELL) {
			size_t j = i;

			if (ch == ' ')
				continue;
			r->bol = false;
			/* "2021. " or "3) " would start an ordered list. */
			while (j < n && s[j] >= '0' && s[j] <= '9')
				j++;
			if (j > i && j < n && (s[j] == '.' || s[j] == ')')) {
				rawn(r, s + i, j - i);
				rawc(r, '\\');
				rawc(r, s[j]);
				r->prev = (unsigned char)s[j];
				i = j;
				continue;
			}
			if (md_line_special(ch)) {
				rawc(r, '\\');
				rawc(r, (char)ch);
				r->prev = ch;
				continue;
			}
		}
		switch (ch) {
		case '\\': case '`': case '*': case '<': case '[': case ']':
			rawc(r, '\\');
			break;
		case '_':
			/* snake_case in running text is not emphasis */
			if (!(is_alnum(r->prev) && is_alnum(next)))
				rawc(r, '\\');
			break;
		case '&':
			/* "&amp;" in the file must stay five characters */
			if (is_alnum(next) || next == '#')
				rawc(r, '\\');
			break;
		case '|':
			if (c == C_CELL)
				rawc(r, '\\');
			break;
		case '#':
			if (c == C_HEAD)
				rawc(r, '\\');
			break;
		default:
			break;
		}
		rawc(r, (char)ch);
		r->prev = ch;
	}
}

static void txtc(struct rd *r, const char *s, enum ctx c)
{
	esc(r, s, strlen(s), c);
}

static void txt(struct rd *r, const char *s)
{
	esc(r, s, strlen(s), C_INLINE);
}

/* Format our own sentence (with file strings in it) and escape it whole:
 * what the file contributes is text, whatever it contains. */
static void sayv(struct rd *r, enum ctx c, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));
static void sayv(struct rd *r, enum ctx c, const char *fmt, va_list ap)
{
	struct kbuf b = KBUF_INIT(TEMP_MAX);
	va_list aq;
	char small[512];
	int n;

	if (r->rc)
		return;
	va_copy(aq, ap);
	n = vsnprintf(small, sizeof small, fmt, aq);
	va_end(aq);
	if (n < 0) {
		r->rc = kerr_set(r->e, KERR_INTERNAL, "protocol rendering",
				 "cannot format text");
		return;
	}
	if ((size_t)n < sizeof small) {
		esc(r, small, (size_t)n, c);
		return;
	}
	if (kbuf_reserve(&b, (size_t)n + 1, r->e) == 0) {
		vsnprintf((char *)b.p, (size_t)n + 1, fmt, ap);
		esc(r, (const char *)b.p, (size_t)n, c);
	} else {
		r->rc = r->e->code;
	}
	kbuf_free(&b);
}

static void say(struct rd *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void say(struct rd *r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	sayv(r, C_INLINE, fmt, ap);
	va_end(ap);
}

static void sayc(struct rd *r, enum ctx c, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void sayc(struct rd *r, enum ctx c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	sayv(r, c, fmt, ap);
	va_end(ap);
}

/* ------------------------------------------------------------------ */
/* blocks                                                              */

static void head_begin(struct rd *r, int level)
{
	static const char hashes[] = "######";

	if (r->html) {
		char tag[8];
		snprintf(tag, sizeof tag, "<h%d>", level);
		raw(r, tag);
	} else {
		rawn(r, hashes, (size_t)level);
		rawc(r, ' ');
	}
	r->bol = false;
}

static void head_end(struct rd *r, int level)
{
	if (r->html) {
		char tag[8];
		snprintf(tag, sizeof tag, "</h%d>", level);
		raw(r, tag);
		raw(r, "\n");
	} else {
		raw(r, "\n\n");
	}
}

static void heading(struct rd *r, int level, const char *text)
{
	head_begin(r, level);
	txtc(r, text, C_HEAD);
	head_end(r, level);
}

static void para_begin(struct rd *r)
{
	raw(r, r->html ? "<p>" : "");
	r->bol = true;
	r->prev = ' ';
}

static void para_end(struct rd *r)
{
	raw(r, r->html ? "</p>\n" : "\n\n");
	r->bol = false;
}

static void paraf(struct rd *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void paraf(struct rd *r, const char *fmt, ...)
{
	va_list ap;

	para_begin(r);
	va_start(ap, fmt);
	sayv(r, C_INLINE, fmt, ap);
	va_end(ap);
	para_end(r);
}

static void bold_begin(struct rd *r)
{
	raw(r, r->html ? "<strong>" : "**");
	r->bol = false;
}

static void bold_end(struct rd *r)
{
	raw(r, r->html ? "</strong>" : "**");
}

/* A code span.  In Markdown the fence is one backtick longer than any run
 * inside (an e-mail address may legally contain one), padded with spaces
 * when needed, as CommonMark specifies. */
static void code(struct rd *r, const char *s)
{
	size_t run = 0, longest = 0;

	if (r->html) {
		raw(r, "<code>");
		txtc(r, s, C_CODE);
		raw(r, "</code>");
		return;
	}
	for (const char *q = s; *q; q++) {
		run = *q == '`' ? run + 1 : 0;
		longest = run > longest ? run : longest;
	}
	for (size_t i = 0; i <= longest; i++)
		rawc(r, '`');
	raw(r, longest ? " " : "");
	txtc(r, s, C_CODE);
	raw(r, longest ? " " : "");
	for (size_t i = 0; i <= longest; i++)
		rawc(r, '`');
	r->bol = false;
}

static void list_begin(struct rd *r)
{
	raw(r, r->html ? "<ul>\n" : "");
}

static void list_end(struct rd *r)
{
	raw(r, r->html ? "</ul>\n" : "\n");
}

static void item_begin(struct rd *r)
{
	raw(r, r->html ? "<li>" : "- ");
	r->bol = true;
	r->prev = ' ';
}

static void item_end(struct rd *r)
{
	raw(r, r->html ? "</li>\n" : "\n");
	r->bol = false;
}

static bool blank(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

/*
 * Free text from the file (the keys marked *text*): blank lines separate
 * paragraphs, single line feeds are line breaks.  In HTML each paragraph
 * is a <p>, breaks are <br>; in Markdown paragraphs are separated by a
 * blank line and breaks are CommonMark hard breaks ("\" at the end of the
 * line).  `indent` continues a Markdown list item.  The caller closes the
 * block (para_end / item_end) in Markdown; in HTML the <p>s are complete
 * unless `html_inline`, where lines are joined with <br> for a list item
 * or a cell.
 */
static void text_lines(struct rd *r, const char *s, const char *indent,
		       bool html_inline)
{
	bool in_para = false, any = false;

	while (s && !r->rc) {
		const char *nl = strchr(s, '\n');
		size_t n = nl ? (size_t)(nl - s) : strlen(s);
		const char *line = s;

		while (n && blank((unsigned char)line[0])) {
			line++;
			n--;
		}
		while (n && blank((unsigned char)line[n - 1]))
			n--;
		s = nl ? nl + 1 : NULL;
		if (!n) {
			if (in_para && r->html && !html_inline)
				raw(r, "</p>\n");
			in_para = false;
			continue;
		}
		if (!in_para) {
			if (r->html) {
				if (html_inline)
					raw(r, any ? "<br><br>\n" : "");
				else
					raw(r, "<p>");
			} else if (any) {
				raw(r, "\n\n");
				raw(r, indent);
			}
			in_para = any = true;
		} else {
			if (r->html) {
				raw(r, "<br>\n");
			} else {
				raw(r, "\\\n");
				raw(r, indent);
			}
		}
		r->bol = true;
		r->prev = ' ';
		esc(r, line, n, C_INLINE);
	}
	if (in_para && r->html && !html_inline)
		raw(r, "</p>\n");
}

/* A standalone block of file text. */
static void block(struct rd *r, const char *s)
{
	if (!s || !*s)
		return;
	text_lines(r, s, "", false);
	if (!r->html)
		raw(r, "\n\n");
}

/*
 * Close the open paragraph with file text: a one-line text continues it
 * (as the seed writes "… vanaf ontvangst van de gegevens. Deze
 * bewaartermijn …"), a text with line feeds follows as its own blocks.
 */
static void follow(struct rd *r, const char *s)
{
	if (!s || !*s) {
		para_end(r);
	} else if (!strchr(s, '\n')) {
		txt(r, " ");
		txt(r, s);
		para_end(r);
	} else {
		para_end(r);
		block(r, s);
	}
}

/* A list item holding file text. */
static void item_text(struct rd *r, const char *s)
{
	item_begin(r);
	text_lines(r, s, "  ", true);
	item_end(r);
}

/* ------------------------------------------------------------------ */
/* words: dates, durations, Dutch names of the enums                   */

static const char *const months[] = {
	"januari", "februari", "maart", "april", "mei", "juni", "juli",
	"augustus", "september", "oktober", "november", "december",
};

/* "2021-03-15" → "15 maart 2021"; "" stays "".  The loader validated the
 * dates, but a stray value must not index past the month table. */
static const char *date_nl(const char *iso, char *buf, size_t n)
{
	int y, m, d;

	if (!iso || sscanf(iso, "%4d-%2d-%2d", &y, &m, &d) != 3 || m < 1 ||
	    m > 12) {
		snprintf(buf, n, "%s", iso ? iso : "");
		return buf;
	}
	snprintf(buf, n, "%d %s %d", d, months[m - 1], y);
	return buf;
}

/* "P1Y" → "1 jaar", "P6M" → "6 maanden", "PT72H" → "72 uur",
 * "P0D" → "onmiddellijk". */
static const char *dur_nl(const struct pduration *d, char *buf, size_t n)
{
	const char *unit;

	if (d->n == 0) {
		snprintf(buf, n, "onmiddellijk");
		return buf;
	}
	switch (d->unit) {
	case 'Y': unit = "jaar"; break;
	case 'M': unit = d->n == 1 ? "maand" : "maanden"; break;
	case 'D': unit = d->n == 1 ? "dag" : "dagen"; break;
	case 'H': unit = "uur"; break;
	default: unit = "?"; break;
	}
	snprintf(buf, n, "%u %s", d->n, unit);
	return buf;
}

/* A deadline: "onmiddellijk" or "binnen 1 maand". */
static const char *within_nl(const struct pduration *d, char *buf, size_t n)
{
	char w[32];

	if (d->n == 0)
		snprintf(buf, n, "onmiddellijk");
	else
		snprintf(buf, n, "binnen %s", dur_nl(d, w, sizeof w));
	return buf;
}

static const char *type_nl(enum pfield_type t)
{
	switch (t) {
	case PF_TEXT: return "tekst";
	case PF_EMAIL: return "e-mailadres";
	case PF_PHONE: return "telefoonnummer";
	case PF_DATE: return "datum";
	case PF_INT: return "geheel getal";
	case PF_ENUM: return "keuzelijst";
	case PF_BOOL: return "ja/nee";
	}
	return "?";
}

static const char *role_nl(enum prole_name n)
{
	switch (n) {
	case PROLE_CUSTODIAN: return "Gegevensbeheerder";
	case PROLE_RESEARCHER: return "Onderzoeker";
	case PROLE_DPO: return "Functionaris voor gegevensbescherming";
	case PROLE_ADMIN: return "Systeembeheerder";
	case PROLE_COUNT: break;
	}
	return "?";
}

/* Permission bit i (1u << i) in words, as "may …" completions. */
static const char *perm_nl(unsigned i)
{
	static const char *const words[PP_COUNT] = {
		"de gegevens ontvangen en inlezen",
		"de identiteit achter een persoonscode inzien",
		"gepseudonimiseerde onderzoeksgegevens raadplegen",
		"statistieken aanmaken (met controle op onthulling)",
		"uitnodigingen en herinneringen versturen en antwoorden inlezen",
		"problemen met de kwaliteit van de gegevens melden",
		"incidenten en meldingen registreren",
		"een verdere mededeling registreren",
		"back-ups maken, controleren en terugzetten",
		"de gegevens vernietigen aan het einde van de bewaartermijn",
		"het auditlogboek lezen en controleren",
		"het verantwoordingsrapport opmaken",
		"gebruikers en rollen beheren",
	};
	return i < PP_COUNT ? words[i] : "?";
}

/* Purpose kinds, in the order of docs/protocol-format.md. */
static const char *const kind_ids[] = {
	"scientific_research", "statistics", "historical_research",
	"public_task", "service", "policy",
};
static const char *const kind_words[] = {
	"wetenschappelijk onderzoek", "statistische doeleinden",
	"historisch onderzoek",
	"de vervulling van een taak van algemeen belang", "dienstverlening",
	"beleidsvoorbereiding",
};
#define N_KINDS (sizeof kind_ids / sizeof *kind_ids)

/* Default wording of art. 2 per GDPR art. 6(1) ground (the seed's for f). */
static const char *ground_nl(const char *ground)
{
	static const char *const grounds[][2] = {
		{ "consent",
		  "de betrokkene heeft toestemming gegeven voor de verwerking van zijn persoonsgegevens voor een of meer specifieke doeleinden (artikel 6, lid 1, a), van de algemene verordening gegevensbescherming)." },
		{ "contract",
		  "de verwerking is noodzakelijk voor de uitvoering van een overeenkomst waarbij de betrokkene partij is, of om op verzoek van de betrokkene vóór de sluiting van een overeenkomst maatregelen te nemen (artikel 6, lid 1, b), van de algemene verordening gegevensbescherming)." },
		{ "legal_obligation",
		  "de verwerking is noodzakelijk om te voldoen aan een wettelijke verplichting die op de verwerkingsverantwoordelijke rust (artikel 6, lid 1, c), van de algemene verordening gegevensbescherming)." },
		{ "vital_interests",
		  "de verwerking is noodzakelijk om de vitale belangen van de betrokkene of van een andere natuurlijke persoon te beschermen (artikel 6, lid 1, d), van de algemene verordening gegevensbescherming)." },
		{ "public_task",
		  "de verwerking is noodzakelijk voor de vervulling van een taak van algemeen belang of van een taak in het kader van de uitoefening van het openbaar gezag dat aan de verwerkingsverantwoordelijke is opgedragen (artikel 6, lid 1, e), van de algemene verordening gegevensbescherming)." },
		{ "legitimate_interests",
		  "de verwerking van persoonsgegevens is noodzakelijk voor de behartiging van een gerechtvaardigd belang (artikel 6, lid 1, f), van de algemene verordening gegevensbescherming)." },
	};
	for (size_t i = 0; i < sizeof grounds / sizeof *grounds; i++)
		if (strcmp(grounds[i][0], ground) == 0)
			return grounds[i][1];
	return "";
}

/* ------------------------------------------------------------------ */
/* reading the document for what the model does not carry              */

static json_t *jget(json_t *o, const char *key)
{
	return json_is_object(o) ? json_object_get(o, key) : NULL;
}

static const char *jstr(json_t *o, const char *key)
{
	json_t *v = jget(o, key);
	return json_is_string(v) ? json_string_value(v) : "";
}

/* Does the text already end a sentence?  Then we add no period. */
static bool ends_sentence(const char *s)
{
	size_t n = strlen(s);

	while (n && (blank((unsigned char)s[n - 1]) || s[n - 1] == '\n'))
		n--;
	if (!n)
		return true;
	if (strchr(".!?;:", s[n - 1]))
		return true;
	/* "…" (U+2026) */
	return n >= 3 && memcmp(s + n - 3, "\xe2\x80\xa6", 3) == 0;
}

static const char *stop(const char *s)
{
	return ends_sentence(s) ? "" : ".";
}

/* Whitespace-collapsed copy (runs of blanks and line feeds → one space,
 * trimmed), for comparing text regardless of layout. */
static int collapse(const char *s, struct kbuf *b, struct kerr *e)
{
	bool sp = false;
	int rc = 0;

	kbuf_reset(b);
	for (; *s && !rc; s++) {
		if (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r') {
			sp = b->len > 0;
			continue;
		}
		if (sp)
			rc = kbuf_putc(b, ' ', e);
		sp = false;
		if (!rc)
			rc = kbuf_putc(b, (uint8_t)*s, e);
	}
	if (!rc && !b->p)
		rc = kbuf_puts(b, "", e);
	return rc;
}

/*
 * Whether `hay` already says `needle` (ignoring layout).  Protocol files
 * written from an existing text tend to repeat a sentence we generate
 * (the standard recital, the purpose kinds); saying it twice would make
 * the rendering read worse than the original.
 */
static bool already_says(struct rd *r, const char *hay, const char *needle)
{
	struct kbuf a = KBUF_INIT(TEMP_MAX), b = KBUF_INIT(TEMP_MAX);
	bool found = false;

	if (!r->rc && !(r->rc = collapse(hay, &a, r->e)) &&
	    !(r->rc = collapse(needle, &b, r->e)))
		found = a.p && b.p && b.len > 0 && strstr((const char *)a.p,
					    (const char *)b.p) != NULL;
	kbuf_free(&a);
	kbuf_free(&b);
	return found;
}

/* Uppercase UTF-8 (the seed's title is in capitals); invalid bytes are
 * copied as they are — the loader has already rejected them. */
static int upper(const char *s, struct kbuf *b, struct kerr *e)
{
	utf8proc_ssize_t len = (utf8proc_ssize_t)strlen(s), i = 0;
	int rc = 0;

	while (i < len && !rc) {
		utf8proc_int32_t cp;
		utf8proc_uint8_t enc[4];
		utf8proc_ssize_t k = utf8proc_iterate(
			(const utf8proc_uint8_t *)s + i, len - i, &cp);

		if (k <= 0) {
			rc = kbuf_putc(b, (uint8_t)s[i], e);
			i++;
			continue;
		}
		rc = kbuf_append(b, enc,
				 (size_t)utf8proc_encode_char(utf8proc_toupper(cp),
							      enc),
				 e);
		i += k;
	}
	if (!rc && !b->p)
		rc = kbuf_puts(b, "", e);
	return rc;
}

/* Whether the first character is an upper-case letter (so the text is a
 * sentence of its own rather than the end of ours). */
static bool starts_upper(const char *s)
{
	utf8proc_int32_t cp;

	if (utf8proc_iterate((const utf8proc_uint8_t *)s, -1, &cp) <= 0)
		return false;
	return utf8proc_category(cp) == UTF8PROC_CATEGORY_LU;
}

/* "A", …, "Z", "AA", … */
static void letter(unsigned i, char *buf, size_t n)
{
	char tmp[8];
	size_t k = 0;

	i++;
	while (i && k < sizeof tmp) {
		i--;
		tmp[k++] = (char)('A' + i % 26);
		i /= 26;
	}
	for (size_t j = 0; j < k && j + 1 < n; j++)
		buf[j] = tmp[k - 1 - j];
	buf[k < n ? k : n - 1] = '\0';
}

static const char *service_name(const struct protocol *p, const char *id)
{
	for (size_t i = 0; i < p->n_services; i++)
		if (strcmp(p->services[i].id, id) == 0)
			return p->services[i].name;
	return id;
}

/* ------------------------------------------------------------------ */
/* the document                                                        */

static void recital(struct rd *r, unsigned *n, const char *text)
{
	char l[8];

	letter((*n)++, l, sizeof l);
	if (r->html) {
		raw(r, "<div class=\"recital\"><span class=\"letter\">");
		raw(r, l);
		raw(r, ".</span>");
		text_lines(r, text, "", false);
		raw(r, "</div>\n");
	} else {
		raw(r, "**");
		raw(r, l);
		raw(r, ".** ");
		text_lines(r, text, "", false);
		raw(r, "\n\n");
	}
}

static void party_block(struct rd *r, const struct pparty *pp, bool last)
{
	paraf(r, "%s, %s, vertegenwoordigd door %s, %s", pp->legal_name,
	      pp->address, pp->rep_name, pp->rep_function);
	paraf(r, "hierna: “%s”%s", pp->name, last ? ";" : "");
}

static void front(struct rd *r)
{
	const struct protocol *p = r->p;
	json_t *recitals = jget(p->doc, "recitals");
	struct kbuf std = KBUF_INIT(TEMP_MAX), up = KBUF_INIT(TEMP_MAX);
	const struct pparty *parties[2] = { &p->discloser, &p->recipient };
	bool std_said = false;
	unsigned n = 0;
	char d[40];

	if (r->html) {
		heading(r, 1, p->title);
	} else if (!(r->rc = r->rc ? r->rc : upper(p->title, &up, r->e)) &&
		   up.p) {
		heading(r, 1, (const char *)up.p);
	}
	kbuf_free(&up);
	if (*p->context) {
		raw(r, r->html ? "<p class=\"context\">" : "");
		r->bol = true;
		txt(r, p->context);
		para_end(r);
	}
	paraf(r, "Dit protocol wordt gesloten conform %s%s", p->legal_framework,
	      stop(p->legal_framework));

	raw(r, r->html ? "<p class=\"marker\">TUSSEN</p>\n" : "**TUSSEN**\n\n");
	party_block(r, &p->discloser, false);
	raw(r, r->html ? "<p class=\"marker\">EN</p>\n" : "**EN**\n\n");
	party_block(r, &p->recipient, true);
	paraf(r, "%s en %s worden hieronder ook wel afzonderlijk aangeduid als een “partij” of gezamenlijk als de “partijen”.",
	      r->D, r->R);

	raw(r, r->html ? "<p class=\"marker\">NA TE HEBBEN UITEENGEZET</p>\n"
		       : "**NA TE HEBBEN UITEENGEZET**\n\n");
	recital(r, &n, p->discloser.description);
	recital(r, &n, p->recipient.description);
	if (!r->rc)
		r->rc = kbuf_printf(&std, r->e,
				    "De partijen wensen overeenkomstig %s een protocol te sluiten met betrekking tot de elektronische mededeling van persoonsgegevens. Dat protocol wordt bekendgemaakt op de website van beide partijen.",
				    p->legal_framework);
	for (size_t i = 0; i < json_array_size(recitals); i++) {
		const char *t = json_string_value(json_array_get(recitals, i));
		if (!t)
			continue;
		recital(r, &n, t);
		if (!r->rc && std.p && already_says(r, t, (const char *)std.p))
			std_said = true;
	}
	if (!std_said && std.p)
		recital(r, &n, (const char *)std.p);
	kbuf_free(&std);
	for (size_t i = 0; i < 2; i++) {
		struct kbuf b = KBUF_INIT(TEMP_MAX);

		if (!*parties[i]->dpo_advice_date)
			continue;
		if (!r->rc)
			r->rc = kbuf_printf(&b, r->e,
					    "De functionaris voor gegevensbescherming van %s heeft op %s een positief advies met betrekking tot een ontwerp van dit protocol gegeven.",
					    parties[i]->name,
					    date_nl(parties[i]->dpo_advice_date, d,
						    sizeof d));
		if (b.p)
			recital(r, &n, (const char *)b.p);
		kbuf_free(&b);
	}
	raw(r, r->html ? "<p class=\"marker\">WORDT OVEREENGEKOMEN WAT VOLGT:</p>\n"
		       : "**WORDT OVEREENGEKOMEN WAT VOLGT:**\n\n");
}

static void art1(struct rd *r)
{
	heading(r, 2, "Artikel 1: Onderwerp");
	paraf(r, "In dit protocol worden de voorwaarden en modaliteiten van de elektronische mededeling van de persoonsgegevens zoals omschreven in artikel 3 door %s aan %s uiteengezet.",
	      r->D, r->R);
}

/* The purpose kinds of one purpose as a bit set over kind_ids. */
static unsigned kinds_of(json_t *purpose)
{
	json_t *kinds = jget(purpose, "kinds");
	unsigned set = 0;

	for (size_t i = 0; i < json_array_size(kinds); i++) {
		const char *k = json_string_value(json_array_get(kinds, i));
		for (size_t j = 0; k && j < N_KINDS; j++)
			if (strcmp(k, kind_ids[j]) == 0)
				set |= 1u << j;
	}
	return set;
}

/* "wetenschappelijk onderzoek en statistische doeleinden" */
static int kinds_words(unsigned set, struct kbuf *b, struct kerr *e)
{
	size_t total = 0, k = 0;
	int rc = 0;

	for (size_t j = 0; j < N_KINDS; j++)
		total += (set >> j) & 1;
	for (size_t j = 0; j < N_KINDS && !rc; j++) {
		if (!((set >> j) & 1))
			continue;
		k++;
		rc = kbuf_printf(b, e, "%s%s",
				 k == 1 ? "" : k == total ? " en " : ", ",
				 kind_words[j]);
	}
	if (!rc && !b->p)
		rc = kbuf_puts(b, "", e);
	return rc;
}

static void art2(struct rd *r)
{
	const struct protocol *p = r->p;
	json_t *lb = jget(p->doc, "legal_basis");
	json_t *op = jget(lb, "original_purpose");
	json_t *purposes = jget(p->doc, "purposes");
	const char *basis = jstr(lb, "text");
	const char *compat = jstr(lb, "compatibility");
	const char *ref = jstr(op, "reference");
	struct kbuf kw = KBUF_INIT(TEMP_MAX), sentence = KBUF_INIT(TEMP_MAX);
	unsigned all = 0, first = 0;
	bool same = true;

	heading(r, 2, "Artikel 2: Rechtvaardigingsgronden van zowel de mededeling als de inzameling van de persoonsgegevens");
	if (!*basis)
		basis = ground_nl(jstr(lb, "ground"));
	if (strchr(basis, '\n')) {
		paraf(r, "De beoogde gegevensverwerking door %s gebeurt op basis van:", r->R);
		block(r, basis);
	} else {
		paraf(r, "De beoogde gegevensverwerking door %s gebeurt op basis van: %s%s",
		      r->R, basis, stop(basis));
	}

	para_begin(r);
	say(r, "%s heeft de opgevraagde gegevens oorspronkelijk verzameld voor het doeleinde “%s”",
	    r->D, jstr(op, "name"));
	if (*ref)
		say(r, " (%s)", ref);
	say(r, ".");
	follow(r, jstr(op, "description"));

	for (size_t i = 0; i < json_array_size(purposes); i++) {
		unsigned k = kinds_of(json_array_get(purposes, i));
		if (i == 0)
			first = k;
		same = same && k == first;
		all |= k;
	}
	paraf(r, "%s zal de opgevraagde gegevens verwerken voor %s:", r->R,
	      json_array_size(purposes) == 1 ? "het volgende doeleinde"
					     : "volgende doeleinden");
	list_begin(r);
	for (size_t i = 0; i < json_array_size(purposes); i++) {
		json_t *pu = json_array_get(purposes, i);

		item_begin(r);
		text_lines(r, jstr(pu, "description"), "  ", true);
		if (!same) {
			/* different kinds per purpose: say them per purpose */
			struct kbuf b = KBUF_INIT(TEMP_MAX);
			if (!r->rc)
				r->rc = kinds_words(kinds_of(pu), &b, r->e);
			if (b.p && b.len)
				say(r, "%sAard van de verwerking: %s.",
				    ends_sentence(jstr(pu, "description")) ? " "
									   : ". ",
				    (const char *)b.p);
			kbuf_free(&b);
		}
		item_end(r);
	}
	list_end(r);

	if (!r->rc)
		r->rc = kinds_words(all, &kw, r->e);
	if (!r->rc && same && kw.len)
		r->rc = kbuf_printf(&sentence, r->e,
				    "Het doeleinde voor de verdere verwerking is %s.",
				    (const char *)kw.p);
	if (sentence.p && !(*compat && already_says(r, compat,
						       (const char *)sentence.p)))
		paraf(r, "%s", (const char *)sentence.p);
	if (*compat) {
		block(r, compat);
	} else if (all & 7u) {
		/* research, statistics, history: GDPR art. 5(1)(b) says so */
		paraf(r, "Op deze verwerkingen geldt een uitzondering volgens artikel 5, 1, b), tweede zinsdeel van de algemene verordening gegevensbescherming: deze verwerkingen worden niet als onverenigbaar beschouwd met de oorspronkelijke doeleinden.");
	}
	kbuf_free(&kw);
	kbuf_free(&sentence);
}

/* The "toegelaten waarden" cell of one field. */
static void allowed_cell(struct rd *r, const struct pfield *f)
{
	char a[40], b[40];

	switch (f->type) {
	case PF_TEXT:
		sayc(r, C_CELL, "ten hoogste %zu tekens", f->max_length);
		break;
	case PF_EMAIL:
		sayc(r, C_CELL, "een geldig e-mailadres");
		break;
	case PF_PHONE:
		sayc(r, C_CELL, "internationaal formaat (+…); nationale nummers gelezen als %s",
		     f->region && *f->region ? f->region : "BE");
		break;
	case PF_DATE:
		if (*f->date_min && *f->date_max)
			sayc(r, C_CELL, "%s – %s",
			     date_nl(f->date_min, a, sizeof a),
			     date_nl(f->date_max, b, sizeof b));
		else if (*f->date_min)
			sayc(r, C_CELL, "vanaf %s", date_nl(f->date_min, a, sizeof a));
		else if (*f->date_max)
			sayc(r, C_CELL, "tot en met %s",
			     date_nl(f->date_max, a, sizeof a));
		else
			sayc(r, C_CELL, "elke geldige datum");
		break;
	case PF_INT:
		if (f->has_min && f->has_max)
			sayc(r, C_CELL, "%lld–%lld", f->min, f->max);
		else if (f->has_min)
			sayc(r, C_CELL, "vanaf %lld", f->min);
		else if (f->has_max)
			sayc(r, C_CELL, "tot en met %lld", f->max);
		else
			sayc(r, C_CELL, "elk geheel getal");
		break;
	case PF_ENUM:
		for (size_t i = 0; i < f->n_values; i++)
			sayc(r, C_CELL, "%s%s", i ? "; " : "", f->values[i].label);
		break;
	case PF_BOOL:
		sayc(r, C_CELL, "%s / %s", f->true_value ? f->true_value : "ja",
		     f->false_value ? f->false_value : "nee");
		break;
	}
}

static void cell_begin(struct rd *r, bool head)
{
	raw(r, r->html ? (head ? "<th>" : "<td>") : " ");
	r->bol = false;
	r->prev = ' ';
}

static void cell_end(struct rd *r, bool head)
{
	raw(r, r->html ? (head ? "</th>" : "</td>") : " |");
}

static void fields_table(struct rd *r)
{
	static const char *const heads[] = {
		"Gegeven", "Naam", "Type", "Categorie", "Verplicht",
		"Bij ongeldige waarde", "Toegelaten waarden",
	};
	const struct protocol *p = r->p;
	const size_t nh = sizeof heads / sizeof *heads;

	raw(r, r->html ? "<table class=\"fields\">\n<thead><tr>" : "|");
	for (size_t i = 0; i < nh; i++) {
		cell_begin(r, true);
		txtc(r, heads[i], C_CELL);
		cell_end(r, true);
	}
	raw(r, r->html ? "</tr></thead>\n<tbody>\n" : "\n|");
	for (size_t i = 0; !r->html && i < nh; i++)
		raw(r, "---|");
	raw(r, r->html ? "" : "\n");
	for (size_t i = 0; i < p->n_fields; i++) {
		const struct pfield *f = &p->fields[i];

		raw(r, r->html ? "<tr>" : "|");
		cell_begin(r, false);
		txtc(r, f->label, C_CELL);
		cell_end(r, false);
		cell_begin(r, false);
		code(r, f->name);
		cell_end(r, false);
		cell_begin(r, false);
		txtc(r, type_nl(f->type), C_CELL);
		cell_end(r, false);
		cell_begin(r, false);
		txtc(r, f->category == PF_IDENTIFYING ? "identificerend" : "kenmerk",
		     C_CELL);
		cell_end(r, false);
		cell_begin(r, false);
		txtc(r, f->required ? "ja" : "nee", C_CELL);
		cell_end(r, false);
		cell_begin(r, false);
		txtc(r, f->blank_invalid ? "waarde gewist" : "record geweigerd",
		     C_CELL);
		cell_end(r, false);
		cell_begin(r, false);
		allowed_cell(r, f);
		cell_end(r, false);
		raw(r, r->html ? "</tr>\n" : "\n");
	}
	raw(r, r->html ? "</tbody>\n</table>\n" : "\n");
}

static void art3(struct rd *r)
{
	const struct protocol *p = r->p;
	json_t *data = jget(p->doc, "data");
	json_t *sel = jget(p->doc, "selection");
	const char *subjects = jstr(data, "subjects");
	const char *seld = jstr(sel, "description");
	bool any_desc = false;
	char w[32];

	heading(r, 2, "Artikel 3: De gevraagde persoonsgegevens en de categorieën en omvang van de gevraagde persoonsgegevens conform het proportionaliteitsbeginsel");
	paraf(r, "In onderstaande tabel wordt een overzicht gegeven van de verschillende persoonsgegevens die worden meegedeeld. Daarna volgen de verantwoording van de proportionaliteit en de bewaartermijn van de gegevens.");
	if (json_is_true(jget(data, "special_categories"))) {
		paraf(r, "Het betreft persoonsgegevens als vermeld in artikel 9 en/of 10 van de algemene verordening gegevensbescherming:");
		block(r, jstr(data, "special_categories_text"));
	} else {
		paraf(r, "Het betreft geen persoonsgegevens als vermeld in artikel 9 en/of 10 van de algemene verordening gegevensbescherming.");
	}
	fields_table(r);
	paraf(r, "Een “identificerend” gegeven wordt bij ontvangst afgezonderd en verzegeld bewaard; de kenmerken zijn de onderzoeksgegevens en worden enkel gekoppeld aan een willekeurige persoonscode gebruikt. Een record zonder geldige waarde voor een verplicht gegeven wordt geweigerd; bij “waarde gewist” wordt een ongeldige waarde weggelaten en blijft het record behouden.");

	for (size_t i = 0; i < p->n_fields; i++)
		any_desc = any_desc || *p->fields[i].description;
	if (any_desc) {
		heading(r, 3, "Toelichting per gegeven");
		list_begin(r);
		for (size_t i = 0; i < p->n_fields; i++) {
			const struct pfield *f = &p->fields[i];

			if (!*f->description)
				continue;
			item_begin(r);
			bold_begin(r);
			txt(r, f->label);
			bold_end(r);
			say(r, " (");
			code(r, f->name);
			say(r, "): ");
			text_lines(r, f->description, "  ", true);
			item_end(r);
		}
		list_end(r);
	}

	heading(r, 3, "Selectie");
	/* The description either continues our sentence ("die …") or is a
	 * sentence of its own; both occur in real protocols. */
	if (starts_upper(seld)) {
		paraf(r, "Het betreft persoonsgegevens van %s, geselecteerd als volgt:",
		      subjects);
		block(r, seld);
	} else {
		if (strncmp(seld, "die ", 4) == 0)
			seld += 4;
		paraf(r, "Het betreft persoonsgegevens van %s die %s%s", subjects,
		      seld, stop(seld));
	}

	heading(r, 3, "Verantwoording proportionaliteit");
	block(r, jstr(data, "proportionality"));

	heading(r, 3, "Bewaartermijn");
	para_begin(r);
	say(r, "De meegedeelde gegevens zullen door %s gedurende %s bewaard worden vanaf %s.",
	    r->R, dur_nl(&p->retention, w, sizeof w),
	    p->retention_from_receipt ? "ontvangst van de gegevens"
				      : "de mededeling van de gegevens");
	follow(r, jstr(jget(p->doc, "retention"), "justification"));
	if (p->retention_aggregate_only)
		paraf(r, "Na afloop van de bewaartermijn worden de persoonsgegevens vernietigd; enkel geaggregeerde statistieken, die niet tot personen herleidbaar zijn, mogen worden bewaard.");
	else
		paraf(r, "Na afloop van de bewaartermijn worden alle meegedeelde persoonsgegevens volledig vernietigd, back-ups inbegrepen.");
}

static void art4(struct rd *r)
{
	const struct protocol *p = r->p;

	heading(r, 2, "Artikel 4: De categorieën van ontvangers en derden die mogelijks de gegevens eveneens verkrijgen");
	paraf(r, "%s zal de meegedeelde persoonsgegevens in het kader van de in artikel 2 vooropgestelde finaliteiten kunnen meedelen aan volgende categorie(ën) van ontvangers:",
	      r->R);
	list_begin(r);
	item_begin(r);
	say(r, "Volgende diensten van %s zullen toegang hebben tot de gevraagde persoonsgegevens:",
	    r->R);
	if (r->html) {
		raw(r, "\n<ul>\n");
		for (size_t i = 0; i < p->n_services; i++)
			item_text(r, p->services[i].name);
		raw(r, "</ul>\n");
	} else {
		raw(r, "\n");
		for (size_t i = 0; i < p->n_services; i++) {
			raw(r, "  ");
			item_text(r, p->services[i].name);
		}
	}
	raw(r, r->html ? "</li>\n" : "");
	list_end(r);

	if (p->need_to_know)
		paraf(r, "Enkel personen die omwille van hun functieprofiel deze informatie nodig hebben voor de uitvoering van hun werk, krijgen toegang tot de informatie.");
	else
		paraf(r, "De medewerkers van deze diensten krijgen toegang tot de informatie binnen de rollen en bevoegdheden die hieronder zijn vermeld.");
	switch (p->onward) {
	case PONWARD_PRIOR_NOTICE:
		paraf(r, "Elke eventuele mededeling van de gevraagde persoonsgegevens door %s moet voorafgaandelijk aan %s worden gemeld en moet uiteraard in overeenstemming zijn met de relevante wet- en regelgeving inzake de bescherming van natuurlijke personen bij de verwerking van persoonsgegevens. Dat betekent onder meer dat %s waar vereist een protocol sluit voor de mededeling van de gevraagde gegevens.",
		      r->R, r->D, r->R);
		break;
	case PONWARD_FORBIDDEN:
		paraf(r, "%s deelt de gevraagde persoonsgegevens aan niemand verder mee.",
		      r->R);
		break;
	case PONWARD_ALLOWED:
		paraf(r, "Elke eventuele mededeling van de gevraagde persoonsgegevens door %s moet in overeenstemming zijn met de relevante wet- en regelgeving inzake de bescherming van natuurlijke personen bij de verwerking van persoonsgegevens. Dat betekent onder meer dat %s waar vereist een protocol sluit voor de mededeling van de gevraagde gegevens.",
		      r->R, r->R);
		break;
	}

	heading(r, 3, "Rollen en bevoegdheden");
	paraf(r, "Binnen %s zijn de gegevens enkel toegankelijk via de volgende rollen, elk met de vermelde bevoegdheden:",
	      r->R);
	list_begin(r);
	for (unsigned i = 0; i < PROLE_COUNT; i++) {
		const struct prole *ro = &p->roles[i];
		unsigned k = 0;

		if (!ro->defined)
			continue;
		item_begin(r);
		bold_begin(r);
		txt(r, role_nl((enum prole_name)i));
		bold_end(r);
		for (size_t s = 0; s < ro->n_services; s++)
			say(r, "%s%s", s ? ", " : " (",
			    service_name(p, ro->services[s]));
		say(r, "%s: ", ro->n_services ? ")" : "");
		if (*ro->description)
			say(r, "%s%s ", ro->description, stop(ro->description));
		say(r, "Bevoegdheden: ");
		for (unsigned b = 0; b < PP_COUNT; b++)
			if (ro->perms & (1u << b))
				say(r, "%s%s", k++ ? ", " : "", perm_nl(b));
		say(r, ".");
		item_end(r);
	}
	list_end(r);
}

static void art5(struct rd *r)
{
	static const char *const every[] = {
		"eenmalig", "dagelijks", "wekelijks", "maandelijks",
		"driemaandelijks", "jaarlijks",
	};
	const struct protocol *p = r->p;
	const char *end = jstr(jget(p->doc, "transfer"), "end");
	char d[40];

	heading(r, 2, "Artikel 5: Periodiciteit van de mededeling en de duur van de mededeling");
	if (p->periodicity == PPER_ONCE)
		paraf(r, "De persoonsgegevens zullen eenmalig worden opgevraagd.");
	else if (*end)
		paraf(r, "De persoonsgegevens zullen %s worden meegedeeld, voor het laatst op %s.",
		      every[p->periodicity], date_nl(end, d, sizeof d));
	else
		paraf(r, "De persoonsgegevens zullen %s worden meegedeeld, zolang dit protocol van kracht is.",
		      every[p->periodicity]);
}

static void art6(struct rd *r)
{
	const struct protocol *p = r->p;
	json_t *procs = jget(p->doc, "processors");
	const char *how = jstr(jget(p->doc, "transfer"), "description");
	char d[40];

	heading(r, 2, "Artikel 6: Beveiligingsmaatregelen");
	paraf(r, "Volgende maatregelen worden getroffen ter beveiliging van de mededeling van de persoonsgegevens, vermeld in artikel 3:");
	if (*how) {
		block(r, how);
	} else if (strcmp(p->channel, "email") == 0) {
		paraf(r, "De persoonsgegevens worden door %s via een e-mail met een versleutelde bijlage (age) en digitale handtekening (minisign) bezorgd aan %s.",
		      r->D, r->R);
	} else {
		paraf(r, "De persoonsgegevens worden door %s als een versleuteld bestand (age) met digitale handtekening (minisign) bezorgd aan %s.",
		      r->D, r->R);
	}
	paraf(r, "De gegevens worden versleuteld voor de sleutel van %s en ondertekend met de sleutel van %s; beide sleutels staan onder “Sleutels” achteraan dit protocol. %s aanvaardt enkel gegevens waarvan de handtekening klopt en die aan dit protocol beantwoorden.",
	      r->R, r->D, r->R);
	paraf(r, "%s treft ten minste volgende organisatorische en technische beveiligingsmaatregelen ter beveiliging van de ontvangen persoonsgegevens bij verdere verwerking:",
	      r->R);
	list_begin(r);
	for (size_t i = 0; i < p->n_measures; i++)
		item_text(r, p->measures[i].text);
	list_end(r);
	paraf(r, "%s moet kunnen aantonen dat de in dit artikel opgesomde maatregelen werden getroffen. Op eenvoudig verzoek van %s moet %s hiervan aan %s het bewijs overmaken.",
	      r->R, r->D, r->R, r->D);

	heading(r, 3, "Bekendmaking van statistieken");
	if (p->dominance_top == 1)
		paraf(r, "%s maakt enkel geaggregeerde resultaten bekend. Een cel die minder dan %u %s telt, wordt niet bekendgemaakt; evenmin een cel waarin de grootste bijdrager meer dan %u %% van het totaal van de cel uitmaakt.",
		      r->R, p->min_cell_count,
		      p->min_cell_count == 1 ? "persoon" : "personen",
		      p->dominance_percent);
	else
		paraf(r, "%s maakt enkel geaggregeerde resultaten bekend. Een cel die minder dan %u %s telt, wordt niet bekendgemaakt; evenmin een cel waarin de %u grootste bijdragers samen meer dan %u %% van het totaal van de cel uitmaken.",
		      r->R, p->min_cell_count,
		      p->min_cell_count == 1 ? "persoon" : "personen",
		      p->dominance_top, p->dominance_percent);

	heading(r, 3, "Verwerkers");
	paraf(r, "In het geval %s voor de verwerking van persoonsgegevens die het voorwerp zijn van voorliggend protocol, beroep doet op een verwerker (of meerdere verwerkers), doet %s uitsluitend beroep op verwerkers die afdoende garanties met betrekking tot het toepassen van passende technische en organisatorische maatregelen bieden opdat de verwerking aan de vereisten van de algemene verordening gegevensbescherming voldoet en de bescherming van de rechten van de betrokkene is gewaarborgd. %s sluit in voorkomend geval met alle verwerkers een verwerkersovereenkomst in overeenstemming met artikel 28 van de algemene verordening gegevensbescherming. Partijen bezorgen elkaar een overzicht van de verwerkers die de gevraagde gegevens verwerken, en actualiseren dit overzicht zo nodig.",
	      r->R, r->R, r->R);
	if (json_array_size(procs) == 0) {
		paraf(r, "Er zijn momenteel geen verwerkers.");
		return;
	}
	paraf(r, "%s doet momenteel beroep op de volgende %s:", r->R,
	      json_array_size(procs) == 1 ? "verwerker" : "verwerkers");
	list_begin(r);
	for (size_t i = 0; i < json_array_size(procs); i++) {
		json_t *pr = json_array_get(procs, i);
		const char *tasks = jstr(pr, "tasks");

		item_begin(r);
		bold_begin(r);
		txt(r, jstr(pr, "name"));
		bold_end(r);
		say(r, ", %s: %s%s Verwerkersovereenkomst van %s.",
		    jstr(pr, "address"), tasks, stop(tasks),
		    date_nl(jstr(pr, "agreement_date"), d, sizeof d));
		item_end(r);
	}
	list_end(r);
}

static void art7(struct rd *r)
{
	const struct protocol *p = r->p;
	char a[64], b[64];

	heading(r, 2, "Artikel 7: Kwaliteit van de persoonsgegevens");
	paraf(r, "Zodra %s één of meerdere foutieve, onnauwkeurige, onvolledige, ontbrekende, verouderde of overtollige gegevens in de persoonsgegevens, vermeld in artikel 3, vaststelt (al dan niet op basis van een mededeling van de betrokkene), meldt zij dat %s aan %s, die na onderzoek %s na de voornoemde vaststellingen de gepaste maatregelen treft en %s daarvan vervolgens op de hoogte brengt.",
	      r->R, within_nl(&p->quality_report, a, sizeof a), r->D,
	      within_nl(&p->quality_action, b, sizeof b), r->R);
}

static void art8(struct rd *r)
{
	const char *t = jstr(r->p->doc, "termination");

	heading(r, 2, "Artikel 8: Sanctie bij niet-naleving");
	if (*t)
		block(r, t);
	else
		paraf(r, "Onverminderd haar recht om een schadevergoeding te vorderen, kan %s dit protocol middels eenvoudige kennisgeving en zonder voorafgaandelijke ingebrekestelling eenzijdig beëindigen indien %s deze persoonsgegevens verwerkt in strijd met hetgeen bepaald is in dit protocol, met de algemene verordening gegevensbescherming of met andere relevante wet- of regelgeving inzake de bescherming van natuurlijke personen bij de verwerking van persoonsgegevens.",
		      r->D, r->R);
}

static void dpo_item(struct rd *r, const struct pparty *pp)
{
	item_begin(r);
	say(r, "voor %s: %s, ", pp->name, pp->dpo_name);
	if (*pp->dpo_email)
		code(r, pp->dpo_email);
	else
		say(r, "e-mailadres nog niet ingesteld");
	item_end(r);
}

static void art9(struct rd *r)
{
	const struct protocol *p = r->p;
	const struct pduration *bn = &p->breach_notification;
	char a[128], b[64];

	heading(r, 2, "Artikel 9: Meldingsplichten");
	if (bn->n == 0)
		snprintf(a, sizeof a, "onmiddellijk");
	else
		snprintf(a, sizeof a, "zonder onredelijke vertraging en uiterlijk %s",
			 within_nl(bn, b, sizeof b));
	paraf(r, "Partijen engageren zich in het licht van artikel 33 van de algemene verordening gegevensbescherming om elkaar via de functionarissen voor gegevensbescherming %s op de hoogte te stellen van elk gegevenslek dat zich voordoet betreffende de meegedeelde gegevens met impact op beide partijen en in voorkomend geval onmiddellijk gezamenlijk te overleggen teneinde alle maatregelen te nemen om de gevolgen van het gegevenslek te beperken en te herstellen. De partijen verschaffen elkaar alle informatie die ze nuttig of nodig achten om de beveiligingsmaatregelen te optimaliseren.",
	      a);
	paraf(r, "Bij een incident met de meegedeelde gegevens brengt %s de verwerkingsverantwoordelijke %s op de hoogte.",
	      r->R, within_nl(&p->incident_controller, b, sizeof b));
	if (p->change_notification.unit)
		within_nl(&p->change_notification, b, sizeof b);
	else
		snprintf(b, sizeof b, "zonder onredelijke vertraging");
	paraf(r, "%s brengt %s %s op de hoogte van wijzigingen van wetgeving met impact op voorliggend protocol, zoals de finaliteit, proportionaliteit, frequentie, duurtijd enz. en in voorkomend geval van wijzigingen omtrent de verwerkers.",
	      r->R, r->D, b);
	paraf(r, "De functionarissen voor gegevensbescherming:");
	list_begin(r);
	dpo_item(r, &p->discloser);
	dpo_item(r, &p->recipient);
	list_end(r);
}

/* "het Belgisch recht", unless the file already says "het …". */
static bool has_article(const char *s)
{
	return strncmp(s, "het ", 4) == 0 || strncmp(s, "de ", 3) == 0;
}

static void art10(struct rd *r)
{
	json_t *law = jget(r->p->doc, "law");
	const char *l = jstr(law, "law"), *court = jstr(law, "court");

	heading(r, 2, "Artikel 10: Toepasselijk recht en geschillenbeslechting");
	paraf(r, "Dit protocol wordt beheerst door %s%s%s", has_article(l) ? "" : "het ",
	      l, stop(l));
	/* "de bevoegde rechtbank in Brussel" is used as written; a bare
	 * place ("Brussel") gets the seed's wording around it. */
	if (has_article(court) || !starts_upper(court))
		paraf(r, "Alle geschillen die voortvloeien uit of verband houden met dit protocol worden beslecht door %s%s",
		      court, stop(court));
	else
		paraf(r, "Alle geschillen die voortvloeien uit of verband houden met dit protocol worden beslecht door de bevoegde rechtbank in %s%s",
		      court, stop(court));
}

static void signatures(struct rd *r)
{
	const struct protocol *p = r->p;
	const struct pparty *pp[2] = { &p->discloser, &p->recipient };
	char d[40];

	if (*p->signed_date)
		paraf(r, "Opgemaakt te %s, op %s, in evenveel exemplaren als er partijen zijn.",
		      p->signed_place, date_nl(p->signed_date, d, sizeof d));
	else
		paraf(r, "Nog niet ondertekend.");
	if (r->html) {
		raw(r, "<table class=\"signatures\">\n<tr>");
		for (int i = 0; i < 2; i++) {
			raw(r, "<td><div class=\"line\"></div>");
			txt(r, pp[i]->rep_name);
			raw(r, ",<br>");
			txt(r, pp[i]->rep_function);
			raw(r, "<br>");
			txt(r, pp[i]->name);
			raw(r, "</td>");
		}
		raw(r, "</tr>\n</table>\n");
		return;
	}
	raw(r, "|");
	for (int i = 0; i < 2; i++) {
		cell_begin(r, false);
		sayc(r, C_CELL, "Voor %s", pp[i]->name);
		cell_end(r, false);
	}
	raw(r, "\n|---|---|\n|");
	for (int i = 0; i < 2; i++) {
		cell_begin(r, false);
		txtc(r, "(handtekening)", C_CELL);
		cell_end(r, false);
	}
	raw(r, "\n|");
	for (int i = 0; i < 2; i++) {
		cell_begin(r, false);
		sayc(r, C_CELL, "%s, %s", pp[i]->rep_name, pp[i]->rep_function);
		cell_end(r, false);
	}
	raw(r, "\n|");
	for (int i = 0; i < 2; i++) {
		cell_begin(r, false);
		txtc(r, pp[i]->legal_name, C_CELL);
		cell_end(r, false);
	}
	raw(r, "\n\n");
}

static void key_item(struct rd *r, const struct pparty *pp)
{
	item_begin(r);
	bold_begin(r);
	txt(r, pp->name);
	bold_end(r);
	say(r, ": age-ontvanger ");
	if (*pp->age_recipient)
		code(r, pp->age_recipient);
	else
		say(r, "nog niet ingesteld");
	say(r, "; minisign-sleutel ");
	if (*pp->minisign_key)
		code(r, pp->minisign_key);
	else
		say(r, "nog niet ingesteld");
	item_end(r);
}

static void keys(struct rd *r)
{
	const struct protocol *p = r->p;

	heading(r, 2, "Sleutels");
	paraf(r, "De gegevens worden versleuteld met de age-sleutel van de ontvanger en ondertekend met de minisign-sleutel van de verstrekker. De publieke sleutels van de partijen:");
	list_begin(r);
	key_item(r, &p->discloser);
	key_item(r, &p->recipient);
	list_end(r);
	para_begin(r);
	say(r, "Protocol ");
	code(r, p->id);
	say(r, ", versie %s. Vingerafdruk (SHA-256 van de canonieke vorm van het protocolbestand): ",
	    p->version);
	code(r, p->digest);
	say(r, ". Elke wijziging van het protocol, ook van een sleutel, wijzigt deze vingerafdruk; de partijen aanvaarden enkel gegevens die naar deze vingerafdruk verwijzen.");
	para_end(r);
}

static void survey_para(struct rd *r)
{
	const struct pduration *s = &r->p->survey_reminder;
	char w[32];

	if (!s->unit)
		return;
	if (s->n == 0)
		paraf(r, "Bij de bevraging krijgt wie nog niet heeft geantwoord onmiddellijk een herinnering.");
	else
		paraf(r, "Bij de bevraging krijgt wie nog niet heeft geantwoord een herinnering na %s.",
		      dur_nl(s, w, sizeof w));
}

static void annex(struct rd *r)
{
	json_t *an = jget(r->p->doc, "annex");
	json_t *sections = jget(an, "sections");

	if (!an) {
		if (r->p->survey_reminder.unit) {
			heading(r, 2, "Bijlage 1 — Bevraging");
			survey_para(r);
		}
		return;
	}
	raw(r, r->html ? "<section class=\"annex\">\n" : "");
	head_begin(r, 2);
	sayc(r, C_HEAD, "Bijlage 1 — %s", jstr(an, "title"));
	head_end(r, 2);
	for (size_t i = 0; i < json_array_size(sections); i++) {
		json_t *s = json_array_get(sections, i);

		heading(r, 3, jstr(s, "title"));
		block(r, jstr(s, "text"));
	}
	if (r->p->survey_reminder.unit) {
		heading(r, 3, "Bevraging");
		survey_para(r);
	}
	raw(r, r->html ? "</section>\n" : "");
}

/* Print-first: A4 margins, serif body, the table and the signatures kept
 * on one page where they fit; nothing loaded from elsewhere. */
static const char css[] =
	"body{font-family:Georgia,\"Times New Roman\",Times,serif;font-size:11pt;"
	"line-height:1.45;color:#111;background:#fff;max-width:48em;"
	"margin:2em auto;padding:0 1.2em}\n"
	"h1{font-size:15pt;text-align:center;text-transform:uppercase;"
	"line-height:1.3;margin:0 0 .6em}\n"
	"h2{font-size:12.5pt;margin:1.6em 0 .5em}\n"
	"h3{font-size:11pt;font-style:italic;margin:1.2em 0 .4em}\n"
	"p{margin:.5em 0}\n"
	".context{text-align:center;font-style:italic}\n"
	".marker{font-weight:bold;margin-top:1.2em}\n"
	".recital{position:relative;padding-left:2.2em;margin:.6em 0}\n"
	".recital .letter{position:absolute;left:0;top:.5em;font-weight:bold}\n"
	"ul{margin:.4em 0;padding-left:1.6em}\n"
	"li{margin:.25em 0}\n"
	"code{font-family:\"DejaVu Sans Mono\",Consolas,monospace;font-size:.88em;"
	"word-break:break-all}\n"
	"table.fields{border-collapse:collapse;width:100%;font-size:9pt;"
	"margin:.8em 0}\n"
	"table.fields th,table.fields td{border:1px solid #666;padding:.25em .4em;"
	"text-align:left;vertical-align:top}\n"
	"table.fields th{background:#eee}\n"
	"table.signatures{width:100%;margin:2.5em 0 1em;border-collapse:collapse}\n"
	"table.signatures td{width:50%;vertical-align:top;padding-right:2em}\n"
	"table.signatures .line{border-bottom:1px solid #000;height:4em;"
	"margin-bottom:.4em}\n"
	"@media print{\n"
	"@page{size:A4;margin:2cm 2cm 2.2cm 2.2cm}\n"
	"body{max-width:none;margin:0;padding:0;font-size:10.5pt}\n"
	"h2,h3{page-break-after:avoid;break-after:avoid}\n"
	"table.fields,table.signatures,tr,.recital{page-break-inside:avoid;"
	"break-inside:avoid}\n"
	"table.fields th{background:none}\n"
	".annex{page-break-before:always;break-before:page}\n"
	"}\n";

int prender(const struct protocol *p, enum prender_format fmt,
	    struct kbuf *out, struct kerr *e)
{
	struct rd r = { 0 };

	if (!p || !out || (fmt != PRENDER_MD && fmt != PRENDER_HTML))
		return kerr_set(e, KERR_USAGE, "protocol rendering",
				"no protocol or unknown format");
	r.p = p;
	r.html = fmt == PRENDER_HTML;
	r.out = out;
	r.e = e;
	r.D = p->discloser.name;
	r.R = p->recipient.name;
	r.prev = ' ';

	if (r.html) {
		raw(&r, "<!DOCTYPE html>\n<html lang=\"nl\">\n<head>\n"
			"<meta charset=\"utf-8\">\n"
			"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
			"<title>");
		txtc(&r, p->title, C_HEAD);
		raw(&r, "</title>\n<style>\n");
		raw(&r, css);
		raw(&r, "</style>\n</head>\n<body>\n<main>\n");
	}
	front(&r);
	art1(&r);
	art2(&r);
	art3(&r);
	art4(&r);
	art5(&r);
	art6(&r);
	art7(&r);
	art8(&r);
	art9(&r);
	art10(&r);
	signatures(&r);
	keys(&r);
	annex(&r);
	if (r.html)
		raw(&r, "</main>\n</body>\n</html>\n");
	else if (!r.rc && out->len >= 2 && out->p[out->len - 1] == '\n' &&
		 out->p[out->len - 2] == '\n')
		kbuf_truncate(out, out->len - 1); /* one final newline */
	return r.rc;
}
