/* check_log.c - the formatter, JSON escaping, log lines, path expansion. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check_detshim.h"

START_TEST(test_fmt_subset)
{
	char b[128];

	ds_fmt(b, sizeof(b), "%s|%d|%u|%ld|%lu|%lld|%llu|%x|%zu|%c|%%", "a", -5,
	       7u, -9L, 9UL, -1LL, 18446744073709551615ULL, 255u, (size_t)3,
	       'z');
	ck_assert_str_eq(b, "a|-5|7|-9|9|-1|18446744073709551615|ff|3|z|%");
	{
		const char *volatile nul = NULL;

		ds_fmt(b, sizeof(b), "%s", nul);
	}
	ck_assert_str_eq(b, "(null)");
	ds_fmt(b, sizeof(b), "%d", -2147483647 - 1);
	ck_assert_str_eq(b, "-2147483648");
}
END_TEST

START_TEST(test_fmt_truncates_safely)
{
	char b[8];
	size_t n;

	memset(b, 'X', sizeof(b));
	n = ds_fmt(b, sizeof(b), "%s-%d", "abcdef", 12345);
	ck_assert_uint_eq(n, 7);
	ck_assert_str_eq(b, "abcdef-");
	ck_assert_uint_eq(ds_fmt(b, 0, "x"), 0);
}
END_TEST

START_TEST(test_json_escape)
{
	char b[128];
	size_t n = ds_json_escape(b, sizeof(b), 0, "a\"b\\c\nd\te\001f\xc3\xa9");

	ck_assert_uint_eq(n, strlen(b));
	ck_assert_str_eq(b, "a\\\"b\\\\c\\nd\\te\\u0001f\\u00c3\\u00a9");
}
END_TEST

START_TEST(test_line_format)
{
	char b[512];
	size_t n = ds_log_format_line(b, sizeof(b), 3, 99, "getrandom",
				      "getrandom", "replaced", NULL,
				      "len=\"16\"");

	ck_assert_str_eq(b, "{\"v\":1,\"seq\":3,\"pid\":99,\"src\":\"getrandom\","
			    "\"call\":\"getrandom\",\"action\":\"replaced\","
			    "\"detail\":\"len=\\\"16\\\"\"}\n");
	ck_assert_uint_eq(n, strlen(b));
}
END_TEST

START_TEST(test_line_format_fields)
{
	char b[512];
	char small[96];

	ds_log_format_line(b, sizeof(b), 4, 7, "libc_rand", "srand", "mixed",
			   "\"seed_program\":\"5\",\"seed_used\":\"9\"", "x");
	ck_assert_str_eq(b, "{\"v\":1,\"seq\":4,\"pid\":7,\"src\":\"libc_rand\","
			    "\"call\":\"srand\",\"action\":\"mixed\","
			    "\"seed_program\":\"5\",\"seed_used\":\"9\","
			    "\"detail\":\"x\"}\n");
	/* A fragment that does not fit is left out whole. */
	ds_log_format_line(small, sizeof(small), 4, 7, "libc_rand", "srand",
			   "mixed", "\"k\":\"0123456789012345678901234567890\"",
			   "x");
	ck_assert_ptr_null(strstr(small, "\"k\""));
	ck_assert_ptr_nonnull(strstr(small, "\"detail\":\"x\"}\n"));
}
END_TEST

START_TEST(test_line_format_long_detail_stays_valid)
{
	char detail[3000];
	char b[256];
	size_t n;

	memset(detail, '"', sizeof(detail) - 1);
	detail[sizeof(detail) - 1] = '\0';
	n = ds_log_format_line(b, sizeof(b), 1, 1, "s", "c", "a", NULL,
			       detail);
	ck_assert_uint_eq(n, strlen(b));
	ck_assert(n < sizeof(b));
	ck_assert(b[n - 1] == '\n' && b[n - 2] == '}' && b[n - 3] == '"');
}
END_TEST

START_TEST(test_expand_path)
{
	char out[64];

	ck_assert_int_eq(ds_log_expand_path("/tmp/log-%p.jsonl", 123, out,
					    sizeof(out)), 0);
	ck_assert_str_eq(out, "/tmp/log-123.jsonl");
	ck_assert_int_eq(ds_log_expand_path("a%%b%p%p", 7, out, sizeof(out)), 0);
	ck_assert_str_eq(out, "a%b77");
	ck_assert_int_eq(ds_log_expand_path("bad%q", 1, out, sizeof(out)),
			 -EINVAL);
	ck_assert_int_eq(ds_log_expand_path("/a/very/long/path/that/does/not/fit"
					    "/in/sixty/four/bytes/at/all/x", 1,
					    out, sizeof(out)),
			 -ENAMETOOLONG);
}
END_TEST

START_TEST(test_event_capped_and_counted)
{
	DS_SITE(site, DS_SRC_GETRANDOM, "test");
	char path[] = "/tmp/detshim-log-XXXXXX";
	char buf[8192];
	int fd, i, lines = 0;
	ssize_t n;

	fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	close(fd);
	ds_config_defaults(&ds_cfg);
	strcpy(ds_cfg.log_path, path);
	ds_cfg.log_first_n = 3;
	ck_assert_int_eq(ds_log_open(), 0);
	for (i = 0; i < 10; i++)
		ds_event(&site, "replaced", "i=%d", i);
	ck_assert_uint_eq(atomic_load(&site.count), 10);
	ck_assert_uint_eq(atomic_load(&site.logged), 3);
	fd = open(path, O_RDONLY);
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	unlink(path);
	ck_assert_int_gt(n, 0);
	buf[n] = '\0';
	for (i = 0; i < n; i++)
		lines += buf[i] == '\n';
	ck_assert_int_eq(lines, 3);
	ck_assert_ptr_nonnull(strstr(buf, "\"detail\":\"i=2\""));
	ck_assert_ptr_null(strstr(buf, "\"detail\":\"i=3\""));
}
END_TEST

START_TEST(test_log_open_fails_cleanly)
{
	ds_config_defaults(&ds_cfg);
	strcpy(ds_cfg.log_path, "/nonexistent-dir/x.log");
	ck_assert_int_lt(ds_log_open(), 0);
	strcpy(ds_cfg.log_path, "/tmp/%q");
	ck_assert_int_eq(ds_log_open(), -EINVAL);
}
END_TEST

static Suite *make_log_suite(void)
{
	Suite *s = suite_create("log");
	TCase *t = tcase_create("format");

	tcase_add_test(t, test_fmt_subset);
	tcase_add_test(t, test_fmt_truncates_safely);
	tcase_add_test(t, test_json_escape);
	tcase_add_test(t, test_line_format);
	tcase_add_test(t, test_line_format_fields);
	tcase_add_test(t, test_line_format_long_detail_stays_valid);
	tcase_add_test(t, test_expand_path);
	suite_add_tcase(s, t);
	t = tcase_create("output");
	tcase_add_test(t, test_event_capped_and_counted);
	tcase_add_test(t, test_log_open_fails_cleanly);
	suite_add_tcase(s, t);
	return s;
}
DS_TEST_SUITE(make_log_suite);
