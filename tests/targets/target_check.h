/* target_check.h - CHECK(cond) for the semantics targets: print the failed
 * condition with its line and errno, and make main return 1. */
#ifndef TARGET_CHECK_H
#define TARGET_CHECK_H

#include <errno.h>
#include <stdio.h>

#define CHECK(cond)                                                         \
	do {                                                                \
		if (!(cond)) {                                              \
			printf("FAIL line %d: %s (errno %d)\n", __LINE__,   \
			       #cond, errno);                               \
			return 1;                                           \
		}                                                           \
	} while (0)

#endif
