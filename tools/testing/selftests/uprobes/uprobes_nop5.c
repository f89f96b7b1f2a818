// SPDX-License-Identifier: GPL-2.0
/*
 * Trap-free 5-byte nops (x86-64): a probe on `nopl 0x0(%rax,%rax,1)` (the USDT site of
 * sys/sdt.h and libbpf) is turned, at its first hit, into a jump to a stub that enters
 * the kernel by the uprobe system call. Each test checks that the site really was
 * turned into a jump (its bytes read e9 through /proc/self/mem, and a
 * "[uprobes-stubs]" mapping exists), so that a kernel that silently keeps the
 * breakpoint fails; and that the program cannot tell: exact hit counts, registers,
 * flags and red zone as in an unprobed run, return probes, fork, mremap, removal
 * under load, and a direct call of the system call.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "uprobes_helpers.h"

#define STUBS_NAME	"[uprobes-stubs]"
#define NR_UPROBE	336
#define NR_CALLS	2000
#define NR_THREADS	4

#if defined(__x86_64__)

/*
 * nop5_ret(x) returns x + 1; its entry is the nop. regs_fn(set) loads the registers,
 * flags and red zone from *set, runs the nop at regs_site, and stores what it then
 * sees back into *set: a leaf function that keeps data in the red zone across the
 * site. Both are 16-byte aligned, so that no site crosses a page.
 */
struct regset {
	unsigned long gpr[8];	/* rax rcx rdx rsi r8 r9 r10 r11 */
	unsigned long flags;
	unsigned long sp_in;
	unsigned long sp_out;
	unsigned long red[16];	/* -128(%rsp) .. -8(%rsp) */
};

long nop5_ret(long x);
void regs_fn(struct regset *set);
extern const char regs_site[];

asm(
"	.text\n"
"	.p2align 4\n"
"	.globl nop5_ret\n"
"	.type nop5_ret, @function\n"
"nop5_ret:\n"
"	.byte 0x0f, 0x1f, 0x44, 0x00, 0x00\n"
"	lea 1(%rdi), %rax\n"
"	ret\n"
"	.size nop5_ret, . - nop5_ret\n"
"	.p2align 4\n"
"	.globl regs_fn\n"
"	.type regs_fn, @function\n"
"regs_fn:\n"
"	mov %rsp, 72(%rdi)\n"
"	pushq 64(%rdi)\n"
"	popfq\n"
"	.irp i, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15\n"
"	mov 88+8*\\i(%rdi), %rax\n"
"	mov %rax, -128+8*\\i(%rsp)\n"
"	.endr\n"
"	mov 0(%rdi), %rax\n"
"	mov 8(%rdi), %rcx\n"
"	mov 16(%rdi), %rdx\n"
"	mov 24(%rdi), %rsi\n"
"	mov 32(%rdi), %r8\n"
"	mov 40(%rdi), %r9\n"
"	mov 48(%rdi), %r10\n"
"	mov 56(%rdi), %r11\n"
"	jmp regs_site\n"
"	.p2align 4\n"
"	.globl regs_site\n"
"regs_site:\n"
"	.byte 0x0f, 0x1f, 0x44, 0x00, 0x00\n"
"	mov %rax, 0(%rdi)\n"
"	mov %rcx, 8(%rdi)\n"
"	mov %rdx, 16(%rdi)\n"
"	mov %rsi, 24(%rdi)\n"
"	mov %r8, 32(%rdi)\n"
"	mov %r9, 40(%rdi)\n"
"	mov %r10, 48(%rdi)\n"
"	mov %r11, 56(%rdi)\n"
"	mov %rsp, 80(%rdi)\n"
"	.irp i, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15\n"
"	mov -128+8*\\i(%rsp), %rax\n"
"	mov %rax, 88+8*\\i(%rdi)\n"
"	.endr\n"
"	pushfq\n"
"	popq 64(%rdi)\n"
"	cld\n"
"	ret\n"
"	.size regs_fn, . - regs_fn\n"
);

