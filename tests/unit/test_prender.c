/* prender: the Dutch rendering from a model built by hand (no loader), so
 * each rule is tested on its own: durations and dates in words, recital
 * letters past Z, escaping in both formats, errors from a full buffer. */
#include <stdio.h>
#include <string.h>

#include "prender.h"
#include "unit.h"

/* The narrative keys the model does not carry, as a loaded file has them. */
static const char doc_json[] =
	"{\"recitals\": [\"Eerste overweging.\"],"
	" \"legal_basis\": {\"ground\": \"public_task\","
	"   \"original_purpose\": {\"name\": \"Register\", \"reference\": \"art. 1\","
	"     \"description\": \"Beschrijving.\"}},"
	" \"purposes\": [{\"id\": \"p\", \"description\": \"Onderzoek doen.\","
	"   \"kinds\": [\"statistics\"]}],"
	" \"data\": {\"subjects\": \"burgers\", \"proportionality\": \"Nodig.\","
	"   \"special_categories\": false},"
	" \"selection\": {\"description\": \"die in 2020 verhuisden\"},"
	" \"transfer\": {},"
	" \"retention\": {\"justification\": \"Looptijd.\"},"
	" \"processors\": [],"
	" \"law\": {\"law\": \"Belgisch recht\", \"court\": \"Brussel\"}}";

struct fixture {
	struct protocol p;
	struct pfield fields[3];
	struct penum_value values[2];
	struct pservice service;
	struct pmeasure measures[2];
	const char *role_services[1];
};

static void party(struct pparty *pp, const char *name)
{
	memset(pp, 0, sizeof *pp);
	pp->name = name;
	pp->legal_name = name;
	pp->address = "Straat 1, 1000 Brussel";
	pp->rep_name = "Voornaam Achternaam";
	pp->rep_function = "administrateur-generaal";
	pp->description = "Een bestuur.";
	pp->dpo_name = "DPO";
	pp->dpo_email = "";
	pp->dpo_advice_date = "";
	pp->age_recipient = "";
	pp->minisign_key = "";
}

static struct pduration dur(char unit, unsigned n)
{
	struct pduration d = { unit, n, "" };
	return d;
}

/* A small valid model; returns 0 if the document did not parse. */
static int fixture_init(struct fixture *f)
{
	struct protocol *p = &f->p;

	memset(f, 0, sizeof *f);
	p->doc = json_loads(doc_json, 0, NULL);
	if (!p->doc)
		return 0;
	snprintf(p->digest, sizeof p->digest, "sha256:%064d", 0);
	p->id = "test";
	p->version = "1.0";
	p->title = "Protocol über één test";
	p->context = "";
	p->legal_framework = "artikel 8, §1, van het decreet";
	p->signed_date = "2021-03-15";
	p->signed_place = "Brussel";
	party(&p->discloser, "Verstrekker");
	party(&p->recipient, "Ontvanger");
	f->service.id = "dienst";
	f->service.name = "Dienst A & B";
	p->services = &f->service;
	p->n_services = 1;

	f->values[0].value = "a";
	f->values[0].label = "Keuze A";
	f->values[1].value = "b";
	f->values[1].label = "Keuze B";
	f->fields[0].name = "naam";
	f->fields[0].label = "Naam";
	f->fields[0].description = "";
	f->fields[0].type = PF_TEXT;
	f->fields[0].required = true;
	f->fields[0].max_length = 500;
	f->fields[1].name = "aantal";
	f->fields[1].label = "Aantal";
	f->fields[1].description = "";
	f->fields[1].type = PF_INT;
	f->fields[1].category = PF_ATTRIBUTE;
	f->fields[1].has_min = true;
	f->fields[1].min = 3;
	f->fields[1].blank_invalid = true;
	f->fields[2].name = "soort";
	f->fields[2].label = "Soort";
	f->fields[2].description = "";
	f->fields[2].type = PF_ENUM;
	f->fields[2].category = PF_ATTRIBUTE;
	f->fields[2].values = f->values;
	f->fields[2].n_values = 2;
	p->fields = f->fields;
	p->n_fields = 3;

	p->periodicity = PPER_ONCE;
	p->method = "age+minisign";
	p->channel = "email";
	p->retention = dur('Y', 1);
	p->retention_from_receipt = true;
	p->need_to_know = true;
	p->onward = PONWARD_FORBIDDEN;
	f->role_services[0] = "dienst";
	p->roles[PROLE_RESEARCHER].defined = true;
	p->roles[PROLE_RESEARCHER].perms = PP_QUERY | PP_STATS;
	p->roles[PROLE_RESEARCHER].description = "";
	p->roles[PROLE_RESEARCHER].services = f->role_services;
	p->roles[PROLE_RESEARCHER].n_services = 1;
	f->measures[0].id = "a";
	f->measures[0].text = "Maatregel een.";
	f->measures[1].id = "b";
	f->measures[1].text = "Maatregel twee.";
	p->measures = f->measures;
	p->n_measures = 2;
	p->quality_report = dur('D', 0);
	p->quality_action = dur('M', 1);
	p->incident_controller = dur('D', 0);
	p->breach_notification = dur('H', 72);
	p->min_cell_count = 5;
	p->dominance_top = 2;
	p->dominance_percent = 85;
	return 1;
}

