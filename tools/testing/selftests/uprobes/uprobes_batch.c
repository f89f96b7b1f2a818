// SPDX-License-Identifier: GPL-2.0
/*
 * Enabling many probes at once: a user task's registrations put their breakpoints in
 * together on its way back to user space (one page switch per page of each process),
 * and the write that enabled them returns only after that. So:
 * - as soon as the enabling write returns, every process that maps the file has every
 *   breakpoint, in every page, and nothing else of its text changed;
 * - the probes of two files enabled by one write both go in;
 * - an instruction that cannot be probed still fails its enable at once, and leaves
 *   the text as it was;
 * - each process then hits each probe, and each function still returns its own value;
 * - two tracefs instances enabling the group at once both return with every
 *   breakpoint in, though only the first to register sweeps.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "uprobes_helpers.h"

#define FILE_A		"/tmp/uprobes_batch_a.bin"
#define FILE_B		"/tmp/uprobes_batch_b.bin"
#define PAGES		3
#define FNS_PER_PAGE	20
#define NR_FNS		(PAGES * FNS_PER_PAGE)
#define CHILDREN	3

#if defined(__x86_64__) || defined(__i386__)
#define FN_BYTES	6
/* mov $value,%eax; ret */
#define FN_CODE(v)	{ 0xb8, (v), 0, 0, 0, 0xc3 }
#define TRAP_CODE	{ 0xcc }
#elif defined(__powerpc64__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define FN_BYTES	8
/* li r3,value; blr */
#define FN_CODE(v)	{ (v), 0x00, 0x60, 0x38, 0x20, 0x00, 0x80, 0x4e }
/* trap */
#define TRAP_CODE	{ 0x08, 0x00, 0xe0, 0x7f }
#elif defined(__aarch64__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define FN_BYTES	8
/* mov w0,#value (movz, value < 65536); ret */
#define FN_CODE(v)	{ ((v) << 5) & 0xff, ((v) >> 3) & 0xff, \
			  0x80 | (((v) >> 11) & 0x1f), 0x52, 0xc0, 0x03, 0x5f, 0xd6 }
/* brk #0 */
#define TRAP_CODE	{ 0x00, 0x00, 0x20, 0xd4 }
#else
#error "no machine code for this architecture"
#endif

static long page;

/* Where function @i of a file is: FNS_PER_PAGE of them in each page, 16 bytes apart. */
static off_t fn_offset(int i)
{
	return (off_t)(i / FNS_PER_PAGE) * page + (i % FNS_PER_PAGE) * 16;
}

/* A file of PAGES pages whose function @i returns @base + i; a trap at the end. */
static int write_code_file(const char *path, int base)
{
	unsigned char *buf = calloc(PAGES, page);
	unsigned char trap[] = TRAP_CODE;
	int fd, i, ok = 0;

	if (!buf)
		return -1;
	for (i = 0; i < NR_FNS; i++) {
		unsigned char code[FN_BYTES] = FN_CODE(base + i);

		memcpy(buf + fn_offset(i), code, sizeof(code));
	}
	memcpy(buf + PAGES * page - 64, trap, sizeof(trap));
	unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0755);
	if (fd >= 0) {
		ok = write(fd, buf, PAGES * page) == PAGES * page;
		close(fd);
	}
	free(buf);
	return ok ? 0 : -1;
}

static void *map_code(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	void *p;

	if (fd < 0)
		return MAP_FAILED;
	p = mmap(NULL, PAGES * page, PROT_READ | PROT_EXEC, MAP_PRIVATE, fd, 0);
	close(fd);
	return p;
}

/* Call every function of the mapping at @code; 0 if each returned @base + its index. */
static int call_all(void *code, int base)
{
	int i;

	for (i = 0; i < NR_FNS; i++) {
		int (*fn)(void);

		fn = (int (*)(void))((char *)code + fn_offset(i));
		if (fn() != base + i)
			return 1;
	}
	return 0;
}

