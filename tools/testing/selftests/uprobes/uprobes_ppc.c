// SPDX-License-Identifier: GPL-2.0
/*
 * powerpc64 instruction handling: what must be emulated because it depends on where it
 * runs (branches that set or read LR and CTR, addpcis, PC-relative prefixed
 * instructions), what must be refused (load-and-reserve and store-conditional, system
 * calls, traps, the second word of a prefixed instruction), and that a probed program
 * computes what it computes unprobed, also when a PC-relative access needs a page
 * fault or gets a fault's signal.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "uprobes_helpers.h"

/* The pages ppc_load_N() and ppc_store_N() access: see ppc_pages below. */
#define PPC_PAGE_STEP	65536
#define PPC_NR_PAGES	6

#ifdef __powerpc64__
/* Each function starts with the instruction its name says; see the offsets below. */
asm(".pushsection .text\n"
	/* n times round a bdnz loop: returns n (n > 0). */
	".globl ppc_bdnz\n"
	".type ppc_bdnz, @function\n"
	"ppc_bdnz:\n"
	"	.localentry ppc_bdnz, 1\n"
	"	mtctr 3\n"
	"	li 3, 0\n"
	"1:	addi 3, 3, 1\n"		/* +8 */
	"	bdnz 1b\n"		/* +12 */
	"	blr\n"
	".size ppc_bdnz, . - ppc_bdnz\n"

	/* The position-independent code idiom: returns its own address + 8. */
	".globl ppc_bcl\n"
	".type ppc_bcl, @function\n"
	"ppc_bcl:\n"
	"	.localentry ppc_bcl, 1\n"
	"	mflr 0\n"
	"	bcl 20, 31, 1f\n"	/* +4 */
	"1:	mflr 3\n"		/* +8 */
	"	mtlr 0\n"
	"	blr\n"
	".size ppc_bcl, . - ppc_bcl\n"

	/* addpcis: returns the address of the instruction after it. */
	".globl ppc_lnia\n"
	".type ppc_lnia, @function\n"
	"ppc_lnia:\n"
	"	.localentry ppc_lnia, 1\n"
	"	lnia 3\n"		/* +0 */
	"	blr\n"
	".size ppc_lnia, . - ppc_lnia\n"

	/*
	 * A PC-relative load and address, and a plain prefixed add: returns
	 * ppc_word + 0x10000 and stores &ppc_word at *r3. Aligned so that no
	 * prefixed instruction needs padding before it.
	 */
	".p2align 6\n"
	".globl ppc_pcrel\n"
	".type ppc_pcrel, @function\n"
	"ppc_pcrel:\n"
	"	.localentry ppc_pcrel, 1\n"
	"	pld 4, ppc_word@pcrel\n"	/* +0, suffix at +4 */
	"	pla 5, ppc_word@pcrel\n"	/* +8 */
	"	std 5, 0(3)\n"
	"	paddi 3, 4, 0x10000, 0\n"	/* +20 */
	"	blr\n"
	".size ppc_pcrel, . - ppc_pcrel\n"

	/* Atomically adds r4 to *r3; returns the new value. */
	".globl ppc_atomic_add\n"
	".type ppc_atomic_add, @function\n"
	"ppc_atomic_add:\n"
	"	.localentry ppc_atomic_add, 1\n"
	"1:	ldarx 9, 0, 3\n"	/* +0 */
	"	add 9, 9, 4\n"
	"	stdcx. 9, 0, 3\n"	/* +8 */
	"	bne- 1b\n"
	"	mr 3, 9\n"
	"	blr\n"
	".size ppc_atomic_add, . - ppc_atomic_add\n"

	/* Never called: a system call and a trap that never fires. */
	".globl ppc_never\n"
	".type ppc_never, @function\n"
	"ppc_never:\n"
	"	.localentry ppc_never, 1\n"
	"	sc\n"			/* +0 */
	"	tdi 0, 3, 0\n"		/* +4 */
	"	blr\n"
	".size ppc_never, . - ppc_never\n"
	".popsection\n"
	".pushsection .data\n"
	".balign 8\n"
	".globl ppc_word\n"
	"ppc_word: .quad 0x1234\n"
	".popsection\n");

