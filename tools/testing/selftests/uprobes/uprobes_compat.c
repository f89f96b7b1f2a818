// SPDX-License-Identifier: GPL-2.0
/*
 * Probes in a 32-bit (compat) program on x86-64: a probe on every instruction of the
 * i386 functions of targets32.c must leave its output unchanged and count each
 * instruction exactly as often as it runs, a return probe must report each return
 * with its 32-bit value, and removing the probes must give back the file's text.
 *
 * How often each instruction runs comes from single-stepping the unprobed program
 * under ptrace: the counts do not depend on what the compiler made of the source.
 * The program is built by the Makefile only when gcc -m32 works (gcc-multilib); it has
 * no execute bit there, so the test runs a copy of it. Each test runs twice: with
 * address-space randomization and without (as under gdb, or setarch -R), where the
 * 32-bit stack takes the top of the address space that the XOL area is first offered.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/personality.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "uprobes_helpers.h"

#ifdef HAVE_M32
#include "insns32.h"

/* Rounds of calls in targets32, and the calls tgt_fib(i & 7) makes in them. */
#define ROUNDS		12
#define ROUNDS_STR	"12"
#define FIB_CALLS	110
#define OUT_SIZE	8192
#define MAX_INSNS	256

FIXTURE(compat) {
	pid_t bg;
	char dir[64];
	char prog[PATH_MAX];
	char base[OUT_SIZE];
};

FIXTURE_VARIANT(compat) {
	bool no_randomization;
};

FIXTURE_VARIANT_ADD(compat, randomized) {
	.no_randomization = false,
};

FIXTURE_VARIANT_ADD(compat, not_randomized) {
	.no_randomization = true,
};

/* The variant's personality for the 32-bit programs this test starts. */
static bool start_not_randomized;

/* A child running "@prog @mode ROUNDS" with its stdout into *@rfd; traced if asked. */
static pid_t start32(const char *prog, const char *mode, bool traced, int *rfd)
{
	int fds[2];
	pid_t pid;

	if (pipe2(fds, O_CLOEXEC))
		return -1;
	pid = fork();
	if (pid < 0)
		return -1;
	if (!pid) {
		dup2(fds[1], 1);
		if (traced && ptrace(PTRACE_TRACEME, 0, NULL, NULL))
			_exit(126);
		if (start_not_randomized && personality(ADDR_NO_RANDOMIZE) < 0)
			_exit(124);
		execl(prog, prog, mode, ROUNDS_STR, NULL);
		_exit(errno == ENOEXEC ? 125 : 127);
	}
	close(fds[1]);
	*rfd = fds[0];
	return pid;
}

/* Everything the child wrote, once it has exited (the output fits in the pipe). */
static int finish32(pid_t pid, int rfd, char *out)
{
	ssize_t n, len = 0;
	int ret = wait_exit(pid);

	while (len < OUT_SIZE - 1 && (n = read(rfd, out + len, OUT_SIZE - 1 - len)) > 0)
		len += n;
	out[len] = '\0';
	close(rfd);
	return ret;
}

static int run32(const char *prog, char *out)
{
	int rfd;
	pid_t pid = start32(prog, "run", false, &rfd);

	return pid < 0 ? -1 : finish32(pid, rfd, out);
}

struct insn_ref {
	const struct insn_fn *fn;
	unsigned int i;
	long off;		/* in the file */
	long count;		/* how often it ran, single-stepped */
	char name[48];
};

/*
 * Single-step the unprobed program between its two SIGSTOPs (exactly the calls) and
 * count the instructions of @refs that the IP lands on. Returns the program's exit
 * code, its output in @out.
 */
static int trace_counts(struct __test_metadata *_metadata, const char *prog,
			struct insn_ref *refs, int nr, char *out)
{
	struct user_regs_struct regs;
	struct exec_map map;
	long steps = 0, off;
	int status, rfd, i;
	pid_t pid;

