/*
 * rel_stdio.c - stdio and zero-copy calls on the random devices
 * (docs/measurements/RELIABILITY.md, "stdio and zero-copy reads").
 *
 *   rel_stdio contracts FILE   every stdio contract of a FILE on
 *                              /dev/urandom, printed one per line, no
 *                              random byte printed: the output must be the
 *                              same with and without the shim
 *   rel_stdio values           hex of what each way of reading urandom
 *                              gave: fread of a fopen'ed FILE, fread of
 *                              stdin (run it with stdin on the device),
 *                              sendfile and splice into a pipe, read on
 *                              the fd afterwards, and fread of stdin
 *                              after freopen onto the device
 *   rel_stdio wide             wide-character reads of FILEs on
 *                              /dev/urandom (fwide, fgetwc, getwc,
 *                              fgetws, fwscanf, ungetwc) and of stdin
 *                              (getwchar; run it with stdin on the
 *                              device), one result per line, no random
 *                              value printed: the same with and without
 *                              the shim
 *
 * tests/it_reliability.sh runs both with and without the shim.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/sendfile.h>
#include <unistd.h>
#include <wchar.h>

static void hex(const char *what, const unsigned char *b, size_t n)
{
	size_t i;

	printf("%s ", what);
	for (i = 0; i < n; i++)
		printf("%02x", b[i]);
	printf("\n");
}

/* Each result as "name=value errno=E" (errno only on failure). */
static void said(const char *name, long r)
{
	if (r < 0)
		printf("%s=%ld errno=%d\n", name, r, errno);
	else
		printf("%s=%ld\n", name, r);
}

static int contracts(const char *path)
{
	unsigned char b[64];
	char line[256] = "";
	FILE *f, *g;
	int fd;

	f = fopen("/dev/urandom", "r");
	if (f == NULL)
		return 1;
	fd = fileno(f);
	said("fileno_valid", fd >= 0 && fcntl(fd, F_GETFD) >= 0);
	said("fread", (long)fread(b, 1, 8, f));
	errno = 0;
	said("setvbuf_after_read", setvbuf(f, NULL, _IOFBF, 1024));
	errno = 0;
	said("ftell", ftell(f));
	errno = 0;
	said("fseek_set", fseek(f, 0, SEEK_SET));
	errno = 0;
	said("fseek_cur", fseek(f, 16, SEEK_CUR));
	errno = 0;
	/* glibc's offset for a FILE on the device: the offset asked for,
	 * then counted on from there (the kernel's lseek answers 0). */
	said("ftell_after_seek", ftell(f));
	said("fread_after_seek", (long)fread(b, 1, 16, f));
	said("ftell_after_fread", ftell(f));
	said("fseek_set_100", fseek(f, 100, SEEK_SET));
	said("ftell_100", ftell(f));
	said("fgetc_101_ok", fgetc(f) != EOF);
	said("ftell_101", ftell(f));
	errno = 0;
	said("fseek_cur_back_too_far", fseek(f, -1000, SEEK_CUR));
	said("ftell_still_101", ftell(f));
	said("fseek_end", fseek(f, 5, SEEK_END));
	said("ftell_end", ftell(f));
	said("fseek_set_0", fseek(f, 0, SEEK_SET));
	said("feof", feof(f));
	said("ferror", ferror(f));
	said("fgetc_ok", fgetc(f) != EOF);
	said("ungetc", ungetc('x', f));
	said("fgetc_ungot", fgetc(f));
	/* freopen keeps the FILE and the descriptor number. */
	errno = 0;
	g = freopen(path, "r", f);
	said("freopen_same", g == f);
	if (g == NULL)
		return 1;
	said("freopen_fd_kept", fileno(g) == fd);
	said("fgets_ok", fgets(line, sizeof(line), g) != NULL);
	printf("line %s", line);
	said("fclose", fclose(g));
	/* fdopen of a read-only fd, then fileno. */
	fd = open("/dev/urandom", O_RDONLY);
	f = fdopen(fd, "r");
	said("fdopen_fileno", f != NULL && fileno(f) == fd);
	said("fdopen_fread", f ? (long)fread(b, 1, 4, f) : -1);
	said("fdopen_fclose", f ? fclose(f) : -1);
	errno = 0;
	said("fd_closed", fcntl(fd, F_GETFD));
	/* A FILE reopened onto the device with freopen(NULL, ...). */
	f = fopen("/dev/urandom", "r");
	errno = 0;
	g = f ? freopen(NULL, "r", f) : NULL;
	said("freopen_null", g != NULL);
	said("freopen_null_fread", g ? (long)fread(b, 1, 8, g) : -1);
	if (g)
		fclose(g);
	/* copy_file_range needs regular files: EINVAL from the kernel. */
	fd = open("/dev/urandom", O_RDONLY);
	{
		int out = open(path, O_WRONLY | O_APPEND);

		errno = 0;
		said("copy_file_range",
		     (long)copy_file_range(fd, NULL, out, NULL, 8, 0));
		close(out);
	}
	close(fd);
	return 0;
}