static void fixture_free(struct fixture *f)
{
	json_decref(f->p.doc);
}

/* Render into a fresh buffer; returns the text (owned by *b) or NULL. */
static const char *render(struct fixture *f, enum prender_format fmt,
			  struct kbuf *b)
{
	struct kerr e;

	kbuf_init(b, 1u << 20, false);
	if (prender(&f->p, fmt, b, &e) != 0 || !b->p)
		return NULL;
	return (const char *)b->p;
}

static void durations_in_words(void)
{
	static const struct {
		char unit;
		unsigned n;
		const char *want;
	} cases[] = {
		{ 'Y', 1, "gedurende 1 jaar bewaard" },
		{ 'Y', 5, "gedurende 5 jaar bewaard" },
		{ 'M', 1, "gedurende 1 maand bewaard" },
		{ 'M', 6, "gedurende 6 maanden bewaard" },
		{ 'D', 1, "gedurende 1 dag bewaard" },
		{ 'D', 14, "gedurende 14 dagen bewaard" },
		{ 'H', 1, "gedurende 1 uur bewaard" },
		{ 'H', 72, "gedurende 72 uur bewaard" },
	};
	struct fixture f;

	CHECK(fixture_init(&f));
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		struct kbuf b;
		const char *s;
		int found;

		f.p.retention = dur(cases[i].unit, cases[i].n);
		s = render(&f, PRENDER_MD, &b);
		found = s && strstr(s, cases[i].want) != NULL;
		kbuf_free(&b);
		if (!found)
			printf("# missing: %s\n", cases[i].want);
		CHECK(found);
	}
	fixture_free(&f);
}

static void deadlines_in_words(void)
{
	struct fixture f;
	struct kbuf b;
	const char *s;

	CHECK(fixture_init(&f));
	s = render(&f, PRENDER_MD, &b);
	CHECK(s);
	CHECK(strstr(s, "meldt zij dat onmiddellijk aan Verstrekker, die na onderzoek binnen 1 maand na"));
	CHECK(strstr(s, "zonder onredelijke vertraging en uiterlijk binnen 72 uur op de hoogte"));
	CHECK(strstr(s, "brengt Ontvanger de verwerkingsverantwoordelijke onmiddellijk op de hoogte"));
	/* no change_notification in the file: a reasonable default */
	CHECK(strstr(s, "Verstrekker zonder onredelijke vertraging op de hoogte van wijzigingen"));
	kbuf_free(&b);
	f.p.quality_report = dur('D', 5);
	f.p.breach_notification = dur('D', 0);
	f.p.change_notification = dur('M', 1);
	s = render(&f, PRENDER_MD, &b);
	CHECK(s);
	CHECK(strstr(s, "meldt zij dat binnen 5 dagen aan"));
	CHECK(strstr(s, "gegevensbescherming onmiddellijk op de hoogte te stellen"));
	CHECK(strstr(s, "Verstrekker binnen 1 maand op de hoogte van wijzigingen"));
	kbuf_free(&b);
	fixture_free(&f);
}

static void dates_and_signature(void)
{
	struct fixture f;
	struct kbuf b;
	const char *s;

	CHECK(fixture_init(&f));
	f.p.recipient.dpo_advice_date = "2021-01-31";
	s = render(&f, PRENDER_MD, &b);
	CHECK(s);
	CHECK(strstr(s, "Opgemaakt te Brussel, op 15 maart 2021, in evenveel exemplaren als er partijen zijn."));
	CHECK(strstr(s, "van Ontvanger heeft op 31 januari 2021 een positief advies"));
	/* only the party with an advice date gets a recital */
	CHECK(!strstr(s, "van Verstrekker heeft op"));
	kbuf_free(&b);
	f.p.signed_date = "";
	s = render(&f, PRENDER_MD, &b);
	CHECK(s);
	CHECK(strstr(s, "Nog niet ondertekend."));
	CHECK(!strstr(s, "Opgemaakt te"));
	kbuf_free(&b);
	fixture_free(&f);
}

static void recitals_past_z(void)
{
	struct fixture f;
	struct kbuf b;
	json_t *r;
	const char *s;

	CHECK(fixture_init(&f));
	r = json_object_get(f.p.doc, "recitals");
	for (int i = 0; i < 30; i++)
		json_array_append_new(r, json_string("Nog een overweging."));
	s = render(&f, PRENDER_MD, &b);
	CHECK(s);
	CHECK(strstr(s, "**A.** Een bestuur."));
	CHECK(strstr(s, "**Z.** "));
	CHECK(strstr(s, "**AA.** "));
	/* 2 parties + 31 recitals + the standard one = 34 letters: AH */
	CHECK(strstr(s, "**AH.** De partijen wensen overeenkomstig artikel 8"));
	CHECK(!strstr(s, "**AI.**"));
	kbuf_free(&b);
	fixture_free(&f);
}