	pid = start32(prog, "stop", true, &rfd);
	if (pid < 0)
		return -1;
	/* The exec stop, then the program's own SIGSTOP right before the calls. */
	if (waitpid(pid, &status, 0) != pid || !WIFSTOPPED(status) ||
	    WSTOPSIG(status) != SIGTRAP || ptrace(PTRACE_CONT, pid, NULL, NULL) ||
	    waitpid(pid, &status, 0) != pid || !WIFSTOPPED(status) ||
	    WSTOPSIG(status) != SIGSTOP || proc_exec_map(pid, prog, &map)) {
		kill(pid, SIGKILL);
		finish32(pid, rfd, out);
		return -1;
	}
	for (;;) {
		if (ptrace(PTRACE_SINGLESTEP, pid, NULL, NULL) ||
		    waitpid(pid, &status, 0) != pid || !WIFSTOPPED(status))
			break;
		if (WSTOPSIG(status) != SIGTRAP)
			break;
		ptrace(PTRACE_GETREGS, pid, NULL, &regs);
		steps++;
		off = regs.rip - map.start + map.off;
		for (i = 0; i < nr; i++)
			if (refs[i].off == off)
				refs[i].count++;
	}
	TH_LOG("%ld single steps between the stops", steps);
	/* The second SIGSTOP: drop it and let the program print. */
	if (!WIFSTOPPED(status) || WSTOPSIG(status) != SIGSTOP) {
		TH_LOG("unexpected stop or exit: status %#x", status);
		kill(pid, SIGKILL);
	} else {
		ptrace(PTRACE_CONT, pid, NULL, NULL);
	}
	return finish32(pid, rfd, out);
}

/* Return values of tgt_fib(n) in the order its calls return (post-order). */
static int fib_returns(int n, int *seq, int nr)
{
	int a, b;

	if (n < 2) {
		seq[nr] = n;
		return nr + 1;
	}
	nr = fib_returns(n - 1, seq, nr);
	a = seq[nr - 1];
	nr = fib_returns(n - 2, seq, nr);
	b = seq[nr - 1];
	seq[nr] = a + b;
	return nr + 1;
}

/* How often targets32's driver enters a function: what single-steps must see too. */
static long entry_count(const char *fn)
{
	if (!strcmp(fn, "tgt_leaf"))
		return 3 * ROUNDS;	/* twice directly, once from tgt_calls */
	if (!strcmp(fn, "tgt_loop"))
		return 2 * ROUNDS;	/* once directly, once from tgt_calls */
	if (!strcmp(fn, "tgt_fib"))
		return FIB_CALLS;
	return ROUNDS;
}

/* The value targets32 printed as "@what @round VALUE". */
static bool out_value(const char *out, const char *what, int round, long *val)
{
	char key[32];
	const char *p;

	snprintf(key, sizeof(key), "%s %d ", what, round);
	for (p = out; p; p = strchr(p, '\n')) {
		if (*p == '\n')
			p++;
		if (!strncmp(p, key, strlen(key))) {
			*val = strtol(p + strlen(key), NULL, 10);
			return true;
		}
	}
	return false;
}

FIXTURE_SETUP(compat)
{
	char src[PATH_MAX];
	int rc;

	UPROBES_FIXTURE_START();
	start_not_randomized = variant->no_randomization;
	ASSERT_EQ(0, trace_clear());
	ASSERT_NE(NULL, self_path());
	snprintf(src, sizeof(src), "%s", self_path());
	snprintf(self->prog, sizeof(self->prog), "%s/targets32", dirname(src));
	snprintf(self->dir, sizeof(self->dir), "/tmp/uprobes_compat.XXXXXX");
	ASSERT_NE(NULL, mkdtemp(self->dir));
	snprintf(src, sizeof(src), "%s", self->prog);
	snprintf(self->prog, sizeof(self->prog), "%s/targets32", self->dir);
	ASSERT_EQ(0, copy_file(src, self->prog, 0755));
	rc = run32(self->prog, self->base);
	if (rc == 125)
		SKIP(return, "this kernel does not run 32-bit programs (IA32_EMULATION)");
	ASSERT_EQ(0, rc);
}

