/*
 * krand — see krand.h.
 */
#include "krand.h"

#include <sodium.h>
#include <stdint.h>
#include <string.h>

#include "banned.h"

#define POOL 4096u

static _Thread_local uint8_t pool[POOL];
static _Thread_local size_t left;
static _Thread_local int locked;

void krand_buf(void *p, size_t n)
{
	uint8_t *d = p;

	if (n >= POOL) {
		randombytes_buf(d, n);
		return;
	}
	if (!locked) {
		/* Best effort: without mlock the pool is still wiped. */
		(void)sodium_mlock(pool, sizeof pool);
		locked = 1;
	}
	while (n) {
		if (!left) {
			randombytes_buf(pool, POOL);
			left = POOL;
		}
		size_t k = n < left ? n : left;
		uint8_t *src = pool + POOL - left;
		memcpy(d, src, k);
		sodium_memzero(src, k);
		d += k;
		n -= k;
		left -= k;
	}
}

void krand_wipe(void)
{
	sodium_memzero(pool, sizeof pool);
	left = 0;
}
