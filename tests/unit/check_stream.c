/* check_stream.c - ChaCha streams, the key tree, seed mixing. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "check_detshim.h"

static void setup(void)
{
	ds_config_defaults(&ds_cfg);
	ds_key_root(&ds_process_key, 42, false, 0);
	ds_stream_reset();
}

START_TEST(test_chacha_zero_key_vector)
{
	/* The published ChaCha20 vector for an all-zero key and nonce,
	 * block 0 (draft-agl-tls-chacha20poly1305-04 §7, test vector 1),
	 * then the same bytes read at an unaligned offset. */
	static const uint8_t want[16] = { 0x76, 0xb8, 0xe0, 0xad, 0xa0, 0xf1,
					  0x3d, 0x90, 0x40, 0x5d, 0x6a, 0xe5,
					  0x53, 0x86, 0xbd, 0x28 };
	struct ds_key k;
	uint8_t out[16];

	memset(&k, 0, sizeof(k));
	ds_chacha_bytes(&k, 0, 0, out, sizeof(out));
	ck_assert(memcmp(out, want, sizeof(want)) == 0);
	ds_chacha_bytes(&k, 0, 3, out, 5);
	ck_assert(memcmp(out, want + 3, 5) == 0);
}
END_TEST

START_TEST(test_positional_3x5_equals_5x3)
{
	uint8_t a[15], b[15];
	int i;

	for (i = 0; i < 3; i++)
		ds_stream_fill(DS_SRC_URANDOM, 0, a + 5 * i, 5);
	ds_stream_reset();
	for (i = 0; i < 5; i++)
		ds_stream_fill(DS_SRC_URANDOM, 0, b + 3 * i, 3);
	ck_assert(memcmp(a, b, sizeof(a)) == 0);
}
END_TEST

START_TEST(test_large_and_unaligned_reads)
{
	static uint8_t one[5000], parts[5000];
	size_t off = 0, step = 1;

	ds_stream_fill(DS_SRC_GETRANDOM, 7, one, sizeof(one));
	ds_stream_reset();
	while (off < sizeof(parts)) {
		size_t n = step;

		if (n > sizeof(parts) - off)
			n = sizeof(parts) - off;
		ds_stream_fill(DS_SRC_GETRANDOM, 7, parts + off, n);
		off += n;
		step = step * 3 % 197 + 1;
	}
	ck_assert(memcmp(one, parts, sizeof(one)) == 0);
}
END_TEST

START_TEST(test_sources_and_subs_independent)
{
	uint8_t a[32], b[32], c[32], a2[32];

	ds_stream_fill(DS_SRC_URANDOM, 0, a, sizeof(a));
	ds_stream_fill(DS_SRC_RANDOM, 0, b, sizeof(b));
	ds_stream_fill(DS_SRC_URANDOM, 1, c, sizeof(c));
	ck_assert(memcmp(a, b, sizeof(a)) != 0);
	ck_assert(memcmp(a, c, sizeof(a)) != 0);
	/* Draws from other streams did not shift this one. */
	ds_stream_reset();
	ds_stream_fill(DS_SRC_RANDOM, 0, b, sizeof(b));
	ds_stream_fill(DS_SRC_URANDOM, 0, a2, sizeof(a2));
	ck_assert(memcmp(a, a2, sizeof(a)) == 0);
}
END_TEST

START_TEST(test_seed_changes_stream)
{
	uint8_t a[16], b[16];

	ds_stream_fill(DS_SRC_GETRANDOM, 0, a, sizeof(a));
	ds_key_root(&ds_process_key, 43, false, 0);
	ds_stream_reset();
	ds_stream_fill(DS_SRC_GETRANDOM, 0, b, sizeof(b));
	ck_assert(memcmp(a, b, sizeof(a)) != 0);
}
END_TEST

START_TEST(test_key_tree)
{
	struct ds_key r1, r2, f0, f1, e0, rk;

	ds_key_root(&r1, 42, false, 0);
	ds_key_root(&r2, 42, false, 0);
	ck_assert(memcmp(&r1, &r2, sizeof(r1)) == 0);
	ds_key_derive(&f0, &r1, "fork", 0);
	ds_key_derive(&f1, &r1, "fork", 1);
	ds_key_derive(&e0, &r1, "exec", 0);
	ck_assert(memcmp(&f0, &f1, sizeof(f0)) != 0);
	ck_assert(memcmp(&f0, &e0, sizeof(f0)) != 0);
	ck_assert(memcmp(&f0, &r1, sizeof(f0)) != 0);
	ds_key_root(&rk, 42, true, 0);
	ck_assert(memcmp(&rk, &r1, sizeof(rk)) != 0);
}
END_TEST

