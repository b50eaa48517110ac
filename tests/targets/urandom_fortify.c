/* Built fortified: the program imports __open_2 / __read_chk, not
 * open / read (docs/CPU_FACTS.md §1.4). */
#undef _FORTIFY_SOURCE
#define _FORTIFY_SOURCE 2
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	unsigned char b[16];
	int flags = argc > 5 ? O_CREAT : O_RDONLY; /* not a constant */
	int fd = open("/dev/urandom", flags);
	size_t i;

	(void)argv;
	if (fd < 0 || read(fd, b, sizeof(b)) != (ssize_t)sizeof(b))
		return 1;
	for (i = 0; i < sizeof(b); i++)
		printf("%02x", b[i]);
	printf("\n");
	close(fd);
	return 0;
}
