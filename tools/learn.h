/*
 * learn.h - `detrun --verify --learn FILE`: the seeding sites whose
 * program seed differed between runs, written as a seeds file
 * (docs/SEEDS.md, "The seeds file").
 */
#ifndef DR_LEARN_H
#define DR_LEARN_H

#include <stdio.h>

/*
 * Read the logs of nlogs runs of one command, name on report (when not
 * NULL) every seeding site whose seed_program differed between the runs,
 * and, when seeds_path is not NULL, write those sites to it.  Returns
 * the number of such sites, or -1 on error (a log unreadable, the file
 * not writable: said on report or stderr).
 */
int dr_learn(const char *const *logs, int nlogs, const char *seeds_path,
	     FILE *report);

#endif /* DR_LEARN_H */
