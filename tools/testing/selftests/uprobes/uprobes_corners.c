// SPDX-License-Identifier: GPL-2.0
/*
 * Corners of a probe's life where the probed program must see nothing of us:
 * - a return that every consumer declined (perf tracing another task) is not taken
 *   over: the function still finds its own return address on the stack;
 * - a program that puts the trampoline's address on its stack itself, with no return
 *   pending, gets a signal when it returns there, and the kernel no warning;
 * - a read of the file that failed at the first mapping (the file was short then) does
 *   not disable the probe for the mappings that come later;
 * - a consumer that declines a process takes the breakpoint out of every mapping of
 *   the instruction there, not only the one that trapped;
 * - a process whose last probe went takes its own int3 as without uprobes: the signal
 *   frame says int3, and later traps no longer come through uprobes at all;
 * - a stepped rep string instruction is one hit, however many rounds it makes;
 * - BPF_TASK_FD_QUERY on a BPF program's perf event names the event's file,
 *   offset and kind, for an event with two probes and for a PMU event.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <linux/perf_event.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/ioctl.h>
#include <sys/ucontext.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "uprobes_helpers.h"

#define COPY		"/tmp/uprobes_corners.bin"
#define PMU		"/sys/bus/event_source/devices/uprobe"
#define TAINT_WARN	(1 << 9)

/* The probed function: where it will return to, as its own stack says. */
PROBED void *where_back(void)
{
	return __builtin_return_address(0);
}

/*
 * A perf event of the uprobe PMU on (@path, @off) that traces task @pid only, as
 * `perf record -p PID` makes: other processes that hit the breakpoint are declined.
 */
static int pmu_probe_open(const char *path, long off, bool retprobe, pid_t pid)
{
	struct perf_event_attr attr = { .size = sizeof(attr) };
	char fmt[64] = "";
	long type = read_long(PMU "/type", -1);
	int fd, bit = 0;

	fd = open(PMU "/format/retprobe", O_RDONLY | O_CLOEXEC);
	if (type < 0 || fd < 0)
		return -1;
	if (read(fd, fmt, sizeof(fmt) - 1) < 0 || sscanf(fmt, "config:%d", &bit) != 1)
		bit = -1;
	close(fd);
	if (bit < 0)
		return -1;
	attr.type = type;
	attr.config = retprobe ? 1ULL << bit : 0;
	attr.config1 = (unsigned long)path;	/* uprobe_path */
	attr.config2 = off;			/* probe_offset */
	return syscall(__NR_perf_event_open, &attr, pid, -1, -1, PERF_FLAG_FD_CLOEXEC);
}

/* Is @addr in this process's executable mapping of @exe? */
static bool in_text(const char *exe, const void *addr)
{
	struct exec_map map;
	unsigned long a = (unsigned long)addr;

	return !proc_exec_map(0, exe, &map) && a >= map.start && a < map.end;
}

/* The byte at file offset @off of @path, or -1. */
static int file_byte(const char *path, long off)
{
	unsigned char b;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = pread(fd, &b, 1, off);
	close(fd);
	return n == 1 ? b : -1;
}

FIXTURE(corners) {
	const char *exe;
	long off;
};

FIXTURE_SETUP(corners)
{
	UPROBES_FIXTURE_START();
	ASSERT_EQ(0, trace_clear());
	self->exe = self_path();
	ASSERT_NE(NULL, self->exe);
	self->off = elf_sym_offset(self->exe, "where_back");
	ASSERT_LT(0, self->off);
}

FIXTURE_TEARDOWN_PARENT(corners)
{
	EXPECT_EQ(0, probe_remove_all());
	unlink(COPY);
}

/*
 * A return probe traced by perf in this process only. A forked child hits the
 * breakpoint it inherited; perf declines it, so its return must stay its own.
 */
