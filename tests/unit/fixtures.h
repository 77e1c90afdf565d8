/*
 * fixtures — set-ups that several unit suites share.
 */
#ifndef KLUIS_UNIT_FIXTURES_H
#define KLUIS_UNIT_FIXTURES_H

#include <stddef.h>

#include "pkg.h"
#include "protocol.h"

/* The package id fixture_pkg_head gives. */
#define FIXTURE_PKG_ID "0123456789abcdef0123456789abcdef"

/* A package head with fixed parties, times and id, and fields names[0..n). */
void fixture_pkg_head(struct pkg_head *h, const char *const *names, size_t n);
/* Protocol fields of every type for the selection rule suites:
 * fixture_psel_fields[FXP_x] has index FXP_x. */
enum {
	FXP_START, FXP_STOP, FXP_CAP, FXP_TYPE, FXP_IKT, FXP_GEM, FXP_MAIL,
	FXP_N
};
extern const struct pfield fixture_psel_fields[FXP_N];
/* Remove dir and everything below it (test directories only). */
void fixture_rm_tree(const char *dir);

#endif