static void md_table_and_words(void)
{
	struct fixture f;
	struct kbuf b;
	const char *s;

	CHECK(fixture_init(&f));
	f.p.periodicity = PPER_WEEKLY;
	s = render(&f, PRENDER_MD, &b);
	CHECK(s);
	CHECK(strncmp(s, "# PROTOCOL ÜBER ÉÉN TEST\n\n", 27) == 0);
	CHECK(strstr(s, "| Naam | `naam` | tekst | identificerend | ja | record geweigerd | ten hoogste 500 tekens |\n"));
	CHECK(strstr(s, "| Aantal | `aantal` | geheel getal | kenmerk | nee | waarde gewist | vanaf 3 |\n"));
	CHECK(strstr(s, "| Soort | `soort` | keuzelijst | kenmerk | nee | record geweigerd | Keuze A; Keuze B |\n"));
	CHECK(strstr(s, "Het betreft persoonsgegevens van burgers die in 2020 verhuisden."));
	CHECK(strstr(s, "wekelijks worden meegedeeld, zolang dit protocol van kracht is."));
	CHECK(strstr(s, "  - Dienst A & B\n"));
	CHECK(strstr(s, "- **Onderzoeker** (Dienst A & B): Bevoegdheden: gepseudonimiseerde onderzoeksgegevens raadplegen, statistieken aanmaken"));
	CHECK(strstr(s, "aan niemand verder mee"));
	CHECK(strstr(s, "taak van algemeen belang"));
	CHECK(strstr(s, "Het doeleinde voor de verdere verwerking is statistische doeleinden."));
	CHECK(strstr(s, "door de bevoegde rechtbank in Brussel."));
	CHECK(strstr(s, "beheerst door het Belgisch recht."));
	CHECK(strstr(s, "Er zijn momenteel geen verwerkers."));
	/* exactly one final newline */
	CHECK(b.len > 2 && s[b.len - 1] == '\n' && s[b.len - 2] != '\n');
	kbuf_free(&b);
	fixture_free(&f);
}

static void md_escapes_structure(void)
{
	struct fixture f;
	struct kbuf b;
	const char *s;

	CHECK(fixture_init(&f));
	f.fields[0].label = "a|b *c* [d]";
	f.measures[0].text = "# kop\n+ plus\n12) twaalf\n> citaat\n    code";
	s = render(&f, PRENDER_MD, &b);
	CHECK(s);
	CHECK(strstr(s, "| a\\|b \\*c\\* \\[d\\] | `naam` |"));
	CHECK(strstr(s, "- \\# kop\\\n  \\+ plus\\\n  12\\) twaalf\\\n  \\> citaat\\\n  code\n"));
	kbuf_free(&b);
	fixture_free(&f);
}

static void html_escapes_everything(void)
{
	struct fixture f;
	struct kbuf b;
	const char *s;

	CHECK(fixture_init(&f));
	f.p.title = "T <x> & \"y\" 'z'";
	f.fields[0].label = "<b>&amp;";
	f.measures[1].text = "regel 1\nregel 2\n\nalinea 2";
	s = render(&f, PRENDER_HTML, &b);
	CHECK(s);
	CHECK(strncmp(s, "<!DOCTYPE html>\n<html lang=\"nl\">", 32) == 0);
	CHECK(strstr(s, "<meta charset=\"utf-8\">"));
	CHECK(strstr(s, "<title>T &lt;x&gt; &amp; &quot;y&quot; &#39;z&#39;</title>"));
	CHECK(strstr(s, "<td>&lt;b&gt;&amp;amp;</td>"));
	CHECK(!strstr(s, "<b>"));
	CHECK(strstr(s, "Dienst A &amp; B"));
	CHECK(strstr(s, "<li>regel 1<br>\nregel 2<br><br>\nalinea 2</li>"));
	CHECK(strstr(s, "@media print"));
	CHECK(!strstr(s, "<script"));
	CHECK(strstr(s, "</html>\n"));
	kbuf_free(&b);
	fixture_free(&f);
}

static void full_buffer_is_an_error(void)
{
	struct fixture f;
	struct kbuf b = KBUF_INIT(1000);
	struct kerr e;

	CHECK(fixture_init(&f));
	CHECK(prender(&f.p, PRENDER_HTML, &b, &e) == KERR_LIMIT);
	CHECK(b.len <= 1000);
	kbuf_free(&b);
	CHECK(prender(NULL, PRENDER_MD, &b, &e) == KERR_USAGE);
	CHECK(prender(&f.p, (enum prender_format)7, &b, &e) == KERR_USAGE);
	fixture_free(&f);
}

const struct unit_case suite_prender[] = {
	{ "prender: durations in Dutch words", durations_in_words },
	{ "prender: deadlines in Dutch words", deadlines_in_words },
	{ "prender: dates and signature", dates_and_signature },
	{ "prender: recital letters past Z", recitals_past_z },
	{ "prender: Markdown table and wording", md_table_and_words },
	{ "prender: Markdown escapes structure", md_escapes_structure },
	{ "prender: HTML escapes every string", html_escapes_everything },
	{ "prender: a full buffer is an error", full_buffer_is_an_error },
	{ NULL, NULL },
};
