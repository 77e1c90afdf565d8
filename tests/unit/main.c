/*
 * Unit test runner: runs every suite listed in suites.h, or those whose
 * case names contain argv[1].  Prints TAP; exits 1 if any case failed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kluis.h"
#include "unit.h"
#include "suites.h"

static int failed_now;

void unit_report(const char *file, int line, const char *expr)
{
	failed_now = 1;
	printf("# %s:%d: CHECK(%s) failed\n", file, line, expr);
}

int unit_case_failed(void)
{
	return failed_now;
}

size_t unit_unhex(const char *hex, uint8_t *out, size_t cap)
{
	size_t n = 0;

	for (; hex[0] && hex[1] && n < cap; hex += 2) {
		unsigned v;
		if (sscanf(hex, "%2x", &v) != 1)
			break;
		out[n++] = (uint8_t)v;
	}
	return n;
}

int main(int argc, char **argv)
{
	const struct unit_case *const suites[] = { UNIT_SUITES };
	struct kerr e;
	int n = 0, bad = 0;

	if (kluis_init(&e) != 0) {
		printf("not ok 1 - libsodium init\n");
		return 1;
	}
	for (size_t s = 0; s < sizeof suites / sizeof *suites; s++) {
		for (const struct unit_case *c = suites[s]; c->name; c++) {
			if (argc > 1 && !strstr(c->name, argv[1]))
				continue;
			failed_now = 0;
			c->fn();
			n++;
			printf("%sok %d - %s\n", failed_now ? "not " : "", n,
			       c->name);
			bad += failed_now;
		}
	}
	printf("1..%d\n", n);
	return bad ? 1 : 0;
}
