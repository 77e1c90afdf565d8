/* Every unit test suite; each test_*.c file defines one or more. */
#ifndef KLUIS_SUITES_H
#define KLUIS_SUITES_H

#include "unit.h"

extern const struct unit_case suite_kbuf[];

#define UNIT_SUITES suite_kbuf

#endif