/* The file offset of @addr, an address in the test binary's text. */
static long text_offset(const char *exe, const void *addr)
{
	struct exec_map map;
	unsigned long a = (unsigned long)addr;

	if (proc_exec_map(0, exe, &map) || a < map.start || a >= map.end)
		return -1;
	return a - map.start + map.off;
}

/* A probe of @type at file offset @off of @exe, enabled. */
static int add_probe_at(const char *exe, char type, const char *event, long off,
			const char *args)
{
	int ret;

	if (off < 0)
		return -1;
	ret = probe_add("%c:%s/%s %s:0x%lx %s", type, PROBE_GROUP, event, exe, off, args);
	return ret ? ret : probe_enable(event, true);
}

static void regset_init(struct regset *set)
{
	int i;

	memset(set, 0, sizeof(*set));
	for (i = 0; i < 8; i++)
		set->gpr[i] = 0x1111111111111111UL * (i + 1) ^ 0x0123456789abcdefUL;
	/* CF PF AF ZF SF DF OF, and the reserved bit 1 */
	set->flags = 0x0cd7;
	for (i = 0; i < 16; i++)
		set->red[i] = 0xfeedface00000000UL | (i * 0x01010101UL);
}

FIXTURE(nop5) {
	const char *exe;
};

/*
 * A kernel without the optimization (stock, or ours built without
 * CONFIG_X86_UPROBES_NOP5) has no uprobe system call; ours answers ENXIO from
 * anywhere but a stub slot, and changes nothing.
 */
static bool kernel_optimizes_nop5(void)
{
	return syscall(NR_UPROBE) == -1 && errno == ENXIO;
}

FIXTURE_SETUP(nop5)
{
	UPROBES_FIXTURE_START();
	if (!kernel_optimizes_nop5())
		SKIP(return, "this kernel keeps 5-byte nop probes as breakpoints (no uprobe system call)");
	ASSERT_EQ(0, trace_clear());
	self->exe = self_path();
	ASSERT_NE(NULL, self->exe);
}

FIXTURE_TEARDOWN_PARENT(nop5)
{
	EXPECT_EQ(0, probe_remove_all());
}

/* The site was turned into a jump, and this process has a stub mapping. */
#define ASSERT_OPTIMIZED(site) do {					\
	ASSERT_EQ(0xe9, mem_byte(site));				\
	ASSERT_LE(1, count_maps(STUBS_NAME));				\
} while (0)

/* Every hit counted; the site a jump after the first; results right throughout. */
TEST_F(nop5, hits_exact)
{
	long i, bad = 0;

	ASSERT_EQ(0x0f, mem_byte(nop5_ret));
	ASSERT_EQ(0, add_probe_at(self->exe, 'p', "nop5_in", text_offset(self->exe, nop5_ret),
				  "x=" REG_ARG1 ":s64"));
	EXPECT_EQ(0xcc, mem_byte(nop5_ret));
	bad += nop5_ret(41) != 42;
	ASSERT_OPTIMIZED(nop5_ret);
	for (i = 1; i < NR_CALLS; i++)
		bad += nop5_ret(i) != i + 1;
	EXPECT_EQ(0, bad);
	EXPECT_EQ(NR_CALLS, probe_hits("nop5_in"));
	EXPECT_EQ(NR_CALLS, trace_count("nop5_in", getpid()));
	ASSERT_OPTIMIZED(nop5_ret);
}

/* Registers, flags, stack pointer and red zone as in an unprobed run. */
TEST_F(nop5, registers_and_red_zone)
{
	struct regset want, got;
	int i;

	regset_init(&want);
	regs_fn(&want);		/* unprobed */
	EXPECT_EQ(want.sp_in, want.sp_out);
	ASSERT_EQ(0, add_probe_at(self->exe, 'p', "nop5_regs",
				  text_offset(self->exe, regs_site), ""));
	for (i = 0; i < 3; i++) {	/* the breakpoint hit, then the jump's */
		regset_init(&got);
		regs_fn(&got);
		EXPECT_EQ(0, memcmp(want.gpr, got.gpr, sizeof(want.gpr))) {
			int r;

			for (r = 0; r < 8; r++)
				TH_LOG("run %d gpr %d: %#lx, unprobed %#lx", i, r,
				       got.gpr[r], want.gpr[r]);
		}
		EXPECT_EQ(want.flags, got.flags);
		EXPECT_EQ(got.sp_in, got.sp_out);
		EXPECT_EQ(0, memcmp(want.red, got.red, sizeof(want.red)));
		if (i == 0)
			ASSERT_OPTIMIZED(regs_site);
	}
	EXPECT_EQ(3, probe_hits("nop5_regs"));
}

