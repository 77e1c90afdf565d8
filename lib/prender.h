/*
 * prender — the human-readable protocol, in Dutch, from the model alone:
 * title, parties, recitals, articles 1 to 10, signatures and annex, in
 * the structure of the seed protocol.  Markdown for review and diffs; HTML
 * as a clean, printable, self-contained page (inline CSS, no scripts, every
 * text from the file escaped).
 */
#ifndef KLUIS_PRENDER_H
#define KLUIS_PRENDER_H

#include "kbuf.h"
#include "kerr.h"
#include "protocol.h"

enum prender_format {
	PRENDER_MD,
	PRENDER_HTML,
};

/* Append the rendering to out. */
int prender(const struct protocol *p, enum prender_format fmt,
	    struct kbuf *out, struct kerr *e);

#endif
