// SPDX-License-Identifier: GPL-2.0
/*
 * The differential exactness test: every class of instruction the x86 analysis
 * emulates or steps, run natively and probed, in each situation where an
 * emulation or a step could go wrong, must give the same registers, flags, memory,
 * signals, ptrace stops and watchpoint hits, and the probe must count each hit once.
 *
 * The classes are the analysis's own: exact_classify runs arch_uprobe_analyze_insn()
 * (compiled in user space at build time) over each case of the corpus
 * (exact_cases.c) and lists every ops table and fix-up of the analysis in
 * exact_classes.h; classes_covered fails for one that no case reaches.
 *
 * Each situation is one variant: a failure there is its own line, and every case
 * runs whatever the others did. Each run is a child with a deadline: a hang is
 * killed and reported as "HANG" with the case's name. Every case prints one line
 * "situation case ops fix-ups: verdict", so a run gives the whole table.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/mman.h>
#include <sys/personality.h>
#include <sys/ptrace.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "uprobes_helpers.h"

#ifdef HAVE_EXACT_X86
#include "exact_run.h"

struct xc_class {
	const char *name;
	const char *ops;
	unsigned int fixups;
	int emulated;
	int nop5;
	int err;
};

struct xc_fixup {
	const char *name;
	unsigned int bit;
};

#include "exact_classes.h"

enum {
	S_ABSENT_ANON, S_ABSENT_FILE, S_COW, S_COMPAT, S_AC, S_STEP, S_WATCH, S_STORM,
	S_XOL64, S_XOL32,
};

#define STORM_ROUNDS	8
#define MAX_RESULTS	(STORM_ROUNDS * XC_TRIALS)
#define MAX_STOPS	1024
#define RUN_SECONDS	6	/* a run that takes longer hangs */
#define FIX_RIP		0x04	/* UPROBE_FIX_RIP: no RIP-relative operands in 32-bit code */

struct xc_stop {
	int sig;
	unsigned long dr6;
	struct user_regs_struct regs;
};

/* One run of one case: the child writes the results, the tracer the stops. */
struct xc_runrec {
	int status;		/* wait status; -1: hung (killed) */
	unsigned int n;
	unsigned long signals;	/* storm signals the child handled */
	unsigned int nstops;
	bool stops_lost;
	struct xc_result res[MAX_RESULTS];
	struct xc_stop stops[MAX_STOPS];
};

static volatile sig_atomic_t timed_out;

static void on_alarm(int sig)
{
	timed_out = 1;
}

/* waitpid() that gives up at the alarm: -1 with timed_out set then. */
static pid_t wait_timed(pid_t pid, int *status)
{
	pid_t ret;

	do {
		ret = waitpid(pid, status, __WALL);
	} while (ret < 0 && errno == EINTR && !timed_out);
	return ret;
}

/* Kill a child that hung and reap it if it can be reaped. */
static void kill_hung(pid_t pid)
{
	int status;

	kill(pid, SIGKILL);
	timed_out = 0;
	alarm(5);
	wait_timed(pid, &status);
	alarm(0);
}

static void arm_deadline(void)
{
	struct sigaction sa = { .sa_handler = on_alarm };

	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, NULL);	/* no SA_RESTART: waitpid and read end */
	timed_out = 0;
	alarm(RUN_SECONDS);
}

static bool traced_situation(int sit)
{
	return sit == S_STEP || sit == S_WATCH;
}

/* The child of a 64-bit run: the trials of @c, in situation @sit. */
static void child_run(const struct xc_case *c, int sit, const struct xc_env *env,
		      struct xc_runrec *r)
{
	unsigned int k, n = sit == S_STORM ? MAX_RESULTS : XC_TRIALS;
	struct xc_regs_buf buf;
	timer_t timer;

