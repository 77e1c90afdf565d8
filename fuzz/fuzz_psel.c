/*
 * fuzz_psel — compiling and evaluating selection rules.
 *
 * Input: a JSON document (anything else is skipped), compiled as the rule
 * against a fixed field set of every type.  Properties:
 *   - failure adds at least one error and leaves *out NULL; success adds
 *     none (and no warning);
 *   - a compiled rule evaluates every fixed record (all empty, typical,
 *     boundary, malformed values) without fault, twice with one result,
 *     and its flat steps (psel_eval, psel_eval_len) say what the tree
 *     walk (psel_eval_tree) says;
 *   - psel_uses_field is false past the last field;
 *   - wrapping the rule as {"not": R} gives the negation on every record,
 *     and {"all": [R]} / {"any": [R, R]} the same result, whenever the
 *     wrapped rule still fits the depth and size limits;
 *   - uses_field is the same for R and its wrappings.
 */
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pdiag.h"
#include "protocol.h"
#include "psel.h"

#include "fuzz_util.h"

enum { F_START, F_STOP, F_CAP, F_TYPE, F_IKT, F_GEM, F_MAIL, F_TEL, N_F };

static struct penum_value types[] = {
	{ .value = "gezinsopvang" },
	{ .value = "groepsopvang" },
	{ .value = "buitenschoolse opvang" },
};

static const struct pfield fields[N_F] = {
	{ .index = F_START, .name = "startdatum", .type = PF_DATE },
	{ .index = F_STOP, .name = "datum_stopzetting", .type = PF_DATE },
	{ .index = F_CAP, .name = "capaciteit", .type = PF_INT,
	  .has_min = true, .min = 1, .has_max = true, .max = 500 },
	{ .index = F_TYPE, .name = "vergunningstype", .type = PF_ENUM,
	  .values = types, .n_values = 3 },
	{ .index = F_IKT, .name = "ikt", .type = PF_BOOL, .true_value = "ja",
	  .false_value = "nee" },
	{ .index = F_GEM, .name = "gemeente", .type = PF_TEXT },
	{ .index = F_MAIL, .name = "e", .type = PF_EMAIL },
	{ .index = F_TEL, .name = "t", .type = PF_PHONE },
};

static const char *const records[][N_F] = {
	{ NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL },
	{ "", "", "", "", "", "", "", "" },
	{ "2015-01-01", NULL, "12", "gezinsopvang", "ja", "Gent",
	  "a@b.be", "+3292345678" },
	{ "2014-12-31", "2021-01-01", "500", "groepsopvang", "nee",
	  "Sint-Niklaas", "x@y.org", "+32470123456" },
	{ "2020-12-31", "2020-12-31", "1", "buitenschoolse opvang", "ja",
	  "Aalst", "", "" },
	{ "1800-01-01", "2200-12-31", "-9223372036854775808", "x", "maybe",
	  "gent", "A@B.BE", "0470" },
	{ "2016-02-29", "2019-02-29", "9223372036854775807", "Gezinsopvang",
	  "Ja", " Gent", "a", "+" },
	{ "01/02/2020", "2020-1-1", "1.5", "groepsopvang", "nee", "2015",
	  "2015", "12" },
	{ "2020-06-15", "", "99999999999999999999", "", "", "1", "b@c.be",
	  "+3292345678" },
	{ "2015-13-01", "0000-01-01", "+7", "groepsopvang", "", "Gent",
	  "a@b.be", "x" },
	{ "2015-01-1", "2015-01-01x", "abc", NULL, "nee", NULL, NULL, "" },
	/* Dates the steps' own check must judge as parse_date does. */
	{ "2000-02-29", "1900-02-29", "0", "groepsopvang", "nee", "Gent",
	  "x@y.org", "+32470123456" },
	{ "2019-02-29", "2015-06-31", "-1", NULL, "ja", "", "", NULL },
	{ "9999-12-31", "0001-01-01", "7", "gezinsopvang", NULL, "Brugge",
	  NULL, "" },
	{ "2020-0:-01", "2020-01-3/", "", "", "", "", "", "" },
};
#define N_REC (sizeof records / sizeof *records)

/* Compile; checks the pdiag contract.  NULL if the rule was refused. */
static struct psel *compile(json_t *rule)
{
	struct pdiag d;
	struct psel *s = (struct psel *)1;
	int rc;

	pdiag_init(&d);
	rc = psel_compile(rule, fields, N_F, "$.selection.rule", &s, &d);
	if (rc == 0) {
		if (!s || d.errors != 0 || d.warnings != 0)
			abort();
	} else if (rc == -1) {
		if (s || d.errors == 0)
			abort();
	} else {
		abort();
	}
	if (d.n > d.errors + d.warnings)
		abort();
	pdiag_free(&d);
	return s;
}

static void check_wrapped(const struct psel *s, const bool *res,
			  json_t *wrapped, int how)
{
	struct psel *w;

	if (!wrapped)
		abort();
	/* May fail: wrapping adds a level and a node at the limits. */
	w = compile(wrapped);
	json_decref(wrapped);
	if (!w)
		return;
	for (size_t r = 0; r < N_REC; r++) {
		bool got = psel_eval(w, records[r]);
		if (got != (how == 0 ? !res[r] : res[r]))
			abort();
	}
	for (size_t i = 0; i < N_F; i++)
		if (psel_uses_field(w, i) != psel_uses_field(s, i))
			abort();
	psel_free(w);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_error_t je;
	json_t *rule;
	struct psel *s;
	bool res[N_REC];

	/* psel needs no libsodium, so no init_once(). */
	rule = json_loadb((const char *)data, size,
			  JSON_REJECT_DUPLICATES | JSON_DECODE_ANY |
				  JSON_ALLOW_NUL,
			  &je);
	if (!rule)
		return 0;
	s = compile(rule);
	if (!s) {
		json_decref(rule);
		return 0;
	}
	for (size_t r = 0; r < N_REC; r++) {
		size_t lens[N_F];

		for (size_t i = 0; i < N_F; i++)
			lens[i] = records[r][i] ? strlen(records[r][i]) : 0;
		res[r] = psel_eval(s, records[r]);
		if (psel_eval(s, records[r]) != res[r] ||
		    psel_eval_len(s, records[r], lens) != res[r] ||
		    psel_eval_tree(s, records[r], lens) != res[r] ||
		    psel_eval_tree(s, records[r], NULL) != res[r])
			abort();
	}
	if (psel_uses_field(s, N_F) || psel_uses_field(s, SIZE_MAX))
		abort();

	check_wrapped(s, res, json_pack("{s:O}", "not", rule), 0);
	check_wrapped(s, res, json_pack("{s:[O]}", "all", rule), 1);
	check_wrapped(s, res, json_pack("{s:[O,O]}", "any", rule, rule), 1);

	psel_free(s);
	json_decref(rule);
	return 0;
}
