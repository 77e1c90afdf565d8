/*
 * psel — the protocol's selection rule, compiled and evaluated on records.
 *
 * Compiling resolves field names to indices and checks every value against
 * its field's type, so evaluation cannot fail: a record is a vector of
 * normalised values (pfield.h) indexed like protocol->fields, NULL or ""
 * meaning empty.  A comparison with an empty value is false; `is_empty`
 * tests emptiness.  The grammar is in docs/protocol-format.md.
 */
#ifndef KLUIS_PSEL_H
#define KLUIS_PSEL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "pdiag.h"
#include "protocol.h"

/*
 * Compile `rule` (borrowed; must outlive the result only while compiling).
 * Problems go to d under `path` ("$.selection.rule.any[1].year_between");
 * returns 0 and *out, or -1 if d got at least one error (*out NULL).
 */
int psel_compile(json_t *rule, const struct pfield *fields,
		 size_t n_fields, const char *path, struct psel **out,
		 struct pdiag *d);

/* Does the record satisfy the rule? */
bool psel_eval(const struct psel *s, const char *const *values);

/* The same, given also each value's length (lens[i] = strlen(values[i])
 * wherever values[i] is not NULL; the values are still NUL-terminated):
 * saves measuring them on every record. */
bool psel_eval_len(const struct psel *s, const char *const *values,
		   const size_t *lens);

/* The same, by walking the rule's tree node by node: slower, and written
 * for plainness, so that tests can hold psel_eval and psel_eval_len to it.
 * lens may be NULL. */
bool psel_eval_tree(const struct psel *s, const char *const *values,
		    const size_t *lens);

/* Whether the rule reads field index i (so export must find its column). */
bool psel_uses_field(const struct psel *s, size_t i);

void psel_free(struct psel *s);

#endif
