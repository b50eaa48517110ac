/*
 * check_cudnn.c - pure logic of the cuDNN hooks: descriptor table and
 * op-graph fingerprints, engine-config keys, the choice rule, the
 * algorithm cache file (format, load, save), legacy result ordering,
 * and the hash/hex helpers they share (shim/hash.c).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check_detshim.h"
#include "cudnn_core.h"

static void reset(void)
{
	ds_cudnn_track_reset();
	ds_cudnn_graphs_reset();
	ds_cudnn_cache_reset();
}

/* Fake handles: any distinct non-NULL addresses. */
static char h[64];

static uint64_t tensor_fp(void *t, int order)
{
	struct ds_cudnn_desc *d = ds_cudnn_track_add(t, 17);
	int64_t dims[4] = { 8, 3, 32, 32 }, uid = 'x';
	int32_t dt = 0;
	bool ok;

	ck_assert_ptr_nonnull(d);
	if (order) {
		ds_cudnn_track_set_attr(d, 906, DS_CUDNN_TYPE_INT64, 1, &uid);
		ds_cudnn_track_set_attr(d, 902, DS_CUDNN_TYPE_INT64, 4, dims);
		ds_cudnn_track_set_attr(d, 901, DS_CUDNN_TYPE_DATA_TYPE, 1, &dt);
	} else {
		ds_cudnn_track_set_attr(d, 901, DS_CUDNN_TYPE_DATA_TYPE, 1, &dt);
		ds_cudnn_track_set_attr(d, 902, DS_CUDNN_TYPE_INT64, 4, dims);
		ds_cudnn_track_set_attr(d, 906, DS_CUDNN_TYPE_INT64, 1, &uid);
	}
	return ds_cudnn_track_content(d, &ok);
}

START_TEST(content_hash_is_canonical)
{
	uint64_t a, b, c;
	struct ds_cudnn_desc *d;
	bool ok;
	void *p = &ok;
	int64_t dims[4] = { 8, 3, 32, 33 };

	reset();
	a = tensor_fp(&h[0], 0);
	b = tensor_fp(&h[1], 1); /* other address, other order */
	ck_assert_uint_eq(a, b);
	/* pointers never count */
	d = ds_cudnn_track_find(&h[1]);
	ds_cudnn_track_set_attr(d, 800, DS_CUDNN_TYPE_HANDLE, 1, &p);
	ds_cudnn_track_set_attr(d, 1001, DS_CUDNN_TYPE_VOID_PTR, 1, &p);
	ck_assert_uint_eq(ds_cudnn_track_content(d, &ok), a);
	ck_assert(ok);
	/* content does */
	ds_cudnn_track_set_attr(d, 902, DS_CUDNN_TYPE_INT64, 4, dims);
	c = ds_cudnn_track_content(d, &ok);
	ck_assert_uint_ne(c, a);
}
END_TEST

START_TEST(references_hash_by_content)
{
	struct ds_cudnn_desc *op1, *op2;
	void *r1 = &h[0], *r2 = &h[1], *un = &h[9];
	uint64_t x, y;
	bool ok1, ok2;

	reset();
	tensor_fp(&h[0], 0);
	tensor_fp(&h[1], 1);
	op1 = ds_cudnn_track_add(&h[2], 10);
	op2 = ds_cudnn_track_add(&h[3], 10);
	ds_cudnn_track_set_attr(op1, 704, DS_CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &r1);
	ds_cudnn_track_set_attr(op2, 704, DS_CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &r2);
	x = ds_cudnn_track_content(op1, &ok1);
	y = ds_cudnn_track_content(op2, &ok2);
	ck_assert_uint_eq(x, y);
	ck_assert(ok1 && ok2);
	/* an untracked reference: no fingerprint at all */
	ds_cudnn_track_set_attr(op2, 705, DS_CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &un);
	ds_cudnn_track_content(op2, &ok2);
	ck_assert(!ok2);
	/* an unknown attribute type too */
	ds_cudnn_track_set_attr(op1, 777, 999, 1, &x);
	ds_cudnn_track_content(op1, &ok1);
	ck_assert(!ok1);
}
END_TEST