/*
 * PC-relative pld and pstd of a doubleword in page N of ppc_pages: page-sized steps of
 * 64 KiB, so that each word has a page of its own with 4 KiB and 64 KiB pages alike.
 * ppc_load_N() returns the word; ppc_store_N(v) stores v there.
 */
#define PPC_LDST(n)							\
	".p2align 6\n"							\
	".globl ppc_load_" #n "\n"					\
	".type ppc_load_" #n ", @function\n"				\
	"ppc_load_" #n ":\n"						\
	"	.localentry ppc_load_" #n ", 1\n"			\
	"	pld 3, ppc_pages + " #n " * 65536@pcrel\n"		\
	"	blr\n"							\
	".size ppc_load_" #n ", . - ppc_load_" #n "\n"			\
	".p2align 6\n"							\
	".globl ppc_store_" #n "\n"					\
	".type ppc_store_" #n ", @function\n"				\
	"ppc_store_" #n ":\n"						\
	"	.localentry ppc_store_" #n ", 1\n"			\
	"	pstd 3, ppc_pages + " #n " * 65536@pcrel\n"		\
	"	blr\n"							\
	".size ppc_store_" #n ", . - ppc_store_" #n "\n"

asm(".pushsection .text\n"
	PPC_LDST(0) PPC_LDST(1) PPC_LDST(2) PPC_LDST(3) PPC_LDST(4) PPC_LDST(5)
	".popsection\n"
	".pushsection .bss\n"
	".balign 65536\n"
	".globl ppc_pages\n"
	"ppc_pages: .space 6 * 65536\n"
	".popsection\n");
#endif

long ppc_bdnz(long n);
uintptr_t ppc_bcl(void);
uintptr_t ppc_lnia(void);
long ppc_pcrel(uintptr_t *where);
extern long ppc_word;
long ppc_atomic_add(long *p, long v);
void ppc_never(void);
extern char ppc_pages[];
long ppc_load_0(void);
long ppc_load_1(void);
long ppc_load_2(void);
long ppc_load_3(void);
long ppc_load_4(void);
long ppc_load_5(void);
void ppc_store_0(long v);
void ppc_store_1(long v);
void ppc_store_2(long v);
void ppc_store_3(long v);
void ppc_store_4(long v);
void ppc_store_5(long v);

FIXTURE(ppc) {
	const char *exe;
};

FIXTURE_SETUP(ppc)
{
#ifndef __powerpc64__
	SKIP(return, "powerpc64 instructions");
#endif
	UPROBES_FIXTURE_START();
	self->exe = self_path();
	ASSERT_NE(NULL, self->exe);
}

FIXTURE_TEARDOWN_PARENT(ppc)
{
	EXPECT_EQ(0, probe_remove_all());
}

/* Probe @sym + @off as @event and enable it: 0, or the error of the refusal. */
static int probe_at(const char *exe, const char *event, const char *sym, long off)
{
	long base = elf_sym_offset(exe, sym);
	int err;

	if (base < 0)
		return base;
	err = probe_add("p:%s/%s %s:0x%lx", PROBE_GROUP, event, exe, base + off);
	return err ? err : probe_enable(event, true);
}

/*
 * Probes on the branches and on what reads the instruction's own address: each is
 * emulated at its real address, and the results are those of the unprobed code.
 */
