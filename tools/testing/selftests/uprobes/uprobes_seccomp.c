// SPDX-License-Identifier: GPL-2.0
/*
 * Probed programs under seccomp (x86-64). Two kinds of hit enter the kernel by a
 * system call of their own: a return probe's trampoline makes uretprobe (335), and an
 * optimized 5-byte nop site jumps to a stub that makes uprobe (336). A sandboxed
 * program never asked for either, so seccomp lets both through every filter and
 * strict mode (seccomp_uprobe_exception() and mode1_syscalls, by __NR_uretprobe and
 * __NR_uprobe): the trampoline and the stub must make exactly those calls.
 *
 * Each case is a child that enters one mode: strict, or a filter whose allow-list
 * holds read, write, exit, exit_group and rt_sigreturn, that names 335 and 336 to
 * refuse them, and whose action for those and the rest is kill, errno, trace (with no
 * tracer: -ENOSYS) or user notification (a thread of the child created before the
 * filter, so not under it, records every call it is notified of and refuses it).
 * Then it runs one kind of probe, or makes one call:
 *  - nop5: a probe on a 5-byte nop, a jump to its stub after the first hit, at the
 *    entry of a function with a return probe too: both calls in each call;
 *  - ret: a return probe, every return through the uretprobe call;
 *  - emulated: a probe on push %rbp, done in the kernel at the hit;
 *  - stepped: a probe on a RIP-relative imul, stepped out of line;
 *  - direct_uprobe, direct_uretprobe: the calls made from the program's own code,
 *    which must reach the system call and be refused there (-ENXIO, SIGILL): they
 *    passed the mode;
 *  - unlisted: getppid(), which the mode must refuse: the mode is in force.
 * The child runs to completion with every result right, the probes count every call
 * exactly, the listener is notified of nothing uprobes does, and the nop5 site was
 * optimized where the kernel optimizes.
 *
 * A 32-bit program in strict mode (seccomp32.c), whose compat list has neither call,
 * runs the same kinds of probe by breakpoints alone.
 *
 * A filtered uretprobe call would kill the program (the trampoline's int3 after the
 * call is no probe); a filtered uprobe call would kill it under kill and strict, be
 * recorded by the listener, and under errno and trace end in the stub's breakpoint
 * fallback, which hides it: there direct_uprobe is what shows that 336 passes.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stddef.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "uprobes_helpers.h"

#if defined(__x86_64__)

#define NR_URETPROBE	335
#define NR_UPROBE	336
#define NR_CALLS	100
#define SEC_MULT	7
/* What the errno filter and the listener answer: errnos nothing else here returns. */
#define FILTER_ERRNO	ENOTRECOVERABLE
#define NOTIF_ERRNO	EOWNERDEAD
#define MAX_NOTIFIED	8

/*
 * sec_nop5(x) returns x + 1; its entry is the 5-byte nop. sec_fn(x) returns
 * (x + 3) * SEC_MULT: push %rbp is emulated by every kernel, and imul, with its
 * RIP-relative operand, by none (so it is stepped out of line with the operand
 * rewritten to a scratch register). Both 16-byte aligned: no site crosses a page.
 */
long sec_nop5(long x);
long sec_fn(long x);

asm(
"	.text\n"
"	.p2align 4\n"
"	.globl sec_nop5\n"
"	.type sec_nop5, @function\n"
"sec_nop5:\n"
"	.byte 0x0f, 0x1f, 0x44, 0x00, 0x00\n"
"	lea 1(%rdi), %rax\n"
"	ret\n"
"	.size sec_nop5, . - sec_nop5\n"
"	.p2align 4\n"
"	.globl sec_fn\n"
"	.type sec_fn, @function\n"
"sec_fn:\n"
"	push %rbp\n"
"	mov %rsp, %rbp\n"
"	lea 3(%rdi), %rax\n"
"	.globl sec_step_site\n"
"sec_step_site:\n"
"	imul sec_mult(%rip), %rax\n"
"	pop %rbp\n"
"	ret\n"
"	.size sec_fn, . - sec_fn\n"
"	.section .rodata\n"
"	.p2align 3\n"
"sec_mult:\n"
"	.quad 7\n"
"	.text\n"
);

/* What the calls of sec_nop5() and sec_fn() return. */
static long nop5_result(long i)
{
	return i + 1;
}

static long fn_result(long i)
{
	return (i + 3) * SEC_MULT;
}