START_TEST(table_add_find_remove_reuse)
{
	static char many[4096];
	unsigned i;

	reset();
	for (i = 0; i < sizeof(many); i++)
		ck_assert_ptr_nonnull(ds_cudnn_track_add(&many[i], 17));
	ck_assert_uint_eq(ds_cudnn_track_live(), sizeof(many));
	for (i = 0; i < sizeof(many); i += 2)
		ds_cudnn_track_remove(&many[i]);
	ck_assert_uint_eq(ds_cudnn_track_live(), sizeof(many) / 2);
	ck_assert_ptr_null(ds_cudnn_track_find(&many[0]));
	ck_assert_ptr_nonnull(ds_cudnn_track_find(&many[1]));
	/* a reused address starts fresh */
	ck_assert_int_eq(ds_cudnn_track_add(&many[0], 5)->type, 5);
	ck_assert_uint_eq(ds_cudnn_track_find(&many[0])->nattr, 0);
	ck_assert_ptr_null(ds_cudnn_track_add(NULL, 17));
	ck_assert(!ds_cudnn_track_wanted(DS_CUDNN_BACKEND_VARIANT_PACK_DESCRIPTOR));
	ck_assert(ds_cudnn_track_wanted(DS_CUDNN_BACKEND_TENSOR_DESCRIPTOR));
}
END_TEST

START_TEST(cfgkey_identity_and_text)
{
	struct ds_cudnn_cfgkey a = { 7, 2, { 13, 2 }, { 0, 1 } };
	struct ds_cudnn_cfgkey b = { 7, 2, { 2, 13 }, { 1, 0 } };
	struct ds_cudnn_cfgkey c = { 7, 2, { 2, 13 }, { 2, 0 } };
	struct ds_cudnn_cfgkey p;
	char buf[256];

	ds_cudnn_cfgkey_normalize(&a);
	ds_cudnn_cfgkey_normalize(&b);
	ds_cudnn_cfgkey_normalize(&c);
	ck_assert_uint_eq(ds_cudnn_cfgkey_hash(&a), ds_cudnn_cfgkey_hash(&b));
	/* same engine, other knob value: another config */
	ck_assert_uint_ne(ds_cudnn_cfgkey_hash(&a), ds_cudnn_cfgkey_hash(&c));
	ds_cudnn_cfgkey_format(&a, buf, sizeof(buf));
	ck_assert_str_eq(buf, "eng=7 knobs=2:1,13:0");
	ck_assert_int_eq(ds_cudnn_cfgkey_parse(buf, &p), 0);
	ck_assert_uint_eq(ds_cudnn_cfgkey_hash(&p), ds_cudnn_cfgkey_hash(&a));
	ck_assert_int_eq(ds_cudnn_cfgkey_parse("eng=-3 knobs=-", &p), 0);
	ck_assert_int_eq(p.engine, -3);
	ck_assert_int_eq(p.nknobs, 0);
	ck_assert_int_eq(ds_cudnn_cfgkey_parse("eng=7 knobs=2:", &p), -EINVAL);
	ck_assert_int_eq(ds_cudnn_cfgkey_parse("eng=7", &p), -EINVAL);
	ck_assert_int_eq(ds_cudnn_cfgkey_parse("eng=7 knobs=1:2 x", &p), -EINVAL);
}
END_TEST

