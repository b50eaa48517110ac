/*
 * batch_check.h - `detrun --verify-batch[=N]`: run the command once with
 * the batch checker of the Python start-up module on
 * (python/_detshim/batch_check.py, DETSHIM_BATCH_CHECK=N) and say, module
 * by module, whether a row computed inside a batch was bit for bit the
 * row computed alone.
 *
 * The checker logs, with src "torch" and call "batch_check":
 *   {"action":"equal","module":"h.0.attn","row":3,"batch":8,...}
 *   {"action":"differ","module":"h.0.attn","row":3,"batch":8,
 *    "first_diff":"17","max_abs":"0.00123",...}
 *   {"action":"skipped","module":"GPT2Model","batch":8,"detail":"why"}
 *   {"action":"checked","module":"GPT2Model","batch":8,"rows":4,...}
 * (one "checked" per batched call compared, before its module events).
 */
#ifndef DR_BATCH_CHECK_H
#define DR_BATCH_CHECK_H

#include "detrun.h"

#define DR_BATCH_ROWS 4 /* --verify-batch without =N */

/* After the command line: --verify-batch runs under the batch-invariant
 * profile unless --profile names one (the profile's row of the flag
 * table, where this detrun has it). */
void dr_batch_opts(struct dr_opts *o);

/* The flag table's --verify-batch row (its value: N as given). */
const struct dr_flag *dr_batch_flag(void);

/* Run the command once, read its log, print the verdict.  Exit status:
 * 0 every compared output equal, 1 some differed, 2 nothing compared,
 * 3 the command failed; else a DR_EXIT_* status of detrun itself. */
int dr_verify_batch(const struct dr_opts *o, struct dr_launch *l);

#endif /* DR_BATCH_CHECK_H */