	if (xc_signals_init())
		_exit(90);
	/* Single-stepping under TCG is slow: one trial of each case is enough there. */
	if (sit == S_STEP)
		n = 1;
	if (sit == S_STORM) {
		struct sigevent sev = { .sigev_notify = SIGEV_SIGNAL, .sigev_signo = SIGALRM };
		struct itimerspec its = { .it_interval.tv_nsec = 100000,
					  .it_value.tv_nsec = 100000 };

		if (timer_create(CLOCK_MONOTONIC, &sev, &timer) ||
		    timer_settime(timer, 0, &its, NULL))
			_exit(91);
	}
	if (sit == S_XOL64)
		xc_fill_address_space();
	if (traced_situation(sit)) {
		if (ptrace(PTRACE_TRACEME, 0, NULL, NULL))
			_exit(92);
		raise(SIGSTOP);
	}
	for (k = 0; k < n; k++) {
		if (xc_prepare(c, k, env, &buf))
			_exit(93);
		if (traced_situation(sit))
			raise(SIGSTOP);	/* the tracer arms its steps or watchpoints */
		xc_run(c, k, env, &buf, &r->res[k]);
	}
	r->n = n;
	r->signals = xc_storm_signals;
	_exit(0);
}

static void record_stop(struct xc_runrec *r, pid_t pid, int sig, unsigned long dr6)
{
	struct xc_stop *s;

	if (r->nstops == MAX_STOPS) {
		r->stops_lost = true;
		return;
	}
	s = &r->stops[r->nstops++];
	s->sig = sig;
	s->dr6 = dr6;
	ptrace(PTRACE_GETREGS, pid, NULL, &s->regs);
}

#define DR_OFF(i)	offsetof(struct user, u_debugreg[i])

/* Four 8-byte read/write watchpoints on every operand a case may touch. */
static void set_watchpoints(pid_t pid, const struct xc_env *env, unsigned int trial)
{
	uintptr_t page = (uintptr_t)env->arena + (trial % XC_TRIALS) * XC_ARENA;
	extern unsigned long xc_global;
	uintptr_t addr[4] = {
		page + XC_MEM_OFF + 8, page + XC_STACK_OFF - 8, page + XC_STACK_OFF,
		(uintptr_t)&xc_global,
	};
	unsigned long dr7 = 0;
	int i;

	ptrace(PTRACE_POKEUSER, pid, DR_OFF(7), 0);
	for (i = 0; i < 4; i++) {
		ptrace(PTRACE_POKEUSER, pid, DR_OFF(i), addr[i]);
		/* enabled locally; RW = 11 (reads and writes), LEN = 10 (8 bytes) */
		dr7 |= 1UL << (2 * i) | 0xbUL << (16 + 4 * i);
	}
	ptrace(PTRACE_POKEUSER, pid, DR_OFF(7), dr7);
}

/*
 * The tracer of S_STEP and S_WATCH. S_STEP single-steps from each trial's stop
 * until the wrapper has run (the stops inside it are recorded); S_WATCH runs with
 * the watchpoints armed and records each hit with its DR6.
 */
static int trace_run(pid_t pid, const struct xc_case *c, int sit, const struct xc_env *env,
		     struct xc_runrec *r)
{
	uintptr_t lo = (uintptr_t)c->fn, hi = (uintptr_t)c->end;
	bool stepping = false, inside = false;
	unsigned int stop = 0, steps = 0;
	int status, sig, req;
	long dr6;

	for (;;) {
		if (wait_timed(pid, &status) != pid)
			return -1;
		if (WIFEXITED(status) || WIFSIGNALED(status))
			return status;
		sig = WSTOPSIG(status);
		req = PTRACE_CONT;
		if (sig == SIGSTOP) {
			/* The first stop follows PTRACE_TRACEME; then one before each trial. */
			if (stop && sit == S_WATCH)
				set_watchpoints(pid, env, stop - 1);
			stepping = stop && sit == S_STEP;
			inside = false;
			steps = 0;
			stop++;
			sig = 0;
		} else if (sig == SIGTRAP && stepping) {
			struct user_regs_struct regs;

			ptrace(PTRACE_GETREGS, pid, NULL, &regs);
			if (regs.rip >= lo && regs.rip < hi) {
				inside = true;
				record_stop(r, pid, SIGTRAP, 0);
			} else if (inside || ++steps > 2000) {
				stepping = false;	/* the wrapper has run */
			}
			sig = 0;
		} else if (sig == SIGTRAP) {
			dr6 = ptrace(PTRACE_PEEKUSER, pid, DR_OFF(6), NULL);
			record_stop(r, pid, SIGTRAP, dr6 & 0xf);
			if (dr6 & 0xf) {
				ptrace(PTRACE_POKEUSER, pid, DR_OFF(6), 0);
				sig = 0;	/* a watchpoint hit: ours */
			}
		} else {
			record_stop(r, pid, sig, 0);
			stepping = false;
		}
		if (stepping)
			req = PTRACE_SINGLESTEP;
		if (ptrace(req, pid, NULL, (void *)(long)sig))
			return -1;
	}
}