FIXTURE_TEARDOWN_PARENT(compat)
{
	/* A failed test may leave its stopped 32-bit process behind. */
	if (self->bg > 0)
		kill(self->bg, SIGKILL);
	EXPECT_EQ(0, probe_remove_all());
	unlink(self->prog);
	rmdir(self->dir);
}

/*
 * Every instruction of every tgt_* function probed, a second entry probe fetching the
 * argument from the 32-bit stack, and return probes on tgt_calls and tgt_fib:
 * - the probed program prints exactly what it prints unprobed;
 * - each probe counts exactly the executions of its instruction seen by single-steps;
 * - tgt_calls' entry reads arguments 0..ROUNDS-1 at 4(%esp), its returns report the
 *   printed results, and tgt_fib's returns come in recursion order with their values;
 * - a 32-bit process probed while running has the file's text again once the probes
 *   are removed, and prints the same.
 */
TEST_F_TIMEOUT(compat, every_instruction, 120)
{
	static struct insn_ref refs[MAX_INSNS];
	int fib_seq[FIB_CALLS], nfib = 0, nr = 0, refused = 0, status, rfd, i, f;
	char out[OUT_SIZE];
	struct trace_rec *recs;
	unsigned long first;
	long fn_off, v;
	pid_t pid, bg;
	int err;

	for (f = 0; f < ARRAY_SIZE(insn_fns); f++) {
		fn_off = elf_sym_offset(self->prog, insn_fns[f].name);
		ASSERT_LT(0, fn_off) {
			TH_LOG("no %s in %s", insn_fns[f].name, self->prog);
		}
		for (i = 0; i < insn_fns[f].count; i++) {
			ASSERT_GT(MAX_INSNS, nr);
			refs[nr].fn = &insn_fns[f];
			refs[nr].i = i;
			refs[nr].off = fn_off + insn_fns[f].off[i];
			snprintf(refs[nr].name, sizeof(refs[nr].name), "%s_%x",
				 insn_fns[f].name, insn_fns[f].off[i]);
			nr++;
		}
	}

	/* The reference: how often each instruction runs, and that stepping changes nothing. */
	ASSERT_EQ(0, trace_counts(_metadata, self->prog, refs, nr, out));
	ASSERT_STREQ(self->base, out);
	for (i = 0; i < nr; i++) {
		if (!refs[i].i)
			ASSERT_EQ(entry_count(refs[i].fn->name), refs[i].count) {
				TH_LOG("single steps through the entry of %s", refs[i].fn->name);
			}
	}

	for (i = 0; i < nr; i++) {
		err = probe_add("p:%s/%s %s:0x%lx", PROBE_GROUP, refs[i].name, self->prog,
				refs[i].off);
		/* x86 may refuse some encodings: fine on padding, which never runs. */
		if (err && refs[i].fn->pad[refs[i].i]) {
			refs[i].count = -1;
			refused++;
			continue;
		}
		ASSERT_EQ(0, err) {
			TH_LOG("cannot probe %s (%s)", refs[i].name,
			       refs[i].fn->mnem[refs[i].i]);
		}
	}
	ASSERT_EQ(0, probe_add("p:%s/calls_arg %s:0x%lx x=+4(%%sp):s32", PROBE_GROUP,
			       self->prog, elf_sym_offset(self->prog, "tgt_calls")));
	ASSERT_EQ(0, probe_add("r:%s/calls_ret %s:0x%lx ret=$retval:s32", PROBE_GROUP,
			       self->prog, elf_sym_offset(self->prog, "tgt_calls")));
	ASSERT_EQ(0, probe_add("r:%s/fib_ret %s:0x%lx ret=$retval:s32", PROBE_GROUP,
			       self->prog, elf_sym_offset(self->prog, "tgt_fib")));
	ASSERT_EQ(0, probe_enable(NULL, true));
	TH_LOG("%d probes on instructions, %d refused on padding", nr - refused, refused);

	/* A process that starts probed, then waits stopped before its calls. */
	bg = start32(self->prog, "stop", false, &rfd);
	ASSERT_LT(0, bg);
	self->bg = bg;
	ASSERT_EQ(bg, waitpid(bg, &status, WUNTRACED));
	ASSERT_TRUE(WIFSTOPPED(status));

	pid = start32(self->prog, "run", false, &err);
	ASSERT_LT(0, pid);
	ASSERT_EQ(0, finish32(pid, err, out));
	EXPECT_STREQ(self->base, out);

	for (i = 0; i < nr; i++) {
		if (refs[i].count < 0)
			continue;
		EXPECT_EQ(refs[i].count, probe_hits(refs[i].name)) {
			TH_LOG("%s (%s): hits differ from single steps", refs[i].name,
			       refs[i].fn->mnem[refs[i].i]);
		}
	}

	nr = trace_read("calls_arg", &recs);
	ASSERT_EQ(ROUNDS, nr);
	for (i = 0; i < nr; i++) {
		ASSERT_TRUE(trace_arg(&recs[i], "x", &v));
		EXPECT_EQ(i, v);
	}
	free(recs);
	nr = trace_read("calls_ret", &recs);
	ASSERT_EQ(ROUNDS, nr);
	for (i = 0; i < nr; i++) {
		long want;

		ASSERT_TRUE(out_value(self->base, "calls", i, &want));
		ASSERT_TRUE(trace_arg(&recs[i], "ret", &v));
		EXPECT_EQ(want, v) {
			TH_LOG("return %d of tgt_calls", i);
		}
	}
	free(recs);
	for (i = 0; i < ROUNDS; i++)
		nfib = fib_returns(i & 7, fib_seq, nfib);
	ASSERT_EQ(FIB_CALLS, nfib);
	nr = trace_read("fib_ret", &recs);
	ASSERT_EQ(nfib, nr);
	for (i = 0; i < nr; i++) {
		ASSERT_TRUE(trace_arg(&recs[i], "ret", &v));
		EXPECT_EQ(fib_seq[i], v) {
			TH_LOG("return %d of tgt_fib", i);
		}
	}
	free(recs);

	/* The stopped process runs its calls probed and stops again; then removal. */
	ASSERT_EQ(0, kill(bg, SIGCONT));
	ASSERT_EQ(bg, waitpid(bg, &status, WUNTRACED));
	ASSERT_TRUE(WIFSTOPPED(status));
	ASSERT_EQ(0, probe_enable(NULL, false));
	ASSERT_EQ(0, probe_remove_all());
	EXPECT_EQ(0, proc_text_diff(bg, self->prog, &first)) {
		TH_LOG("32-bit text differs from the file at %#lx", first);
	}
	ASSERT_EQ(0, kill(bg, SIGCONT));
	ASSERT_EQ(0, finish32(bg, rfd, out));
	self->bg = 0;
	EXPECT_STREQ(self->base, out);

	ASSERT_EQ(0, run32(self->prog, out));
	EXPECT_STREQ(self->base, out);
}

#else /* !HAVE_M32 */

FIXTURE(compat) {
};

FIXTURE_SETUP(compat)
{
#ifdef __x86_64__
	SKIP(return, "no 32-bit target program: gcc -m32 failed at build time (gcc-multilib)");
#else
	SKIP(return, "32-bit compat tasks are tested on x86-64 only");
#endif
}

FIXTURE_TEARDOWN(compat)
{
}

TEST_F(compat, every_instruction)
{
}

#endif /* HAVE_M32 */

TEST_HARNESS_MAIN