TEST_F(ppc, position_dependent_instructions)
{
	uintptr_t bcl = ppc_bcl(), lnia = ppc_lnia(), where = 0;

	ASSERT_EQ((uintptr_t)ppc_bcl + 8, bcl);
	ASSERT_EQ((uintptr_t)ppc_lnia + 4, lnia);	/* the next instruction's address */
	ASSERT_EQ(0x11234, ppc_pcrel(&where));
	ASSERT_EQ((uintptr_t)&ppc_word, where);

	ASSERT_EQ(0, probe_at(self->exe, "addi", "ppc_bdnz", 8));
	ASSERT_EQ(0, probe_at(self->exe, "bdnz", "ppc_bdnz", 12));
	ASSERT_EQ(0, probe_at(self->exe, "bcl", "ppc_bcl", 4));
	ASSERT_EQ(0, probe_at(self->exe, "mflr", "ppc_bcl", 8));
	ASSERT_EQ(0, probe_at(self->exe, "lnia", "ppc_lnia", 0));
	ASSERT_EQ(0, probe_at(self->exe, "pld", "ppc_pcrel", 0));
	ASSERT_EQ(0, probe_at(self->exe, "pla", "ppc_pcrel", 8));
	ASSERT_EQ(0, probe_at(self->exe, "paddi", "ppc_pcrel", 20));

	EXPECT_EQ(25, ppc_bdnz(25));
	EXPECT_EQ(bcl, ppc_bcl());
	EXPECT_EQ(lnia, ppc_lnia());
	where = 0;
	EXPECT_EQ(0x11234, ppc_pcrel(&where));
	EXPECT_EQ((uintptr_t)&ppc_word, where);
	ASSERT_EQ(0, probe_enable(NULL, false));

	EXPECT_EQ(25, probe_hits("addi"));
	EXPECT_EQ(25, probe_hits("bdnz"));
	EXPECT_EQ(1, probe_hits("bcl"));
	EXPECT_EQ(1, probe_hits("mflr"));
	EXPECT_EQ(1, probe_hits("lnia"));
	EXPECT_EQ(1, probe_hits("pld"));
	EXPECT_EQ(1, probe_hits("pla"));
	EXPECT_EQ(1, probe_hits("paddi"));
}

/*
 * Refused: a load-and-reserve and a store-conditional (the trap would always cancel
 * the reservation), a system call (no trace interrupt after it), a trap, and the
 * suffix word of a prefixed instruction. The code around them still runs.
 */
TEST_F(ppc, refused_instructions)
{
	uintptr_t where;
	long counter = 40;

	EXPECT_NE(0, probe_at(self->exe, "ldarx", "ppc_atomic_add", 0));
	EXPECT_NE(0, probe_at(self->exe, "stdcx", "ppc_atomic_add", 8));
	EXPECT_NE(0, probe_at(self->exe, "sc", "ppc_never", 0));
	EXPECT_NE(0, probe_at(self->exe, "tdi", "ppc_never", 4));
	EXPECT_NE(0, probe_at(self->exe, "suffix", "ppc_pcrel", 4));
	/* The instruction after a suffix starts an instruction of its own. */
	ASSERT_EQ(0, probe_at(self->exe, "after", "ppc_pcrel", 8));
	EXPECT_EQ(42, ppc_atomic_add(&counter, 2));
	EXPECT_EQ(0x11234, ppc_pcrel(&where));
	ASSERT_EQ(0, probe_enable(NULL, false));
	EXPECT_EQ(1, probe_hits("after"));
}

/*
 * The suffix of a prefixed instruction whose prefix carries a probe: in the process the
 * prefix is then a trap, yet the suffix must still be refused, or removing the first
 * probe would leave a trap as the second word of the instruction. The prefix's probe
 * still counts every call, and the instruction still loads the same word.
 */
TEST_F(ppc, suffix_behind_probed_prefix)
{
	uintptr_t where = 0;
	int i;

	ASSERT_EQ(0, probe_at(self->exe, "pld", "ppc_pcrel", 0));
	EXPECT_NE(0, probe_at(self->exe, "suffix", "ppc_pcrel", 4));
	for (i = 0; i < 3; i++) {
		EXPECT_EQ(0x11234, ppc_pcrel(&where));
	}
	ASSERT_EQ(0, probe_enable("pld", false));
	EXPECT_EQ(3, probe_hits("pld"));
	ASSERT_EQ(0, probe_del("pld"));
	EXPECT_EQ(0x11234, ppc_pcrel(&where));
	EXPECT_EQ((uintptr_t)&ppc_word, where);
	ASSERT_EQ(0, probe_enable(NULL, false));
}

#ifdef __powerpc64__	/* elsewhere the fixture skips, and these functions do not exist */

/* The word of page @n that ppc_load_N() and ppc_store_N() access. */
static long *ppc_page_word(int n)
{
	return (long *)(ppc_pages + (long)n * PPC_PAGE_STEP);
}