enum sec_mode { MODE_STRICT, MODE_KILL, MODE_ERRNO, MODE_TRACE, MODE_NOTIF };

enum sec_kind {
	KIND_NOP5, KIND_RET, KIND_EMULATED, KIND_STEPPED,
	KIND_DIRECT_UPROBE, KIND_DIRECT_URETPROBE, KIND_UNLISTED,
};

/* What the child sends back when it lives to. */
struct report {
	long bad;			/* calls that returned a wrong result */
	long ret;			/* the direct or unlisted call's result */
	int err;			/* and its errno */
	int nr_notified;		/* calls the listener was notified of */
	int notified[MAX_NOTIFIED];	/* the first of them */
};

/* What a case must end in. */
struct outcome {
	int sig;	/* the signal that kills the child; 0: it exits 0 */
	int err;	/* the errno of its direct or unlisted call */
	int nr;		/* the one call the listener is notified of, -1: none */
};

static atomic_int nr_notified;
static int notified[MAX_NOTIFIED];

static unsigned int default_action(enum sec_mode mode)
{
	switch (mode) {
	case MODE_KILL:
		return SECCOMP_RET_KILL_PROCESS;
	case MODE_ERRNO:
		return SECCOMP_RET_ERRNO | FILTER_ERRNO;
	case MODE_TRACE:
		return SECCOMP_RET_TRACE;
	case MODE_NOTIF:
		return SECCOMP_RET_USER_NOTIF;
	default:
		return SECCOMP_RET_ALLOW;
	}
}

/* How @mode answers call @nr when it does not let it through. */
static struct outcome refused(enum sec_mode mode, int nr)
{
	switch (mode) {
	case MODE_STRICT:
		return (struct outcome){ .sig = SIGKILL, .nr = -1 };
	case MODE_KILL:
		return (struct outcome){ .sig = SIGSYS, .nr = -1 };
	case MODE_ERRNO:
		return (struct outcome){ .err = FILTER_ERRNO, .nr = -1 };
	case MODE_TRACE:
		return (struct outcome){ .err = ENOSYS, .nr = -1 };
	default:
		return (struct outcome){ .err = NOTIF_ERRNO, .nr = nr };
	}
}

/*
 * The kernel without the uprobe system call (stock 6.12) knows 336 as no call at all,
 * and its seccomp has no exception for it: there the direct call is refused as any.
 */
static struct outcome expected(enum sec_mode mode, enum sec_kind kind, bool uprobe_syscall)
{
	switch (kind) {
	case KIND_DIRECT_UPROBE:
		if (!uprobe_syscall)
			return refused(mode, NR_UPROBE);
		return (struct outcome){ .err = ENXIO, .nr = -1 };	/* not from a stub */
	case KIND_DIRECT_URETPROBE:
		return (struct outcome){ .sig = SIGILL, .nr = -1 };	/* not from a trampoline */
	case KIND_UNLISTED:
		return refused(mode, __NR_getppid);
	default:
		return (struct outcome){ .nr = -1 };
	}
}

#define NR_ALLOW(nr)							\
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (nr), 0, 1),		\
	BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)
#define NR_REFUSE(nr, action)						\
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (nr), 0, 1),		\
	BPF_STMT(BPF_RET | BPF_K, (action))

/*
 * The allow-list filter with @mode's default action. It names 335 and 336 too, and
 * refuses them outright, as a filter written to keep a program from them would: the
 * kernel lets them through before any filter runs, so they pass even that.
 * Return: the listener's fd (MODE_NOTIF), 0, or -1.
 */
static int install_filter(enum sec_mode mode)
{
	unsigned int action = default_action(mode);
	struct sock_filter insns[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		NR_REFUSE(NR_URETPROBE, action),
		NR_REFUSE(NR_UPROBE, action),
		NR_ALLOW(__NR_read),
		NR_ALLOW(__NR_write),
		NR_ALLOW(__NR_exit),
		NR_ALLOW(__NR_exit_group),
		NR_ALLOW(__NR_rt_sigreturn),
		BPF_STMT(BPF_RET | BPF_K, action),
	};
	struct sock_fprog prog = { .filter = insns, .len = ARRAY_SIZE(insns) };
	unsigned int flags = mode == MODE_NOTIF ? SECCOMP_FILTER_FLAG_NEW_LISTENER : 0;

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		return -1;
	return syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &prog);
}