/* One run of a 64-bit case: unprobed or probed is up to the caller's probes. */
static void run64(const struct xc_case *c, int sit, const struct xc_env *env,
		  struct xc_runrec *r)
{
	pid_t pid;
	int status;

	memset(r, 0, offsetof(struct xc_runrec, res));
	if (sit == S_COW && xc_fill_all(c, env)) {
		r->status = -2;
		return;
	}
	arm_deadline();
	pid = fork();
	if (pid < 0) {
		r->status = -2;
		return;
	}
	if (!pid)
		child_run(c, sit, env, r);
	if (traced_situation(sit))
		status = trace_run(pid, c, sit, env, r);
	else
		status = wait_timed(pid, &status) == pid ? status : -1;
	alarm(0);
	if (status == -1)
		kill_hung(pid);
	r->status = status;
}

/* One run of the 32-bit helper with randomization off: its results through a pipe. */
static void run32(const char *prog, const char *name, int sit, struct xc_runrec *r)
{
	char *buf = (char *)r->res;
	size_t len = 0, want = XC_TRIALS * sizeof(struct xc_result);
	int fds[2], status;
	ssize_t n;
	pid_t pid;

	memset(r, 0, offsetof(struct xc_runrec, res));
	r->status = -2;
	if (pipe2(fds, O_CLOEXEC))
		return;
	arm_deadline();
	pid = fork();
	if (pid < 0)
		return;
	if (!pid) {
		dup2(fds[1], 1);
		personality(ADDR_NO_RANDOMIZE);
		execl(prog, prog, name, sit == S_XOL32 ? "fill" : "run", NULL);
		_exit(127);
	}
	close(fds[1]);
	while (len < want && (n = read(fds[0], buf + len, want - len)) > 0)
		len += n;
	close(fds[0]);
	status = timed_out || wait_timed(pid, &status) != pid ? -1 : status;
	alarm(0);
	if (status == -1)
		kill_hung(pid);
	r->status = status;
	r->n = len == want ? XC_TRIALS : 0;
}

static const char *const gpr_names[16] = {
	"ax", "cx", "dx", "bx", "sp", "bp", "si", "di",
	"r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15",
};

/* The first difference between two trials' results, or NULL. */
static const char *result_diff(const struct xc_result *a, const struct xc_result *b,
			       char *why, size_t len)
{
	int i;

	if (a->sig != b->sig || a->sig_code != b->sig_code || a->sig_addr != b->sig_addr ||
	    a->sig_ip != b->sig_ip) {
		snprintf(why, len, "signal %d code %d addr %#lx ip %#lx, probed %d code %d addr %#lx ip %#lx",
			 a->sig, a->sig_code, (long)a->sig_addr, (long)a->sig_ip, b->sig,
			 b->sig_code, (long)b->sig_addr, (long)b->sig_ip);
		return why;
	}
	for (i = 0; i < 16; i++)
		if (a->gpr[i] != b->gpr[i]) {
			snprintf(why, len, "%%%s %#lx, probed %#lx", gpr_names[i],
				 (long)a->gpr[i], (long)b->gpr[i]);
			return why;
		}
	if (a->flags != b->flags) {
		snprintf(why, len, "flags %#lx, probed %#lx", (long)a->flags, (long)b->flags);
		return why;
	}
	if (a->global != b->global) {
		snprintf(why, len, "xc_global %#lx, probed %#lx", (long)a->global,
			 (long)b->global);
		return why;
	}
	for (i = 0; i < 2 * XC_DUMP; i++)
		if (a->mem[i] != b->mem[i] || a->stack[i] != b->stack[i]) {
			snprintf(why, len, "%s byte %+d: %#x, probed %#x",
				 a->mem[i] != b->mem[i] ? "memory" : "stack", i - XC_DUMP,
				 a->mem[i] != b->mem[i] ? a->mem[i] : a->stack[i],
				 a->mem[i] != b->mem[i] ? b->mem[i] : b->stack[i]);
			return why;
		}
	return NULL;
}