/* Probe both accesses of page @n: events ld<n> and st<n>. */
static int probe_ldst(const char *exe, int n)
{
	char event[8], sym[16];
	int err;

	snprintf(event, sizeof(event), "ld%d", n);
	snprintf(sym, sizeof(sym), "ppc_load_%d", n);
	err = probe_at(exe, event, sym, 0);
	if (err)
		return err;
	snprintf(event, sizeof(event), "st%d", n);
	snprintf(sym, sizeof(sym), "ppc_store_%d", n);
	return probe_at(exe, event, sym, 0);
}

/*
 * Probed pld and pstd whose pages need a fault: never touched (nothing mapped there
 * yet), and copy-on-write in a forked child and in its parent afterwards. Each access
 * must do what it does unprobed, and each hit count once.
 */
TEST_F(ppc, pcrel_access_faults_in)
{
	pid_t pid;

	*ppc_page_word(2) = 7;	/* page 2 present in the parent before the fork */
	ASSERT_EQ(0, probe_ldst(self->exe, 0));
	ASSERT_EQ(0, probe_ldst(self->exe, 1));
	ASSERT_EQ(0, probe_ldst(self->exe, 2));

	/* (a) never touched: the load reads the zero page's zero, the store lands. */
	EXPECT_EQ(0, ppc_load_0());
	ppc_store_1(0x55);
	EXPECT_EQ(0x55, *ppc_page_word(1));

	/* (b) copy-on-write: the child's store breaks the sharing, the parent keeps 7. */
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		if (ppc_load_2() != 7)
			_exit(1);
		ppc_store_2(8);
		if (*ppc_page_word(2) != 8 || ppc_load_2() != 8)
			_exit(2);
		_exit(0);
	}
	EXPECT_EQ(0, wait_exit(pid));
	EXPECT_EQ(7, *ppc_page_word(2));
	ppc_store_2(9);		/* the parent's copy was write-protected by the fork */
	EXPECT_EQ(9, *ppc_page_word(2));
	EXPECT_EQ(9, ppc_load_2());
	ASSERT_EQ(0, probe_enable(NULL, false));

	EXPECT_EQ(1, probe_hits("ld0"));
	EXPECT_EQ(1, probe_hits("st1"));
	EXPECT_EQ(3, probe_hits("ld2"));	/* child twice, parent once */
	EXPECT_EQ(2, probe_hits("st2"));
}

/* ppc_load_N() and ppc_store_N() by N (calls, not a table: elsewhere they are only named). */
static long ppc_load(int n)
{
	switch (n) {
	case 0: return ppc_load_0();
	case 1: return ppc_load_1();
	case 2: return ppc_load_2();
	case 3: return ppc_load_3();
	case 4: return ppc_load_4();
	default: return ppc_load_5();
	}
}

static void ppc_store(int n, long v)
{
	switch (n) {
	case 0:
		ppc_store_0(v);
		break;
	case 1:
		ppc_store_1(v);
		break;
	case 2:
		ppc_store_2(v);
		break;
	case 3:
		ppc_store_3(v);
		break;
	case 4:
		ppc_store_4(v);
		break;
	default:
		ppc_store_5(v);
		break;
	}
}

/* What a faulting access showed its signal handler. */
struct fault_seen {
	int signo, code;
	void *addr;
};

static struct fault_seen *fault_seen;

static void record_fault(int sig, siginfo_t *si, void *uc)
{
	fault_seen->signo = si->si_signo;
	fault_seen->code = si->si_code;
	fault_seen->addr = si->si_addr;
	_exit(0);
}

/*
 * Run access @n (a store if @store) in a child with SIGSEGV and SIGBUS caught: what
 * its handler saw into *@seen. Return: the child's wait_exit(), 0 when the handler ran.
 */