/*
 * The notification listener of a MODE_NOTIF child: gets the listener's fd through
 * @arg's pipe once the main thread has installed its filter, then records and
 * refuses every call. A refusal, not SECCOMP_USER_NOTIF_FLAG_CONTINUE: a uretprobe
 * call wrongly sent here then kills the program, a uprobe call falls back to the
 * stub's breakpoint, and the record shows both.
 */
static void *listen_notifs(void *arg)
{
	struct seccomp_notif_resp resp;
	struct seccomp_notif req;
	int fd, n;

	if (read(*(int *)arg, &fd, sizeof(fd)) != sizeof(fd))
		return NULL;
	for (;;) {
		memset(&req, 0, sizeof(req));
		if (ioctl(fd, SECCOMP_IOCTL_NOTIF_RECV, &req)) {
			if (errno == EINTR)
				continue;
			return NULL;
		}
		n = atomic_load(&nr_notified);
		if (n < MAX_NOTIFIED)
			notified[n] = req.data.nr;
		atomic_store(&nr_notified, n + 1);
		memset(&resp, 0, sizeof(resp));
		resp.id = req.id;
		resp.error = -NOTIF_ERRNO;
		ioctl(fd, SECCOMP_IOCTL_NOTIF_SEND, &resp);
	}
}

/* Strict mode allows exit, not exit_group; a MODE_NOTIF child has a second thread. */
static void __attribute__((noreturn)) child_exit(enum sec_mode mode, int code)
{
	for (;;)
		syscall(mode == MODE_STRICT ? SYS_exit : SYS_exit_group, code);
}

/*
 * The child: enter @mode, run @kind, send the report through @report_fd, and exit
 * when the parent has looked at it (@hold_fd reaches end of file). Between entering
 * the mode and exiting it makes no call but the one its kind makes, write and read.
 */
static void __attribute__((noreturn)) run_child(enum sec_mode mode, enum sec_kind kind,
						int report_fd, int hold_fd)
{
	struct report rep = { 0 };
	int listener[2] = { -1, -1 }, fd, i;
	pthread_t thread;
	char c;

	if (mode == MODE_NOTIF &&
	    (pipe(listener) || pthread_create(&thread, NULL, listen_notifs, &listener[0])))
		_exit(100);
	if (mode == MODE_STRICT) {
		if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_STRICT, 0, 0, 0))
			_exit(101);
	} else {
		fd = install_filter(mode);
		if (fd < 0)
			_exit(102);
		if (mode == MODE_NOTIF && write(listener[1], &fd, sizeof(fd)) != sizeof(fd))
			child_exit(mode, 103);
	}

	switch (kind) {
	case KIND_NOP5:
		for (i = 0; i < NR_CALLS; i++)
			rep.bad += sec_nop5(i) != nop5_result(i);
		break;
	case KIND_RET:
	case KIND_EMULATED:
	case KIND_STEPPED:
		for (i = 0; i < NR_CALLS; i++)
			rep.bad += sec_fn(i) != fn_result(i);
		break;
	case KIND_DIRECT_UPROBE:
	case KIND_DIRECT_URETPROBE:
	case KIND_UNLISTED:
		errno = 0;
		rep.ret = syscall(kind == KIND_DIRECT_UPROBE ? NR_UPROBE :
				  kind == KIND_DIRECT_URETPROBE ? NR_URETPROBE : __NR_getppid);
		rep.err = errno;
		break;
	}

	/* The listener answered every notification before the call returned. */
	rep.nr_notified = atomic_load(&nr_notified);
	memcpy(rep.notified, notified, sizeof(notified));
	if (write(report_fd, &rep, sizeof(rep)) != sizeof(rep))
		child_exit(mode, 104);
	while (read(hold_fd, &c, 1) > 0)
		;
	child_exit(mode, 0);
}

/* One byte of process @pid's memory at @addr, or -1. */
static int proc_byte(pid_t pid, const void *addr)
{
	unsigned char b;
	char path[64];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/mem", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = pread(fd, &b, 1, (off_t)(unsigned long)addr);
	close(fd);
	return n == 1 ? b : -1;
}

static bool proc_has_map(pid_t pid, const char *name)
{
	struct exec_map map;

	return !proc_exec_map(pid, name, &map);
}

/* A probe of @type on symbol @sym of @exe, enabled. */
static int add_probe(const char *exe, char type, const char *event, const char *sym,
		     const char *args)
{
	long off = elf_sym_offset(exe, sym);
	int ret;

	if (off < 0)
		return off;
	ret = probe_add("%c:%s/%s %s:0x%lx %s", type, PROBE_GROUP, event, exe, off, args);
	return ret ? ret : probe_enable(event, true);
}