/* The fork child as shim/process.c's handlers make it: the key is
 * H(parent, "fork", ordinal), derived at first use; every stream and
 * counter restarts at 0; siblings and grandchildren differ. */
START_TEST(test_fork_child_lazy_key_and_positions)
{
	struct ds_key scratch, parent, want, want2, grand;
	uint8_t before[16], child[16], again[16];
	atomic_ullong ctr = 0;

	ds_stream_fill(DS_SRC_URANDOM, 0, before, sizeof(before));
	ck_assert_uint_eq(ds_counter_next(&ctr), 0);
	ck_assert_uint_eq(ds_counter_next(&ctr), 1);
	parent = *ds_key_current(&scratch);
	ds_key_derive(&want, &parent, "fork", 3);

	ds_stream_fork_prepare();
	ds_stream_fork_child(3);
	/* Nothing derived yet: the stored key is still the parent's. */
	ck_assert(memcmp(&ds_process_key, &parent, sizeof(parent)) == 0);
	ck_assert(memcmp(ds_key_current(&scratch), &want, sizeof(want)) == 0);
	ck_assert(memcmp(&ds_process_key, &want, sizeof(want)) == 0);
	ck_assert_uint_eq(ds_counter_next(&ctr), 0);
	ds_stream_fill(DS_SRC_URANDOM, 0, child, sizeof(child));
	ck_assert(memcmp(child, before, sizeof(child)) != 0);
	/* Position 0 under the child key: the same bytes as a fresh start. */
	ds_process_key = want;
	ds_stream_reset();
	ds_stream_fill(DS_SRC_URANDOM, 0, again, sizeof(again));
	ck_assert(memcmp(child, again, sizeof(child)) == 0);

	/* A sibling (ordinal 4) of that child differs. */
	ds_process_key = parent;
	ds_stream_fork_child(4);
	ds_key_derive(&want2, &parent, "fork", 4);
	ck_assert(memcmp(ds_key_current(&scratch), &want2, sizeof(want2)) == 0);
	ck_assert(memcmp(&want, &want2, sizeof(want)) != 0);

	/* A child that forks before it drew: prepare derives its key first,
	 * so the grandchild's key is H(H(parent, 5), 0). */
	ds_process_key = parent;
	ds_stream_fork_child(5);
	ds_stream_fork_prepare();
	ds_stream_fork_child(0);
	ds_key_derive(&grand, &parent, "fork", 5);
	ds_key_derive(&grand, &grand, "fork", 0);
	ck_assert(memcmp(ds_key_current(&scratch), &grand, sizeof(grand)) == 0);
}
END_TEST

START_TEST(test_key_hex_round_trip)
{
	struct ds_key k, back;
	char hex[65];

	ds_key_root(&k, 99, true, 3);
	ds_key_to_hex(&k, hex);
	ck_assert_uint_eq(strlen(hex), 64);
	ck_assert_int_eq(ds_key_from_hex(&back, hex), 0);
	ck_assert(memcmp(&k, &back, sizeof(k)) == 0);
	hex[10] = 'G';
	ck_assert_int_eq(ds_key_from_hex(&back, hex), -EINVAL);
	ck_assert_int_eq(ds_key_from_hex(&back, "00"), -EINVAL);
}
END_TEST

