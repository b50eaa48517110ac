/* check_seed_rules.c - the volatility rules (docs/SEEDS.md), the maps
 * parser and the seeds file.  Each rule: a seed it must name, and
 * explicit seeds it must leave alone. */
#include <string.h>

#include "check_detshim.h"
#include "seed_rules.h"
#include "seeds_file.h"

#define SEC UINT64_C(1763800000)
#define NSEC 123456789u
#define PID UINT64_C(4242)
#define TID UINT64_C(4250)

/* One thread that read the realtime clock, gettimeofday and time. */
static void ctx_init(struct ds_seed_ctx *c)
{
	memset(c, 0, sizeof(*c));
	c->vals[0] = (struct ds_prov_val){ SEC, 0, DS_PROV_SEC };
	c->vals[1] = (struct ds_prov_val){ SEC, 654321u, DS_PROV_TV };
	c->vals[2] = (struct ds_prov_val){ 98765, 432109876u, DS_PROV_TS };
	c->vals[3] = (struct ds_prov_val){ 2345, 0, DS_PROV_CLOCK };
	c->vals[4] = (struct ds_prov_val){ SEC, NSEC, DS_PROV_TS };
	c->nvals = 5;
	c->ids[0] = PID;
	c->ids[1] = TID;
	c->ids[2] = 1;
	c->now_ns = SEC * 1000000000u + NSEC + 5000;
	c->sp = UINT64_C(0x7ffc12345678);
	c->tsc = UINT64_C(0x123456789abc);
	c->tsc_start = UINT64_C(0x123456789abc) - 100000000u;
}

struct rule_case {
	uint64_t seed;
	unsigned width;
	const char *rule; /* NULL: explicit */
};

START_TEST(test_value_rules)
{
	const uint64_t us = SEC * 1000000u + 654321u;
	const uint64_t ms = SEC * 1000u + 654u;
	const uint64_t mono = UINT64_C(98765) * 1000000000u + 432109876u;
	const struct rule_case cases[] = {
		{ SEC, 32, "identity:sec" },
		{ SEC ^ PID, 32, "xor-id:sec" },
		{ SEC + PID, 32, "add-id:sec" },
		{ SEC - PID, 32, "sub-id:sec" },
		{ NSEC, 32, "identity:nsec" },
		{ NSEC ^ PID, 32, "xor-id:nsec" },
		{ NSEC ^ TID, 32, "xor-id:nsec" },
		{ 654321u, 32, "identity:usec" },
		{ us & 0xffffffff, 32, "identity/32:us" },
		{ us, 64, "identity:us" },
		{ ms & 0xffffffff, 32, "identity/32:ms" },
		{ mono & 0xffffffff, 32, "identity/32:ns" },
		{ 2345, 32, "identity:clock" },
		{ ((SEC << 16) ^ PID) & 0xffffffff, 32, "shift-id/32:sec" },
		{ (SEC * 2654435761u) & 0xffffffff, 32, "mul-odd/32:sec" },
		{ (NSEC * 7919u) & 0xffffffff, 32, "mul-odd/32:nsec" },
		{ PID, 32, "identity:pid" },
		{ TID, 32, "identity:tid" },
		{ NSEC & 0xffff, 32, "identity/16:nsec" },
		{ SEC - 3600, 32, "near-now:sec" },
		{ (UINT64_C(0x123456789abc) - 3000) & 0xffffffff, 32, "tsc/32" },
		{ UINT64_C(0x123456789abc) - 3000, 64, "tsc" },
		{ 0, 32, NULL }, { 1, 32, NULL }, { 42, 32, NULL },
		{ 1234, 32, NULL }, { 12345, 32, NULL }, { 987654321, 32, NULL },
		{ 0xdeadbeef, 32, NULL }, { 1000000000ULL, 64, NULL },
		{ UINT64_MAX, 64, NULL }, { 2024, 64, NULL },
	};
	struct ds_seed_ctx c;
	char rule[64];
	size_t i;

	ctx_init(&c);
	for (i = 0; i < DS_ARRAY_SIZE(cases); i++) {
		bool got = ds_seed_rule_values(cases[i].seed, cases[i].width, &c,
					       rule, sizeof(rule));

		ck_assert_msg(got == (cases[i].rule != NULL),
			      "case %zu: seed %llu rule '%s'", i,
			      (unsigned long long)cases[i].seed,
			      got ? rule : "(none)");
		if (cases[i].rule)
			ck_assert_msg(strcmp(rule, cases[i].rule) == 0,
				      "case %zu: got %s want %s", i, rule,
				      cases[i].rule);
	}
}
END_TEST

/* Without records, a sub-second value is not recognisable: the rules
 * judge provenance, not magnitude. */
