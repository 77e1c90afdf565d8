/*
 * pcode — person codes: the random pseudonyms that replace a person.
 *
 * A code is 60 bits from the CSPRNG (libsodium's randombytes), written as
 * twelve Crockford base32 symbols in groups of four and a check symbol:
 * "K7Q2-9XHD-M3PA-H".  The value carries no information: it is not derived
 * from anything about the person, the input order or the workspace; two
 * workspaces receiving the same package draw unrelated codes.  Uniqueness
 * is the caller's business (the receive workflow checks every draw against
 * the codes already given).
 *
 * The check symbol is Luhn mod 32 over the twelve symbols, so it stays in
 * the code's own alphabet (Crockford's optional mod-37 check would add
 * `*~$=U`, which shells and mail clients mangle).  It catches every single
 * mistyped symbol and every swap of two neighbours except 0 with Z.  Parsing is forgiving
 * the way Crockford intends: lower case, no hyphens or other hyphen
 * positions, I and L read as 1, O as 0.
 */
#ifndef KLUIS_PCODE_H
#define KLUIS_PCODE_H

#include <stddef.h>
#include <stdint.h>

#include "kerr.h"

#define PCODE_BITS 60
#define PCODE_MAX ((UINT64_C(1) << PCODE_BITS) - 1)
#define PCODE_LEN 16 /* "XXXX-XXXX-XXXX-C" */

/* A fresh random code value (0 .. PCODE_MAX). */
uint64_t pcode_random(void);
/* The written form of v (only the low 60 bits count). */
void pcode_format(uint64_t v, char out[PCODE_LEN + 1]);
/* Read a written code; KERR_USAGE with the reason if it is not one
 * (wrong length, a symbol outside the alphabet, a wrong check symbol). */
int pcode_parse(const char *s, size_t n, uint64_t *v, struct kerr *e);

#endif