/* A probe a case makes: a return probe ('r') also fetches the value returned. */
struct probe_def {
	char type;
	const char *event, *sym;
};

/*
 * The probes of each kind. The nop5 site is sec_nop5's entry, so its return probe
 * is armed from within the uprobe call: both calls in every call of the function.
 */
static const struct probe_def kind_probes[KIND_UNLISTED + 1][2] = {
	[KIND_NOP5] = { { 'p', "sec_nop5", "sec_nop5" }, { 'r', "sec_nop5_ret", "sec_nop5" } },
	[KIND_RET] = { { 'r', "sec_ret", "sec_fn" } },
	[KIND_EMULATED] = { { 'p', "sec_push", "sec_fn" } },
	[KIND_STEPPED] = { { 'p', "sec_imul", "sec_step_site" } },
};

/* How many of @event's return records, in call order, do not report @want(i). */
static long bad_returns(const char *event, long (*want)(long i))
{
	struct trace_rec *recs;
	long bad = 0, v;
	int i, nr;

	nr = trace_read(event, &recs);
	if (nr < 0)
		return nr;
	for (i = 0; i < nr; i++)
		bad += !trace_arg(&recs[i], "ret", &v) || v != want(i);
	free(recs);
	return bad;
}

FIXTURE(seccomp) {
	const char *exe;
	bool uprobe_syscall;	/* the kernel has it, and optimizes nop5 sites */
};

FIXTURE_VARIANT(seccomp) {
	enum sec_mode mode;
	enum sec_kind kind;
};