static const char *stops_diff(const struct xc_runrec *a, const struct xc_runrec *b,
			      char *why, size_t len)
{
	unsigned int i;

	for (i = 0; i < a->nstops && i < b->nstops; i++) {
		const struct xc_stop *x = &a->stops[i], *y = &b->stops[i];

		if (x->sig != y->sig || x->dr6 != y->dr6 ||
		    memcmp(&x->regs, &y->regs, sizeof(x->regs))) {
			snprintf(why, len, "stop %u: signal %d dr6 %#lx rip %#llx flags %#llx, probed signal %d dr6 %#lx rip %#llx flags %#llx",
				 i, x->sig, x->dr6, x->regs.rip, x->regs.eflags, y->sig,
				 y->dr6, y->regs.rip, y->regs.eflags);
			return why;
		}
	}
	if (a->nstops != b->nstops || a->stops_lost != b->stops_lost) {
		snprintf(why, len, "%u tracer stops, probed %u", a->nstops, b->nstops);
		return why;
	}
	return NULL;
}

static char *fixups_str(unsigned int fixups, char *buf, size_t len)
{
	unsigned int i;
	size_t used = 0;

	buf[0] = '\0';
	for (i = 0; i < ARRAY_SIZE(xc_all_fixups); i++)
		if (fixups & xc_all_fixups[i].bit)
			used += snprintf(buf + used, len - used, "%s%s", used ? "|" : "",
					 xc_all_fixups[i].name + strlen("UPROBE_FIX_"));
	if (!used)
		snprintf(buf, len, "-");
	return buf;
}

static const struct xc_class *class_of(const struct xc_class *tab, size_t nr,
				       const char *name)
{
	size_t i;

	for (i = 0; i < nr; i++)
		if (tab[i].name && !strcmp(tab[i].name, name))
			return &tab[i];
	return NULL;
}
#endif /* HAVE_EXACT_X86 */

/* Every ops table and fix-up of the analysis has a case, in each mode. */
TEST(classes_covered)
{
#ifndef HAVE_EXACT_X86
	SKIP(return, "the instruction classes are x86's");
#else
	int missing = 0;
	size_t i, k;
	bool found;

	for (i = 0; i < ARRAY_SIZE(xc_all_ops); i++) {
		for (k = 0, found = false; k < ARRAY_SIZE(xc_class64); k++)
			found |= !strcmp(xc_class64[k].ops, xc_all_ops[i]);
		if (!found && ++missing)
			TH_LOG("64-bit: no case is analyzed as %s", xc_all_ops[i]);
#ifdef HAVE_M32
		for (k = 0, found = false; k < ARRAY_SIZE(xc_class32); k++)
			found |= xc_class32[k].ops && !strcmp(xc_class32[k].ops, xc_all_ops[i]);
		if (!found && ++missing)
			TH_LOG("32-bit: no case is analyzed as %s", xc_all_ops[i]);
#endif
	}
	for (i = 0; i < ARRAY_SIZE(xc_all_fixups); i++) {
		for (k = 0, found = false; k < ARRAY_SIZE(xc_class64); k++)
			found |= !!(xc_class64[k].fixups & xc_all_fixups[i].bit);
		if (!found && ++missing)
			TH_LOG("64-bit: no case gets the fix-up %s", xc_all_fixups[i].name);
#ifdef HAVE_M32
		if (xc_all_fixups[i].bit == FIX_RIP)
			continue;
		for (k = 0, found = false; k < ARRAY_SIZE(xc_class32); k++)
			found |= !!(xc_class32[k].fixups & xc_all_fixups[i].bit);
		if (!found && ++missing)
			TH_LOG("32-bit: no case gets the fix-up %s", xc_all_fixups[i].name);
#endif
	}
	for (k = 0, found = false; k < ARRAY_SIZE(xc_class64); k++)
		found |= xc_class64[k].nop5;
	if (!found && ++missing)
		TH_LOG("64-bit: no case is a 5-byte nop site");
	for (k = 0; k < ARRAY_SIZE(xc_class64); k++)
		if (xc_class64[k].err && ++missing)
			TH_LOG("64-bit case %s: the analysis refuses it (%d)",
			       xc_class64[k].name, xc_class64[k].err);
	for (k = 0; k < ARRAY_SIZE(xc_class32); k++)
		if (xc_class32[k].name && xc_class32[k].err && ++missing)
			TH_LOG("32-bit case %s: the analysis refuses it (%d)",
			       xc_class32[k].name, xc_class32[k].err);
	EXPECT_EQ(0, missing);
#endif
}

