/*
 * pubfile — the kluis public key file (PREFIX.pub), which a party hands to
 * the other before the protocol is signed:
 *
 *   # kluis public keys v1
 *   # label: Opgroeien regie
 *   # created: 2026-11-28T21:00:00Z
 *   # minisign: RWQ…            (the minisign public key, base64)
 *   # minisign key id: 9A0B…
 *   age1…                        (the age X25519 recipient)
 *
 * Every key line but the recipient is a '#' comment, so the file is also a
 * valid recipients file for `age -R`.  This module also loads a minisign
 * public key from any of the forms users hold: a kluis .pub, a minisign
 * .pub file, or a bare base64 key.
 */
#ifndef KLUIS_PUBFILE_H
#define KLUIS_PUBFILE_H

#include <stdbool.h>
#include <stdint.h>

#include "kbuf.h"
#include "kerr.h"
#include "minisign.h"

#define PUBFILE_LABEL_MAX 128

struct pubfile {
	char label[PUBFILE_LABEL_MAX];
	char created[32];
	uint8_t age[32];
	struct ms_pubkey ms;
};

int pubfile_format(const struct pubfile *p, struct kbuf *out, struct kerr *e);
/* Both keys must be present. */
int pubfile_parse(const char *text, size_t len, struct pubfile *p,
		  struct kerr *e);
int pubfile_load(const char *path, struct pubfile *p, struct kerr *e);

/* The minisign key from a kluis .pub, a minisign .pub or bare base64. */
int pubfile_load_minisign(const char *path, struct ms_pubkey *pk,
			  struct kerr *e);

#endif