#define SECCOMP_VARIANTS(name, m)						\
	FIXTURE_VARIANT_ADD(seccomp, name##_nop5) { m, KIND_NOP5 };		\
	FIXTURE_VARIANT_ADD(seccomp, name##_ret) { m, KIND_RET };		\
	FIXTURE_VARIANT_ADD(seccomp, name##_emulated) { m, KIND_EMULATED };	\
	FIXTURE_VARIANT_ADD(seccomp, name##_stepped) { m, KIND_STEPPED };	\
	FIXTURE_VARIANT_ADD(seccomp, name##_direct_uprobe) { m, KIND_DIRECT_UPROBE }; \
	FIXTURE_VARIANT_ADD(seccomp, name##_direct_uretprobe) { m, KIND_DIRECT_URETPROBE }; \
	FIXTURE_VARIANT_ADD(seccomp, name##_unlisted) { m, KIND_UNLISTED }

SECCOMP_VARIANTS(strict, MODE_STRICT);
SECCOMP_VARIANTS(kill, MODE_KILL);
SECCOMP_VARIANTS(errno, MODE_ERRNO);
SECCOMP_VARIANTS(trace, MODE_TRACE);
SECCOMP_VARIANTS(notif, MODE_NOTIF);

FIXTURE_SETUP(seccomp)
{
	/* The action alone: SECCOMP_GET_ACTION_AVAIL knows no errno in its data. */
	unsigned int action = default_action(variant->mode) & SECCOMP_RET_ACTION_FULL;

	UPROBES_FIXTURE_START();
	if (prctl(PR_GET_SECCOMP, 0, 0, 0, 0) < 0)
		SKIP(return, "no seccomp (CONFIG_SECCOMP)");
	if (variant->mode != MODE_STRICT &&
	    syscall(SYS_seccomp, SECCOMP_GET_ACTION_AVAIL, 0, &action))
		SKIP(return, "seccomp action %#x unavailable: %s", action, strerror(errno));
	ASSERT_EQ(0, trace_clear());
	self->exe = self_path();
	ASSERT_NE(NULL, self->exe);
	/* Made from no stub, the call fails: -ENXIO where it exists, else -ENOSYS. */
	errno = 0;
	ASSERT_EQ(-1, syscall(NR_UPROBE));
	ASSERT_TRUE(errno == ENXIO || errno == ENOSYS);
	self->uprobe_syscall = errno == ENXIO;
}

FIXTURE_TEARDOWN_PARENT(seccomp)
{
	EXPECT_EQ(0, probe_remove_all());
}

/*
 * One child per case, probed before it is forked. While it waits to exit, its mm
 * shows what its hits left: the nop5 site a jump into a stub page (or, on a kernel
 * without the uprobe call, still the breakpoint), an XOL area for a step or a return
 * trampoline, none for an emulation. Then: the end the case must have, every result
 * right, the listener's record, and the exact count of hits and of returns.
 */
TEST_F(seccomp, sandboxed_child)
{
	struct outcome want = expected(variant->mode, variant->kind, self->uprobe_syscall);
	const struct probe_def *probes = kind_probes[variant->kind];
	enum sec_kind kind = variant->kind;
	int report[2], hold[2], status, i, nr_probes = 0;
	struct report rep;
	ssize_t n;
	pid_t pid;

	for (i = 0; i < 2 && probes[i].event; i++) {
		ASSERT_EQ(0, add_probe(self->exe, probes[i].type, probes[i].event, probes[i].sym,
				       probes[i].type == 'r' ? "ret=$retval:s64" : ""));
		nr_probes++;
	}

	ASSERT_EQ(0, pipe2(report, O_CLOEXEC));
	ASSERT_EQ(0, pipe2(hold, O_CLOEXEC));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		close(report[0]);
		close(hold[1]);
		run_child(variant->mode, kind, report[1], hold[0]);
	}
	close(report[1]);
	close(hold[0]);
	do
		n = read(report[0], &rep, sizeof(rep));
	while (n < 0 && errno == EINTR);
	close(report[0]);

	/* What the child's mm holds while it still has it. */
	if (n == sizeof(rep) && kind == KIND_NOP5) {
		if (self->uprobe_syscall) {
			EXPECT_EQ(0xe9, proc_byte(pid, sec_nop5));
			EXPECT_TRUE(proc_has_map(pid, "[uprobes-stubs]"));
		} else {
			EXPECT_EQ(0xcc, proc_byte(pid, sec_nop5));
			EXPECT_FALSE(proc_has_map(pid, "[uprobes-stubs]"));
		}
	}
	/* A step or a trampoline needs the XOL area; an emulation does not. */
	if (n == sizeof(rep) && (kind == KIND_STEPPED || kind == KIND_RET))
		EXPECT_TRUE(proc_has_map(pid, "[uprobes]"));
	if (n == sizeof(rep) && kind == KIND_EMULATED)
		EXPECT_FALSE(proc_has_map(pid, "[uprobes]"));
	close(hold[1]);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));

	if (want.sig) {
		EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == want.sig) {
			TH_LOG("child %s %d, not killed by signal %d",
			       WIFSIGNALED(status) ? "killed by signal" : "exited",
			       WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status),
			       want.sig);
		}
		EXPECT_EQ(0, n);
		return;
	}
	ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) {
		TH_LOG("child %s %d (exits 100 and up: its set-up failed)",
		       WIFSIGNALED(status) ? "killed by signal" : "exited",
		       WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
	}
	ASSERT_EQ(sizeof(rep), n);
	EXPECT_EQ(0, rep.bad);
	EXPECT_EQ(want.nr >= 0 ? 1 : 0, rep.nr_notified) {
		for (i = 0; i < rep.nr_notified && i < MAX_NOTIFIED; i++)
			TH_LOG("listener notified of system call %d", rep.notified[i]);
	}
	if (want.nr >= 0 && rep.nr_notified == 1)
		EXPECT_EQ(want.nr, rep.notified[0]);
	if (!nr_probes) {
		EXPECT_EQ(-1, rep.ret);
		EXPECT_EQ(want.err, rep.err);
		return;
	}

	ASSERT_EQ(0, probe_enable(NULL, false));
	for (i = 0; i < nr_probes; i++) {
		EXPECT_EQ(NR_CALLS, probe_hits(probes[i].event)) {
			TH_LOG("%s", probes[i].event);
		}
		EXPECT_EQ(NR_CALLS, trace_count(probes[i].event, pid)) {
			TH_LOG("%s", probes[i].event);
		}
		if (probes[i].type == 'r')
			EXPECT_EQ(0, bad_returns(probes[i].event,
						 kind == KIND_NOP5 ? nop5_result : fn_result));
	}
}

#ifdef HAVE_M32
/* seccomp32's probes; it calls each function NR_CALLS times, sec32_fn(i, SEC_MULT). */
static const struct probe_def probes32[] = {
	{ 'p', "sec32_nop5", "sec32_nop5" },
	{ 'p', "sec32_push", "sec32_fn" },
	{ 'p', "sec32_imul", "sec32_step_site" },
	{ 'r', "sec32_ret", "sec32_fn" },
};

FIXTURE(seccomp32) {
	char dir[64];
	char prog[PATH_MAX];
};

FIXTURE_SETUP(seccomp32)
{
	char src[PATH_MAX];

	UPROBES_FIXTURE_START();
	ASSERT_EQ(0, trace_clear());
	ASSERT_NE(NULL, self_path());
	snprintf(src, sizeof(src), "%s", self_path());
	snprintf(self->prog, sizeof(self->prog), "%s/seccomp32", dirname(src));
	snprintf(src, sizeof(src), "%s", self->prog);
	snprintf(self->dir, sizeof(self->dir), "/tmp/uprobes_seccomp32.XXXXXX");
	ASSERT_NE(NULL, mkdtemp(self->dir));
	/* The Makefile leaves it without an execute bit: a copy runs. */
	snprintf(self->prog, sizeof(self->prog), "%s/seccomp32", self->dir);
	ASSERT_EQ(0, copy_file(src, self->prog, 0755));
}

FIXTURE_TEARDOWN_PARENT(seccomp32)
{
	EXPECT_EQ(0, probe_remove_all());
	unlink(self->prog);
	rmdir(self->dir);
}

/*
 * A 32-bit task in strict mode, whose compat list has neither uprobe call: every
 * probe of it must work by breakpoints alone. The nop5 site stays a breakpoint (a
 * jump would lead to a 64-bit system call), the return trampoline is an int3.
 */
TEST_F(seccomp32, strict_all_kinds)
{
	int out[2], in[2], status, bad = -1;
	struct exec_map map;
	unsigned int i;
	long nop5_off;
	ssize_t n;
	pid_t pid;

	nop5_off = elf_sym_offset(self->prog, "sec32_nop5");
	ASSERT_LT(0, nop5_off);
	for (i = 0; i < ARRAY_SIZE(probes32); i++) {
		ASSERT_EQ(0, add_probe(self->prog, probes32[i].type, probes32[i].event,
				       probes32[i].sym,
				       probes32[i].type == 'r' ? "ret=$retval:s32" : ""));
	}
	ASSERT_EQ(0, pipe2(out, O_CLOEXEC));
	ASSERT_EQ(0, pipe2(in, O_CLOEXEC));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		if (dup2(out[1], 1) < 0 || dup2(in[0], 0) < 0)
			_exit(126);
		execl(self->prog, self->prog, NULL);
		_exit(errno == ENOEXEC ? 125 : 127);
	}
	close(out[1]);
	close(in[0]);
	do
		n = read(out[0], &bad, sizeof(bad));
	while (n < 0 && errno == EINTR);
	close(out[0]);
	if (n == sizeof(bad)) {
		ASSERT_EQ(0, proc_exec_map(pid, self->prog, &map));
		EXPECT_EQ(0xcc, proc_byte(pid, (void *)(map.start + nop5_off - map.off)));
		EXPECT_FALSE(proc_has_map(pid, "[uprobes-stubs]"));
	}
	close(in[1]);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	if (WIFEXITED(status) && WEXITSTATUS(status) == 125)
		SKIP(return, "this kernel does not run 32-bit programs (IA32_EMULATION)");
	ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) {
		TH_LOG("seccomp32 %s %d", WIFSIGNALED(status) ? "killed by signal" : "exited",
		       WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
	}
	ASSERT_EQ(sizeof(bad), n);
	EXPECT_EQ(0, bad);
	ASSERT_EQ(0, probe_enable(NULL, false));
	for (i = 0; i < ARRAY_SIZE(probes32); i++) {
		EXPECT_EQ(NR_CALLS, probe_hits(probes32[i].event)) {
			TH_LOG("%s", probes32[i].event);
		}
		EXPECT_EQ(NR_CALLS, trace_count(probes32[i].event, pid)) {
			TH_LOG("%s", probes32[i].event);
		}
		if (probes32[i].type == 'r')
			EXPECT_EQ(0, bad_returns(probes32[i].event, fn_result));
	}
}
#else
TEST(seccomp32_strict_all_kinds)
{
	SKIP(return, "no 32-bit program: the Makefile builds it where gcc -m32 links");
}
#endif /* HAVE_M32 */

#else /* !__x86_64__ */

TEST(seccomp_x86_only)
{
	SKIP(return, "the uprobe and uretprobe system calls are x86-64's");
}

#endif

TEST_HARNESS_MAIN
