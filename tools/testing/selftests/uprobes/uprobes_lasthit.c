// SPDX-License-Identifier: GPL-2.0
/*
 * A task remembers the probes of its recent hits, so that hitting one of those sites
 * again needs no lookup. What it remembers must go stale whenever the answer could change:
 * - another file mapped at the same address (munmap then mmap, or MAP_FIXED over it);
 * - another offset of the same file mapped there;
 * - the probe deleted and a new one made at the same place.
 * A task remembers several sites; all of them must go stale so.
 * Each time, the next hits must count on the probe that is there now, and the
 * instruction run must be the one now mapped (a function of each file returns a
 * different number).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "uprobes_helpers.h"

#define FILE_A	"/tmp/uprobes_lasthit_a.bin"
#define FILE_B	"/tmp/uprobes_lasthit_b.bin"
#define CALLS	3
/* A second function in the first page, probed and never called (see probe_made_again). */
#define IDLE	0x100

/* A function returning @value, as machine code: the probe goes on its first instruction. */
static size_t make_function(unsigned char *buf, int value)
{
#if defined(__x86_64__) || defined(__i386__)
	unsigned char code[] = { 0xb8, value, 0, 0, 0,	/* mov $value,%eax */
				 0xc3 };		/* ret */
#elif defined(__powerpc64__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	unsigned char code[] = { value, 0x00, 0x60, 0x38,	/* li r3,value */
				 0x20, 0x00, 0x80, 0x4e };	/* blr */
#elif defined(__aarch64__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	unsigned char code[] = { (value << 5) & 0xff, (value >> 3) & 0xff,
				 0x80 | ((value >> 11) & 0x1f), 0x52,	/* mov w0,#value */
				 0xc0, 0x03, 0x5f, 0xd6 };		/* ret */
#else
#error "no machine code for this architecture"
#endif
	memcpy(buf, code, sizeof(code));
	return sizeof(code);
}

static long page;

/*
 * A two-page file: a function returning @first at offset 0 (and @first again at
 * IDLE), one returning @second at the second page.
 */
static int write_code_file(const char *path, int first, int second)
{
	unsigned char *buf = calloc(2, page);
	int fd, ok = 0;

	if (!buf)
		return -1;
	make_function(buf, first);
	make_function(buf + IDLE, first);
	make_function(buf + page, second);
	unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0755);
	if (fd >= 0) {
		ok = write(fd, buf, 2 * page) == 2 * page;
		close(fd);
	}
	free(buf);
	return ok ? 0 : -1;
}

/* Map one page of @path at @where (MAP_FIXED if @where), executable. */
static void *map_code(const char *path, off_t off, void *where)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	void *p;

	if (fd < 0)
		return MAP_FAILED;
	p = mmap(where, page, PROT_READ | PROT_EXEC, MAP_PRIVATE | (where ? MAP_FIXED : 0),
		 fd, off);
	close(fd);
	return p;
}

/* A function of the mapped code: each returns its own small number. */
typedef int (*code_fn)(void);

/* Call the function at @code CALLS times; its value if it gave the same each time, else -1. */
static int call_code(void *code)
{
	code_fn fn = (code_fn)code;
	int i, value = fn();

	for (i = 1; i < CALLS; i++)
		if (fn() != value)
			return -1;
	return value;
}

FIXTURE(lasthit) {
	void *code;
};

FIXTURE_SETUP(lasthit)
{
	UPROBES_FIXTURE_START();
	page = sysconf(_SC_PAGESIZE);
	ASSERT_EQ(0, write_code_file(FILE_A, 1, 2));
	ASSERT_EQ(0, write_code_file(FILE_B, 3, 4));
	ASSERT_EQ(0, probe_add("p:%s/a0 %s:0x0", PROBE_GROUP, FILE_A));
	ASSERT_EQ(0, probe_add("p:%s/a0_idle %s:0x%x", PROBE_GROUP, FILE_A, IDLE));
	ASSERT_EQ(0, probe_add("p:%s/a1 %s:0x%lx", PROBE_GROUP, FILE_A, page));
	ASSERT_EQ(0, probe_add("p:%s/b0 %s:0x0", PROBE_GROUP, FILE_B));
	ASSERT_EQ(0, probe_enable(NULL, true));
	self->code = map_code(FILE_A, 0, NULL);
	if (self->code == MAP_FAILED && errno == EPERM)
		SKIP(return, "%s cannot be mapped executable (noexec /tmp?)", FILE_A);
	ASSERT_NE(MAP_FAILED, self->code);
	/* Three hits: the first makes the task's uprobes state, the next remember. */
	ASSERT_EQ(1, call_code(self->code));
	ASSERT_EQ(CALLS, probe_hits("a0"));
}