TEST_F(corners, declined_return_not_taken)
{
	int fd, status;
	pid_t child;

	fd = pmu_probe_open(self->exe, self->off, true, getpid());
	if (fd < 0)
		SKIP(return, "no uprobe PMU to open a per-task return probe (%s)", strerror(errno));
	/* Traced here: this return is taken over, so the function sees the trampoline. */
	EXPECT_FALSE(in_text(self->exe, where_back()));
	child = fork();
	ASSERT_LE(0, child);
	if (child == 0) {
		void *first = where_back(), *second = where_back();

		_exit(in_text(self->exe, first) && in_text(self->exe, second) ? 0 : 1);
	}
	ASSERT_EQ(child, waitpid(child, &status, 0));
	EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) {
		TH_LOG("the declined child saw a return address outside its text");
	}
	close(fd);
}

/*
 * The same for an entry probe, with the probed text mapped twice in the traced
 * process: the declined child must lose the breakpoint from both mappings.
 */
TEST_F(corners, declined_everywhere)
{
	long page = sysconf(_SC_PAGESIZE), pgoff = self->off & ~(page - 1);
	int want = file_byte(self->exe, self->off), pfd, fd, status;
	unsigned char *alias;
	pid_t child;

	ASSERT_LE(0, want);
	pfd = pmu_probe_open(self->exe, self->off, false, getpid());
	if (pfd < 0)
		SKIP(return, "no uprobe PMU to open a per-task probe (%s)", strerror(errno));
	fd = open(self->exe, O_RDONLY | O_CLOEXEC);
	ASSERT_LE(0, fd);
	alias = mmap(NULL, page, PROT_READ | PROT_EXEC, MAP_PRIVATE, fd, pgoff);
	close(fd);
	ASSERT_NE(MAP_FAILED, alias);
	/* This process is traced: both mappings carry the breakpoint. */
	ASSERT_NE(want, alias[self->off - pgoff]);
	ASSERT_NE(want, *(volatile unsigned char *)where_back);

	child = fork();
	ASSERT_LE(0, child);
	if (child == 0) {
		where_back();	/* declined: the breakpoint leaves this process */
		_exit((alias[self->off - pgoff] == want ? 0 : 1) |
		      (*(volatile unsigned char *)where_back == want ? 0 : 2));
	}
	ASSERT_EQ(child, waitpid(child, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status)) {
		TH_LOG("the declined child still has the breakpoint in %s",
		       WEXITSTATUS(status) == 1 ? "its second mapping" : "its text");
	}
	/* The traced process keeps it. */
	EXPECT_NE(want, alias[self->off - pgoff]);
	munmap(alias, page);
	close(pfd);
}

/*
 * The probed file is shorter than the instruction's offset when it is first mapped,
 * so that mapping gets no breakpoint. Once the file is whole again, a new mapping
 * must get one: a failed read says nothing about the next.
 */
TEST_F(corners, read_error_not_final)
{
	long page = sysconf(_SC_PAGESIZE), pgoff = self->off & ~(page - 1);
	long in_page = self->off - pgoff;
	unsigned char *saved, *m;
	int fd;

	ASSERT_EQ(0, copy_file(self->exe, COPY, 0755));
	saved = malloc(page);
	ASSERT_NE(NULL, saved);
	fd = open(COPY, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, fd);
	ASSERT_EQ(page, pread(fd, saved, page, pgoff));
	ASSERT_EQ(0, probe_add("p:%s/reread %s:0x%lx", PROBE_GROUP, COPY, self->off));
	ASSERT_EQ(0, probe_enable("reread", true));

	ASSERT_EQ(0, ftruncate(fd, pgoff));
	m = mmap(NULL, page, PROT_READ | PROT_EXEC, MAP_PRIVATE, fd, pgoff);
	ASSERT_NE(MAP_FAILED, m);
	munmap(m, page);

	ASSERT_EQ(page, pwrite(fd, saved, page, pgoff));
	m = mmap(NULL, page, PROT_READ | PROT_EXEC, MAP_PRIVATE, fd, pgoff);
	ASSERT_NE(MAP_FAILED, m);
	EXPECT_NE(0, memcmp(m + in_page, saved + in_page, 1)) {
		TH_LOG("no breakpoint in a mapping made after the file was whole again");
	}
	munmap(m, page);
	close(fd);
	free(saved);
}

