/*
 * bisect.h - `detrun --verify N --bisect`: the first GPU library call
 * whose output differed between runs while its inputs were the same.
 *
 * With the shim's call hashes on (DETSHIM_HASH_CALLS=1), each intercepted
 * library call that writes device memory logs one "hashed" record:
 *   {"src":"cublas","call":"cublasGemmEx","action":"hashed","stream":0,
 *    "ord":17,"in":"<16 hex>","out":"<16 hex>","what":"...","why":"..."}
 * (stream: the stream's ordinal in its process, by first use; ord: the
 * call's ordinal on that stream).  dr_bisect aligns these records across
 * the runs by process (the init record's id=, else the order in which
 * processes with hashed calls appear), stream and ord.
 */
#ifndef DR_BISECT_H
#define DR_BISECT_H

#include <stdbool.h>
#include <stdio.h>

/* What dr_bisect found (its return value). */
#define DR_BISECT_SAME 0     /* every hashed call agreed in every run */
#define DR_BISECT_CULPRIT 1  /* a call with the same inputs and another
			      * output (the first such is printed) */
#define DR_BISECT_INPUTS 2   /* no such call: inputs differed first (the
			      * divergence came from elsewhere) or the calls
			      * stop aligning */
#define DR_BISECT_NONE 3     /* no hashed call in the logs */

/*
 * Read the logs of nlogs runs of one command, align their hashed calls
 * and print to out (text, or one JSON object when json): the first call
 * whose inputs hashed the same in every run and whose output did not
 * (library, function, what, why, the hashes), and the first call whose
 * inputs already differed, with the CPU events before it in run 1.
 * Returns a DR_BISECT_* value, or -1 if a log cannot be read.
 */
int dr_bisect(const char *const *logs, int nlogs, FILE *out, bool json);

#endif /* DR_BISECT_H */
