/*
 * detrun_hashed.c - stands in for a GPU job under `detrun --verify
 * --bisect` on a machine without one: when DETSHIM_HASH_CALLS=1 it
 * appends to DETSHIM_LOG the "hashed" records the shim writes for
 * library calls that write device memory (tools/bisect.h), three calls
 * on stream 0, which part after run 1 (a counter file counts the runs):
 *
 *   detrun_hashed COUNTER culprit  call 1 gives another output from the
 *                                  same inputs; call 2's inputs follow
 *   detrun_hashed COUNTER inputs   call 0's inputs already differ (its
 *                                  output and the later calls agree)
 *
 * Used by tests/it_detrun.sh.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	const char *log = getenv("DETSHIM_LOG");
	const char *on = getenv("DETSHIM_HASH_CALLS");
	int run = 0, culprit, later;
	FILE *f;

	if (argc < 3)
		return 2;
	f = fopen(argv[1], "r");
	if (f) {
		if (fscanf(f, "%d", &run) != 1)
			run = 0;
		fclose(f);
	}
	run++;
	f = fopen(argv[1], "w");
	if (f == NULL)
		return 2;
	fprintf(f, "%d\n", run);
	fclose(f);
	culprit = strcmp(argv[2], "culprit") == 0;
	later = run > 1;
	if (log && on && strcmp(on, "1") == 0 && (f = fopen(log, "a"))) {
		long pid = (long)getpid();

		fprintf(f, "{\"v\":1,\"seq\":90,\"pid\":%ld,\"src\":\"cublas\","
			   "\"call\":\"cublasSgemm_v2\",\"action\":\"hashed\","
			   "\"stream\":0,\"ord\":0,\"in\":\"%s\",\"out\":"
			   "\"00000000000000b0\",\"what\":\"m=64 n=64 k=64 "
			   "fp32\",\"why\":\"pinned\",\"detail\":\"\"}\n", pid,
			culprit || !later ? "00000000000000a0"
					  : "00000000000000a1");
		fprintf(f, "{\"v\":1,\"seq\":91,\"pid\":%ld,\"src\":\"cublas\","
			   "\"call\":\"cublasGemmEx\",\"action\":\"hashed\","
			   "\"stream\":0,\"ord\":1,\"in\":\"00000000000000b0\","
			   "\"out\":\"%s\",\"what\":\"m=128 n=128 k=64 fp16\","
			   "\"why\":\"atomics allowed\",\"detail\":\"\"}\n",
			pid, later && culprit ? "00000000000000c1"
					      : "00000000000000c0");
		fprintf(f, "{\"v\":1,\"seq\":92,\"pid\":%ld,\"src\":\"cudnn\","
			   "\"call\":\"cudnnConvolutionForward\",\"action\":"
			   "\"hashed\",\"stream\":0,\"ord\":2,\"in\":\"%s\","
			   "\"out\":\"%s\",\"what\":\"n=8 c=3 h=32 w=32\","
			   "\"why\":\"engine 7 noted nondeterministic\","
			   "\"detail\":\"\"}\n", pid,
			later && culprit ? "00000000000000c1"
					 : "00000000000000c0",
			later && culprit ? "00000000000000d1"
					 : "00000000000000d0");
		fclose(f);
	}
	printf("loss %s\n", later ? "0.25" : "0.5");
	return 0;
}
