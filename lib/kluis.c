/*
 * kluis — library initialisation and version.
 */
#include "kluis.h"

#include <sodium.h>

#include "banned.h"

#ifndef KLUIS_VERSION
#define KLUIS_VERSION "unknown"
#endif

int kluis_init(struct kerr *e)
{
	if (sodium_init() < 0)
		return kerr_set(e, KERR_INTERNAL, "libsodium",
				"cannot initialise");
	/* libcurl is set up by smtp.c when a mail is sent: initialising it
	 * here would load its TLS libraries into every command (about 8 MiB
	 * of memory for nothing). */
	return 0;
}

const char *kluis_version(void)
{
	return KLUIS_VERSION;
}

const char *kluis_sodium_version(void)
{
	return sodium_version_string();
}
