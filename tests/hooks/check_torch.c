/*
 * check_torch.c - PyTorch at::Context answers against the fake
 * libtorch_cpu.so: deterministic switches on under enforce and warn,
 * warn-only only under warn, the program's values under off or
 * DETSHIM_TORCH=0; the NaN fill of new tensors off unless the program
 * chose deterministic mode itself or DETSHIM_TORCH_FILL=1.
 */
#include <stdbool.h>

#include "gpulibs_child.h"

struct fake_ctx { bool det, warn_only, det_cudnn, fill; };
struct fake_ctx *fake_torch_context(void);
bool _ZNK2at7Context23deterministicAlgorithmsEv(const struct fake_ctx *c);
bool _ZNK2at7Context31deterministicAlgorithmsWarnOnlyEv(const struct fake_ctx *c);
bool _ZNK2at7Context18deterministicCuDNNEv(const struct fake_ctx *c);
bool _ZNK2at7Context36deterministicFillUninitializedMemoryEv(
	const struct fake_ctx *c);

static int scenario(const char *name)
{
	struct fake_ctx *c = fake_torch_context();

	c->warn_only = strcmp(name, "program_warn_only") == 0;
	/* torch.use_deterministic_algorithms(True) in the program itself */
	c->det = strcmp(name, "program_det") == 0;
	printf("det=%d\nwarn_only=%d\ndet_cudnn=%d\nfill=%d\n",
	       _ZNK2at7Context23deterministicAlgorithmsEv(c),
	       _ZNK2at7Context31deterministicAlgorithmsWarnOnlyEv(c),
	       _ZNK2at7Context18deterministicCuDNNEv(c),
	       _ZNK2at7Context36deterministicFillUninitializedMemoryEv(c));
	return 0;
}

static char out[4096];

START_TEST(enforce_turns_switches_on)
{
	const char *on[] = { NULL };

	ck_assert_int_eq(run_child("plain", on, out, sizeof(out)), 0);
	ck_assert_int_eq(child_value(out, "det"), 1);
	ck_assert_int_eq(child_value(out, "det_cudnn"), 1);
	ck_assert_int_eq(child_value(out, "warn_only"), 0);
	ck_assert_int_eq(run_child("program_warn_only", on, out, sizeof(out)), 0);
	ck_assert_int_eq(child_value(out, "warn_only"), 1);
}
END_TEST

START_TEST(warn_maps_to_warn_only)
{
	const char *warn[] = { "DETSHIM_POLICY=warn", NULL };

	ck_assert_int_eq(run_child("plain", warn, out, sizeof(out)), 0);
	ck_assert_int_eq(child_value(out, "det"), 1);
	ck_assert_int_eq(child_value(out, "warn_only"), 1);
}
END_TEST

START_TEST(off_and_torch_switch_pass_through)
{
	const char *off[] = { "DETSHIM_POLICY=off", NULL };
	const char *notorch[] = { "DETSHIM_TORCH=0", NULL };

	ck_assert_int_eq(run_child("plain", off, out, sizeof(out)), 0);
	ck_assert_int_eq(child_value(out, "det"), 0);
	ck_assert_int_eq(child_value(out, "det_cudnn"), 0);
	ck_assert_int_eq(run_child("plain", notorch, out, sizeof(out)), 0);
	ck_assert_int_eq(child_value(out, "det"), 0);
	ck_assert_int_eq(child_value(out, "warn_only"), 0);
}
END_TEST

START_TEST(fill_only_when_asked)
{
	const char *on[] = { NULL };
	const char *fill[] = { "DETSHIM_TORCH_FILL=1", NULL };
	const char *notorch[] = { "DETSHIM_TORCH=0", NULL };

	/* Deterministic mode answered, its NaN fill not. */
	ck_assert_int_eq(run_child("plain", on, out, sizeof(out)), 0);
	ck_assert_int_eq(child_value(out, "det"), 1);
	ck_assert_int_eq(child_value(out, "fill"), 0);
	/* The program's own deterministic mode keeps its fill. */
	ck_assert_int_eq(run_child("program_det", on, out, sizeof(out)), 0);
	ck_assert_int_eq(child_value(out, "fill"), 1);
	ck_assert_int_eq(run_child("plain", fill, out, sizeof(out)), 0);
	ck_assert_int_eq(child_value(out, "fill"), 1);
	ck_assert_int_eq(run_child("plain", notorch, out, sizeof(out)), 0);
	ck_assert_int_eq(child_value(out, "fill"), 1);
}
END_TEST

static Suite *torch_suite(void)
{
	Suite *s = suite_create("torch switches");
	TCase *t = tcase_create("fake libtorch_cpu.so");

	tcase_set_timeout(t, 30);
	tcase_add_test(t, enforce_turns_switches_on);
	tcase_add_test(t, warn_maps_to_warn_only);
	tcase_add_test(t, off_and_torch_switch_pass_through);
	tcase_add_test(t, fill_only_when_asked);
	suite_add_tcase(s, t);
	return s;
}

GPULIBS_TEST_MAIN(torch_suite, scenario)