FIXTURE(exact) {
	char dir[64];
	char prog32[PATH_MAX];
	char file[PATH_MAX];
	const char *exe;
	unsigned int nr;
	const char *const *names;
};

FIXTURE_VARIANT(exact) {
	int sit;
	const char *what;
};

FIXTURE_VARIANT_ADD(exact, absent_anon) {
	.sit = S_ABSENT_ANON, .what = "operands in a fresh anonymous page never touched",
};
FIXTURE_VARIANT_ADD(exact, absent_file) {
	.sit = S_ABSENT_FILE, .what = "operands in a file page not in the page table",
};
FIXTURE_VARIANT_ADD(exact, cow_fork) {
	.sit = S_COW, .what = "operands in pages copy-on-write after fork",
};
FIXTURE_VARIANT_ADD(exact, compat_norandom) {
	.sit = S_COMPAT, .what = "a 32-bit task with ADDR_NO_RANDOMIZE",
};
FIXTURE_VARIANT_ADD(exact, ac_misaligned) {
	.sit = S_AC, .what = "EFLAGS.AC with misaligned operands and stack",
};
FIXTURE_VARIANT_ADD(exact, ptrace_step) {
	.sit = S_STEP, .what = "a tracer single-stepping through the instruction",
};
FIXTURE_VARIANT_ADD(exact, watchpoint) {
	.sit = S_WATCH, .what = "hardware watchpoints on every operand",
};
FIXTURE_VARIANT_ADD(exact, signal_storm) {
	.sit = S_STORM, .what = "a timer signal every 100 us",
};
FIXTURE_VARIANT_ADD(exact, xol_unmappable) {
	.sit = S_XOL64, .what = "a 64-bit task with its whole address space mapped",
};
FIXTURE_VARIANT_ADD(exact, xol_unmappable32) {
	.sit = S_XOL32, .what = "a 32-bit task with its 4 GiB mapped",
};

#ifdef HAVE_EXACT_X86
static bool is32(int sit)
{
	return sit == S_COMPAT || sit == S_XOL32;
}

/* Copy @from to @to with the execute bit that the build left out. */
static int copy_exec(const char *from, const char *to)
{
	char buf[65536];
	int in, out, ret = 0;
	ssize_t n;

	in = open(from, O_RDONLY | O_CLOEXEC);
	if (in < 0)
		return -errno;
	out = open(to, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0755);
	if (out < 0) {
		close(in);
		return -errno;
	}
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (write(out, buf, n) != n) {
			ret = -EIO;
			break;
		}
	if (n < 0)
		ret = -errno;
	close(out);
	close(in);
	return ret;
}
#endif

