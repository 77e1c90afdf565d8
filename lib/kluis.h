/*
 * kluis.h — the public interface of libkluis, the header the CLI uses.
 *
 * Layer 1 (formats): kerr, kbuf, kio, kpump, kfile, b64, bech32, hkdf,
 * armor, age, agekey, minisign, pubfile, keygen, norm (field values), csv
 * (register exports), pkg (package plaintext), pkgread (reading it back),
 * mime (.eml), smtp, pcode (person codes), linkmap (persons met during an
 * import).
 * Layer 2 (protocol): pdiag, protocol (load, check, digest), psel
 * (selection), pfield (one field's value), pcache (pfield results
 * remembered, for export speed), prender (the Dutch text).
 * Layer 3 (store): kdb (shared SQLite plumbing, internal), ledger (the
 * discloser's record of packages), ws (the recipient's workspace; its
 * internal ws_int.h), wskey (keys, users, roles), wsdata (package,
 * research rows, vault), vault (sealing one value), audit (the log).
 * Layer 4 (workflows): export (its parallel pass in xpar.c; both share
 * the internal export_int.h, which is not part of this interface),
 * receive, reident.
 * Every call returns 0 or a kerr code
 * and fills a struct kerr; nothing here prints or exits.
 */
#ifndef KLUIS_H
#define KLUIS_H

#include "age.h"
#include "audit.h"
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
#include "pcode.h"
#include "pdiag.h"
#include "pfield.h"
#include "pkg.h"
#include "pkgread.h"
#include "prender.h"
#include "protocol.h"
#include "psel.h"
#include "pubfile.h"
#include "receive.h"
#include "reident.h"
#include "smtp.h"
#include "ws.h"
#include "wsdata.h"
#include "wskey.h"

/* Initialise libsodium; call once before anything else.  0 or KERR_INTERNAL. */
int kluis_init(struct kerr *e);
const char *kluis_version(void);
const char *kluis_sodium_version(void);

#endif
