/*
 * pdiag — the list of problems found in a protocol file, each with its
 * JSON path ("$.fields[3].type") and a message.  Errors make the protocol
 * unusable; warnings (empty keys, no signing date) do not.
 */
#ifndef KLUIS_PDIAG_H
#define KLUIS_PDIAG_H

#include <stdbool.h>
#include <stddef.h>

struct pdiag_item {
	bool warning;
	char path[192];
	char msg[256];
};

struct pdiag {
	struct pdiag_item *items;
	size_t n, cap;
	size_t errors, warnings;
};

void pdiag_init(struct pdiag *d);
void pdiag_free(struct pdiag *d);

/* Record an error or warning at path; messages are formatted like
 * printf.  Never fails: past 1000 items, further ones are only counted. */
void pdiag_error(struct pdiag *d, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void pdiag_warning(struct pdiag *d, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
