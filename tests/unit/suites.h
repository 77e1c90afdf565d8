/* Every unit test suite; each test_*.c file defines one or more. */
#ifndef KLUIS_SUITES_H
#define KLUIS_SUITES_H

#include "unit.h"

extern const struct unit_case suite_kbuf[];
extern const struct unit_case suite_kpump[];
extern const struct unit_case suite_kring[];
extern const struct unit_case suite_bech32[];
extern const struct unit_case suite_hkdf[];
extern const struct unit_case suite_b64[];
extern const struct unit_case suite_armor[];
extern const struct unit_case suite_age[];
extern const struct unit_case suite_age_damage[];
extern const struct unit_case suite_age_header[];
extern const struct unit_case suite_minisign[];
extern const struct unit_case suite_pubfile[];
extern const struct unit_case suite_kfile[];
extern const struct unit_case suite_ktime[];
extern const struct unit_case suite_keygen[];
extern const struct unit_case suite_psel[];
extern const struct unit_case suite_psel_flat[];
extern const struct unit_case suite_norm[];
extern const struct unit_case suite_norm_fast[];
extern const struct unit_case suite_pfield[];
extern const struct unit_case suite_pcache[];
extern const struct unit_case suite_prender[];
extern const struct unit_case suite_ledger[];
extern const struct unit_case suite_mime[];
extern const struct unit_case suite_csv[];
extern const struct unit_case suite_pkg[];
extern const struct unit_case suite_pkgread[];
extern const struct unit_case suite_pcode[];
extern const struct unit_case suite_linkmap[];
extern const struct unit_case suite_vault[];
extern const struct unit_case suite_audit[];

#define UNIT_SUITES                                                      \
	suite_kbuf, suite_bech32, suite_hkdf, suite_b64, suite_armor,    \
		suite_age, suite_age_header, suite_age_damage, suite_minisign, \
		suite_pubfile, suite_kfile, suite_ktime, suite_keygen, suite_kpump, \
		suite_kring, \
		suite_psel, suite_psel_flat, \
		suite_norm, suite_norm_fast, suite_pfield, suite_pcache, \
		suite_prender, suite_ledger, suite_mime, suite_csv, suite_pkg, \
		suite_pkgread, suite_pcode, suite_linkmap, suite_vault, \
		suite_audit

#endif
