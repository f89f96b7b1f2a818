// SPDX-License-Identifier: GPL-2.0
/*
 * Load held under probes, for a time: each test runs its workers for
 * UPROBES_STRESS_SECONDS (default STRESS_DEFAULT_SECONDS, 4; `make stress` sets more,
 * and uprobes_fuzz reads the same variable), then prints one line of figures
 *   "# stress NAME: N operations, N probe hits, N crashes, N outputs differed, N s"
 * and fails unless crashes and differing outputs are 0 and nothing was lost: the probed
 * files read the same through read(2) and through a fresh mapping of their page cache,
 * and once the probes are gone this process's text equals the file again.
 *
 * The short tests of the same areas (uprobes_race, uprobes_kill, uprobes_ptrace,
 * uprobes_fault, uprobes_proc) check each behaviour once, exactly; these run them all at
 * once and for long, and compare every program output with an unprobed run's.
 * Helper processes are this binary run again as "--child MODE ...".
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <dlfcn.h>
#include <elf.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "targets.h"
#include "insns.h"

#define NR_HITTERS	4
#define NR_CHURNERS	2
#define NR_SEEDS	4
/* Iterations of a child's computation: a fraction of a second under TCG. */
#define CHILD_ITERS	150
#define NR_LIVE		4	/* children of a storm alive at once */
#define REAP_TIMEOUT_MS	10000
#define CGROUP		"/sys/fs/cgroup/uprobes_stress"
#define CGROUP_ROOM	(32L << 20)
#define HOG_BYTES	(320L << 20)
#define HOG_SLICE	(1L << 20)

/*
 * Each test's time limit: its base, plus three times the chosen duration, since each
 * runs for about that long. The harness sets a test's limit when it registers the test,
 * before main(), and the environment is there by then.
 */
#define STRESS_TIMEOUT(base)	((base) + 3 * stress_seconds())

/* A thread-safe xorshift: every worker keeps its own state. */
static unsigned int rnd(unsigned int *state)
{
	unsigned int x = *state ?: 0x9e3779b9;

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	return *state = x;
}

/* What one test did; every field is summed from the workers with atomics. */
struct figures {
	long ops;
	long hits;
	long crashes;
	long differed;
};

static void add(long *field, long n)
{
	__atomic_add_fetch(field, n, __ATOMIC_RELAXED);
}

/*
 * Say what differed, for the first few differences of a run: a count alone cannot be
 * analysed afterwards. Printed from any thread, one whole line per printf.
 */
static void say_differed(const char *fmt, ...)
{
	static int said;
	char line[512];
	va_list ap;

	if (__atomic_fetch_add(&said, 1, __ATOMIC_RELAXED) >= 8)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	printf("# differed: %s\n", line);
}

/*
 * Which mapping of this process holds @v, if any: a wrong result that is an address
 * says where the value came from.
 */
static void mapping_of(unsigned long v, char *out, size_t len)
{
	unsigned long start, end;
	char line[512];
	FILE *f = fopen("/proc/self/maps", "r");

	snprintf(out, len, "no mapping");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%lx-%lx", &start, &end) == 2 && v >= start && v < end) {
			line[strcspn(line, "\n")] = 0;
			snprintf(out, len, "%.200s", line);
			break;
		}
	fclose(f);
}

static long (*lib_fn)(long a, long b);

/*
 * The deterministic computation of a child: probed calls (entry, single-stepped, return
 * and recursive-return probes, the library) folded into one number. An unprobed run of
 * it is the reference every probed run must print.
 */
static unsigned long compute(unsigned long seed, long iters)
{
	unsigned long r = seed * 0x9e3779b97f4a7c15UL;
	long i, x;

	for (i = 0; i < iters; i++) {
		x = (long)((r >> 7) & 0xffff);
		r = r * 31 + tgt_leaf(x);
		r ^= tgt_sstep(x, i & 15);
		r += tgt_calls(x ^ i);
		r = (r << 3) ^ tgt_loop(i & 15);
		r += tgt_fib(i & 7);
		if (lib_fn)
			r ^= lib_fn(x, i);
	}
	return r;
}

static const char *lib_path(void)
{
	static char path[PATH_MAX];
	char exe[PATH_MAX];

	if (!path[0] && self_path()) {
		snprintf(exe, sizeof(exe), "%s", self_path());
		snprintf(path, sizeof(path), "%s/libuprobes_target.so", dirname(exe));
	}
	return path;
}

/* "--child compute SEED ITERS": print compute()'s result in hex, with the library. */
static int child_main(int argc, char **argv)
{
	void *lib;

	if (argc != 3 || strcmp(argv[0], "compute"))
		return 2;
	lib = dlopen(lib_path(), RTLD_NOW | RTLD_LOCAL);
	if (!lib)
		return 3;
	lib_fn = dlsym(lib, "lib_mix");
	if (!lib_fn)
		return 4;
	printf("%016lx\n", compute(strtoul(argv[1], NULL, 0), atol(argv[2])));
	return 0;
}

/* The executable PT_LOAD of @path: its page-aligned file offset and length. */
static int exec_segment(const char *path, off_t *off, size_t *len)
{
	Elf64_Ehdr eh;
	Elf64_Phdr ph;
	long page = sysconf(_SC_PAGESIZE);
	int fd, i, ret = -1;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	if (pread(fd, &eh, sizeof(eh), 0) != sizeof(eh))
		goto out;
	for (i = 0; i < eh.e_phnum; i++) {
		if (pread(fd, &ph, sizeof(ph), eh.e_phoff + i * sizeof(ph)) != sizeof(ph))
			goto out;
		if (ph.p_type != PT_LOAD || !(ph.p_flags & PF_X))
			continue;
		*off = ph.p_offset & ~(page - 1);
		*len = (ph.p_offset + ph.p_filesz - *off + page - 1) & ~(page - 1);
		ret = 0;
		break;
	}
out:
	close(fd);
	return ret;
}

