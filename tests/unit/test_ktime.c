/*
 * ktime: the timestamp shape written and the one accepted are the same,
 * known instants format exactly, and what gmtime cannot represent gives
 * the epoch rather than garbage.
 */
#include <limits.h>
#include <stdint.h>

#include "ktime.h"
#include "unit.h"

static void formats_known_instants(void)
{
	char out[KTIME_LEN + 1];

	ktime_utc(0, out);
	CHECK_STR(out, "1970-01-01T00:00:00Z");
	ktime_utc(1795952472, out);
	CHECK_STR(out, "2026-11-29T11:41:12Z");
	ktime_utc(951782400, out);  /* a leap day */
	CHECK_STR(out, "2000-02-29T00:00:00Z");
	CHECK(ktime_valid(out));
	/* Beyond what a 20-character year can hold: the epoch. */
	ktime_utc((time_t)INT64_MAX, out);
	CHECK_STR(out, "1970-01-01T00:00:00Z");
}

static void now_is_valid(void)
{
	char out[KTIME_LEN + 1];

	ktime_now(out);
	CHECK(ktime_valid(out));
	CHECK(out[0] == '2'); /* this millennium */
}

static void validity_is_the_shape(void)
{
	static const char *const bad[] = {
		"", "2026-11-29", "2026-11-29T10:11:12", "2026-11-29T10:11:12Z ",
		"2026-11-29 10:11:12Z", "2026-11-29T10:11:12+00:00",
		"2026/11/29T10:11:12Z", "2026-1a-29T10:11:12Z",
		"2026-11-29T10:11:1Z", "20261-11-29T10:11:12Z",
		"2026-11-29t10:11:12z",
	};

	CHECK(ktime_valid("2026-11-29T10:11:12Z"));
	CHECK(ktime_valid("0000-00-00T00:00:00Z")); /* shape only */
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
		CHECK(!ktime_valid(bad[i]));
}

const struct unit_case suite_ktime[] = {
	{ "ktime: known instants, the epoch for the unrepresentable",
	  formats_known_instants },
	{ "ktime: now has the shape", now_is_valid },
	{ "ktime: valid means exactly the shape", validity_is_the_shape },
	{ NULL, NULL },
};
