/*
 * keygen — a party's key set, written as files under one prefix:
 *
 *   PREFIX.age.key       age X25519 identity (0600), as age-keygen writes it
 *   PREFIX.minisign.key  minisign secret key (0600), passphrase-encrypted
 *                        unless no passphrase is given
 *   PREFIX.minisign.pub  minisign public key, for `minisign -V -p`
 *   PREFIX.pub           the kluis public key file (see pubfile.h)
 *
 * All four appear or none: if any exists, nothing is written; if writing
 * fails midway, what was written is removed.
 */
#ifndef KLUIS_KEYGEN_H
#define KLUIS_KEYGEN_H

#include <stddef.h>

#include "kerr.h"
#include "pubfile.h"

#define KEYGEN_FILES 4

struct keygen_opts {
	const char *prefix;
	const char *label;      /* NULL: the prefix's base name */
	const char *passphrase; /* NULL: unencrypted minisign key */
	size_t passphrase_len;
	unsigned long long opslimit; /* 0: minisign's defaults */
	size_t memlimit;
};

/* On success, *pub describes the new keys. */
int keygen_write(const struct keygen_opts *o, struct pubfile *pub,
		 struct kerr *e);

/* Path of file i (0..3) under prefix; returns buf. */
const char *keygen_path(const char *prefix, int i, char *buf, size_t n);

#endif