START_TEST(test_no_provenance_no_rule)
{
	struct ds_seed_ctx c;
	char rule[64];

	memset(&c, 0, sizeof(c));
	ck_assert(!ds_seed_rule_values(NSEC, 32, &c, rule, sizeof(rule)));
	ck_assert(!ds_seed_rule_values(654321u, 32, &c, rule, sizeof(rule)));
	/* Small clock fields never make small constants volatile. */
	c.vals[0] = (struct ds_prov_val){ SEC, 42000u, DS_PROV_TS };
	c.nvals = 1;
	ck_assert(!ds_seed_rule_values(42, 32, &c, rule, sizeof(rule)));
	ck_assert(ds_seed_rule_values(42000, 32, &c, rule, sizeof(rule)));
	/* A counter below 2^40 (a machine booted minutes ago): small
	 * constants are not counter reads, which come after the start. */
	memset(&c, 0, sizeof(c));
	c.tsc = UINT64_C(900000000000);
	c.tsc_start = UINT64_C(899000000000);
	ck_assert(!ds_seed_rule_values(42, 64, &c, rule, sizeof(rule)));
	ck_assert(!ds_seed_rule_values(1234567, 64, &c, rule, sizeof(rule)));
	ck_assert(ds_seed_rule_values(899500000000, 64, &c, rule,
				      sizeof(rule)));
}
END_TEST

/* A pid handed out after the pids wrapped (from 300 up) is judged; one
 * below 300 (a container's first processes) is the same in every run. */
START_TEST(test_small_pids)
{
	struct ds_seed_ctx c;
	char rule[64];

	memset(&c, 0, sizeof(c));
	c.ids[0] = 517;
	ck_assert(ds_seed_rule_values(517, 32, &c, rule, sizeof(rule)));
	ck_assert_str_eq(rule, "identity:pid");
	c.ids[0] = 300;
	ck_assert(ds_seed_rule_values(300, 32, &c, rule, sizeof(rule)));
	c.ids[0] = 7;
	ck_assert(!ds_seed_rule_values(7, 32, &c, rule, sizeof(rule)));
	c.ids[0] = 299;
	ck_assert(!ds_seed_rule_values(299, 32, &c, rule, sizeof(rule)));
}
END_TEST

START_TEST(test_address_rule_and_maps)
{
	static const char maps[] =
		"55d0c0a00000-55d0c0a21000 r--p 00000000 08:01 123 /usr/bin/x\n"
		"55d0c1e00000-55d0c1e21000 rw-p 00000000 00:00 0    [heap]\n"
		"7f0000000000-7f0000100000 rw-p 00000000 00:00 0 \n"
		"7ffc12300000-7ffc12400000 rw-p 00000000 00:00 0    [stack]\n"
		"ffffffffff600000-ffffffffff601000 --xp 0 00:00 0 [vsyscall]\n"
		"7ffc1250";
	struct ds_range r[8];
	struct ds_seed_ctx c;
	char rule[64];
	size_t n = ds_parse_maps(maps, r, DS_ARRAY_SIZE(r));

	ck_assert_uint_eq(n, 5); /* the cut last line is not a range */
	ck_assert(!r[0].stack_or_heap && r[1].stack_or_heap &&
		  !r[2].stack_or_heap && r[3].stack_or_heap);
	memset(&c, 0, sizeof(c));
	ck_assert(ds_seed_rule_address(UINT64_C(0x7f0000000040), &c, r, n, rule,
				       sizeof(rule)));
	ck_assert_str_eq(rule, "address");
	/* The low 32 bits of a heap block, as srand((unsigned)ptr) gets. */
	ck_assert(ds_seed_rule_address(0xc1e00010, &c, r, n, rule, sizeof(rule)));
	ck_assert_str_eq(rule, "address/32");
	/* ... but not of a plain mapping (a GPU reservation covers all). */
	ck_assert(!ds_seed_rule_address(0x00000040, &c, r, n, rule, sizeof(rule)));
	/* The caller's own stack, named by no line (a thread's). */
	c.sp = UINT64_C(0x7f1234567000);
	ck_assert(ds_seed_rule_address(0x34567100, &c, r, n, rule, sizeof(rule)));
	ck_assert_str_eq(rule, "address/32:stack");
	ck_assert(!ds_seed_rule_address(42, &c, r, n, rule, sizeof(rule)));
	/* The main stack without randomisation ends at 0x7ffffffff000: its
	 * window must not wrap round to the small numbers. */
	c.sp = UINT64_C(0x7fffffffe640);
	ck_assert(ds_seed_rule_address(0xffffe700, &c, r, n, rule, sizeof(rule)));
	ck_assert(!ds_seed_rule_address(42, &c, r, n, rule, sizeof(rule)));
	ck_assert(!ds_seed_rule_address(0x50000, &c, r, n, rule, sizeof(rule)));
	ck_assert(!ds_seed_rule_address(0x22345678, &c, r, n, rule, sizeof(rule)));
}
END_TEST

/* A non-PIE executable (Debian's python3) sits at 0x400000 in every
 * run: a seed inside its image is a number; its heap still counts. */