static int fault_of(int n, bool store, struct fault_seen *seen)
{
	pid_t pid;
	int status;

	fault_seen = mmap(NULL, sizeof(*fault_seen), PROT_READ | PROT_WRITE,
			  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (fault_seen == MAP_FAILED)
		return -1;
	memset(fault_seen, 0, sizeof(*fault_seen));
	pid = fork();
	if (pid == 0) {
		struct sigaction sa = { .sa_sigaction = record_fault, .sa_flags = SA_SIGINFO };

		sigaction(SIGSEGV, &sa, NULL);
		sigaction(SIGBUS, &sa, NULL);
		if (store)
			ppc_store(n, 1);
		else
			ppc_load(n);
		_exit(3);	/* no fault */
	}
	status = pid < 0 ? -1 : wait_exit(pid);
	*seen = *fault_seen;
	munmap(fault_seen, sizeof(*fault_seen));
	return status;
}

/*
 * Probed pld and pstd whose access is bad must get the native signal: SIGSEGV with
 * SEGV_ACCERR on a PROT_NONE page and SEGV_MAPERR where nothing is mapped, SIGBUS
 * with BUS_ADRERR past the end of a mapped file; si_addr the accessed word each time.
 * Each case, a page and an access, is a variant: it runs unprobed first, and the
 * probed run must see the same.
 */
FIXTURE(ppc_fault) {
	const char *exe;
};

FIXTURE_VARIANT(ppc_fault) {
	int page, signo, code;
	bool store;
};

FIXTURE_VARIANT_ADD(ppc_fault, prot_none_pld) {
	.page = 3, .signo = SIGSEGV, .code = SEGV_ACCERR,
};
FIXTURE_VARIANT_ADD(ppc_fault, prot_none_pstd) {
	.page = 3, .signo = SIGSEGV, .code = SEGV_ACCERR, .store = true,
};
FIXTURE_VARIANT_ADD(ppc_fault, unmapped_pld) {
	.page = 4, .signo = SIGSEGV, .code = SEGV_MAPERR,
};
FIXTURE_VARIANT_ADD(ppc_fault, unmapped_pstd) {
	.page = 4, .signo = SIGSEGV, .code = SEGV_MAPERR, .store = true,
};
FIXTURE_VARIANT_ADD(ppc_fault, past_eof_pld) {
	.page = 5, .signo = SIGBUS, .code = BUS_ADRERR,
};
FIXTURE_VARIANT_ADD(ppc_fault, past_eof_pstd) {
	.page = 5, .signo = SIGBUS, .code = BUS_ADRERR, .store = true,
};

FIXTURE_SETUP(ppc_fault)
{
	UPROBES_FIXTURE_START();
	self->exe = self_path();
	ASSERT_NE(NULL, self->exe);
}

FIXTURE_TEARDOWN_PARENT(ppc_fault)
{
	EXPECT_EQ(0, probe_remove_all());
}

TEST_F(ppc_fault, pcrel_access_fault_signals)
{
	long page = sysconf(_SC_PAGESIZE);
	char path[] = "/tmp/uprobes_ppc_XXXXXX";
	struct fault_seen native, probed;
	bool store = variant->store;
	int n = variant->page, fd;
	char event[8];

	ASSERT_GE(PPC_PAGE_STEP, page);
	ASSERT_EQ(0, mprotect(ppc_page_word(3), page, PROT_NONE));
	ASSERT_EQ(0, munmap(ppc_page_word(4), page));
	/* A shared file mapping over page 5, its file then cut to nothing. */
	fd = mkstemp(path);
	ASSERT_LE(0, fd);
	unlink(path);
	ASSERT_EQ(0, ftruncate(fd, page));
	ASSERT_EQ((void *)ppc_page_word(5), mmap(ppc_page_word(5), page,
						 PROT_READ | PROT_WRITE,
						 MAP_SHARED | MAP_FIXED, fd, 0));
	ASSERT_EQ(0, ftruncate(fd, 0));
	close(fd);

	ASSERT_EQ(0, fault_of(n, store, &native));
	EXPECT_EQ(variant->signo, native.signo);
	EXPECT_EQ(variant->code, native.code);
	EXPECT_EQ((void *)ppc_page_word(n), native.addr);

	ASSERT_EQ(0, probe_ldst(self->exe, n));
	EXPECT_EQ(0, fault_of(n, store, &probed));
	EXPECT_EQ(native.signo, probed.signo);
	EXPECT_EQ(native.code, probed.code);
	EXPECT_EQ(native.addr, probed.addr);
	ASSERT_EQ(0, probe_enable(NULL, false));
	snprintf(event, sizeof(event), "%s%d", store ? "st" : "ld", n);
	EXPECT_EQ(1, probe_hits(event));
	TH_LOG("page %d %s: signal %d code %d at %p", n, store ? "pstd" : "pld", probed.signo,
	       probed.code, probed.addr);
}

#endif /* __powerpc64__ */

TEST_HARNESS_MAIN