/* How many of the functions of the mapping at @code differ from @path in process @pid. */
static int sites_changed(pid_t pid, void *code, const char *path)
{
	unsigned char want[FN_BYTES], got[FN_BYTES];
	int i, fd, memfd, changed = 0;
	char mem[64];

	snprintf(mem, sizeof(mem), "/proc/%d/mem", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	memfd = open(mem, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || memfd < 0)
		changed = -1;
	for (i = 0; changed >= 0 && i < NR_FNS; i++) {
		if (pread(fd, want, sizeof(want), fn_offset(i)) != sizeof(want) ||
		    pread(memfd, got, sizeof(got),
			  (off_t)(unsigned long)code + fn_offset(i)) != sizeof(got))
			changed = -1;
		else if (memcmp(want, got, sizeof(want)))
			changed++;
	}
	if (fd >= 0)
		close(fd);
	if (memfd >= 0)
		close(memfd);
	return changed;
}

#define INSTANCES	2
#define ROUNDS		8

static void instance_path(char *path, size_t size, int instance, const char *file)
{
	snprintf(path, size, TRACEFS "/instances/uprobes_batch_%d%s", instance, file);
}

static int instance_enable(int instance, bool on)
{
	char path[128];

	instance_path(path, sizeof(path), instance, "/events/" PROBE_GROUP "/enable");
	return write_file(path, on ? "1" : "0");
}

FIXTURE(batch) {
	void *code_a, *code_b;
	pid_t child[CHILDREN];
	int go[CHILDREN];	/* write a byte: the child calls everything and exits */
};

FIXTURE_SETUP(batch)
{
	int i;

	UPROBES_FIXTURE_START();
	page = sysconf(_SC_PAGESIZE);
	ASSERT_EQ(0, write_code_file(FILE_A, 10));
	ASSERT_EQ(0, write_code_file(FILE_B, 100));
	self->code_a = map_code(FILE_A);
	if (self->code_a == MAP_FAILED && errno == EPERM)
		SKIP(return, "%s cannot be mapped executable (noexec /tmp?)", FILE_A);
	ASSERT_NE(MAP_FAILED, self->code_a);
	self->code_b = map_code(FILE_B);
	ASSERT_NE(MAP_FAILED, self->code_b);
	/* Children that map both files (copies of ours) and wait, not running them yet. */
	for (i = 0; i < CHILDREN; i++) {
		int fds[2];
		char c;

		ASSERT_EQ(0, pipe(fds));
		self->child[i] = fork();
		ASSERT_LE(0, self->child[i]);
		if (!self->child[i]) {
			close(fds[1]);
			if (read(fds[0], &c, 1) != 1)
				_exit(2);
			_exit(call_all(self->code_a, 10) || call_all(self->code_b, 100));
		}
		close(fds[0]);
		self->go[i] = fds[1];
	}
}

FIXTURE_TEARDOWN(batch)
{
	int i;

	for (i = 0; i < CHILDREN; i++) {
		if (self->child[i] > 0) {
			kill(self->child[i], SIGKILL);
			waitpid(self->child[i], NULL, 0);
		}
	}
	/* A case that failed half way leaves its instances: they would keep the events. */
	for (i = 0; i < INSTANCES; i++) {
		char path[128];

		instance_enable(i, false);
		instance_path(path, sizeof(path), i, "");
		rmdir(path);
	}
	probe_remove_all();
	unlink(FILE_A);
	unlink(FILE_B);
}

/* Probes on every function of both files, all enabled by one write to the group. */
static void add_all(struct __test_metadata *_metadata)
{
	int i;

	for (i = 0; i < NR_FNS; i++) {
		ASSERT_EQ(0, probe_add("p:%s/a%d %s:0x%lx", PROBE_GROUP, i, FILE_A,
				       (long)fn_offset(i)));
		ASSERT_EQ(0, probe_add("p:%s/b%d %s:0x%lx", PROBE_GROUP, i, FILE_B,
				       (long)fn_offset(i)));
	}
}

/* The children run everything; each must exit 0 (every function gave its value). */
static void run_children(struct __test_metadata *_metadata, FIXTURE_DATA(batch) *self)
{
	int i;

	for (i = 0; i < CHILDREN; i++) {
		ASSERT_EQ(1, write(self->go[i], "x", 1));
		EXPECT_EQ(0, wait_exit(self->child[i]));
		self->child[i] = 0;
	}
}

TEST_F(batch, all_in_when_the_write_returns)
{
	unsigned long first;
	int i;

	add_all(_metadata);
	ASSERT_EQ(0, probe_enable(NULL, true));
	/* No wait: the write has returned, so every breakpoint is in. */
	for (i = 0; i < CHILDREN; i++) {
		EXPECT_EQ(NR_FNS, sites_changed(self->child[i], self->code_a, FILE_A));
		EXPECT_EQ(NR_FNS, sites_changed(self->child[i], self->code_b, FILE_B));
	}
	EXPECT_EQ(NR_FNS, sites_changed(getpid(), self->code_a, FILE_A));
	/* Nothing but the probed instructions changed: a breakpoint is at most 4 bytes. */
	EXPECT_GE(4 * NR_FNS, proc_text_diff(self->child[0], FILE_A, &first));
	EXPECT_EQ((unsigned long)self->code_a, first);

	run_children(_metadata, self);
	for (i = 0; i < NR_FNS; i += FNS_PER_PAGE - 1) {
		char name[16];

		snprintf(name, sizeof(name), "a%d", i);
		EXPECT_EQ(CHILDREN, probe_hits(name));
		snprintf(name, sizeof(name), "b%d", i);
		EXPECT_EQ(CHILDREN, probe_hits(name));
	}

	/* And all out again when disabled. */
	ASSERT_EQ(0, probe_enable(NULL, false));
	EXPECT_EQ(0, sites_changed(getpid(), self->code_a, FILE_A));
	EXPECT_EQ(0, sites_changed(getpid(), self->code_b, FILE_B));
}

TEST_F(batch, refused_instruction_fails_at_once)
{
	unsigned long first;

	ASSERT_EQ(0, probe_add("p:%s/a0 %s:0x0", PROBE_GROUP, FILE_A));
	ASSERT_EQ(0, probe_add("p:%s/trap %s:0x%lx", PROBE_GROUP, FILE_A, PAGES * page - 64));
	EXPECT_NE(0, probe_enable("trap", true));
	EXPECT_EQ(0, proc_text_diff(self->child[0], FILE_A, &first));
	ASSERT_EQ(0, probe_enable("a0", true));
	EXPECT_EQ(1, sites_changed(self->child[0], self->code_a, FILE_A));
	run_children(_metadata, self);
	EXPECT_EQ(CHILDREN, probe_hits("a0"));
	EXPECT_EQ(0, probe_hits("trap"));
}

/* A process forked right after the enable has every breakpoint too (its parent's copy). */
TEST_F(batch, fork_after_enable)
{
	pid_t pid;

	add_all(_metadata);
	ASSERT_EQ(0, probe_enable(NULL, true));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid)
		_exit(call_all(self->code_a, 10) || call_all(self->code_b, 100));
	EXPECT_EQ(0, wait_exit(pid));
	EXPECT_EQ(1, probe_hits("a0"));
	EXPECT_EQ(1, probe_hits("b59"));
	run_children(_metadata, self);
	EXPECT_EQ(CHILDREN + 1, probe_hits("a0"));
}