START_TEST(test_u32_u64_words)
{
	uint8_t b[12];
	uint32_t w;
	uint64_t q;

	ds_stream_fill(DS_SRC_ARC4RANDOM, 5, b, sizeof(b));
	ds_stream_reset();
	w = ds_stream_u32(DS_SRC_ARC4RANDOM, 5);
	q = ds_stream_u64(DS_SRC_ARC4RANDOM, 5);
	ck_assert_uint_eq(w, (uint32_t)b[0] | (uint32_t)b[1] << 8 |
				     (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24);
	ck_assert(q == ((uint64_t)b[4] | (uint64_t)b[5] << 8 |
			(uint64_t)b[6] << 16 | (uint64_t)b[7] << 24 |
			(uint64_t)b[8] << 32 | (uint64_t)b[9] << 40 |
			(uint64_t)b[10] << 48 | (uint64_t)b[11] << 56));
}
END_TEST

#define THREADS 8
#define DRAWS 2000

static uint8_t thread_out[THREADS][DRAWS][4];

static void *draw(void *arg)
{
	long t = (long)arg;
	int i;

	for (i = 0; i < DRAWS; i++)
		ds_stream_fill(DS_SRC_URANDOM, 0, thread_out[t][i], 4);
	return NULL;
}

static int cmp4(const void *a, const void *b)
{
	return memcmp(a, b, 4);
}

START_TEST(test_threads_get_disjoint_ranges)
{
	/* Concurrent readers share one stream: together they must receive
	 * exactly the bytes a single reader would (no range twice). */
	static uint8_t single[THREADS * DRAWS][4];
	pthread_t th[THREADS];
	long t;

	for (t = 0; t < THREADS; t++)
		pthread_create(&th[t], NULL, draw, (void *)t);
	for (t = 0; t < THREADS; t++)
		pthread_join(th[t], NULL);
	ds_stream_reset();
	ds_stream_fill(DS_SRC_URANDOM, 0, single, sizeof(single));
	qsort(thread_out, THREADS * DRAWS, 4, cmp4);
	qsort(single, THREADS * DRAWS, 4, cmp4);
	ck_assert(memcmp(thread_out, single, sizeof(single)) == 0);
}
END_TEST

START_TEST(test_seed_modes)
{
	const char *how;
	uint64_t a, b, c;

	ds_cfg.seed_mode = DS_SEED_RESPECT;
	ck_assert(ds_seed_apply(DS_SRC_LIBC_RAND, 123, NULL, &how) == 123);
	ck_assert_str_eq(how, "kept");

	ds_cfg.seed_mode = DS_SEED_MIX;
	a = ds_seed_apply(DS_SRC_LIBC_RAND, 123, NULL, &how);
	ck_assert_str_eq(how, "mixed");
	b = ds_seed_apply(DS_SRC_LIBC_RAND, 123, NULL, &how);
	c = ds_seed_apply(DS_SRC_LIBC_RAND, 124, NULL, &how);
	ck_assert(a == b && a != 123 && a != c);
	/* Mixing is keyed by the root, not the process: a forked process
	 * with another process key mixes the same constant alike. */
	ds_key_derive(&ds_process_key, &ds_process_key, "fork", 0);
	ck_assert(ds_seed_apply(DS_SRC_LIBC_RAND, 123, NULL, &how) == a);
	/* A volatile seed is replaced, reproducibly per process key. */
	ds_stream_reset();
	a = ds_seed_apply(DS_SRC_LIBC_RAND, 1700000000ULL, "identity:sec", &how);
	ck_assert_str_eq(how, "replaced-volatile");
	ds_stream_reset();
	b = ds_seed_apply(DS_SRC_LIBC_RAND, 1700000005ULL, "identity:sec", &how);
	ck_assert(a == b);

	ds_cfg.seed_mode = DS_SEED_OVERRIDE;
	ds_stream_reset();
	a = ds_seed_apply(DS_SRC_LIBC_RAND, 1, NULL, &how);
	ck_assert_str_eq(how, "replaced");
	b = ds_seed_apply(DS_SRC_LIBC_RAND, 1, NULL, &how);
	ck_assert(a != b); /* each seeding call gets the next word */
}
END_TEST

START_TEST(test_seed_mix_follows_detshim_seed)
{
	const char *how;
	uint64_t a, b;

	ds_cfg.seed_mode = DS_SEED_MIX;
	ds_cfg.seed = 1;
	a = ds_seed_apply(DS_SRC_CURAND, 5, NULL, &how);
	ds_cfg.seed = 2;
	b = ds_seed_apply(DS_SRC_CURAND, 5, NULL, &how);
	ck_assert(a != b);
}
END_TEST

static Suite *make_stream_suite(void)
{
	Suite *s = suite_create("stream");
	TCase *t = tcase_create("stream");

	tcase_add_checked_fixture(t, setup, NULL);
	tcase_add_test(t, test_chacha_zero_key_vector);
	tcase_add_test(t, test_positional_3x5_equals_5x3);
	tcase_add_test(t, test_large_and_unaligned_reads);
	tcase_add_test(t, test_sources_and_subs_independent);
	tcase_add_test(t, test_seed_changes_stream);
	tcase_add_test(t, test_key_tree);
	tcase_add_test(t, test_fork_child_lazy_key_and_positions);
	tcase_add_test(t, test_key_hex_round_trip);
	tcase_add_test(t, test_u32_u64_words);
	tcase_add_test(t, test_threads_get_disjoint_ranges);
	suite_add_tcase(s, t);
	t = tcase_create("seed");
	tcase_add_checked_fixture(t, setup, NULL);
	tcase_add_test(t, test_seed_modes);
	tcase_add_test(t, test_seed_mix_follows_detshim_seed);
	suite_add_tcase(s, t);
	return s;
}
DS_TEST_SUITE(make_stream_suite);