#if defined(__x86_64__)

/* Jump to @fn with @ret pushed as its return address. */
void jump_returning_to(void *fn, unsigned long ret);
asm(
"	.text\n"
"	.globl jump_returning_to\n"
"	.type jump_returning_to, @function\n"
"jump_returning_to:\n"
"	push %rsi\n"
"	jmp *%rdi\n"
"	.size jump_returning_to, . - jump_returning_to\n"
);

/*
 * A return-probed function entered by a jump, with the trampoline's address pushed
 * as its return address and no return pending (as a coroutine library could): no
 * return to take over. Its return lands in the trampoline, which has nothing
 * pending: SIGILL, and no kernel warning (with panic_on_warn that would be a crash).
 */
TEST_F(corners, pushed_trampoline)
{
	long taint = read_long("/proc/sys/kernel/tainted", -1);
	int status;
	pid_t child;

	ASSERT_LE(0, taint);
	if (taint & TAINT_WARN)
		SKIP(return, "the kernel warned before this test: a new warning would not show");
	ASSERT_EQ(0, probe_add("r:%s/back_ret %s:0x%lx", PROBE_GROUP, self->exe, self->off));
	ASSERT_EQ(0, probe_enable("back_ret", true));
	child = fork();
	ASSERT_LE(0, child);
	if (child == 0) {
		unsigned long tramp;

		where_back();	/* a return probed as usual maps the trampoline */
		tramp = map_named("[uprobes]", NULL);
		if (!tramp)
			_exit(3);
		jump_returning_to(where_back, tramp);
		_exit(4);
	}
	ASSERT_EQ(child, waitpid(child, &status, 0));
	EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGILL) {
		TH_LOG("status %#x, not SIGILL", status);
	}
	/* Both entries count (uprobe_profile counts entry hits of return probes too). */
	EXPECT_EQ(2, probe_hits("back_ret"));
	EXPECT_EQ(0, read_long("/proc/sys/kernel/tainted", -1) & TAINT_WARN) {
		TH_LOG("the kernel warned");
	}
}

/* copy_rep(dst, src, n): rep movsb, the probed instruction at copy_rep_insn. */
void copy_rep(void *dst, const void *src, unsigned long n);
extern const char copy_rep_insn[];
asm(
"	.text\n"
"	.globl copy_rep\n"
"	.type copy_rep, @function\n"
"copy_rep:\n"
"	mov %rdx, %rcx\n"
"	.globl copy_rep_insn\n"
"copy_rep_insn:\n"
"	rep movsb\n"
"	ret\n"
"	.size copy_rep, . - copy_rep\n"
);

/*
 * A rep string instruction is stepped, and a step traps after each of its rounds:
 * one execution is still one hit, whatever its count, and it copies what it copies
 * unprobed.
 */
TEST_F(corners, rep_string_one_hit)
{
	char src[200], dst[200];
	long off = elf_sym_offset(self->exe, "copy_rep_insn");
	int i, bad = 0;

	ASSERT_LT(0, off);
	for (i = 0; i < (int)sizeof(src); i++)
		src[i] = (char)(i * 7 + 1);
	ASSERT_EQ(0, probe_add("p:%s/rep %s:0x%lx", PROBE_GROUP, self->exe, off));
	ASSERT_EQ(0, probe_enable("rep", true));
	for (i = 0; i < 10; i++) {
		memset(dst, 0, sizeof(dst));
		copy_rep(dst, src, 150 + i);
		bad += memcmp(dst, src, 150 + i) != 0 || dst[150 + i] != 0;
	}
	copy_rep(dst, src, 0);	/* a zero count runs no round at all */
	EXPECT_EQ(0, bad);
	EXPECT_EQ(11, probe_hits("rep"));
}

