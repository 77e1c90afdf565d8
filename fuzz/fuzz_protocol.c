/*
 * fuzz_protocol — the protocol loader on arbitrary bytes.  Properties: a
 * failed load always explains itself (at least one error with a path); a
 * successful one has a digest that survives re-serialisation in another
 * layout and key order, and an accepted field set answers header lookups
 * for its own names.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kluis.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct protocol *p = NULL, *q = NULL;
	struct pdiag d, d2;
	struct kerr e;
	char *again;
	int rc;

	init_once();
	if (size > PROTOCOL_FILE_MAX)
		return 0;
	pdiag_init(&d);
	kerr_clear(&e);
	rc = protocol_parse((const char *)data, size, &p, &d, &e);
	check_err(rc, &e);
	if (rc) {
		if (p || d.errors == 0 || d.n == 0 || d.items[0].path[0] != '$')
			abort();
		pdiag_free(&d);
		return 0;
	}
	if (d.errors != 0 || strncmp(p->digest, "sha256:", 7) != 0 ||
	    strlen(p->digest) != PROTOCOL_DIGEST_LEN)
		abort();
	for (size_t i = 0; i < p->n_fields; i++) {
		const struct pfield *f = p->fields + i;
		if (protocol_field(p, f->name) != f ||
		    protocol_field_by_header(p, f->name, strlen(f->name)) != f)
			abort();
	}
	/* Same document, another layout: same digest. */
	again = json_dumps(p->doc, JSON_SORT_KEYS | JSON_INDENT(3));
	if (again) {
		pdiag_init(&d2);
		if (protocol_parse(again, strlen(again), &q, &d2, &e) != 0 ||
		    strcmp(p->digest, q->digest) != 0)
			abort();
		protocol_free(q);
		pdiag_free(&d2);
		free(again);
	}
	protocol_free(p);
	pdiag_free(&d);
	return 0;
}
