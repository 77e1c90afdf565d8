/*
 * kluis — library initialisation and version.
 */
#include "kluis.h"

#include <curl/curl.h>
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
	/* libcurl (SMTP) must be set up before any thread could use it;
	 * curl_global_init is not thread-safe, so it belongs here, once. */
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return kerr_set(e, KERR_INTERNAL, "libcurl",
				"cannot initialise");
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
