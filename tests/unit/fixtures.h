/*
 * fixtures — set-ups that several unit suites share.
 */
#ifndef KLUIS_UNIT_FIXTURES_H
#define KLUIS_UNIT_FIXTURES_H

#include <stddef.h>

#include "pkg.h"

/* The package id fixture_pkg_head gives. */
#define FIXTURE_PKG_ID "0123456789abcdef0123456789abcdef"

/* A package head with fixed parties, times and id, and fields names[0..n). */
void fixture_pkg_head(struct pkg_head *h, const char *const *names, size_t n);
/* Remove dir and everything below it (test directories only). */
void fixture_rm_tree(const char *dir);

#endif
