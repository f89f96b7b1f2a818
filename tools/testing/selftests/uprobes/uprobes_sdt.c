// SPDX-License-Identifier: GPL-2.0
/*
 * SDT probes with a semaphore (sys/sdt.h): a probe made with a reference counter
 * offset, "p:GRP/EV /path:0xPC(0xSEMA)", raises the program's semaphore while it is
 * enabled, in processes already running and in those started later, and drops it back
 * to zero when the last such probe goes. Programs test the semaphore to skip the cost
 * of preparing probe arguments, so a semaphore left at zero hides the probe from them.
 */
#define _GNU_SOURCE
#define _SDT_HAS_SEMAPHORES 1
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/sdt.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "uprobes_helpers.h"

#define NR_TICKS	20

/* The semaphore of probe uprobes_test:tick, in .probes as sys/sdt.h expects. */
volatile unsigned short uprobes_test_tick_semaphore __attribute__((section(".probes")));
static long fired;

/* What an instrumented program does: pay for the probe only when someone listens. */
PROBED void sdt_tick(long x)
{
	if (uprobes_test_tick_semaphore) {
		fired++;
		DTRACE_PROBE1(uprobes_test, tick, x);
	}
}

static void ticks(long n)
{
	long i;

	for (i = 0; i < n; i++)
		sdt_tick(i);
}

/*
 * "--child early RFD WFD": for each byte read, fire NR_TICKS ticks and answer the
 * semaphore's value; exit at end of file.
 * "--child late": fire NR_TICKS ticks; exit 0 when the semaphore was set and all fired.
 */
static int child_main(int argc, char **argv)
{
	unsigned short sema;
	int rfd, wfd;
	char c;

	if (!strcmp(argv[0], "late")) {
		if (!uprobes_test_tick_semaphore)
			return 2;
		ticks(NR_TICKS);
		return fired == NR_TICKS ? 0 : 1;
	}
	if (strcmp(argv[0], "early") || argc != 3)
		return 3;
	rfd = atoi(argv[1]);
	wfd = atoi(argv[2]);
	while (read(rfd, &c, 1) == 1) {
		ticks(NR_TICKS);
		sema = uprobes_test_tick_semaphore;
		if (write(wfd, &sema, sizeof(sema)) != sizeof(sema))
			return 4;
	}
	return 0;
}

FIXTURE(sdt) {
	const char *exe;
	long pc_off;
	long sema_off;
	int to_child[2];
	int to_parent[2];
	pid_t early;
};

FIXTURE_SETUP(sdt)
{
	UPROBES_FIXTURE_START();
	self->exe = self_path();
	ASSERT_NE(NULL, self->exe);
	ASSERT_EQ(0, elf_sdt_note(self->exe, "uprobes_test", "tick", &self->pc_off,
				  &self->sema_off));
	ASSERT_LT(0, self->pc_off);
	ASSERT_LT(0, self->sema_off);
}

FIXTURE_TEARDOWN_PARENT(sdt)
{
	EXPECT_EQ(0, probe_remove_all());
}

/* The semaphore of the early child after it fired NR_TICKS ticks, or -1. */
static int ask_child(FIXTURE_DATA(sdt) *self)
{
	unsigned short sema;
	char c = 'q';

	if (write(self->to_child[1], &c, 1) != 1 ||
	    read(self->to_parent[0], &sema, sizeof(sema)) != sizeof(sema))
		return -1;
	return sema;
}

static int add_sdt_probe(FIXTURE_DATA(sdt) *self, const char *event)
{
	return probe_add("p:%s/%s %s:0x%lx(0x%lx)", PROBE_GROUP, event, self->exe,
			 self->pc_off, self->sema_off);
}

/*
 * The semaphore is zero without a probe, set while one is enabled (here, in a process
 * started before, in one started after), still set while a second probe on the same
 * site remains, and zero again when the last goes; the probe counts every fired tick.
 */