START_TEST(choice_first_any_pinned)
{
	struct ds_cudnn_graph *gr, *gr2;
	struct ds_cudnn_cfgkey k = { 9, 0, { 0 }, { 0 } };
	enum ds_cudnn_verdict v;

	reset();
	v = ds_cudnn_choose(1, 100, DS_CUDNN_FIRST, &gr);
	ck_assert_int_eq(v, DS_CUDNN_ALLOW_FIRST);
	ds_cudnn_choose_done(gr, 100, v, false); /* failed to build */
	v = ds_cudnn_choose(1, 200, DS_CUDNN_FIRST, &gr);
	ck_assert_int_eq(v, DS_CUDNN_ALLOW_FIRST);
	ds_cudnn_choose_done(gr, 200, v, true);
	ck_assert_int_eq(ds_cudnn_choose(1, 300, DS_CUDNN_FIRST, &gr2),
			 DS_CUDNN_VETO_CHOSEN);
	ck_assert_ptr_eq(gr, gr2);
	ck_assert_int_eq(ds_cudnn_choose(1, 200, DS_CUDNN_FIRST, &gr2),
			 DS_CUDNN_ALLOW);
	ck_assert_int_eq(ds_cudnn_choose(1, 300, DS_CUDNN_ANY, &gr2),
			 DS_CUDNN_ALLOW);
	/* another graph is independent */
	ck_assert_int_eq(ds_cudnn_choose(2, 300, DS_CUDNN_FIRST, &gr2),
			 DS_CUDNN_ALLOW_FIRST);
	/* pinned beats both rules; a pin that fails to build unpins */
	ck_assert_int_eq(ds_cudnn_pin(3, &k), 0);
	v = ds_cudnn_choose(3, ds_cudnn_cfgkey_hash(&k), DS_CUDNN_ANY, &gr);
	ck_assert_int_eq(v, DS_CUDNN_ALLOW_PIN);
	ck_assert_int_eq(ds_cudnn_choose(3, 5, DS_CUDNN_ANY, &gr2),
			 DS_CUDNN_VETO_PINNED);
	ck_assert(ds_cudnn_choose_done(gr, ds_cudnn_cfgkey_hash(&k), v, false));
	ck_assert_int_eq(ds_cudnn_choose(3, 5, DS_CUDNN_FIRST, &gr2),
			 DS_CUDNN_ALLOW_FIRST);
	k.engine = 10;
	ck_assert_int_eq(ds_cudnn_pin(4, &k), 0);
	k.engine = 11;
	ck_assert_int_eq(ds_cudnn_pin(4, &k), -EEXIST);
}
END_TEST

START_TEST(settled_is_most_executed)
{
	struct ds_cudnn_cfgkey a = { 1, 0, { 0 }, { 0 } }, b = { 2, 0, { 0 }, { 0 } };
	struct ds_cudnn_cfgkey out;
	struct ds_cudnn_graph *gr;
	int ia, ib;

	reset();
	ds_cudnn_choose(7, 1, DS_CUDNN_ANY, &gr);
	ck_assert(!ds_cudnn_graph_settled(gr, &out));
	ia = ds_cudnn_graph_cand(gr, &a);
	ib = ds_cudnn_graph_cand(gr, &b);
	ck_assert_int_eq(ds_cudnn_graph_cand(gr, &a), ia);
	atomic_store(&gr->cand[ia].execs, 2);  /* timed once */
	atomic_store(&gr->cand[ib].execs, 30); /* kept */
	ck_assert(ds_cudnn_graph_settled(gr, &out));
	ck_assert_int_eq(out.engine, 2);
}
END_TEST

static int seen;
static uint64_t seen_g;
static void count_entry(uint64_t g, const struct ds_cudnn_cfgkey *k, void *arg)
{
	(void)k;
	(void)arg;
	seen++;
	seen_g = g;
}

