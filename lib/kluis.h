/*
 * kluis.h — the public interface of libkluis, the header the CLI uses.
 *
 * Layer 1 (formats): kerr, kbuf, kio, kpump, kfile, b64, bech32, hkdf,
 * armor, age, agekey, minisign, pubfile, keygen, norm (field values), csv
 * (register exports), pkg (package plaintext), mime (.eml), smtp.
 * Layer 2 (protocol): pdiag, protocol (load, check, digest), psel
 * (selection), pfield (one field's value), pcache (pfield results
 * remembered, for export speed), prender (the Dutch text).
 * Layer 3 (store): ledger (the discloser's record of packages).
 * Layer 4 (workflows): export (its parallel pass in xpar.c; both share
 * the internal export_int.h, which is not part of this interface).
 * Every call returns 0 or a kerr code
 * and fills a struct kerr; nothing here prints or exits.
 */
#ifndef KLUIS_H
#define KLUIS_H

#include "age.h"
#include "agekey.h"
#include "armor.h"
#include "csv.h"
#include "export.h"
#include "kbuf.h"
#include "kerr.h"
#include "kfile.h"
#include "keygen.h"
#include "kio.h"
#include "kpump.h"
#include "ledger.h"
#include "mime.h"
#include "minisign.h"
#include "norm.h"
#include "pdiag.h"
#include "pfield.h"
#include "pkg.h"
#include "prender.h"
#include "protocol.h"
#include "psel.h"
#include "pubfile.h"
#include "smtp.h"

/* Initialise libsodium; call once before anything else.  0 or KERR_INTERNAL. */
int kluis_init(struct kerr *e);
const char *kluis_version(void);
const char *kluis_sodium_version(void);

#endif