FIXTURE_TEARDOWN(lasthit)
{
	if (self->code && self->code != MAP_FAILED)
		munmap(self->code, page);
	probe_remove_all();
	unlink(FILE_A);
	unlink(FILE_B);
}

/* munmap, then another file's page at the same address. */
TEST_F(lasthit, other_file_after_munmap)
{
	ASSERT_EQ(0, munmap(self->code, page));
	ASSERT_EQ(self->code, map_code(FILE_B, 0, self->code));
	EXPECT_EQ(3, call_code(self->code));
	EXPECT_EQ(CALLS, probe_hits("b0"));
	EXPECT_EQ(CALLS, probe_hits("a0"));
}

/* MAP_FIXED straight over the old mapping. */
TEST_F(lasthit, other_file_over_it)
{
	ASSERT_EQ(self->code, map_code(FILE_B, 0, self->code));
	EXPECT_EQ(3, call_code(self->code));
	EXPECT_EQ(CALLS, probe_hits("b0"));
	EXPECT_EQ(CALLS, probe_hits("a0"));
}

/* The same file's other page at the same address: another probe. */
TEST_F(lasthit, other_offset)
{
	ASSERT_EQ(self->code, map_code(FILE_A, page, self->code));
	EXPECT_EQ(2, call_code(self->code));
	EXPECT_EQ(CALLS, probe_hits("a1"));
	EXPECT_EQ(CALLS, probe_hits("a0"));
}

/*
 * Two sites hit in turn, as a loop over malloc and free hits them: each counts on its
 * own probe, however the two share the task's memory of recent hits. Then another
 * file at the address: both are stale, and the new file's probe (at its first
 * function only) counts.
 */
TEST_F(lasthit, sites_in_turn)
{
	code_fn first = (code_fn)self->code;
	code_fn idle = (code_fn)((char *)self->code + IDLE);
	int i, sum = 0;

	for (i = 0; i < CALLS; i++)
		sum += first() + idle();
	EXPECT_EQ(2 * CALLS, sum);
	EXPECT_EQ(2 * CALLS, probe_hits("a0"));
	EXPECT_EQ(CALLS, probe_hits("a0_idle"));

	ASSERT_EQ(self->code, map_code(FILE_B, 0, self->code));
	for (i = 0, sum = 0; i < CALLS; i++)
		sum += first() + idle();
	EXPECT_EQ(6 * CALLS, sum);
	EXPECT_EQ(CALLS, probe_hits("b0"));
	EXPECT_EQ(2 * CALLS, probe_hits("a0"));
	EXPECT_EQ(CALLS, probe_hits("a0_idle"));
}

/*
 * The probe deleted and made again at the same place: the new one counts. The page
 * stays this process's own copy (a0_idle's breakpoint is still in it), so nothing of
 * the mapping changes: only the probe's leaving the tree says the memory is stale.
 * A decoy probe made between the two is likely to take the freed probe's memory,
 * so that a stale memory would count on the decoy rather than on nothing.
 */
TEST_F(lasthit, probe_made_again)
{
	ASSERT_EQ(0, probe_enable("a0", false));
	ASSERT_EQ(0, probe_del("a0"));
	usleep(100 * 1000);	/* past the grace period that frees the old probe */
	ASSERT_EQ(0, probe_add("p:%s/decoy %s:0x%x", PROBE_GROUP, FILE_B, IDLE));
	ASSERT_EQ(0, probe_enable("decoy", true));
	ASSERT_EQ(0, probe_add("p:%s/again %s:0x0", PROBE_GROUP, FILE_A));
	ASSERT_EQ(0, probe_enable("again", true));
	EXPECT_EQ(1, call_code(self->code));
	EXPECT_EQ(CALLS, probe_hits("again"));
	EXPECT_EQ(0, probe_hits("decoy"));
	EXPECT_EQ(0, probe_hits("a0_idle"));
}

TEST_HARNESS_MAIN
