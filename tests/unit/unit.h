/*
 * unit — a minimal test harness.  A suite is a NULL-terminated array of
 * cases; CHECK stops the case at the first failed assertion and reports
 * file:line and the expression.  Output is TAP ("ok N - name").
 */
#ifndef KLUIS_UNIT_H
#define KLUIS_UNIT_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct unit_case {
	const char *name;
	void (*fn)(void);
};

void unit_report(const char *file, int line, const char *expr);
int unit_case_failed(void);

#define CHECK(c)                                                  \
	do {                                                      \
		if (!(c)) {                                       \
			unit_report(__FILE__, __LINE__, #c);      \
			return;                                   \
		}                                                 \
	} while (0)

#define CHECK_MEM(a, b, n) CHECK(memcmp((a), (b), (n)) == 0)
#define CHECK_STR(a, b) CHECK(strcmp((a), (b)) == 0)

/* Hex helpers for vectors. */
size_t unit_unhex(const char *hex, uint8_t *out, size_t cap);

#endif