static int values(void)
{
	unsigned char b[32];
	int p[2], fd;
	FILE *f;

	f = fopen("/dev/urandom", "r");
	if (f == NULL || fread(b, 1, 8, f) != 8)
		return 1;
	hex("fopen_fread", b, 8);
	fclose(f);
	if (fread(b, 1, 8, stdin) == 8)
		hex("stdin_fread", b, 8);
	else
		printf("stdin_fread none\n");
	fd = open("/dev/urandom", O_RDONLY);
	if (fd < 0 || pipe(p) != 0)
		return 1;
	if (sendfile(p[1], fd, NULL, 8) != 8 || read(p[0], b, 8) != 8)
		return 1;
	hex("sendfile", b, 8);
	if (splice(fd, NULL, p[1], NULL, 8, 0) != 8 || read(p[0], b, 8) != 8)
		return 1;
	hex("splice", b, 8);
	if (read(fd, b, 8) != 8)
		return 1;
	hex("read_after", b, 8);
	/* util-linux hexdump reopens stdin on the file it is given. */
	if (freopen("/dev/urandom", "r", stdin) == NULL ||
	    fread(b, 1, 8, stdin) != 8)
		return 1;
	hex("freopen_stdin", b, 8);
	return 0;
}

/* A wide read of random bytes: a character, or WEOF with EILSEQ (a byte
 * the locale cannot decode); anything else is a failure. */
static int wide_ok(wint_t c)
{
	return c != WEOF || errno == EILSEQ;
}

static int wide(void)
{
	wchar_t ws[8];
	wint_t c = 0;
	FILE *f = fopen("/dev/urandom", "r");
	int fd = f ? fileno(f) : -1;

	if (f == NULL)
		return 1;
	said("fwide_query", fwide(f, 0));
	said("fwide_wide", fwide(f, 1));
	said("fwide_again", fwide(f, -1));
	said("fileno_kept", fileno(f) == fd);
	errno = 0;
	said("fgetwc", wide_ok(fgetwc(f)));
	clearerr(f);
	said("ungetwc", (long)ungetwc(L'A', f));
	said("fgetwc_ungot", (long)fgetwc(f));
	errno = 0;
	said("getwc", wide_ok(getwc(f)));
	clearerr(f);
	said("fgetws_1", fgetws(ws, 1, f) == ws && ws[0] == L'\0');
	errno = 0;
	said("fgetws", fgetws(ws, 8, f) != NULL || errno == EILSEQ);
	said("fclose", fclose(f));
	/* A fresh FILE read wide first, without fwide. */
	f = fopen("/dev/urandom", "r");
	if (f == NULL)
		return 1;
	errno = 0;
	said("fresh_getwc", wide_ok(getwc(f)));
	said("fresh_fwide", fwide(f, 0));
	fclose(f);
	f = fopen("/dev/urandom", "r");
	if (f == NULL)
		return 1;
	errno = 0;
	{
		int n = fwscanf(f, L"%lc", &c);

		said("fresh_fwscanf", n == 1 || errno == EILSEQ);
	}
	said("fresh_fwscanf_fwide", fwide(f, 0));
	fclose(f);
	errno = 0;
	said("getwchar", wide_ok(getwchar()));
	said("stdin_fwide", fwide(stdin, 0));
	return 0;
}

int main(int argc, char **argv)
{
	int r = 1;

	if (argc == 3 && strcmp(argv[1], "contracts") == 0)
		r = contracts(argv[2]);
	else if (argc == 2 && strcmp(argv[1], "values") == 0)
		r = values();
	else if (argc == 2 && strcmp(argv[1], "wide") == 0)
		r = wide();
	else
		fprintf(stderr, "usage: rel_stdio contracts FILE | values | wide\n");
	fflush(stdout);
	return r;
}