FIXTURE_SETUP(exact)
{
#ifndef HAVE_EXACT_X86
	SKIP(return, "the instruction cases are x86's");
#else
	char src[PATH_MAX], sym[64];
	const char *target;
	unsigned int i;
	long off;

	UPROBES_FIXTURE_START();
	self->exe = self_path();
	ASSERT_NE(NULL, self->exe);
	snprintf(self->dir, sizeof(self->dir), "/tmp/uprobes_exact.XXXXXX");
	ASSERT_NE(NULL, mkdtemp(self->dir));
	target = self->exe;
	if (is32(variant->sit)) {
#ifndef HAVE_M32
		SKIP(return, "no 32-bit helper: gcc -m32 could not link one at build time");
#else
		snprintf(src, sizeof(src), "%s", self->exe);
		snprintf(sym, sizeof(sym), "%s", "exact32");
		snprintf(self->prog32, sizeof(self->prog32), "%s/exact32", self->dir);
		snprintf(src + strlen(dirname(src)), sizeof(src) - strlen(src), "/exact32");
		ASSERT_EQ(0, copy_exec(src, self->prog32));
		target = self->prog32;
#endif
	}
	self->nr = is32(variant->sit) ? ARRAY_SIZE(xc_class32) : xc_nr_cases;
	for (i = 0; i < self->nr; i++) {
		const char *name = is32(variant->sit) ? xc_class32[i].name : xc_cases[i].name;

		if (!name)
			continue;
		snprintf(sym, sizeof(sym), "xc_%s_insn", name);
		off = elf_sym_offset(target, sym);
		ASSERT_LT(0, off) TH_LOG("%s: no symbol %s", target, sym);
		ASSERT_EQ(0, probe_add("p:%s/x_%s %s:0x%lx", PROBE_GROUP, name, target, off));
	}
#endif
}

FIXTURE_TEARDOWN_PARENT(exact)
{
	EXPECT_EQ(0, probe_remove_all());
	if (self->prog32[0])
		unlink(self->prog32);
	if (self->file[0])
		unlink(self->file);
	if (self->dir[0])
		rmdir(self->dir);
}