/* A return probe on a function whose entry is the nop: every return reported. */
TEST_F(nop5, return_probe)
{
	struct trace_rec *recs;
	long i, v, bad = 0, sum = 0, want = 0;
	long off = text_offset(self->exe, nop5_ret);
	int nr;

	ASSERT_EQ(0, add_probe_at(self->exe, 'p', "nop5_entry", off, ""));
	ASSERT_EQ(0, add_probe_at(self->exe, 'r', "nop5_exit", off, "ret=$retval:s64"));
	for (i = 0; i < 200; i++) {
		bad += nop5_ret(i) != i + 1;
		want += i + 1;
	}
	ASSERT_OPTIMIZED(nop5_ret);
	ASSERT_EQ(0, probe_enable(NULL, false));
	EXPECT_EQ(0, bad);
	EXPECT_EQ(200, probe_hits("nop5_entry"));
	nr = trace_read("nop5_exit", &recs);
	ASSERT_EQ(200, nr);
	for (i = 0; i < nr; i++) {
		ASSERT_TRUE(trace_arg(&recs[i], "ret", &v));
		sum += v;
	}
	free(recs);
	EXPECT_EQ(want, sum);
}

/* A child forked after the site became a jump runs it too, and is counted. */
TEST_F(nop5, fork_after_optimization)
{
	long i, bad = 0;
	pid_t child;
	int status;

	ASSERT_EQ(0, add_probe_at(self->exe, 'p', "nop5_fork",
				  text_offset(self->exe, nop5_ret), ""));
	for (i = 0; i < 100; i++)
		bad += nop5_ret(i) != i + 1;
	ASSERT_OPTIMIZED(nop5_ret);
	child = fork();
	ASSERT_LE(0, child);
	if (child == 0) {
		int fails = mem_byte(nop5_ret) != 0xe9 || count_maps(STUBS_NAME) < 1;

		for (i = 0; i < 300; i++)
			fails += nop5_ret(i) != i + 1;
		_exit(fails ? 1 : 0);
	}
	ASSERT_EQ(child, waitpid(child, &status, 0));
	EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	for (i = 0; i < 100; i++)
		bad += nop5_ret(i) != i + 1;
	EXPECT_EQ(0, bad);
	EXPECT_EQ(500, probe_hits("nop5_fork"));
	EXPECT_EQ(300, trace_count("nop5_fork", child));
	EXPECT_EQ(200, trace_count("nop5_fork", getpid()));
}

/*
 * The probed text moved by mremap(): a second mapping of the binary holding
 * nop5_ret (position-independent), made a jump, then moved; calls through the new
 * address still work and are counted.
 */
TEST_F(nop5, mremap_text)
{
	long off = text_offset(self->exe, nop5_ret), i, bad = 0;
	long page = sysconf(_SC_PAGESIZE);
	long map_off = off & ~(page - 1);
	long (*fn)(long x);
	void *text, *moved, *dest;
	int fd;

	ASSERT_EQ(0, add_probe_at(self->exe, 'p', "nop5_moved", off, ""));
	fd = open(self->exe, O_RDONLY | O_CLOEXEC);
	ASSERT_LE(0, fd);
	text = mmap(NULL, page, PROT_READ | PROT_EXEC, MAP_PRIVATE, fd, map_off);
	close(fd);
	ASSERT_NE(MAP_FAILED, text);
	fn = (long (*)(long))((char *)text + (off - map_off));
	for (i = 0; i < 50; i++)
		bad += fn(i) != i + 1;
	ASSERT_OPTIMIZED(fn);

	/* Somewhere else, far enough that the old jump would miss every slot. */
	dest = mmap(NULL, 64 * page, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, dest);
	moved = mremap(text, page, page, MREMAP_MAYMOVE | MREMAP_FIXED,
		       (char *)dest + 32 * page);
	ASSERT_NE(MAP_FAILED, moved);
	fn = (long (*)(long))((char *)moved + (off - map_off));
	EXPECT_EQ(0xcc, mem_byte(fn));
	for (i = 0; i < 50; i++)
		bad += fn(i) != i + 1;
	EXPECT_EQ(0xe9, mem_byte(fn));
	EXPECT_EQ(0, bad);
	EXPECT_EQ(100, probe_hits("nop5_moved"));
	munmap(dest, 64 * page);
}

