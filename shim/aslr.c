/*
 * aslr.c - the bare preload turns address randomisation off, as detrun
 * does (docs/SEEDS.md, "Address randomisation").
 *
 * Under policy enforce, a process that starts with randomisation on
 * re-executes itself once, at init (right after the configuration,
 * before the log or any warning: nothing is said twice), with
 * personality(ADDR_NO_RANDOMIZE): /proc/self/exe with the argv of
 * /proc/self/cmdline and the same environment and fds, so that addresses
 * (address-derived seeds, Python's address-ordered sets) are those of a
 * detrun run.  The personality flag survives exec: it is the marker that
 * makes this happen once, and children inherit it as under detrun.  The
 * system call is raw, past the exec hooks (process.c), so the process
 * keeps its key: it is the same process, again.
 *
 * DETSHIM_ASLR=1 (detrun --aslr) leaves it on.  Not done, and the
 * process runs on with randomisation on (one log record says why):
 * secure execution (setuid: the kernel drops the flag
 * anyway), policy warn or off, randomisation off system-wide, personality
 * refused (seccomp in some containers), /proc unreadable, or an argv
 * longer than the buffer.  A script started through #! has its
 * interpreter as /proc/self/exe and the script among its arguments, so it
 * runs the same way again.
 */
#include "detshim.h"

#include <errno.h> /* program_invocation_name */
#include <fcntl.h>
#include <sys/auxv.h>
#include <sys/personality.h>
#include <sys/syscall.h>

extern char **environ;

static int read_file(const char *path, char *buf, size_t cap)
{
	int fd = ds_sys_open(path, O_RDONLY | O_CLOEXEC, 0);
	size_t have = 0;

	if (fd < 0)
		return -1;
	for (;;) {
		long got = ds_syscall6(SYS_read, fd, (long)(buf + have),
				       (long)(cap - have), 0, 0, 0);

		if (got <= 0)
			break;
		have += (size_t)got;
		if (have == cap) {
			ds_sys_close(fd);
			return -1; /* did not fit: give up */
		}
	}
	ds_sys_close(fd);
	return (int)have;
}

static const char *why_not(void)
{
	static char cmd[65536];
	static char *argv[1024];
	char flag[8];
	long pers;
	int n, argc = 0, i;

	const char *execfn = (const char *)getauxval(AT_EXECFN);

	if (ds_secure_exec() || ds_cfg.policy != DS_POLICY_ENFORCE ||
	    ds_cfg.aslr)
		return NULL; /* nothing to say: not asked */
	/* A program that makes secrets keeps its randomisation (init.c
	 * steps aside for it right after). */
	if ((execfn && ds_config_secret_program(&ds_cfg, execfn)) ||
	    (program_invocation_name &&
	     ds_config_secret_program(&ds_cfg, program_invocation_name)))
		return NULL;
	pers = ds_syscall6(SYS_personality, 0xffffffffL, 0, 0, 0, 0, 0);
	if (pers < 0)
		return "personality() refused";
	if (pers & ADDR_NO_RANDOMIZE)
		return NULL; /* off already (detrun, or re-executed) */
	if (read_file("/proc/sys/kernel/randomize_va_space", flag,
		      sizeof(flag)) > 0 && flag[0] == '0')
		return NULL; /* off for the whole system */
	n = read_file("/proc/self/cmdline", cmd, sizeof(cmd) - 1);
	if (n <= 0)
		return "/proc/self/cmdline unreadable or too long";
	cmd[n] = '\0';
	for (i = 0; i < n && argc < (int)DS_ARRAY_SIZE(argv) - 1;) {
		argv[argc++] = cmd + i;
		while (i < n && cmd[i])
			i++;
		i++;
	}
	if (i < n)
		return "too many arguments";
	argv[argc] = NULL;
	if (ds_syscall6(SYS_personality, pers | ADDR_NO_RANDOMIZE, 0, 0, 0, 0,
			0) < 0)
		return "personality(ADDR_NO_RANDOMIZE) refused";
	ds_syscall6(SYS_execve, (long)"/proc/self/exe", (long)argv,
		    (long)environ, 0, 0, 0);
	/* Still here: put the personality back and run on. */
	ds_syscall6(SYS_personality, pers, 0, 0, 0, 0, 0);
	return "execve(/proc/self/exe) failed";
}

static const char *kept_why;

void ds_aslr_reexec(void)
{
	kept_why = why_not();
}

/* The log is open now: say why randomisation stayed on, if it did. */
void ds_aslr_log(void)
{
	if (kept_why)
		ds_log_record(DS_SRC_PROCESS, "aslr", "kept",
			      "address randomisation stays on: %s "
			      "(detrun turns it off)", kept_why);
}