TEST_F_TIMEOUT(exact, agrees, 170)
{
#ifdef HAVE_EXACT_X86
	static char why[512];
	int sit = variant->sit, failures = 0;
	struct xc_env env = { .kind = XA_PRIVATE, .fd = -1 };
	struct xc_runrec *nat, *prb;
	uint8_t *snapshot = NULL;
	unsigned int i, t;
	size_t recsz = sizeof(struct xc_runrec);
	char fx[64], ev[64];

	nat = mmap(NULL, recsz * self->nr, PROT_READ | PROT_WRITE,
		   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	prb = mmap(NULL, recsz * self->nr, PROT_READ | PROT_WRITE,
		   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, nat);
	ASSERT_NE(MAP_FAILED, prb);

	/* One arena for every run, at the same address, so that pointers compare. */
	if (sit == S_ABSENT_FILE) {
		static uint8_t zero[XC_TRIALS * XC_ARENA];

		snprintf(self->file, sizeof(self->file), "%s/arena", self->dir);
		env.fd = open(self->file, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		ASSERT_LE(0, env.fd);
		ASSERT_EQ(sizeof(zero), write(env.fd, zero, sizeof(zero)));
		env.arena = mmap(NULL, sizeof(zero), PROT_READ | PROT_WRITE, MAP_PRIVATE,
				 env.fd, 0);
		env.kind = XA_FILE;
	} else {
		env.arena = mmap(NULL, XC_TRIALS * XC_ARENA, PROT_READ | PROT_WRITE,
				 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	}
	ASSERT_NE(MAP_FAILED, env.arena);
	if (sit == S_ABSENT_ANON)
		env.kind = XA_FRESH_ANON;
	if (sit == S_COW) {
		env.kind = XA_KEEP;
		snapshot = malloc(XC_TRIALS * XC_ARENA);
		ASSERT_NE(NULL, snapshot);
	}
	if (sit == S_AC) {
		env.ac = 1;
		env.mem_shift = 1;
		env.stack_shift = 4;
	}
	TH_LOG("%s", variant->what);

	/* All natives first, then all probed: enabling once is cheaper than per case. */
	for (i = 0; i < self->nr; i++) {
		if (is32(sit)) {
			if (xc_class32[i].name)
				run32(self->prog32, xc_class32[i].name, sit, &nat[i]);
		} else {
			run64(&xc_cases[i], sit, &env, &nat[i]);
		}
	}
	ASSERT_EQ(0, probe_enable(NULL, true));
	for (i = 0; i < self->nr; i++) {
		if (is32(sit)) {
			if (xc_class32[i].name)
				run32(self->prog32, xc_class32[i].name, sit, &prb[i]);
			continue;
		}
		run64(&xc_cases[i], sit, &env, &prb[i]);
		if (snapshot) {
			/* The parent's pages after the child wrote its copies. */
			memcpy(snapshot, env.arena, XC_TRIALS * XC_ARENA);
			xc_fill_all(&xc_cases[i], &env);
			if (memcmp(snapshot, env.arena, XC_TRIALS * XC_ARENA))
				prb[i].status = -3;
		}
	}
	ASSERT_EQ(0, probe_enable(NULL, false));

	for (i = 0; i < self->nr; i++) {
		const struct xc_class *cl;
		const char *name, *verdict = "ok", *d = NULL;
		struct xc_runrec *a = &nat[i], *b = &prb[i];
		long hits, want;
		bool clear_signal = false;

		name = is32(sit) ? xc_class32[i].name : xc_cases[i].name;
		if (!name)
			continue;
		cl = is32(sit) ? &xc_class32[i] : class_of(xc_class64, ARRAY_SIZE(xc_class64), name);
		snprintf(ev, sizeof(ev), "x_%s", name);
		hits = probe_hits(ev);
		want = a->n;
		why[0] = '\0';
		if (a->status == -1 || a->status == -2) {
			verdict = "FAIL";
			snprintf(why, sizeof(why), "the unprobed run %s",
				 a->status == -1 ? "hung" : "could not start");
		} else if (b->status == -1) {
			verdict = "HANG";
			snprintf(why, sizeof(why), "killed after %d s", RUN_SECONDS);
		} else if (b->status == -3) {
			verdict = "FAIL";
			snprintf(why, sizeof(why), "the parent's copy-on-write pages changed");
		} else if ((sit == S_XOL64 || sit == S_XOL32) && b->status != a->status &&
			   WIFSIGNALED(b->status)) {
			clear_signal = true;
			snprintf(why, sizeof(why), "killed by signal %d (allowed)",
				 WTERMSIG(b->status));
		} else if (b->status != a->status || b->n != a->n) {
			verdict = "FAIL";
			snprintf(why, sizeof(why), "status %#x with %u trials, probed %#x with %u",
				 a->status, a->n, b->status, b->n);
		} else {
			for (t = 0; t < a->n && !d; t++) {
				d = result_diff(&a->res[t], &b->res[t], why, sizeof(why));
				if (d && (sit == S_XOL64 || sit == S_XOL32) && !a->res[t].sig &&
				    b->res[t].sig) {
					clear_signal = true;
					snprintf(why, sizeof(why), "trial %u: signal %d (allowed)",
						 t, b->res[t].sig);
					break;
				}
				if (d) {
					verdict = "DIFF";
					snprintf(why + strlen(why), sizeof(why) - strlen(why),
						 " (trial %u)", t);
				}
			}
			if (!d && !clear_signal && stops_diff(a, b, why, sizeof(why)))
				verdict = "DIFF";
		}
		if (!strcmp(verdict, "ok") && !clear_signal && hits != want) {
			verdict = "HITS";
			snprintf(why, sizeof(why), "probe counted %ld hits, %ld runs", hits, want);
		}
		if (clear_signal && hits > want) {
			verdict = "HITS";
			snprintf(why, sizeof(why), "probe counted %ld hits, %ld runs", hits, want);
		}
		if (strcmp(verdict, "ok"))
			failures++;
		TH_LOG("%s %-14s %-12s %-9s %s%s%s", is32(sit) ? "i386  " : "x86-64", name,
		       cl ? cl->ops : "?", cl ? fixups_str(cl->fixups, fx, sizeof(fx)) : "?",
		       verdict, why[0] ? ": " : "", why);
		if (sit == S_STORM && !strcmp(verdict, "ok") && !b->signals)
			TH_LOG("  (no storm signal arrived during %s)", name);
	}
	EXPECT_EQ(0, failures);
	free(snapshot);
	if (env.fd >= 0)
		close(env.fd);
#endif
}

TEST_HARNESS_MAIN
