/*
 * pdiag — bounded diagnostic list.  It never fails: when memory or the
 * item cap runs out, problems are still counted, so "N errors" stays true.
 */
#include "pdiag.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "banned.h"

#define PDIAG_MAX_ITEMS 1000

void pdiag_init(struct pdiag *d)
{
	memset(d, 0, sizeof *d);
}

void pdiag_free(struct pdiag *d)
{
	free(d->items);
	memset(d, 0, sizeof *d);
}

__attribute__((format(printf, 4, 0)))
static void add(struct pdiag *d, bool warning, const char *path,
		const char *fmt, va_list ap)
{
	struct pdiag_item *it;

	if (warning)
		d->warnings++;
	else
		d->errors++;
	if (d->n == PDIAG_MAX_ITEMS)
		return;
	if (d->n == d->cap) {
		size_t ncap = d->cap ? d->cap * 2 : 16;
		void *np = realloc(d->items, ncap * sizeof *d->items);
		if (!np)
			return;
		d->items = np;
		d->cap = ncap;
	}
	it = &d->items[d->n++];
	it->warning = warning;
	snprintf(it->path, sizeof it->path, "%s", path);
	vsnprintf(it->msg, sizeof it->msg, fmt, ap);
}

void pdiag_error(struct pdiag *d, const char *path, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	add(d, false, path, fmt, ap);
	va_end(ap);
}

void pdiag_warning(struct pdiag *d, const char *path, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	add(d, true, path, fmt, ap);
	va_end(ap);
}