static volatile sig_atomic_t int3_traps, int3_bad_trapno;

static void on_sigtrap(int sig, siginfo_t *si, void *ctx)
{
	ucontext_t *uc = ctx;

	int3_traps++;
	if (uc->uc_mcontext.gregs[REG_TRAPNO] != 3 || uc->uc_mcontext.gregs[REG_ERR])
		int3_bad_trapno++;
}

/* ud2 traps with trap number 6: skip it, so that the int3 after it has a stale one. */
static void on_sigill(int sig, siginfo_t *si, void *ctx)
{
	ucontext_t *uc = ctx;

	uc->uc_mcontext.gregs[REG_RIP] += 2;
}

static bool file_is_empty(const char *path)
{
	char c;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return false;
	n = read(fd, &c, 1);
	close(fd);
	return n == 0;
}

#define LOCK_EVENT	TRACEFS "/events/mmap_lock/mmap_lock_start_locking"

/* Lines of the trace buffer naming @what. */
static long trace_lines(const char *what)
{
	char line[1024];
	long n = 0;
	FILE *f = fopen(TRACEFS "/trace", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (line[0] != '#' && strstr(line, what))
			n++;
	fclose(f);
	return n;
}

/*
 * After its last probe goes, a process's own int3 is the CPU's again: each trap's
 * signal frame says int3 (trap number 3, error code 0, whatever trapped before),
 * and after the first such trap, which finds that no breakpoint of ours is left,
 * none of them takes the mmap_lock on uprobes' slow path (counted with the
 * mmap_lock tracepoint, for this process and read locks only).
 */
TEST_F(corners, own_int3_after_last_probe)
{
	struct sigaction trap = { .sa_sigaction = on_sigtrap, .sa_flags = SA_SIGINFO };
	struct sigaction ill = { .sa_sigaction = on_sigill, .sa_flags = SA_SIGINFO };
	char filter[64];
	long locks;
	int i;

	if (access(LOCK_EVENT "/enable", W_OK))
		SKIP(return, "no mmap_lock tracepoint in this kernel");
	/* A probe of anybody else's on a file we map (libc) keeps the mm's flag, rightly. */
	if (!file_is_empty(TRACEFS "/uprobe_events"))
		SKIP(return, "other uprobes exist on this system");
	ASSERT_EQ(0, probe_add("p:%s/back %s:0x%lx", PROBE_GROUP, self->exe, self->off));
	ASSERT_EQ(0, probe_enable("back", true));
	where_back();
	ASSERT_EQ(1, probe_hits("back"));
	ASSERT_EQ(0, probe_enable("back", false));
	ASSERT_EQ(0, probe_del("back"));

	ASSERT_EQ(0, sigaction(SIGTRAP, &trap, NULL));
	ASSERT_EQ(0, sigaction(SIGILL, &ill, NULL));
	snprintf(filter, sizeof(filter), "common_pid == %d && write == 0", getpid());
	ASSERT_EQ(0, write_file(LOCK_EVENT "/filter", filter));
	ASSERT_EQ(0, trace_clear());
	ASSERT_EQ(0, write_file(LOCK_EVENT "/enable", "1"));
	for (i = 0; i < 20; i++)
		asm volatile("ud2\n\tint3" ::: "memory");
	ASSERT_EQ(0, write_file(LOCK_EVENT "/enable", "0"));
	write_file(LOCK_EVENT "/filter", "0");
	locks = trace_lines("mmap_lock_start_locking");

	EXPECT_EQ(20, int3_traps);
	EXPECT_EQ(0, int3_bad_trapno);
	EXPECT_LE(0, locks);
	EXPECT_GE(2, locks) {
		TH_LOG("%ld mmap_lock read locks in 20 traps of the program's own", locks);
	}
}

#endif /* __x86_64__ */

/* The probed function of the second probe of a two-probe event. */
PROBED int other_probed(int x)
{
	return x + 1;
}

/* A BPF program that does nothing, for a perf event to carry; its fd, or -1. */
static int bpf_nop_prog(void)
{
	struct bpf_insn insns[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0 },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	union bpf_attr attr = {
		.prog_type = BPF_PROG_TYPE_KPROBE,
		.insns = (unsigned long)insns,
		.insn_cnt = ARRAY_SIZE(insns),
		.license = (unsigned long)"GPL",
	};

	return syscall(__NR_bpf, BPF_PROG_LOAD, &attr, sizeof(attr));
}

struct fd_info {
	char name[256];
	__u32 fd_type;
	__u64 offset;
};

/* What BPF_TASK_FD_QUERY says of perf event @fd of this process. */
static int fd_query(int fd, struct fd_info *info)
{
	union bpf_attr attr = {
		.task_fd_query = {
			.pid = getpid(),
			.fd = fd,
			.buf = (unsigned long)info->name,
			.buf_len = sizeof(info->name),
		},
	};

	if (syscall(__NR_bpf, BPF_TASK_FD_QUERY, &attr, sizeof(attr)))
		return -1;
	info->fd_type = attr.task_fd_query.fd_type;
	info->offset = attr.task_fd_query.probe_offset;
	return 0;
}

/*
 * What `bpftool perf` shows: the uprobe behind a BPF program's perf event. A
 * tracefs event opened by its id reports its first probe (this one has a
 * second, added after it), a PMU event its own.
 */
TEST_F(corners, bpf_fd_query)
{
	struct perf_event_attr attr = { .size = sizeof(attr), .type = PERF_TYPE_TRACEPOINT };
	long other = elf_sym_offset(self->exe, "other_probed");
	int prog, tp_fd, pmu_fd;
	struct fd_info info;

	ASSERT_LT(0, other);
	prog = bpf_nop_prog();
	if (prog < 0)
		SKIP(return, "cannot load a BPF program (%s)", strerror(errno));
	ASSERT_EQ(0, probe_add("p:%s/fdq %s:0x%lx", PROBE_GROUP, self->exe, self->off));
	ASSERT_EQ(0, probe_add("p:%s/fdq %s:0x%lx", PROBE_GROUP, self->exe, other));
	attr.config = read_long(TRACEFS "/events/" PROBE_GROUP "/fdq/id", -1);
	ASSERT_LT(0, (long)attr.config);
	tp_fd = syscall(__NR_perf_event_open, &attr, getpid(), -1, -1, PERF_FLAG_FD_CLOEXEC);
	ASSERT_LE(0, tp_fd);
	ASSERT_EQ(0, ioctl(tp_fd, PERF_EVENT_IOC_SET_BPF, prog));
	ASSERT_EQ(0, fd_query(tp_fd, &info)) TH_LOG("query: %s", strerror(errno));
	EXPECT_EQ(BPF_FD_TYPE_UPROBE, info.fd_type);
	EXPECT_EQ(self->off, (long)info.offset);
	EXPECT_STREQ(self->exe, info.name);

	pmu_fd = pmu_probe_open(self->exe, other, true, getpid());
	if (pmu_fd < 0) {
		close(tp_fd);
		close(prog);
		SKIP(return, "no uprobe PMU (%s)", strerror(errno));
	}
	ASSERT_EQ(0, ioctl(pmu_fd, PERF_EVENT_IOC_SET_BPF, prog));
	ASSERT_EQ(0, fd_query(pmu_fd, &info)) TH_LOG("query: %s", strerror(errno));
	EXPECT_EQ(BPF_FD_TYPE_URETPROBE, info.fd_type);
	EXPECT_EQ(other, (long)info.offset);
	EXPECT_STREQ(self->exe, info.name);
	EXPECT_EQ(3, other_probed(2));
	close(pmu_fd);
	close(tp_fd);
	close(prog);
}

TEST_HARNESS_MAIN
