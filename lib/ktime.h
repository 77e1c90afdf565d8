/*
 * ktime — the one way kluis writes a moment: UTC, to the second, as
 * "YYYY-MM-DDTHH:MM:SSZ" (20 characters).  One fixed shape means text order
 * is time order, so SQLite columns and JSON fields compare as strings.
 */
#ifndef KLUIS_KTIME_H
#define KLUIS_KTIME_H

#include <stdbool.h>
#include <time.h>

#define KTIME_LEN 20 /* "2026-11-29T10:11:12Z" */

/* t in UTC; a time gmtime cannot represent gives the epoch. */
void ktime_utc(time_t t, char out[KTIME_LEN + 1]);
/* Now, in UTC. */
void ktime_now(char out[KTIME_LEN + 1]);
/* Whether s is exactly that shape and ends there (the digits are not
 * range checked: a stored time is shown and compared, not computed with). */
bool ktime_valid(const char *s);

#endif