START_TEST(cache_file_round_trip_and_errors)
{
	struct ds_cudnn_pin_hdr hd = { 91900, "sm90 sms=132 NVIDIA H200" };
	struct ds_cudnn_pin_hdr other = { 91800, "sm90 sms=132 NVIDIA H200" };
	struct ds_cudnn_cfgkey k = { 38, 2, { 2, 13 }, { 1, 0 } };
	char file[2048], err[256];
	size_t n;

	n = ds_cudnn_pin_format_header(&hd, file, sizeof(file));
	n += ds_cudnn_pin_format_line(UINT64_C(0xdeadbeef00112233), &k,
				      file + n, sizeof(file) - n);
	ck_assert_ptr_nonnull(strstr(file, "g=deadbeef00112233 eng=38 knobs=2:1,13:0\n"));
	seen = 0;
	ck_assert_int_eq(ds_cudnn_pin_parse(file, n, &hd, count_entry, NULL, err,
					    sizeof(err)), 1);
	ck_assert_int_eq(seen, 1);
	ck_assert_uint_eq(seen_g, UINT64_C(0xdeadbeef00112233));
	/* stale: other cuDNN, other device */
	ck_assert_int_eq(ds_cudnn_pin_parse(file, n, &other, count_entry, NULL,
					    err, sizeof(err)), -ESTALE);
	ck_assert_ptr_nonnull(strstr(err, "91800"));
	strcpy(other.device, "sm80 sms=108 A100");
	other.cudnn = 91900;
	ck_assert_int_eq(ds_cudnn_pin_parse(file, n, &other, count_entry, NULL,
					    err, sizeof(err)), -ESTALE);
	/* malformed: nothing is delivered, the line is named */
	seen = 0;
	strcat(file, "g=0000000000000001 eng=x knobs=-\n");
	ck_assert_int_eq(ds_cudnn_pin_parse(file, strlen(file), &hd, count_entry,
					    NULL, err, sizeof(err)), -EINVAL);
	ck_assert_int_eq(seen, 0);
	ck_assert_str_eq(err, "line 4: malformed entry");
	ck_assert_int_eq(ds_cudnn_pin_parse("", 0, &hd, count_entry, NULL, err,
					    sizeof(err)), -EINVAL);
	ck_assert_int_eq(ds_cudnn_pin_parse("x\0y", 3, &hd, count_entry, NULL,
					    err, sizeof(err)), -EINVAL);
}
END_TEST

/* A graph g whose config k finalized first and ran execs times. */
static void settle(uint64_t g, const struct ds_cudnn_cfgkey *k, int execs)
{
	struct ds_cudnn_graph *gr = NULL;
	uint64_t kh = ds_cudnn_cfgkey_hash(k);
	enum ds_cudnn_verdict v = ds_cudnn_choose(g, kh, DS_CUDNN_FIRST, &gr);
	int idx;

	ck_assert_ptr_nonnull(gr);
	ds_cudnn_choose_done(gr, kh, v, true);
	idx = ds_cudnn_graph_cand(gr, k);
	ck_assert_int_ge(idx, 0);
	atomic_fetch_add(&gr->cand[idx].execs, (unsigned long)execs);
}

static void write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
}

static size_t read_text(const char *path, char *buf, size_t cap)
{
	FILE *f = fopen(path, "r");
	size_t n;

	if (f == NULL)
		return 0;
	n = fread(buf, 1, cap - 1, f);
	buf[n] = '\0';
	fclose(f);
	return n;
}

START_TEST(cache_load_save_round_trip)
{
	struct ds_cudnn_pin_hdr hd = { 91900, "sm90 sms=132 NVIDIA H200" };
	struct ds_cudnn_cfgkey k = { 38, 2, { 2, 13 }, { 1, 0 } };
	struct ds_cudnn_cfgkey k2 = { 7, 0, { 0 }, { 0 } };
	struct ds_cudnn_graph *gr = NULL;
	char path[256], text[4096], again[4096];

	reset();
	snprintf(path, sizeof(path), "/tmp/check_cudnn_cache_%d", (int)getpid());
	unlink(path);
	/* absent: record what the run settles on */
	ck_assert_int_eq(ds_cudnn_cache_load(path, &hd), DS_CUDNN_CACHE_RECORD);
	settle(UINT64_C(0x1111), &k, 3);
	settle(UINT64_C(0x2222), &k2, 1);
	ck_assert_int_eq(ds_cudnn_cache_save(), 2);
	read_text(path, text, sizeof(text));
	ck_assert_ptr_nonnull(strstr(text, "detshim-algo-cache 1 cudnn=91900 "
					   "device=sm90 sms=132 NVIDIA H200\n"));
	ck_assert_ptr_nonnull(strstr(text, "g=0000000000001111 eng=38 knobs=2:1,13:0\n"));
	ck_assert_ptr_nonnull(strstr(text, "g=0000000000002222 eng=7 knobs=-\n"));
	/* a new process: the file pins both graphs */
	reset();
	ck_assert_int_eq(ds_cudnn_cache_load(path, &hd), DS_CUDNN_CACHE_LOADED);
	ck_assert_int_eq(ds_cudnn_graph_count(), 2);
	ck_assert_int_eq(ds_cudnn_choose(0x1111, ds_cudnn_cfgkey_hash(&k2),
					 DS_CUDNN_FIRST, &gr),
			 DS_CUDNN_VETO_PINNED);
	ck_assert_int_eq(ds_cudnn_choose(0x1111, ds_cudnn_cfgkey_hash(&k),
					 DS_CUDNN_FIRST, &gr),
			 DS_CUDNN_ALLOW_PIN);
	/* nothing new: the file is not rewritten */
	ck_assert_int_eq(ds_cudnn_cache_save(), 0);
	read_text(path, again, sizeof(again));
	ck_assert_str_eq(again, text);
	/* a new graph is appended, the pinned ones kept */
	settle(UINT64_C(0x3333), &k2, 2);
	ck_assert_int_eq(ds_cudnn_cache_save(), 3);
	read_text(path, again, sizeof(again));
	ck_assert_ptr_nonnull(strstr(again, "g=0000000000001111 eng=38"));
	ck_assert_ptr_nonnull(strstr(again, "g=0000000000003333 eng=7"));
	unlink(path);
	reset();
}
END_TEST

