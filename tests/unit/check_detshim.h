/*
 * check_detshim.h - shared by the unit suites.
 *
 * Each tests/unit/check_<module>.c defines `Suite *make_<module>_suite(void)`
 * and registers it with DS_TEST_SUITE(make_<module>_suite); the runner
 * (check_main.c) collects every registered suite from a linker section,
 * so adding a suite needs no edit elsewhere (docs/DESIGN.md §8.13).
 */
#ifndef CHECK_DETSHIM_H
#define CHECK_DETSHIM_H

#include <check.h>

#include "detshim.h"

typedef Suite *(*ds_suite_fn)(void);

#define DS_TEST_SUITE(fn)                                                    \
	static ds_suite_fn ds_suite_##fn                                     \
		__attribute__((section("ds_suites"), used)) = fn

#endif
