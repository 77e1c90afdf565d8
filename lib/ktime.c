/*
 * ktime — UTC timestamps in the one shape kluis stores and shows.
 */
#include "ktime.h"

#include <stdio.h>

#include "banned.h"

void ktime_utc(time_t t, char out[KTIME_LEN + 1])
{
	struct tm tm;

	if (!gmtime_r(&t, &tm) ||
	    strftime(out, KTIME_LEN + 1, "%Y-%m-%dT%H:%M:%SZ", &tm) !=
		    KTIME_LEN)
		snprintf(out, KTIME_LEN + 1, "1970-01-01T00:00:00Z");
}

void ktime_now(char out[KTIME_LEN + 1])
{
	ktime_utc(time(NULL), out);
}

bool ktime_valid(const char *s)
{
	static const char shape[] = "dddd-dd-ddTdd:dd:ddZ";

	for (size_t i = 0; i < sizeof shape - 1; i++) {
		if (shape[i] == 'd' ? !(s[i] >= '0' && s[i] <= '9')
				    : s[i] != shape[i])
			return false;
	}
	return s[sizeof shape - 1] == '\0';
}