START_TEST(cache_bad_files_are_ignored)
{
	struct ds_cudnn_pin_hdr hd = { 91900, "sm90 sms=132 NVIDIA H200" };
	struct ds_cudnn_cfgkey k = { 38, 0, { 0 }, { 0 } };
	static const char *const bad[] = {
		"not a cache\n",
		"detshim-algo-cache 2 cudnn=91900 device=sm90 sms=132 NVIDIA H200\n",
		"detshim-algo-cache 1 cudnn=91900 device=sm90 sms=132 NVIDIA H200\n"
		"g=0000000000000001 eng=38 knobs=-\n"
		"g=00000000000000zz eng=38 knobs=-\n",
		"detshim-algo-cache 1 cudnn=91900 device=sm90 sms=132 NVIDIA H200\n"
		"g=0000000000000001 eng=38 knobs=1001:0\n",
		/* stale: another cuDNN, another device */
		"detshim-algo-cache 1 cudnn=90100 device=sm90 sms=132 NVIDIA H200\n"
		"g=0000000000000001 eng=38 knobs=-\n",
		"detshim-algo-cache 1 cudnn=91900 device=sm80 sms=108 A100\n"
		"g=0000000000000001 eng=38 knobs=-\n",
	};
	char path[256], text[1024];
	size_t i;

	snprintf(path, sizeof(path), "/tmp/check_cudnn_bad_%d", (int)getpid());
	for (i = 0; i < DS_ARRAY_SIZE(bad); i++) {
		reset();
		write_text(path, bad[i]);
		ck_assert_int_eq(ds_cudnn_cache_load(path, &hd),
				 DS_CUDNN_CACHE_IGNORED);
		/* nothing pinned, and never rewritten */
		ck_assert_int_eq(ds_cudnn_graph_count(), 0);
		settle(UINT64_C(0x1), &k, 1);
		ck_assert_int_eq(ds_cudnn_cache_save(), 0);
		read_text(path, text, sizeof(text));
		ck_assert_str_eq(text, bad[i]);
	}
	/* an empty file is recorded into */
	reset();
	write_text(path, "");
	ck_assert_int_eq(ds_cudnn_cache_load(path, &hd), DS_CUDNN_CACHE_RECORD);
	/* a directory is unreadable: ignored */
	unlink(path);
	ck_assert_int_eq(mkdir(path, 0700), 0);
	reset();
	ck_assert_int_eq(ds_cudnn_cache_load(path, &hd), DS_CUDNN_CACHE_IGNORED);
	rmdir(path);
	/* no path: nothing to load or save */
	reset();
	ck_assert_int_eq(ds_cudnn_cache_load("", &hd), DS_CUDNN_CACHE_NONE);
	ck_assert_int_eq(ds_cudnn_cache_save(), 0);
	reset();
}
END_TEST

