/*
 * check_main.c - the unit-test runner: every suite registered with
 * DS_TEST_SUITE, in fork mode (each test isolated, global state reset).
 */
#include <stdlib.h>

#include "check_detshim.h"

extern ds_suite_fn __start_ds_suites[];
extern ds_suite_fn __stop_ds_suites[];

int main(void)
{
	SRunner *sr = NULL;
	ds_suite_fn *f;
	int failed;

	for (f = __start_ds_suites; f < __stop_ds_suites; f++) {
		if (sr == NULL)
			sr = srunner_create((*f)());
		else
			srunner_add_suite(sr, (*f)());
	}
	if (sr == NULL)
		return EXIT_FAILURE;
	srunner_set_fork_status(sr, CK_FORK);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