TEST_F(sdt, semaphore_follows_probe)
{
	char sr[12], sw[12];
	pid_t late;

	/* Only the child's ends survive its exec: it sees end of file when we close. */
	ASSERT_EQ(0, pipe(self->to_child));
	ASSERT_EQ(0, pipe(self->to_parent));
	ASSERT_EQ(0, fcntl(self->to_child[1], F_SETFD, FD_CLOEXEC));
	ASSERT_EQ(0, fcntl(self->to_parent[0], F_SETFD, FD_CLOEXEC));
	snprintf(sr, sizeof(sr), "%d", self->to_child[0]);
	snprintf(sw, sizeof(sw), "%d", self->to_parent[1]);
	self->early = spawn_self((char *[]){ "", "--child", "early", sr, sw, NULL });
	ASSERT_LT(0, self->early);

	/* Nobody listens yet: the program skips its probe. */
	EXPECT_EQ(0, uprobes_test_tick_semaphore);
	EXPECT_EQ(0, ask_child(self));
	ticks(NR_TICKS);
	EXPECT_EQ(0, fired);

	/* A defined but disabled event has no consumer: still nobody listens. */
	ASSERT_EQ(0, add_sdt_probe(self, "tick"));
	EXPECT_EQ(0, uprobes_test_tick_semaphore);

	ASSERT_EQ(0, probe_enable("tick", true));
	EXPECT_NE(0, uprobes_test_tick_semaphore);
	EXPECT_LT(0, ask_child(self));
	ticks(NR_TICKS);
	EXPECT_EQ(NR_TICKS, fired);
	late = spawn_self((char *[]){ "", "--child", "late", NULL });
	ASSERT_LT(0, late);
	EXPECT_EQ(0, wait_exit(late));
	EXPECT_EQ(3 * NR_TICKS, probe_hits("tick"));

	/* Two probes on one site: removing one keeps the semaphore up. */
	ASSERT_EQ(0, add_sdt_probe(self, "tick2"));
	ASSERT_EQ(0, probe_enable("tick2", true));
	ASSERT_EQ(0, probe_enable("tick", false));
	ASSERT_EQ(0, probe_del("tick"));
	EXPECT_NE(0, uprobes_test_tick_semaphore);
	EXPECT_LT(0, ask_child(self));
	ticks(NR_TICKS);
	EXPECT_EQ(2 * NR_TICKS, fired);
	EXPECT_EQ(2 * NR_TICKS, probe_hits("tick2"));

	/* The last one gone: zero everywhere, and the program skips its probe again. */
	ASSERT_EQ(0, probe_enable("tick2", false));
	ASSERT_EQ(0, probe_del("tick2"));
	EXPECT_EQ(0, uprobes_test_tick_semaphore);
	EXPECT_EQ(0, ask_child(self));
	ticks(NR_TICKS);
	EXPECT_EQ(2 * NR_TICKS, fired);
	late = spawn_self((char *[]){ "", "--child", "late", NULL });
	ASSERT_LT(0, late);
	EXPECT_EQ(2, wait_exit(late));

	close(self->to_child[1]);
	EXPECT_EQ(0, wait_exit(self->early));
}

#define SDT_COPY	"/tmp/uprobes_sdt.copy"

/*
 * A process maps a copy of the binary's text but not its data: the probe's
 * semaphore increment waits for the data mapping. The text goes, then the probe;
 * when the data is mapped at last, nobody listens any more, so the semaphore the
 * process finds there is the file's zero.
 */
TEST_F(sdt, pending_increment_dies_with_probe)
{
	long page = sysconf(_SC_PAGESIZE);
	long text_off = self->pc_off & ~(page - 1), data_off = self->sema_off & ~(page - 1);
	unsigned char *text, *data, orig;
	int fd;

	ASSERT_EQ(0, copy_file(self->exe, SDT_COPY, 0755));
	fd = open(SDT_COPY, O_RDONLY | O_CLOEXEC);
	ASSERT_LE(0, fd);
	text = mmap(NULL, page, PROT_READ | PROT_EXEC, MAP_PRIVATE, fd, text_off);
	ASSERT_NE(MAP_FAILED, text);
	ASSERT_EQ(0, probe_add("p:%s/pending %s:0x%lx(0x%lx)", PROBE_GROUP, SDT_COPY,
			       self->pc_off, self->sema_off));
	ASSERT_EQ(0, probe_enable("pending", true));
	/* The breakpoint is in: the semaphore's increment is what waits. */
	ASSERT_EQ(1, pread(fd, &orig, 1, self->pc_off));
	ASSERT_NE(orig, text[self->pc_off - text_off]);
	ASSERT_EQ(0, munmap(text, page));
	/* Another probe keeps the tree of probes from being empty meanwhile. */
	ASSERT_EQ(0, probe_add("p:%s/keeper %s:0x%lx", PROBE_GROUP, self->exe, self->pc_off));
	ASSERT_EQ(0, probe_enable("keeper", true));
	ASSERT_EQ(0, probe_enable("pending", false));
	ASSERT_EQ(0, probe_del("pending"));

	data = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, data_off);
	ASSERT_NE(MAP_FAILED, data);
	EXPECT_EQ(0, *(unsigned short *)(data + (self->sema_off - data_off))) {
		TH_LOG("a removed probe's semaphore was raised in a later data mapping");
	}
	munmap(data, page);
	close(fd);
	unlink(SDT_COPY);
}

int main(int argc, char **argv)
{
	if (argc > 2 && !strcmp(argv[1], "--child"))
		return child_main(argc - 2, argv + 2);
	return test_harness_run(argc, argv);
}