START_TEST(hex_round_trip)
{
	static const uint64_t vals[] = { 0, 1, UINT64_C(0xdeadbeef00112233),
					 ~UINT64_C(0) };
	char hx[17];
	uint64_t v;
	size_t i;

	for (i = 0; i < DS_ARRAY_SIZE(vals); i++) {
		ck_assert_uint_eq(strlen(ds_hex16(vals[i], hx)), 16);
		ck_assert(ds_hex_parse(hx, 16, &v));
		ck_assert_uint_eq(v, vals[i]);
	}
	ck_assert(ds_hex_parse("ff", 2, &v));
	ck_assert_uint_eq(v, 255);
	ck_assert(!ds_hex_parse("FF", 2, &v));
	ck_assert(!ds_hex_parse("0x", 2, &v));
	ck_assert(!ds_hex_parse("", 0, &v));
	ck_assert(!ds_hex_parse("00000000000000000", 17, &v));
	/* the mix depends on both words and on their order */
	ck_assert_uint_ne(ds_mix64(1, 2), ds_mix64(2, 1));
	ck_assert_uint_ne(ds_hash_bytes(0, "ab", 2), ds_hash_bytes(0, "ba", 2));
}
END_TEST

START_TEST(legacy_filter_and_order)
{
	struct ds_cudnn_algo_perf p[6], ref[6];
	int algos_find[6] = { 2, 0, 6, 3, 1, 5 };  /* timing order */
	int algos_ref[6] = { 0, 3, 1, 6, 2, 5 };   /* heuristic order */
	int i, n;

	memset(p, 0, sizeof(p));
	memset(ref, 0, sizeof(ref));
	for (i = 0; i < 6; i++) {
		p[i].algo = algos_find[i];
		p[i].time = (float)i;
		p[i].determinism = DS_CUDNN_DETERMINISTIC;
		ref[i].algo = algos_ref[i];
	}
	p[5].status = DS_CUDNN_STATUS_NOT_SUPPORTED;
	n = ds_cudnn_perf_filter(DS_CUDNN_CONV_BWD_FILTER, p, 6, ref, 6, true,
				 true);
	ck_assert_int_eq(n, 4); /* ALGO_0 and ALGO_3 gone */
	ck_assert_int_eq(p[0].algo, 1);
	ck_assert_int_eq(p[1].algo, 6);
	ck_assert_int_eq(p[2].algo, 2);
	ck_assert_int_eq(p[3].algo, 5); /* failed status last */
	for (i = 1; i < n; i++)
		ck_assert(p[i].time >= p[i - 1].time);
	ck_assert(ds_cudnn_algo_nondet(DS_CUDNN_CONV_BWD_DATA, 0));
	ck_assert(!ds_cudnn_algo_nondet(DS_CUDNN_CONV_BWD_DATA, 1));
	ck_assert(!ds_cudnn_algo_nondet(DS_CUDNN_CONV_FWD, 0));
	ck_assert_int_eq(ds_cudnn_substitutes(DS_CUDNN_CONV_BWD_FILTER, &n)[0], 1);
}
END_TEST

Suite *make_cudnn_suite(void)
{
	Suite *s = suite_create("cudnn");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, content_hash_is_canonical);
	tcase_add_test(tc, references_hash_by_content);
	tcase_add_test(tc, table_add_find_remove_reuse);
	tcase_add_test(tc, cfgkey_identity_and_text);
	tcase_add_test(tc, choice_first_any_pinned);
	tcase_add_test(tc, settled_is_most_executed);
	tcase_add_test(tc, cache_file_round_trip_and_errors);
	tcase_add_test(tc, cache_load_save_round_trip);
	tcase_add_test(tc, cache_bad_files_are_ignored);
	tcase_add_test(tc, hex_round_trip);
	tcase_add_test(tc, legacy_filter_and_order);
	suite_add_tcase(s, tc);
	return s;
}

DS_TEST_SUITE(make_cudnn_suite);