/* FNV-1a of a file as a fresh shared mapping shows it: its page cache, not read(2). */
static unsigned long mapped_checksum(const char *path)
{
	unsigned long h = 0xcbf29ce484222325UL;
	struct stat st;
	unsigned char *p;
	off_t i;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) || !st.st_size)
		return 0;
	p = mmap(NULL, st.st_size, PROT_READ, MAP_SHARED, fd, 0);
	close(fd);
	if (p == MAP_FAILED)
		return 0;
	for (i = 0; i < st.st_size; i++)
		h = (h ^ p[i]) * 0x100000001b3UL;
	munmap(p, st.st_size);
	return h;
}

struct file_sums {
	unsigned long read_sum;
	unsigned long mapped_sum;
};

FIXTURE(stress) {
	const char *exe;
	char lib[PATH_MAX];
	long leaf_off, sstep_off, calls_off, loop_off, fib_off, lib_off;
	const struct insn_fn *leaf, *sstep;
	struct file_sums exe_sums, lib_sums;
	/* compute(seed, CHILD_ITERS) as printed by unprobed children, one per seed */
	char ref[NR_SEEDS][32];
	double seconds;
	struct figures fig;
	int stop;
	pid_t kill_pid;		/* a child of the mapping test that must not outlive it */
};

/* The standing probes of the storms: entry, stepped, return, recursion, library. */
static void add_standing_probes(struct __test_metadata *_metadata,
				FIXTURE_DATA(stress) *self)
{
	int i;

	for (i = 0; i < self->leaf->count; i++) {
		ASSERT_EQ(0, probe_add("p:%s/leaf%d %s:0x%lx", PROBE_GROUP, i, self->exe,
				       self->leaf_off + self->leaf->off[i]));
	}
	for (i = 0; i < self->sstep->count; i++) {
		ASSERT_EQ(0, probe_add("p:%s/sstep%d %s:0x%lx a=%s:s64", PROBE_GROUP, i,
				       self->exe, self->sstep_off + self->sstep->off[i],
				       REG_ARG1));
	}
	ASSERT_EQ(0, probe_add("r:%s/callsret %s:0x%lx ret=$retval:s64", PROBE_GROUP,
			       self->exe, self->calls_off));
	ASSERT_EQ(0, probe_add("r:%s/fibret %s:0x%lx", PROBE_GROUP, self->exe, self->fib_off));
	ASSERT_EQ(0, probe_add("p:%s/loop %s:0x%lx n=%s", PROBE_GROUP, self->exe,
			       self->loop_off, REG_ARG1));
	ASSERT_EQ(0, probe_add("p:%s/lib %s:0x%lx a=%s:s64", PROBE_GROUP, self->lib,
			       self->lib_off, REG_ARG1));
	ASSERT_EQ(0, probe_add("r:%s/libret %s:0x%lx ret=$retval:x64", PROBE_GROUP, self->lib,
			       self->lib_off));
	ASSERT_EQ(0, probe_enable(NULL, true));
}