static atomic_int stop_threads;
static atomic_long thread_calls, thread_bad;

static void *hammer(void *arg)
{
	long i = 0;

	while (!atomic_load(&stop_threads)) {
		if (nop5_ret(i) != i + 1)
			atomic_fetch_add(&thread_bad, 1);
		i++;
	}
	atomic_fetch_add(&thread_calls, i);
	return NULL;
}

/* Removed while 4 threads run the site: no call goes wrong, the text is the file's. */
TEST_F(nop5, unregister_under_load)
{
	pthread_t threads[NR_THREADS];
	unsigned long first;
	int i;

	ASSERT_EQ(0, add_probe_at(self->exe, 'p', "nop5_load",
				  text_offset(self->exe, nop5_ret), ""));
	ASSERT_EQ(42, nop5_ret(41));
	ASSERT_OPTIMIZED(nop5_ret);
	for (i = 0; i < NR_THREADS; i++) {
		ASSERT_EQ(0, pthread_create(&threads[i], NULL, hammer, NULL));
	}
	while (probe_hits("nop5_load") < 2000)
		usleep(1000);
	ASSERT_EQ(0, probe_enable("nop5_load", false));
	ASSERT_EQ(0, probe_del("nop5_load"));
	usleep(100000);
	atomic_store(&stop_threads, 1);
	for (i = 0; i < NR_THREADS; i++) {
		ASSERT_EQ(0, pthread_join(threads[i], NULL));
	}
	EXPECT_EQ(0, atomic_load(&thread_bad));
	EXPECT_LT(2000, atomic_load(&thread_calls));
	EXPECT_EQ(0x0f, mem_byte(nop5_ret));
	EXPECT_EQ(0, proc_text_diff(0, self->exe, &first)) {
		TH_LOG("text differs from the file at %#lx", first);
	}
}

/*
 * The system call made from anywhere but a stub fails and changes nothing, before
 * and after this process has stubs; the probe keeps working.
 */
TEST_F(nop5, direct_syscall)
{
	errno = 0;
	EXPECT_EQ(-1, syscall(NR_UPROBE));
	EXPECT_EQ(ENXIO, errno);
	ASSERT_EQ(0, add_probe_at(self->exe, 'p', "nop5_direct",
				  text_offset(self->exe, nop5_ret), ""));
	ASSERT_EQ(42, nop5_ret(41));
	ASSERT_OPTIMIZED(nop5_ret);
	errno = 0;
	EXPECT_EQ(-1, syscall(NR_UPROBE));
	EXPECT_EQ(ENXIO, errno);
	EXPECT_EQ(43, nop5_ret(42));
	EXPECT_EQ(2, probe_hits("nop5_direct"));
}

/* What the program puts where the stub page was: bytes that are no stub (ud2s). */
static void fill_ud2(void *page, long len)
{
	unsigned short *p = page;
	long i;

	for (i = 0; i < len / 2; i++)
		p[i] = 0x0b0f;
}

FIXTURE(stub_gone) {
	const char *exe;
	unsigned long stubs, stubs_end;
};

/* How the program takes the stub page away. */
FIXTURE_VARIANT(stub_gone) {
	int how;
};

enum { GONE_MUNMAP, GONE_MAP_FIXED, GONE_MREMAP_ONTO, GONE_EXEC };

