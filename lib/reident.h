/*
 * reident — show the identities behind person codes (layer 4, workflow).
 *
 * Only a user whose role has the reidentify permission, and who therefore
 * holds the vault key, can do this; every attempt is audited with its
 * purpose and the codes, found or not, allowed or not.  Several codes can
 * be asked at once (one audit entry naming them all); a code that is not
 * well formed or that no person has refuses the whole request.
 */
#ifndef KLUIS_REIDENT_H
#define KLUIS_REIDENT_H

#include <stddef.h>
#include <stdint.h>

#include "kbuf.h"
#include "kerr.h"
#include "pcode.h"
#include "ws.h"
#include "wskey.h"

#define REIDENT_MAX_CODES 1000000

struct reident_person {
	char code[PCODE_LEN + 1];     /* as written canonically */
	uint64_t first_record;        /* the person's first record */
	const char **values;          /* per field; NULL: no value */
};

struct reident_result {
	size_t n_fields;              /* identifying fields */
	char **fields;                /* their names (copies) */
	struct reident_person *persons;
	size_t n;
	struct kbuf arena;            /* the values (secret: wiped on free) */
};

int reident_run(struct ws *w, const struct ws_session *s,
		const char *const *codes, size_t n_codes, const char *purpose,
		struct reident_result *r, struct kerr *e);
void reident_result_free(struct reident_result *r);

#endif