/* The sum of the hit counts of every event of PROBE_GROUP now listed. */
static long group_hits(void)
{
	char line[1024], name[128];
	long sum = 0, hits;
	FILE *f = fopen(TRACEFS "/uprobe_profile", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%*s %127s %ld", name, &hits) == 2)
			sum += hits;
	fclose(f);
	return sum;
}

/* Run "--child compute SEED ITERS" with its stdout on a pipe; the read end in *@rfd. */
static pid_t spawn_compute(unsigned int seed, long iters, int *rfd)
{
	char sseed[16], siters[24];
	int fds[2];
	pid_t pid;

	snprintf(sseed, sizeof(sseed), "%u", seed);
	snprintf(siters, sizeof(siters), "%ld", iters);
	if (pipe2(fds, O_CLOEXEC))
		return -1;
	pid = fork();
	if (!pid) {
		dup2(fds[1], 1);
		execv(self_path(), (char *[]){ "", "--child", "compute", sseed, siters, NULL });
		_exit(127);
	}
	close(fds[1]);
	if (pid < 0) {
		close(fds[0]);
		return -1;
	}
	*rfd = fds[0];
	return pid;
}

/* What a child printed, up to @len - 1 bytes (it is short), NUL-terminated. */
static void read_output(int fd, char *buf, size_t len)
{
	size_t got = 0;
	ssize_t n;

	while (got < len - 1 && (n = read(fd, buf + got, len - 1 - got)) > 0)
		got += n;
	buf[got] = '\0';
	close(fd);
}

FIXTURE_SETUP(stress)
{
	int i, fd, status;
	pid_t pid;

	UPROBES_FIXTURE_START();
	self->exe = self_path();
	ASSERT_NE(NULL, self->exe);
	snprintf(self->lib, sizeof(self->lib), "%s", lib_path());
	self->leaf = insn_fn_find(insn_fns, ARRAY_SIZE(insn_fns), "tgt_leaf");
	self->sstep = insn_fn_find(insn_fns, ARRAY_SIZE(insn_fns), "tgt_sstep");
	ASSERT_NE(NULL, self->leaf);
	ASSERT_NE(NULL, self->sstep);
	ASSERT_LE(2, self->leaf->count);
	self->leaf_off = elf_sym_offset(self->exe, "tgt_leaf");
	self->sstep_off = elf_sym_offset(self->exe, "tgt_sstep");
	self->calls_off = elf_sym_offset(self->exe, "tgt_calls");
	self->loop_off = elf_sym_offset(self->exe, "tgt_loop");
	self->fib_off = elf_sym_offset(self->exe, "tgt_fib");
	self->lib_off = elf_sym_offset(self->lib, "lib_mix");
	ASSERT_LT(0, self->leaf_off);
	ASSERT_LT(0, self->sstep_off);
	ASSERT_LT(0, self->calls_off);
	ASSERT_LT(0, self->loop_off);
	ASSERT_LT(0, self->fib_off);
	ASSERT_LT(0, self->lib_off);
	self->seconds = stress_seconds();

	self->exe_sums.read_sum = file_checksum(self->exe);
	self->exe_sums.mapped_sum = mapped_checksum(self->exe);
	self->lib_sums.read_sum = file_checksum(self->lib);
	self->lib_sums.mapped_sum = mapped_checksum(self->lib);
	ASSERT_NE(0, self->exe_sums.read_sum);
	ASSERT_EQ(self->exe_sums.read_sum, self->exe_sums.mapped_sum);
	ASSERT_EQ(self->lib_sums.read_sum, self->lib_sums.mapped_sum);

	/* The reference outputs: children run before any probe exists. */
	for (i = 0; i < NR_SEEDS; i++) {
		pid = spawn_compute(i, CHILD_ITERS, &fd);
		ASSERT_LT(0, pid);
		read_output(fd, self->ref[i], sizeof(self->ref[i]));
		ASSERT_EQ(pid, waitpid(pid, &status, 0));
		ASSERT_TRUE(WIFEXITED(status) && !WEXITSTATUS(status));
		ASSERT_EQ(17, strlen(self->ref[i]));
	}
}

/*
 * Point lib_fn into a private mapping of the library's text made here, not by the
 * loader: forked children inherit it (and its probes) and need no loader after fork.
 */
static int map_lib_fn(FIXTURE_DATA(stress) *self)
{
	size_t len;
	off_t off;
	char *text;
	int fd;

	fd = open(self->lib, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || exec_segment(self->lib, &off, &len))
		return -1;
	text = mmap(NULL, len, PROT_READ | PROT_EXEC, MAP_PRIVATE, fd, off);
	close(fd);
	if (text == MAP_FAILED)
		return -1;
	lib_fn = (void *)(text + self->lib_off - off);
	return 0;
}

FIXTURE_TEARDOWN_PARENT(stress)
{
	EXPECT_EQ(0, probe_remove_all());
}

/*
 * The end of every test: the figures, then nothing lost. Probes are removed first, so
 * the text comparison sees what the program will run from now on.
 */
static void finish(struct __test_metadata *_metadata, FIXTURE_DATA(stress) *self,
		   const char *name, double seconds)
{
	unsigned long first;

	printf("# stress %s: %ld operations, %ld probe hits, %ld crashes, %ld outputs differed, %.0f s\n",
	       name, self->fig.ops, self->fig.hits, self->fig.crashes, self->fig.differed,
	       seconds);
	fflush(stdout);
	EXPECT_EQ(0, self->fig.crashes);
	EXPECT_EQ(0, self->fig.differed);
	EXPECT_LT(0, self->fig.ops);
	EXPECT_LT(0, self->fig.hits);

	ASSERT_EQ(0, probe_enable(NULL, false));
	ASSERT_EQ(0, probe_remove_all());
	EXPECT_EQ(0, proc_text_diff(0, self->exe, &first)) {
		TH_LOG("text of this process differs from the file at %#lx", first);
	}
	EXPECT_EQ(self->exe_sums.read_sum, file_checksum(self->exe));
	EXPECT_EQ(self->exe_sums.mapped_sum, mapped_checksum(self->exe));
	EXPECT_EQ(self->lib_sums.read_sum, file_checksum(self->lib));
	EXPECT_EQ(self->lib_sums.mapped_sum, mapped_checksum(self->lib));
	EXPECT_GE(1, count_maps("[uprobes]"));
	EXPECT_EQ(0, count_children(getpid()));
}

/* ---- hitters: threads calling probed functions, every result checked ---- */

struct hitter {
	pthread_t thread;
	FIXTURE_DATA(stress) *self;
	int id;			/* 1 and up: the tag of its values */
	long leaf_calls;
};

/*
 * A hitter tags what it passes through tgt_sstep's vector register (powerpc) with its
 * number, in the upper half of a long, so that a wrong value says whose it was: this
 * thread's from an earlier iteration, another hitter's, or nobody's (a pointer, a
 * child's value).
 */
#define HITTER_TAG_SHIFT	(sizeof(long) * 4)

static void *hitter_main(void *arg)
{
	struct hitter *h = arg;
	long i, bad = 0, ops = 0, tag = (long)h->id << HITTER_TAG_SHIFT;

	for (i = 0; !__atomic_load_n(&h->self->stop, __ATOMIC_ACQUIRE); i++) {
		long a = tag + i;
		long leaf = tgt_leaf(i), sstep = tgt_sstep(a, 5), loop = tgt_loop(i & 7);

		if (leaf != i * 7 + 3 || sstep != (a + 3) * 5 || loop != loop_sum(i & 7)) {
			/* The a that the value in the middle register was computed from. */
			unsigned long held = sstep / 5 - 3;
			char where[256];

			mapping_of(held + 3, where, sizeof(where));
			say_differed("hitter %d (tid %d): i %ld: tgt_leaf %ld (want %ld), tgt_sstep %ld (want %ld): from hitter %lu's i %lu? (%#lx: %s), tgt_loop %ld (want %ld)",
				     h->id, (int)gettid(), i, leaf, i * 7 + 3, sstep,
				     (a + 3) * 5, held >> HITTER_TAG_SHIFT,
				     held & ((1UL << HITTER_TAG_SHIFT) - 1), held + 3, where,
				     loop, loop_sum(i & 7));
			bad++;
		}
		h->leaf_calls++;
		ops += 3;
	}
	add(&h->self->fig.ops, ops);
	add(&h->self->fig.differed, bad);
	return NULL;
}

static void start_hitters(struct __test_metadata *_metadata, FIXTURE_DATA(stress) *self,
			  struct hitter *h)
{
	int i;

	for (i = 0; i < NR_HITTERS; i++) {
		h[i] = (struct hitter){ .self = self, .id = i + 1 };
		ASSERT_EQ(0, pthread_create(&h[i].thread, NULL, hitter_main, &h[i]));
	}
}

static long join_hitters(struct hitter *h)
{
	long calls = 0;
	int i;

	for (i = 0; i < NR_HITTERS; i++) {
		pthread_join(h[i].thread, NULL);
		calls += h[i].leaf_calls;
	}
	return calls;
}

/* ---- churners: probes made and removed on the same and neighbouring offsets ---- */

struct churner {
	pthread_t thread;
	FIXTURE_DATA(stress) *self;
	int id;
	long errors;
};

static void *churner_main(void *arg)
{
	struct churner *c = arg;
	FIXTURE_DATA(stress) *self = c->self;
	unsigned int seed = c->id + 1, k;
	char ev[4][32];
	long cycles = 0, hits = 0, h;
	int i, err = 0;

	for (i = 0; i < 4; i++)
		snprintf(ev[i], sizeof(ev[i]), "churn%d_%d", c->id, i);
	while (!__atomic_load_n(&self->stop, __ATOMIC_ACQUIRE) && !err) {
		k = rnd(&seed) % self->leaf->count;
		/* Same offset as the standing probe, a neighbour, a stepped one, a return. */
		err |= probe_add("p:%s/%s %s:0x%lx", PROBE_GROUP, ev[0], self->exe,
				 self->leaf_off);
		err |= probe_add("p:%s/%s %s:0x%lx", PROBE_GROUP, ev[1], self->exe,
				 self->leaf_off + self->leaf->off[k]);
		err |= probe_add("p:%s/%s %s:0x%lx", PROBE_GROUP, ev[2], self->exe,
				 self->sstep_off +
				 self->sstep->off[rnd(&seed) % self->sstep->count]);
		err |= probe_add("r:%s/%s %s:0x%lx r=$retval", PROBE_GROUP, ev[3], self->exe,
				 self->loop_off);
		for (i = 0; i < 4 && !err; i++)
			err |= probe_enable(ev[i], true);
		usleep(rnd(&seed) % 3000);
		for (i = 0; i < 4; i++) {
			probe_enable(ev[i], false);
			h = probe_hits(ev[i]);
			hits += h > 0 ? h : 0;
			err |= probe_del(ev[i]);
		}
		cycles++;
	}
	c->errors = err ? 1 : 0;
	add(&self->fig.ops, cycles * 4);
	add(&self->fig.hits, hits);
	return NULL;
}

/*
 * NR_HITTERS threads call probed functions (an emulated entry, single-stepped
 * instructions, a loop) while NR_CHURNERS threads make, enable, disable and remove probes
 * on the same entry, on its neighbouring instructions, on the stepped ones and a return
 * probe. Every result must be right, and the standing probe on tgt_leaf's entry must
 * count every call: churn next to it never hides it.
 */
TEST_F_TIMEOUT(stress, hits_and_churn, STRESS_TIMEOUT(60))
{
	struct churner c[NR_CHURNERS];
	struct hitter h[NR_HITTERS];
	long calls, hot;
	double t0 = now();
	int i;

	/*
	 * This once oopsed: an event deleted right after it was disabled was freed
	 * while a handler that started before the disable still walked it.
	 */
	ASSERT_EQ(0, probe_add("p:%s/hot %s:0x%lx", PROBE_GROUP, self->exe, self->leaf_off));
	ASSERT_EQ(0, probe_add("p:%s/hotstep %s:0x%lx", PROBE_GROUP, self->exe,
			       self->sstep_off));
	ASSERT_EQ(0, probe_enable(NULL, true));
	start_hitters(_metadata, self, h);
	for (i = 0; i < NR_CHURNERS; i++) {
		c[i] = (struct churner){ .self = self, .id = i };
		ASSERT_EQ(0, pthread_create(&c[i].thread, NULL, churner_main, &c[i]));
	}
	while (now() - t0 < self->seconds)
		usleep(100000);
	__atomic_store_n(&self->stop, 1, __ATOMIC_RELEASE);
	for (i = 0; i < NR_CHURNERS; i++) {
		pthread_join(c[i].thread, NULL);
		EXPECT_EQ(0, c[i].errors);
	}
	calls = join_hitters(h);
	hot = probe_hits("hot");
	self->fig.hits += hot + probe_hits("hotstep");
	EXPECT_EQ(calls, hot);
	EXPECT_EQ(calls, probe_hits("hotstep"));
	finish(_metadata, self, "hits_and_churn", now() - t0);
}

/* ---- storms of processes: exec, fork, SIGKILL, ptrace ---- */

enum storm_kind { RUN_EXEC, RUN_FORK, RUN_KILLED, RUN_TRACED, NR_KINDS };
static const char *const storm_kind_name[NR_KINDS] = { "exec", "fork", "killed", "traced" };

/* Say how a storm child failed: a count alone cannot be analysed after the run. */
static void report_crash(enum storm_kind kind, pid_t pid, int status)
{
	if (pid <= 0)
		printf("# storm child (%s): not started\n", storm_kind_name[kind]);
	else if (kind == RUN_KILLED)
		printf("# storm child %d (%s): not reaped, killed by SIGKILL, within %d ms\n",
		       pid, storm_kind_name[kind], REAP_TIMEOUT_MS);
	else if (status == -1)
		printf("# storm child %d (%s): no wait status\n",
		       pid, storm_kind_name[kind]);
	else if (WIFSIGNALED(status))
		printf("# storm child %d (%s): killed by signal %d\n", pid,
		       storm_kind_name[kind], WTERMSIG(status));
	else
		printf("# storm child %d (%s): wait status %#x\n", pid, storm_kind_name[kind],
		       status);
}

/* Wait for a stop or the end of @pid; the wait status, or -1 on error. */
static int wait_status(pid_t pid)
{
	int status;

	if (waitpid(pid, &status, __WALL) != pid)
		return -1;
	return status;
}

/* After SIGKILL: the child must be gone, by SIGKILL, within REAP_TIMEOUT_MS. */
static bool reaped_by_sigkill(pid_t pid)
{
	int status, ms;

	for (ms = 0; ms < REAP_TIMEOUT_MS; ms++) {
		if (waitpid(pid, &status, WNOHANG | __WALL) == pid) {
			if (WIFSTOPPED(status))
				continue;
			return WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
		}
		usleep(1000);
	}
	return false;
}

/* trace_child() killed the child as it meant to: not a wait status. */
#define KILLED_AS_PLANNED	(-2)

/*
 * A probed child under ptrace: seized, then interrupted a few times at random moments
 * (mostly inside probed code) and single-stepped through it, then continued to its end,
 * or SIGKILLed while stopped when @kill_it. Returns the child's final wait status,
 * KILLED_AS_PLANNED, or -1 when the tracer lost track of it.
 */
static int trace_child(pid_t pid, unsigned int *seed, bool kill_it)
{
	int status, round, steps;

	for (round = 0; round < 3; round++) {
		usleep(rnd(seed) % 20000);
		if (ptrace(PTRACE_INTERRUPT, pid, 0, 0))
			return -1;
		status = wait_status(pid);
		if (status == -1 || !WIFSTOPPED(status))
			return status;
		for (steps = rnd(seed) % 40; steps > 0; steps--) {
			if (ptrace(PTRACE_SINGLESTEP, pid, 0, 0))
				return -1;
			status = wait_status(pid);
			if (status == -1 || !WIFSTOPPED(status))
				return status;
			/* A stop for a signal other than the step's own: deliver it later. */
			if (WSTOPSIG(status) != SIGTRAP)
				break;
		}
		if (kill_it && round == 2) {
			kill(pid, SIGKILL);
			return reaped_by_sigkill(pid) ? KILLED_AS_PLANNED : -1;
		}
		if (ptrace(PTRACE_CONT, pid, 0, 0))
			return -1;
	}
	for (;;) {
		status = wait_status(pid);
		if (status == -1 || !WIFSTOPPED(status))
			return status;
		/* Pass real signals on; a group or interrupt stop just resumes. */
		ptrace(PTRACE_CONT, pid, 0,
		       (status >> 16) || WSTOPSIG(status) == SIGTRAP ? 0 : WSTOPSIG(status));
	}
}

/*
 * One child of the storm, to its end. RUN_EXEC and RUN_TRACED exec this binary
 * (probes installed at exec), RUN_FORK computes in a fork (probes inherited),
 * RUN_KILLED is SIGKILLed at a random moment of a long computation.
 */
static void storm_one(FIXTURE_DATA(stress) *self, unsigned int *seed)
{
	enum storm_kind kind = rnd(seed) % NR_KINDS;
	unsigned int s = rnd(seed) % NR_SEEDS;
	char out[32], sseed[16], c = 'g';
	int fds[2], go[2], status = -1, fd = -1;
	bool seized;
	pid_t pid = -1;

	switch (kind) {
	case RUN_EXEC:
		pid = spawn_compute(s, CHILD_ITERS, &fd);
		break;
	case RUN_FORK:
		if (pipe2(fds, O_CLOEXEC))
			goto crashed;
		pid = fork();
		if (!pid) {
			/* lib_fn: the parent's mapping of the library (no loader after fork). */
			snprintf(out, sizeof(out), "%016lx\n", compute(s, CHILD_ITERS));
			_exit(write(fds[1], out, 17) == 17 ? 0 : 4);
		}
		close(fds[1]);
		fd = fds[0];
		break;
	case RUN_KILLED:
		pid = spawn_compute(s, 1000000, &fd);
		if (pid > 0) {
			usleep(rnd(seed) % 100000);
			kill(pid, SIGKILL);
			close(fd);
			add(&self->fig.ops, 1);
			if (!reaped_by_sigkill(pid))
				goto crashed;
			return;
		}
		break;
	case RUN_TRACED:
	default:
		snprintf(sseed, sizeof(sseed), "%u", s);
		if (pipe2(fds, O_CLOEXEC))
			goto crashed;
		if (pipe2(go, O_CLOEXEC)) {
			close(fds[0]);
			close(fds[1]);
			goto crashed;
		}
		pid = fork();
		if (!pid) {
			dup2(fds[1], 1);
			/* Blocked until the tracer has seized it. */
			if (read(go[0], &c, 1) != 1)
				_exit(126);
			execv(self_path(), (char *[]){ "", "--child", "compute", sseed, "150",
						       NULL });
			_exit(127);
		}
		close(fds[1]);
		close(go[0]);
		fd = fds[0];
		if (pid < 0) {
			close(go[1]);
			break;
		}
		seized = !ptrace(PTRACE_SEIZE, pid, 0, 0);
		if (write(go[1], &c, 1) != 1 || !seized) {
			close(go[1]);
			close(fd);
			goto crashed_kill;
		}
		close(go[1]);
		/* Kill a quarter of them while stopped; the rest must finish right. */
		status = trace_child(pid, seed, rnd(seed) % 4 == 0);
		if (status == KILLED_AS_PLANNED) {
			close(fd);
			add(&self->fig.ops, 1);
			return;
		}
		read_output(fd, out, sizeof(out));
		goto check;
	}
	if (pid < 0)
		goto crashed;
	read_output(fd, out, sizeof(out));
	status = wait_status(pid);
check:
	add(&self->fig.ops, 1);
	if (status == -1 || !WIFEXITED(status) || WEXITSTATUS(status))
		goto crashed;
	if (strcmp(out, self->ref[s])) {
		say_differed("storm child %d (%s): seed %u printed \"%.16s\", unprobed \"%.16s\"",
			     pid, storm_kind_name[kind], s, out, self->ref[s]);
		add(&self->fig.differed, 1);
	}
	return;

crashed_kill:
	kill(pid, SIGKILL);
	waitpid(pid, NULL, __WALL);
crashed:
	report_crash(kind, pid, status);
	add(&self->fig.crashes, 1);
}

struct spawner {
	pthread_t thread;
	FIXTURE_DATA(stress) *self;
	unsigned int seed;
};

static void *spawner_main(void *arg)
{
	struct spawner *sp = arg;

	while (!__atomic_load_n(&sp->self->stop, __ATOMIC_ACQUIRE))
		storm_one(sp->self, &sp->seed);
	return NULL;
}

static void run_spawners(struct __test_metadata *_metadata, FIXTURE_DATA(stress) *self,
			 struct spawner *sp, bool start)
{
	int i;

	for (i = 0; i < NR_LIVE; i++) {
		if (start) {
			sp[i] = (struct spawner){ .self = self, .seed = 0x5eed + i };
			ASSERT_EQ(0, pthread_create(&sp[i].thread, NULL, spawner_main, &sp[i]));
		} else {
			pthread_join(sp[i].thread, NULL);
		}
	}
}

/*
 * NR_LIVE threads each run children back to back: exec'd and forked children compute
 * through every kind of probe and must print what an unprobed child printed; others are
 * SIGKILLed at a random moment (in a handler, mid-step, inside a return probe); others
 * run under ptrace, interrupted and single-stepped through probed code, then either
 * finish (and must print the unprobed output) or are SIGKILLed while stopped. Each
 * killed child must die of SIGKILL promptly.
 */
TEST_F_TIMEOUT(stress, process_storm, STRESS_TIMEOUT(60))
{
	struct spawner sp[NR_LIVE];
	double t0 = now();

	add_standing_probes(_metadata, self);
	ASSERT_EQ(0, map_lib_fn(self));
	run_spawners(_metadata, self, sp, true);
	while (now() - t0 < self->seconds)
		usleep(100000);
	__atomic_store_n(&self->stop, 1, __ATOMIC_RELEASE);
	run_spawners(_metadata, self, sp, false);
	self->fig.hits += group_hits();
	finish(_metadata, self, "process_storm", now() - t0);
}

/* ---- mappings: mmap, mremap, mprotect, munmap, dlopen, dlclose of probed text ---- */

struct mapper {
	pthread_t thread;
	FIXTURE_DATA(stress) *self;
	int id;
	long calls;	/* of lib_mix, each one a hit of the "lib" probe */
	long bad;
	long ops;
	long errors;
};

static long lib_ref(long a, long b)
{
	return a * 31 + (b ^ 0x5a);
}

/* Call lib_mix through @text (a mapping of the segment at file offset @seg_off). */
static long call_lib(struct mapper *m, char *text, off_t seg_off, long a)
{
	long (*fn)(long a, long b);

	long got;

	fn = (void *)(text + m->self->lib_off - seg_off);
	m->calls++;
	got = fn(a, m->calls);
	if (got != lib_ref(a, m->calls)) {
		say_differed("mapper %d: lib_mix(%ld, %ld) through a mapping %ld (want %ld)",
			     m->id, a, m->calls, got, lib_ref(a, m->calls));
		m->bad++;
	}
	return 0;
}

/*
 * One round of changes to a private executable mapping of the library's text: map,
 * call, move it with mremap, call, make it read-only and executable again, call, map
 * it again over itself with MAP_FIXED, call, unmap. Each call must hit the probe.
 */
static void map_round(struct mapper *m, int fd, off_t seg_off, size_t len, long a)
{
	char *text, *moved, *area;

	text = mmap(NULL, len, PROT_READ | PROT_EXEC, MAP_PRIVATE, fd, seg_off);
	if (text == MAP_FAILED) {
		m->errors++;
		return;
	}
	call_lib(m, text, seg_off, a);
	/* Somewhere else, reserved first so the move really moves. */
	area = mmap(NULL, 2 * len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	moved = area == MAP_FAILED ? MAP_FAILED :
		mremap(text, len, len, MREMAP_MAYMOVE | MREMAP_FIXED, area + len);
	if (moved == MAP_FAILED) {
		m->errors++;
		munmap(text, len);
		if (area != MAP_FAILED)
			munmap(area, 2 * len);
		return;
	}
	munmap(area, len);
	call_lib(m, moved, seg_off, a + 1);
	if (mprotect(moved, len, PROT_READ) || mprotect(moved, len, PROT_READ | PROT_EXEC))
		m->errors++;
	call_lib(m, moved, seg_off, a + 2);
	if (mmap(moved, len, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_FIXED, fd, seg_off) !=
	    moved)
		m->errors++;
	call_lib(m, moved, seg_off, a + 3);
	munmap(moved, len);
	m->ops += 6;
}

/* One round of dlopen, a call through dlsym, dlclose: the loader maps and unmaps. */
static void dl_round(struct mapper *m, long a)
{
	long (*fn)(long a, long b);
	long got;
	void *lib;

	lib = dlopen(m->self->lib, RTLD_NOW | RTLD_LOCAL);
	fn = lib ? dlsym(lib, "lib_mix") : NULL;
	if (!fn) {
		m->errors++;
		if (lib)
			dlclose(lib);
		return;
	}
	m->calls++;
	got = fn(a, m->calls);
	if (got != lib_ref(a, m->calls)) {
		say_differed("mapper %d: lib_mix(%ld, %ld) through dlopen %ld (want %ld)",
			     m->id, a, m->calls, got, lib_ref(a, m->calls));
		m->bad++;
	}
	if (dlclose(lib))
		m->errors++;
	m->ops += 2;
}

static void *mapper_main(void *arg)
{
	struct mapper *m = arg;
	size_t len;
	off_t off;
	long a;
	int fd;

	fd = open(m->self->lib, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || exec_segment(m->self->lib, &off, &len)) {
		m->errors++;
		return NULL;
	}
	for (a = 0; !__atomic_load_n(&m->self->stop, __ATOMIC_ACQUIRE); a += 4) {
		if (m->id & 1)
			dl_round(m, a);
		else
			map_round(m, fd, off, len, a);
	}
	close(fd);
	return NULL;
}

#define NR_MAPPERS	3

/* Start the mappers, or join them and return how often they called lib_mix. */
static long run_mappers(struct __test_metadata *_metadata, FIXTURE_DATA(stress) *self,
			struct mapper *m, bool start)
{
	long calls = 0;
	int i;

	for (i = 0; i < NR_MAPPERS; i++) {
		if (start) {
			m[i] = (struct mapper){ .self = self, .id = i };
			EXPECT_EQ(0, pthread_create(&m[i].thread, NULL, mapper_main, &m[i]));
			continue;
		}
		pthread_join(m[i].thread, NULL);
		EXPECT_EQ(0, m[i].errors);
		calls += m[i].calls;
		add(&self->fig.ops, m[i].ops);
		add(&self->fig.differed, m[i].bad);
	}
	return calls;
}

/*
 * Threads map the probed library's text themselves and change the mapping under the
 * probe (mremap, mprotect, MAP_FIXED over it, munmap) or have the loader do it (dlopen,
 * dlclose), calling the probed function in each state. Nothing else calls it, so its
 * probe's hits must equal the calls exactly: no mapping ever lost the breakpoint, and
 * none kept a stale one.
 */
TEST_F_TIMEOUT(stress, mappings, STRESS_TIMEOUT(60))
{
	struct mapper m[NR_MAPPERS];
	double t0 = now();
	long calls, hits;
	void *lib;

	ASSERT_EQ(0, probe_add("p:%s/maplib %s:0x%lx", PROBE_GROUP, self->lib, self->lib_off));
	ASSERT_EQ(0, probe_enable("maplib", true));
	/* Keep one mapping from the loader for the whole test, as a program would. */
	lib = dlopen(self->lib, RTLD_NOW | RTLD_LOCAL);
	ASSERT_NE(NULL, lib);
	run_mappers(_metadata, self, m, true);
	while (now() - t0 < self->seconds)
		usleep(100000);
	__atomic_store_n(&self->stop, 1, __ATOMIC_RELEASE);
	calls = run_mappers(_metadata, self, m, false);
	dlclose(lib);
	hits = probe_hits("maplib");
	EXPECT_EQ(calls, hits) {
		TH_LOG("%ld calls of lib_mix through changing mappings, %ld hits", calls, hits);
	}
	self->fig.hits += hits;
	finish(_metadata, self, "mappings", now() - t0);
}

/* ---- memory pressure: reclaim and migration meet breakpoint pages ---- */

/*
 * A counter of /proc/vmstat, or of a cgroup's memory.stat; -1 if absent. An empty
 * @field reads a file that holds just a number.
 */
static long stat_field(const char *path, const char *field)
{
	char line[256], name[128];
	long val, ret = -1;
	FILE *f = fopen(path, "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!*field ? sscanf(line, "%ld", &ret) == 1 :
		    sscanf(line, "%127s %ld", name, &val) == 2 && !strcmp(name, field))
			ret = *field ? val : ret;
	fclose(f);
	return ret;
}

/*
 * Move this process into a memory cgroup limited to CGROUP_LIMIT. Its children and
 * threads follow. Returns false when the guest has no cgroup2 memory controller.
 */
static bool enter_memcg(void)
{
	char buf[32];
	long cur;

	write_file("/sys/fs/cgroup/cgroup.subtree_control", "+memory");
	mkdir(CGROUP, 0755);
	snprintf(buf, sizeof(buf), "%d", getpid());
	if (write_file(CGROUP "/cgroup.procs", buf))
		return false;
	/* Room for the workers and their children, not for the hog's page cache. */
	cur = stat_field(CGROUP "/memory.current", "");
	snprintf(buf, sizeof(buf), "%ld", (cur > 0 ? cur : 0) + CGROUP_ROOM);
	return !write_file(CGROUP "/memory.max", buf);
}

static void leave_memcg(void)
{
	char pid[16];

	snprintf(pid, sizeof(pid), "%d", getpid());
	write_file("/sys/fs/cgroup/cgroup.procs", pid);
	rmdir(CGROUP);
}

/* Large files readable here, to fill the page cache with (host files over 9p). */
static int hog_files(char paths[][PATH_MAX], int max)
{
	static const char *const dirs[] = { "/usr/lib/x86_64-linux-gnu", "/usr/lib",
					    "/usr/bin", "/usr/lib/powerpc64le-linux-gnu" };
	long total = 0;
	struct dirent *de;
	struct stat st;
	unsigned int d;
	int nr = 0;
	DIR *dir;

	for (d = 0; d < ARRAY_SIZE(dirs) && total < HOG_BYTES; d++) {
		dir = opendir(dirs[d]);
		if (!dir)
			continue;
		while (nr < max && total < HOG_BYTES && (de = readdir(dir))) {
			snprintf(paths[nr], PATH_MAX, "%s/%s", dirs[d], de->d_name);
			if (stat(paths[nr], &st) || !S_ISREG(st.st_mode) ||
			    st.st_size < (4L << 20) || access(paths[nr], R_OK))
				continue;
			total += st.st_size;
			nr++;
		}
		closedir(dir);
	}
	return nr;
}

struct pressure {
	pthread_t thread;
	FIXTURE_DATA(stress) *self;
	bool memcg;
	char (*paths)[PATH_MAX];	/* hog_files(), found before the clock starts */
	int nr_paths;
	long rounds;
	long reclaims;		/* memory.reclaim requests that ran */
	long compactions;
};

/*
 * Fill the page cache towards the cgroup's limit with mapped file pages (reclaimable,
 * so the limit reclaims rather than kills), push this process's probed text out with
 * MADV_PAGEOUT, make the cgroup reclaim (memory.reclaim), compact memory (which
 * migrates movable pages, the breakpoint pages among them) and drop clean caches,
 * over and over, a slice of a file per round.
 */
/* Map a slice of @path, at most HOG_SLICE (a round stays short even over 9p), and read it. */
static void touch_slice(const char *path, long round)
{
	long page = sysconf(_SC_PAGESIZE);
	volatile char sink;
	struct stat st;
	off_t o, len;
	char *m;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	if (fstat(fd, &st) || !st.st_size) {
		close(fd);
		return;
	}
	len = st.st_size < HOG_SLICE ? st.st_size : HOG_SLICE;
	m = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd,
		 (round * HOG_SLICE) % (st.st_size - len + 1) & ~(page - 1));
	close(fd);
	if (m == MAP_FAILED)
		return;
	for (o = 0; o < len; o += page)
		sink = m[o];
	(void)sink;
	munmap(m, len);
}

static void *pressure_main(void *arg)
{
	struct pressure *p = arg;
	struct exec_map map;

	while (!__atomic_load_n(&p->self->stop, __ATOMIC_ACQUIRE)) {
		if (p->nr_paths)
			touch_slice(p->paths[p->rounds % p->nr_paths], p->rounds / p->nr_paths);
		if (!proc_exec_map(0, p->self->exe, &map))
			madvise((void *)map.start, map.end - map.start, MADV_PAGEOUT);
		/*
		 * Reclaim from the cgroup now, whatever the hog reached; EAGAIN only says
		 * it found less than asked.
		 */
		if (p->memcg && (!write_file(CGROUP "/memory.reclaim", "32M") || errno == EAGAIN))
			p->reclaims++;
		if (p->rounds % 4 == 0 && !write_file("/proc/sys/vm/compact_memory", "1"))
			p->compactions++;
		if (p->rounds % 16 == 15)
			write_file("/proc/sys/vm/drop_caches", "1");
		p->rounds++;
	}
	return NULL;
}

/*
 * Everything at once inside a memory cgroup under pressure: hitter threads, a storm of
 * probed children (exec, fork, SIGKILL, ptrace) and the changing mappings of the
 * library, while a thread makes the kernel reclaim their file pages and migrate their
 * pages. Results and outputs must stay right; the probe on the library must count
 * every call of this process's mappers.
 */
TEST_F_TIMEOUT(stress, memory_pressure, STRESS_TIMEOUT(90))
{
	long max0, max1, calls, lib_calls;
	struct spawner sp[NR_LIVE];
	struct mapper m[NR_MAPPERS];
	struct hitter h[NR_HITTERS];
	static char paths[64][PATH_MAX];
	struct pressure p = { .self = self, .paths = paths };
	bool memcg;
	double t0;

	add_standing_probes(_metadata, self);
	ASSERT_EQ(0, map_lib_fn(self));
	ASSERT_EQ(0, probe_add("p:%s/hot %s:0x%lx", PROBE_GROUP, self->exe, self->leaf_off));
	ASSERT_EQ(0, probe_add("p:%s/maplib %s:0x%lx", PROBE_GROUP, self->lib, self->lib_off));
	ASSERT_EQ(0, probe_enable("hot", true));
	ASSERT_EQ(0, probe_enable("maplib", true));
	memcg = enter_memcg();
	if (!memcg)
		TH_LOG("no cgroup2 memory controller: pressure from the page cache only");
	p.memcg = memcg;
	p.nr_paths = hog_files(paths, ARRAY_SIZE(paths));
	max0 = memcg ? stat_field(CGROUP "/memory.events", "max") : 0;

	t0 = now();
	ASSERT_EQ(0, pthread_create(&p.thread, NULL, pressure_main, &p));
	start_hitters(_metadata, self, h);
	run_spawners(_metadata, self, sp, true);
	run_mappers(_metadata, self, m, true);
	while (now() - t0 < self->seconds)
		usleep(100000);
	__atomic_store_n(&self->stop, 1, __ATOMIC_RELEASE);
	lib_calls = run_mappers(_metadata, self, m, false);
	run_spawners(_metadata, self, sp, false);
	/* tgt_leaf is also called by the other threads' own tgt_calls: none here. */
	calls = join_hitters(h);
	pthread_join(p.thread, NULL);

	max1 = memcg ? stat_field(CGROUP "/memory.events", "max") : 0;
	if (memcg)
		leave_memcg();
	printf("# stress memory_pressure: %ld pressure rounds, %ld cgroup reclaims, %ld times at the cgroup limit, %ld compactions\n",
	       p.rounds, p.reclaims, max1 - max0, p.compactions);
	EXPECT_LT(0, p.rounds);
	EXPECT_LT(0, p.compactions);
	if (memcg)
		EXPECT_LT(0, p.reclaims + max1 - max0);
	/*
	 * The storm's children call tgt_leaf too, through compute(): the "hot" probe is
	 * hit by them as well, so it is at least this process's calls.
	 */
	EXPECT_LE(calls, probe_hits("hot"));
	EXPECT_LE(lib_calls, probe_hits("maplib"));
	self->fig.hits += group_hits();
	finish(_metadata, self, "memory_pressure", now() - t0);
}

int main(int argc, char **argv)
{
	if (argc > 2 && !strcmp(argv[1], "--child"))
		return child_main(argc - 2, argv + 2);
	return test_harness_run(argc, argv);
}