FIXTURE_VARIANT_ADD(stub_gone, munmap) { .how = GONE_MUNMAP };
FIXTURE_VARIANT_ADD(stub_gone, map_fixed) { .how = GONE_MAP_FIXED };
FIXTURE_VARIANT_ADD(stub_gone, mremap_onto) { .how = GONE_MREMAP_ONTO };
FIXTURE_VARIANT_ADD(stub_gone, exec) { .how = GONE_EXEC };

FIXTURE_SETUP(stub_gone)
{
	UPROBES_FIXTURE_START();
	if (!kernel_optimizes_nop5())
		SKIP(return, "this kernel keeps 5-byte nop probes as breakpoints (no uprobe system call)");
	ASSERT_EQ(0, trace_clear());
	self->exe = self_path();
	ASSERT_NE(NULL, self->exe);
}

FIXTURE_TEARDOWN_PARENT(stub_gone)
{
	EXPECT_EQ(0, probe_remove_all());
}

/*
 * The site is a jump to its stub; then the program takes the stub page away (or
 * maps its own bytes there, as emulators and sanitizers map fixed addresses) and
 * runs the site again. The site must be a breakpoint again before the page goes:
 * every call still computes its result and is counted, and the program's own bytes
 * where the page was are never run. An exec'd image starts from its file.
 */
TEST_F(stub_gone, site_is_a_breakpoint_again)
{
	long page = sysconf(_SC_PAGESIZE), i, bad = 0, calls = 0;
	void *mine;

	ASSERT_EQ(0, add_probe_at(self->exe, 'p', "nop5_gone",
				  text_offset(self->exe, nop5_ret), ""));
	for (i = 0; i < 10; i++, calls++)
		bad += nop5_ret(i) != i + 1;
	ASSERT_OPTIMIZED(nop5_ret);
	self->stubs = map_named(STUBS_NAME, &self->stubs_end);
	ASSERT_NE(0, self->stubs);

	switch (variant->how) {
	case GONE_MUNMAP:
		ASSERT_EQ(0, munmap((void *)self->stubs, self->stubs_end - self->stubs));
		break;
	case GONE_MAP_FIXED:
		mine = mmap((void *)self->stubs, page, PROT_READ | PROT_WRITE | PROT_EXEC,
			    MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
		ASSERT_EQ((void *)self->stubs, mine);
		fill_ud2(mine, page);
		break;
	case GONE_MREMAP_ONTO:
		mine = mmap(NULL, page, PROT_READ | PROT_WRITE | PROT_EXEC,
			    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		ASSERT_NE(MAP_FAILED, mine);
		fill_ud2(mine, page);
		ASSERT_EQ((void *)self->stubs, mremap(mine, page, page,
						      MREMAP_MAYMOVE | MREMAP_FIXED,
						      (void *)self->stubs));
		break;
	case GONE_EXEC: {
		pid_t child = spawn_self((char *[]){ "", "--run-site", NULL });

		ASSERT_LT(0, child);
		EXPECT_EQ(0, wait_exit(child));
		calls += 100;
		EXPECT_EQ(100, trace_count("nop5_gone", child));
		break;
	}
	}
	if (variant->how != GONE_EXEC)
		EXPECT_EQ(0xcc, mem_byte(nop5_ret));
	for (i = 0; i < 100; i++, calls++)
		bad += nop5_ret(i) != i + 1;
	EXPECT_EQ(0, bad);
	EXPECT_EQ(calls, probe_hits("nop5_gone"));
	/* Optimized again, to a new page wherever there is room. */
	ASSERT_OPTIMIZED(nop5_ret);
}

/* "--run-site": an exec'd image of this binary runs the probed site 100 times. */
static int run_site(void)
{
	long i, bad = 0;

	for (i = 0; i < 100; i++)
		bad += nop5_ret(i) != i + 1;
	return bad ? 1 : 0;
}

#else /* !__x86_64__ */

static int run_site(void)
{
	return 0;
}

TEST(nop5_x86_only)
{
	SKIP(return, "trap-free 5-byte nop sites are x86-64 only");
}

#endif

int main(int argc, char **argv)
{
	if (argc == 2 && !strcmp(argv[1], "--run-site"))
		return run_site();
	return test_harness_run(argc, argv);
}