/*
 * In a new process: when @go_fd gives a byte, enable the group in @instance, and at
 * once count the sites of the children still without their breakpoint. Exits 0 if
 * none, 1 if some, 2 and up if something else failed.
 */
static pid_t enable_and_look(FIXTURE_DATA(batch) *self, int instance, int go_fd)
{
	int i, missing = 0;
	pid_t pid;
	char c;

	pid = fork();
	if (pid)
		return pid;
	if (read(go_fd, &c, 1) != 1)
		_exit(2);
	if (instance_enable(instance, true))
		_exit(3);
	for (i = 0; i < CHILDREN; i++) {
		missing += NR_FNS - sites_changed(self->child[i], self->code_a, FILE_A);
		missing += NR_FNS - sites_changed(self->child[i], self->code_b, FILE_B);
	}
	_exit(missing ? 1 : 0);
}

/*
 * The two enables race for event_mutex: the one that comes second finds the events
 * enabled and adds no consumer, while the first may still be putting the breakpoints
 * in on its way back to user space. The second must return only once they are in.
 */
TEST_F(batch, second_instance_returns_with_breakpoints_in)
{
	pid_t enabler[INSTANCES];
	int round, n, go[2];
	char path[128];

	add_all(_metadata);
	for (n = 0; n < INSTANCES; n++) {
		instance_path(path, sizeof(path), n, "");
		ASSERT_TRUE(!mkdir(path, 0755) || errno == EEXIST);
	}
	for (round = 0; round < ROUNDS; round++) {
		ASSERT_EQ(0, pipe(go));
		for (n = 0; n < INSTANCES; n++) {
			enabler[n] = enable_and_look(self, n, go[0]);
			ASSERT_LE(0, enabler[n]);
		}
		ASSERT_EQ(INSTANCES, write(go[1], "xx", INSTANCES));
		for (n = 0; n < INSTANCES; n++) {
			/* Braces: EXPECT_EQ() and its message block are two statements. */
			EXPECT_EQ(0, wait_exit(enabler[n])) {
				TH_LOG("round %d: instance %d returned with breakpoints missing",
				       round, n);
			}
		}
		close(go[0]);
		close(go[1]);
		for (n = 0; n < INSTANCES; n++)
			ASSERT_EQ(0, instance_enable(n, false));
		/* All out again once both are disabled. */
		EXPECT_EQ(0, sites_changed(self->child[0], self->code_a, FILE_A));
	}
	for (n = 0; n < INSTANCES; n++) {
		instance_path(path, sizeof(path), n, "");
		EXPECT_EQ(0, rmdir(path));
	}
}

TEST_HARNESS_MAIN
