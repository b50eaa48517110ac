/* Three forked workers, each drawing entropy and using rand() seeded by
 * time in the child; printed in worker order. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/random.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int main(void)
{
	int w;

	for (w = 0; w < 3; w++) {
		pid_t pid;

		fflush(stdout);
		pid = fork();
		if (pid < 0)
			return 1;
		if (pid == 0) {
			unsigned char b[8];
			int i;

			if (getrandom(b, sizeof(b), 0) != 8)
				_exit(1);
			srand((unsigned)time(NULL) + (unsigned)getpid());
			printf("worker %d getrandom ", w);
			for (i = 0; i < 8; i++)
				printf("%02x", b[i]);
			printf(" rand %d\n", rand());
			fflush(stdout);
			_exit(0);
		}
		if (waitpid(pid, NULL, 0) != pid)
			return 1;
	}
	return 0;
}