START_TEST(test_address_rule_fixed_image)
{
	static const char maps[] =
		"00400000-0041f000 r--p 00000000 fe:00 1 /usr/bin/python3.11\n"
		"00941000-00a7f000 rw-p 00540000 fe:00 1 /usr/bin/python3.11\n"
		"00a7f000-00ac4000 rw-p 00000000 00:00 0 \n"
		"00ac4000-00b5a000 rw-p 00000000 00:00 0 [heap]\n"
		"7ffff7ca5000-7ffff7ccb000 r--p 00000000 fe:00 2 /usr/lib/libc.so.6\n";
	struct ds_range r[8];
	struct ds_seed_ctx c;
	char rule[64];
	size_t n = ds_parse_maps(maps, r, DS_ARRAY_SIZE(r));

	ck_assert_uint_eq(n, 5);
	memset(&c, 0, sizeof(c));
	ck_assert(!ds_seed_rule_address(8675309, &c, r, n, rule, sizeof(rule)));
	ck_assert(!ds_seed_rule_address(0x410000, &c, r, n, rule, sizeof(rule)));
	ck_assert(!ds_seed_rule_address(0xa80000, &c, r, n, rule, sizeof(rule)));
	ck_assert(ds_seed_rule_address(0xac52a0, &c, r, n, rule, sizeof(rule)));
	ck_assert(ds_seed_rule_address(UINT64_C(0x7ffff7ca6000), &c, r, n, rule,
				       sizeof(rule)));
	ck_assert_str_eq(rule, "address");
}
END_TEST

/* ASan's shadow gap crosses 4 GiB: a 32-bit hash above 0x8fff7000 is
 * inside it and is still a number (an ASan build of rand_learn had half
 * its /proc/self/stat hashes taken for addresses). */
START_TEST(test_address_rule_mapping_across_4g)
{
	static const char maps[] =
		"7fff8000-8fff7000 rw-p 00000000 00:00 0 \n"
		"8fff7000-2008fff7000 ---p 00000000 00:00 0 \n"
		"2008fff7000-10007fff8000 rw-p 00000000 00:00 0 \n";
	struct ds_range r[8];
	struct ds_seed_ctx c;
	char rule[64];
	size_t n = ds_parse_maps(maps, r, DS_ARRAY_SIZE(r));

	ck_assert_uint_eq(n, 3);
	memset(&c, 0, sizeof(c));
	ck_assert(!ds_seed_rule_address(0x9abcdef0, &c, r, n, rule, sizeof(rule)));
	ck_assert(!ds_seed_rule_address(0xfffffff0, &c, r, n, rule, sizeof(rule)));
	ck_assert(!ds_seed_rule_address(0x80000010, &c, r, n, rule, sizeof(rule)));
	ck_assert(ds_seed_rule_address(UINT64_C(0x100000040), &c, r, n, rule,
				       sizeof(rule)));
	ck_assert_str_eq(rule, "address");
}
END_TEST

START_TEST(test_seeds_file)
{
	static const char file[] =
		"# recorded by detrun --verify --learn\n"
		"detshim-seeds 1\n"
		"program other abcd\n"
		"site srand other+0x10\n"
		"program train 1234\n"
		"site srand train+0x1a2f\n"
		"site curandSetPseudoRandomGeneratorSeed libx.so+0x20\n";
	static struct ds_seeds s;
	char err[200];

	ck_assert_int_eq(ds_seeds_parse(file, "train", "1234", &s, err,
					sizeof(err)), 0);
	ck_assert(s.matched);
	ck_assert_uint_eq(s.n, 2);
	ck_assert(ds_seeds_match(&s, "srand", "train+0x1a2f#3"));
	ck_assert(ds_seeds_match(&s, "srand", "train+0x1a2f"));
	ck_assert(!ds_seeds_match(&s, "srand", "train+0x1a2"));
	ck_assert(!ds_seeds_match(&s, "srandom", "train+0x1a2f#0"));
	ck_assert(!ds_seeds_match(&s, "srand", "other+0x10#0"));
	/* Another build of the same name: refused, the other named. */
	ck_assert_int_eq(ds_seeds_parse(file, "train", "9999", &s, err,
					sizeof(err)), 0);
	ck_assert(!s.matched && s.n == 0);
	ck_assert_str_eq(s.other, "other (build id abcd)");
	ck_assert_int_eq(ds_seeds_parse("site srand x+0x1\n", "x", "-", &s, err,
					sizeof(err)), -EINVAL);
	ck_assert(strstr(err, "not a detshim seeds file") != NULL);
	ck_assert_int_eq(ds_seeds_parse("detshim-seeds 1\nsite a b\n", "x", "-",
					&s, err, sizeof(err)), -EINVAL);
	ck_assert_int_eq(ds_seeds_parse("detshim-seeds 1\nbogus\n", "x", "-", &s,
					err, sizeof(err)), -EINVAL);
}
END_TEST

static Suite *make_seed_rules_suite(void)
{
	Suite *s = suite_create("seed_rules");
	TCase *t = tcase_create("rules");

	tcase_add_test(t, test_value_rules);
	tcase_add_test(t, test_no_provenance_no_rule);
	tcase_add_test(t, test_small_pids);
	tcase_add_test(t, test_address_rule_and_maps);
	tcase_add_test(t, test_address_rule_fixed_image);
	tcase_add_test(t, test_address_rule_mapping_across_4g);
	tcase_add_test(t, test_seeds_file);
	suite_add_tcase(s, t);
	return s;
}
DS_TEST_SUITE(make_seed_rules_suite);
