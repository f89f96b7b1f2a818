// SPDX-License-Identifier: GPL-2.0
/*
 * Fuzzing of every way user space reaches the uprobes front end: generated and mutated
 * probe lines written to uprobe_events and dynamic_events, and perf_event_open() of the
 * uprobe PMU with random attributes. How much comes from UPROBES_STRESS_SECONDS, the
 * duration that uprobes_stress reads too (default STRESS_DEFAULT_SECONDS, 4; `make
 * stress` sets more): FUZZ_LINES_PER_SECOND (1000) lines per second of it are written,
 * a tenth as many PMU opens are tried, from the seed UPROBES_FUZZ_SEED (default
 * DEFAULT_SEED, so that runs repeat), printed first with what replays the run.
 *
 * The lines follow the grammar of uprobe_events (valid prefixes, names, paths, offsets,
 * reference counters and fetch arguments of every kind) with bad values in every
 * place: huge and negative numbers, nested dereferences, long strings, odd types. A
 * third of them are then mutated byte by byte. What must hold: the kernel does not
 * crash or warn (the taint flags do not change), every line the uprobe parser takes up
 * and refuses leaves an entry in error_log, and afterwards every event listed can be
 * enabled (or is refused only for an offset past the end of its file or, where
 * instructions are words, between two words) and removed.
 *
 * Probes are only ever enabled on scratch files nothing runs, in a tmpfs and in the
 * test's own directory (9p in the test guest).
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <linux/perf_event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "uprobes_helpers.h"

#define DEFAULT_SEED	20261122
#define FUZZ_GROUP	"uprobes_fuzz"
#define TMP_DIR		"/tmp/uprobes_fuzz"
/* The kernel's limits the generator aims at (kernel/trace/trace_probe.h, trace.c). */
#define MAX_ARGS	128
#define LINE_MAX_LEN	4094
#define SWEEP_EVERY	500
/*
 * The alignment the kernel asks of a probe's offset (UPROBE_SWBP_INSN_SIZE): none on
 * x86, whose instructions start at any byte; a word where every instruction is one or
 * two words, as on powerpc, so an offset between two words is refused at enable.
 */
#if defined(__x86_64__) || defined(__i386__)
#define INSN_ALIGN	1ULL
#else
#define INSN_ALIGN	4ULL
#endif

static unsigned long long rng;

/* splitmix64: one seed replays the whole run. */
static unsigned long long rnd64(void)
{
	unsigned long long z = (rng += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static unsigned int rnd(unsigned int n)
{
	return n ? rnd64() % n : 0;
}

#define PICK(arr)	((arr)[rnd(ARRAY_SIZE(arr))])

/* Scratch files: what the lines and the PMU name. Enabled probes land only here. */
static char scratch_exe[PATH_MAX], scratch_9p[PATH_MAX], scratch_data[PATH_MAX],
	    scratch_empty[PATH_MAX], scratch_link[PATH_MAX], scratch_fifo[PATH_MAX],
	    scratch_noperm[PATH_MAX];
static off_t exe_size;

static bool is_scratch(const char *path)
{
	return !strncmp(path, TMP_DIR "/", strlen(TMP_DIR) + 1) || !strcmp(path, scratch_9p);
}

static const char *gen_path(void)
{
	static char long_path[PATH_MAX + 64];
	static const char *const others[] = {
		"/", "/tmp", TMP_DIR, "/dev/null", "/dev/zero", "/proc/self/fd/0",
		TMP_DIR "/missing", "/nonexistent/dir/file", "relative/path", "./x", "/./",
		TMP_DIR "/exe/", TMP_DIR "//exe", TMP_DIR "/exe:1", "/dev/", "/sys/kernel",
	};
	int len;

	switch (rnd(12)) {
	case 0 ... 4:
		return scratch_exe;
	case 5:
		return scratch_9p;
	case 6:
		return rnd(2) ? scratch_data : scratch_empty;
	case 7:
		return rnd(3) ? scratch_link : rnd(2) ? scratch_fifo : scratch_noperm;
	case 8:
		/* Longer than a fetch argument, a line, or PATH_MAX. */
		len = PICK(((int[]){ 64, 255, 256, 4000, PATH_MAX + 10 }));
		memset(long_path, 'a', len);
		long_path[0] = '/';
		long_path[len] = '\0';
		return long_path;
	default:
		return PICK(others);
	}
}

static void gen_number(char *buf, size_t len)
{
	static const char *const odd[] = {
		"0", "1", "-1", "0x", "0x0", "1a", "0b101", "010", "08", "+1", " ", "",
		"0xffffffffffffffff", "0x10000000000000000", "18446744073709551616",
		"99999999999999999999999", "-0x1", "0X1F", "1e3", "0x1g", "4294967296",
	};

	switch (rnd(6)) {
	case 0:
		snprintf(buf, len, "%s", PICK(odd));
		break;
	case 1:
		snprintf(buf, len, "0x%llx", rnd64() >> rnd(64));
		break;
	case 2:
		/* Around the end of the file. */
		snprintf(buf, len, "%lld", (long long)exe_size + (int)rnd(5) - 2);
		break;
	default:
		snprintf(buf, len, rnd(2) ? "0x%x" : "%u", rnd(exe_size ?: 4096));
	}
}

static const char *gen_type(void)
{
	static const char *const types[] = {
		"u8", "u16", "u32", "u64", "s8", "s16", "s32", "s64", "x8", "x16", "x32",
		"x64", "string", "ustring", "symbol", "symstr", "char", "b4@2/32", "b0@0/8",
		"b65@0/64", "b8@60/64", "b1@0/8", "u32[4]", "u8[0]", "u8[64]", "u8[65]",
		"string[2]", "u64[99999]", "x128", "foo", "", "u", "s", "b@/", "u32[",
		"u32]", "char[3]", "symstr[1]", "%return",
	};

	return PICK(types);
}

/* One fetch argument, dereferences nested up to @depth deep. */
static int gen_fetch(char *buf, size_t len, int depth)
{
	static const char *const regs[] = {
		"%di", "%si", "%ax", "%r15", "%ip", "%sp", "%bp", "%rax", "%bad", "%",
		"%r3", "%flags", "%cs",
	};
	static const char *const vars[] = {
		"$stack", "$stack0", "$stack1", "$stack9999", "$stackX", "$retval", "$comm",
		"$COMM", "$arg1", "$arg0", "$foo", "$", "$$", "$stack-1",
	};
	char inner[512], num[32];

	switch (rnd(depth > 0 ? 9 : 7)) {
	case 0:
	case 1:
		return snprintf(buf, len, "%s", PICK(regs));
	case 2:
		return snprintf(buf, len, "%s", PICK(vars));
	case 3:
		gen_number(num, sizeof(num));
		return snprintf(buf, len, "@%s%s", PICK(((const char *[]){ "", "+", "-" })),
				num);
	case 4:
		/* An immediate: number or string, closed or not. */
		return snprintf(buf, len, "%s", PICK(((const char *[]){
			"\\1", "\\0x10", "\\-5", "\\\"str\"", "\\\"unclosed", "\\'x'", "\\",
			"\\\"a b\"", "\\99999999999999999999" })));
	case 5:
		return snprintf(buf, len, "@symbol");
	case 6:
		return snprintf(buf, len, "%s", PICK(((const char *[]){
			"+0(", "+0()", "+(%di)", "0(%di)", "+0x10(%di", "+-8(%sp)", "--8(%sp)",
			"+0(%di))" })));
	default:
		gen_fetch(inner, sizeof(inner), depth - 1);
		gen_number(num, sizeof(num));
		return snprintf(buf, len, "%c%s(%s)", rnd(2) ? '+' : '-', num, inner);
	}
}

static void gen_arg(char *buf, size_t len)
{
	static const char *const names[] = {
		"a", "arg", "x1", "_x", "1x", "a-b", "a.b", "common_pid", "__probe_ip", "a",
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
		"", "=", "$x",
	};
	char fetch[600];
	int n = 0;

	gen_fetch(fetch, sizeof(fetch), rnd(6));
	if (rnd(2))
		n = snprintf(buf, len, "%s=", PICK(names));
	n += snprintf(buf + n, len - n, "%s", fetch);
	if (rnd(3))
		snprintf(buf + n, len - n, ":%s", gen_type());
}

static void gen_name(char *buf, size_t len)
{
	static const char *const names[] = {
		"ev", "ev2", "e_1", "1ev", "e-v", "e.v", "", "/", "e/", "/e", "a/b/c",
		"verylongeventnamethatgoesonandonandonandonandonandonandonandonandonx",
	};
	static const char *const groups[] = {
		FUZZ_GROUP, FUZZ_GROUP, FUZZ_GROUP "2", "1grp", "g-rp", "",
	};

	switch (rnd(5)) {
	case 0:
		buf[0] = '\0';
		break;
	case 1:
		snprintf(buf, len, ":%s", PICK(names));
		break;
	case 2:
		snprintf(buf, len, ":%s.%s", PICK(groups), PICK(names));
		break;
	default:
		snprintf(buf, len, ":%s/%s%u", PICK(groups), PICK(names), rnd(40));
	}
}

/* One line by the grammar, with bad values anywhere. */
static void gen_line(char *buf, size_t len)
{
	static const char *const kinds[] = { "p", "r", "p", "r", "x", "P", "pp", "-", "" };
	static const char *const suffixes[] = {
		"", "", "", "%return", "%ret", "%return%return", "(0x10)", "(", "()",
		"(0x10", "(0x10)x", "(-1)", "(0xffffffffffffffff)",
	};
	char name[128], num[64], arg[700];
	int n, nargs, i;

	if (!rnd(20)) {
		/* A removal, of something that may or may not be there. */
		gen_name(name, sizeof(name));
		snprintf(buf, len, "-%s", name[0] ? name : ":");
		return;
	}
	gen_name(name, sizeof(name));
	gen_number(num, sizeof(num));
	n = snprintf(buf, len, "%s%s %s:%s%s", PICK(kinds), name, gen_path(), num,
		     PICK(suffixes));
	nargs = rnd(8) ? rnd(5) : rnd(2 * MAX_ARGS);
	for (i = 0; i < nargs && n < (int)len - 1; i++) {
		gen_arg(arg, sizeof(arg));
		n += snprintf(buf + n, len - n, " %s", arg);
	}
}

/* Mutate @buf in place: bytes deleted, inserted, swapped, words repeated, a cut. */
static void mutate(char *buf, size_t len)
{
	static const char chars[] = " \t:/%$@+-()[]=.\\\"'0123456789abcxyz_#,{}";
	size_t l = strlen(buf), pos;
	int ops = 1 + rnd(4);

	while (ops-- && l) {
		pos = rnd(l);
		switch (rnd(5)) {
		case 0:
			memmove(buf + pos, buf + pos + 1, l - pos);
			l--;
			break;
		case 1:
			if (l + 1 < len) {
				memmove(buf + pos + 1, buf + pos, l - pos + 1);
				buf[pos] = chars[rnd(sizeof(chars) - 1)];
				l++;
			}
			break;
		case 2:
			buf[pos] = chars[rnd(sizeof(chars) - 1)];
			break;
		case 3:
			/* Repeat the tail from here: duplicate words and arguments. */
			if (2 * l - pos < len) {
				memcpy(buf + l, buf + pos, l - pos);
				l += l - pos;
				buf[l] = '\0';
			}
			break;
		default:
			buf[pos] = '\0';
			l = pos;
		}
	}
}

/*
 * Does the uprobe parser take this line up, rather than pass it on as not its own
 * (another letter, no '/' in the path, no digit after the last ':', too many words,
 * a removal)? The same test as the parser's, on the words after comment stripping.
 */
static bool uprobe_line(const char *line)
{
	char copy[LINE_MAX_LEN + 2], *words[MAX_ARGS + 4], *p, *save, *colon;
	int argc = 0;

	if (strlen(line) >= sizeof(copy) - 64)
		return false;
	snprintf(copy, sizeof(copy), "%s", line);
	p = strchr(copy, '#');
	if (p)
		*p = '\0';
	for (p = strtok_r(copy, " \t\v\f\r", &save); p && argc < MAX_ARGS + 4;
	     p = strtok_r(NULL, " \t\v\f\r", &save))
		words[argc++] = p;
	if (argc < 2 || argc - 2 > MAX_ARGS || (words[0][0] != 'p' && words[0][0] != 'r'))
		return false;
	colon = strrchr(words[1], ':');
	return strchr(words[1], '/') && colon && isdigit((unsigned char)colon[1]);
}

static int write_line(const char *file, const char *line)
{
	int fd = open(file, O_WRONLY | O_APPEND | O_CLOEXEC), ret = 0;
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, line, strlen(line));
	if (n < 0)
		ret = -errno;
	close(fd);
	return ret;
}

/*
 * Whether the kernel log records read from @fd (positioned before the write) contain
 * @msg. A probe whose reference counter differs from that of another probe at the
 * same place is refused with a warning there and nothing in error_log, on stock too.
 */
static bool kmsg_says(int fd, const char *msg)
{
	char rec[2048];
	ssize_t n;

	if (fd < 0)
		return false;
	while ((n = read(fd, rec, sizeof(rec) - 1)) > 0 || (n < 0 && errno == EPIPE)) {
		if (n <= 0)
			continue;
		rec[n] = '\0';
		if (strstr(rec, msg))
			return true;
	}
	return false;
}

static int error_log_clear(void)
{
	int fd = open(TRACEFS "/error_log", O_WRONLY | O_TRUNC | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	close(fd);
	return 0;
}

/* Whether error_log holds an entry of the uprobe parser. */
static bool error_log_has_entry(void)
{
	char *buf = read_all(TRACEFS "/error_log", NULL);
	bool ret;

	if (!buf)
		return false;
	ret = strstr(buf, "trace_uprobe: error:") && strstr(buf, "Command:");
	free(buf);
	return ret;
}

struct fuzz_figures {
	long lines;
	long accepted;
	long refused;
	long refused_ours;	/* refused after the uprobe parser took the line up */
	long logged;		/* ... with an entry in error_log */
	long unlogged;		/* ... without an error_log entry: must stay 0 */
	long unlogged_refctr;	/* ... that only warned of a reference counter mismatch */
	long enabled;
	long past_eof;		/* refused at enable: offset past EOF or between two
				 * instruction words, odd reference counter
				 */
	long enable_failed;	/* refused at enable for another reason: must stay 0 */
	long removed;
	long remove_failed;	/* must stay 0 */
	long foreign;		/* events on non-scratch paths: removed, never enabled */
};

/* Lines of dynamic_events as they are now, to tell what the fuzzing added (free() it). */
static char *listing(void)
{
	return read_all(TRACEFS "/dynamic_events", NULL);
}

/* Whether dynamic_events still lists an event GROUP/EVENT. */
static bool still_listed(const char *group, const char *event)
{
	char want[300], *buf = listing();
	bool listed;

	if (!buf)
		return true;
	snprintf(want, sizeof(want), ":%s/%s ", group, event);
	listed = strstr(buf, want);
	free(buf);
	return listed;
}

/* Would stock refuse to enable a probe on @where at @off with counter @refctr? */
static bool refused_as_stock(const char *where, unsigned long long off,
			     unsigned long long refctr)
{
	struct stat st;

	return !stat(where, &st) &&
	       (off > (unsigned long long)st.st_size || off % INSN_ALIGN || refctr & 1);
}

/* The offset and reference counter of a listed probe's "PATH:OFF(REFCTR)"; cuts PATH. */
static void split_location(char *where, unsigned long long *off, unsigned long long *refctr)
{
	char *colon = strrchr(where, ':'), *open;

	*off = *refctr = 0;
	if (!colon)
		return;
	*colon = '\0';
	*off = strtoull(colon + 1, NULL, 0);
	open = strchr(colon + 1, '(');
	if (open)
		*refctr = strtoull(open + 1, NULL, 0);
}

/*
 * An event holds every probe line written with its name and the same arguments, and
 * enabling it enables them all: is one of GROUP/EVENT's probes refused as stock does?
 */
static bool event_refused_as_stock(const char *group, const char *event)
{
	char *buf = listing(), *line, *save, kind, g[128], e[128], where[PATH_MAX + 64];
	unsigned long long off, refctr;
	bool refused = false;

	if (!buf)
		return false;
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (sscanf(line, "%c:%127[^/]/%127s %4150s", &kind, g, e, where) < 4 ||
		    strcmp(g, group) || strcmp(e, event))
			continue;
		split_location(where, &off, &refctr);
		if (refused_as_stock(where, off, refctr)) {
			refused = true;
			break;
		}
	}
	free(buf);
	return refused;
}

/*
 * For every event dynamic_events lists (the fixture started from none, so the fuzzing
 * made them all): enable it (only on a scratch file), disable it and remove it. As on
 * stock, a uprobe event may refuse to be enabled (-EINVAL) only when its offset lies
 * past the end of its file or is not a multiple of INSN_ALIGN, or its reference
 * counter is not 2-byte aligned. Repeats until nothing is left, since an event may be
 * busy while another one refers to it.
 */
static void sweep(struct fuzz_figures *fig)
{
	char *buf, *line, *save, kind, group[128], event[128], where[PATH_MAX + 64];
	char path[PATH_MAX + 128], cmd[300];
	unsigned long long off, refctr;
	int pass, left, ret;

	for (pass = 0; pass < 4; pass++) {
		buf = listing();
		if (!buf)
			return;
		left = 0;
		for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
			where[0] = '\0';
			if (sscanf(line, "%c:%127[^/]/%127s %4150s", &kind, group, event,
				   where) < 3)
				continue;
			left++;
			split_location(where, &off, &refctr);
			if (pass == 0 && (kind == 'p' || kind == 'r') && !is_scratch(where)) {
				fig->foreign++;
			} else if (pass == 0 && (kind == 'p' || kind == 'r')) {
				snprintf(path, sizeof(path), TRACEFS "/events/%s/%s/enable", group,
					 event);
				ret = write_file(path, "1");
				if (!ret) {
					fig->enabled++;
					write_file(path, "0");
				} else if (ret == -ENOENT && !still_listed(group, event)) {
					/* Removed with a sibling of the same name before. */
					continue;
				} else if (ret == -EINVAL &&
					   (refused_as_stock(where, off, refctr) ||
					    event_refused_as_stock(group, event))) {
					fig->past_eof++;
				} else {
					fig->enable_failed++;
					printf("# enabling refused (%d): %s\n", ret, line);
				}
			}
			snprintf(cmd, sizeof(cmd), "-:%s/%s", group, event);
			if (!write_line(TRACEFS "/dynamic_events", cmd))
				fig->removed++;
		}
		free(buf);
		if (!left)
			return;
	}
	buf = listing();
	if (!buf)
		return;
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (sscanf(line, "%c:%127[^/]/", &kind, group) == 2) {
			fig->remove_failed++;
			printf("# could not remove: %s\n", line);
		}
	}
	free(buf);
}

/*
 * Each fuzzing test's time limit: 1800 s at the default duration and 50 s more per
 * second of UPROBES_STRESS_SECONDS (20 of its lines a second, the budget the guest's
 * runner gives the program). The harness sets it when it registers the test, before
 * main(), with the environment already there.
 */
#define FUZZ_TIMEOUT	(1600 + 50 * stress_seconds())

static long tainted(void)
{
	return read_long("/proc/sys/kernel/tainted", -1);
}

FIXTURE(fuzz) {
	unsigned long long seed;
	long lines;
	long taint;
	unsigned long exe_sum;
};

FIXTURE_SETUP(fuzz)
{
	const char *env = getenv("UPROBES_FUZZ_SEED");
	char dir[PATH_MAX];
	struct stat st;

	UPROBES_FIXTURE_START();
	self->seed = env ? strtoull(env, NULL, 0) : DEFAULT_SEED;
	rng = self->seed;
	self->lines = (long)FUZZ_LINES_PER_SECOND * stress_seconds();
	printf("# fuzz seed %llu (UPROBES_FUZZ_SEED=%llu UPROBES_STRESS_SECONDS=%d replays it), %ld lines\n",
	       self->seed, self->seed, stress_seconds(), self->lines);
	fflush(stdout);

	ASSERT_NE(NULL, self_path());
	mkdir(TMP_DIR, 0755);
	snprintf(scratch_exe, sizeof(scratch_exe), TMP_DIR "/exe");
	snprintf(scratch_data, sizeof(scratch_data), TMP_DIR "/data.txt");
	snprintf(scratch_empty, sizeof(scratch_empty), TMP_DIR "/empty");
	snprintf(scratch_link, sizeof(scratch_link), TMP_DIR "/link");
	snprintf(scratch_fifo, sizeof(scratch_fifo), TMP_DIR "/fifo");
	snprintf(scratch_noperm, sizeof(scratch_noperm), TMP_DIR "/noperm");
	snprintf(dir, sizeof(dir), "%s", self_path());
	snprintf(scratch_9p, sizeof(scratch_9p), "%s/uprobes_fuzz.scratch", dirname(dir));
	ASSERT_EQ(0, copy_file(self_path(), scratch_exe, 0755));
	ASSERT_EQ(0, copy_file(self_path(), scratch_9p, 0644));
	ASSERT_EQ(0, copy_file("/proc/self/cmdline", scratch_data, 0644));
	ASSERT_EQ(0, copy_file("/dev/null", scratch_empty, 0644));
	ASSERT_EQ(0, copy_file(self_path(), scratch_noperm, 0));
	unlink(scratch_link);
	ASSERT_EQ(0, symlink(scratch_exe, scratch_link));
	unlink(scratch_fifo);
	ASSERT_EQ(0, mkfifo(scratch_fifo, 0644));
	ASSERT_EQ(0, stat(scratch_exe, &st));
	exe_size = st.st_size;
	self->exe_sum = file_checksum(scratch_exe);
	self->taint = tainted();
}

FIXTURE_TEARDOWN_PARENT(fuzz)
{
	struct fuzz_figures fig = {};

	sweep(&fig);
	unlink(scratch_9p);
}

/*
 * Generated and mutated lines, half to uprobe_events and half to dynamic_events; every
 * SWEEP_EVERY lines and at the end, sweep() checks that what they made can be enabled
 * and removed. Afterwards a real probe still works.
 */
TEST_F_TIMEOUT(fuzz, probe_lines, FUZZ_TIMEOUT)
{
	static char line[2 * PATH_MAX + 8192];
	struct fuzz_figures fig = {};
	long i, hits;
	bool ours;
	int ret, kmsg;

	/* The kernel log since each write: what a refusal said besides error_log. */
	kmsg = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	for (i = 0; i < self->lines; i++) {
		gen_line(line, sizeof(line) / 2);
		if (!rnd(3))
			mutate(line, sizeof(line));
		ours = uprobe_line(line);
		ASSERT_EQ(0, error_log_clear());
		if (kmsg >= 0)
			lseek(kmsg, 0, SEEK_END);
		ret = write_line(i & 1 ? TRACEFS "/dynamic_events" : TRACEFS "/uprobe_events",
				 line);
		fig.lines++;
		if (!ret) {
			fig.accepted++;
		} else {
			fig.refused++;
			if (ours) {
				fig.refused_ours++;
				if (error_log_has_entry())
					fig.logged++;
				else if (kmsg_says(kmsg, "Reference counter offset mismatch"))
					fig.unlogged_refctr++;
				else if (fig.unlogged++ < 10)
					printf("# refused (%d) without an error_log entry: %.200s\n",
					       ret, line);
			}
		}
		if (i % SWEEP_EVERY == SWEEP_EVERY - 1)
			sweep(&fig);
	}
	sweep(&fig);
	if (kmsg >= 0)
		close(kmsg);
	printf("# fuzz lines: %ld written, %ld accepted, %ld refused (%ld by the uprobe parser, %ld of them without an error_log entry, %ld only warned in the kernel log of a reference counter mismatch, as stock does)\n",
	       fig.lines, fig.accepted, fig.refused, fig.refused_ours, fig.unlogged,
	       fig.unlogged_refctr);
	printf("# fuzz events: %ld enabled and removed, %ld refused at enable (offset past EOF or unaligned, or odd counter), %ld refused otherwise, %ld removed, %ld not removable, %ld on other paths\n",
	       fig.enabled, fig.past_eof, fig.enable_failed, fig.removed, fig.remove_failed,
	       fig.foreign);
	fflush(stdout);
	EXPECT_EQ(0, fig.unlogged);
	EXPECT_EQ(0, fig.enable_failed);
	EXPECT_EQ(0, fig.remove_failed);
	EXPECT_LT(0, fig.accepted);
	EXPECT_LT(0, fig.refused_ours);
	EXPECT_EQ(self->taint, tainted());
	EXPECT_EQ(self->exe_sum, file_checksum(scratch_exe));

	/* Still working: a probe on the scratch copy, hit by running it. */
	hits = elf_sym_offset(scratch_exe, "main");
	ASSERT_LT(0, hits);
	ASSERT_EQ(0, probe_add("p:%s/alive %s:0x%lx", PROBE_GROUP, scratch_exe, hits));
	ASSERT_EQ(0, probe_enable("alive", true));
	ret = fork();
	ASSERT_LE(0, ret);
	if (!ret) {
		execl(scratch_exe, scratch_exe, "-l", NULL);
		_exit(127);
	}
	waitpid(ret, NULL, 0);
	EXPECT_EQ(1, probe_hits("alive"));
}

static int perf_open(struct perf_event_attr *attr, pid_t pid, int cpu, unsigned long flags)
{
	return syscall(__NR_perf_event_open, attr, pid, cpu, -1, flags);
}

static int uprobe_pmu_type(void)
{
	return read_long("/sys/bus/event_source/devices/uprobe/type", -1);
}

/*
 * perf_event_open() of the uprobe PMU with random attributes: paths that are files on
 * tmpfs and 9p, directories, devices, a FIFO, missing, too long, bad pointers; offsets
 * inside, at and past the end of the file, huge; return probes and reference counters;
 * random sample and flag bits. An event that opens is enabled, disabled and closed.
 */
TEST_F_TIMEOUT(fuzz, perf_uprobe_pmu, FUZZ_TIMEOUT)
{
	static char long_path[PATH_MAX + 16];
	long tries = self->lines / 10 + 100, i, opened = 0, refused = 0;
	long errs[140] = {};
	struct perf_event_attr attr;
	const char *path;
	int type, fd, e;
	char list[512];
	size_t n;

	type = uprobe_pmu_type();
	if (type < 0)
		SKIP(return, "no uprobe PMU in /sys/bus/event_source/devices");
	memset(long_path, 'b', sizeof(long_path) - 1);
	long_path[0] = '/';
	for (i = 0; i < tries; i++) {
		memset(&attr, 0, sizeof(attr));
		attr.size = sizeof(attr);
		attr.type = type;
		path = gen_path();
		switch (rnd(10)) {
		case 0:
			attr.uprobe_path = 0;
			break;
		case 1:
			attr.uprobe_path = PICK(((unsigned long long[]){
				1, 0xffffffff81000000ULL, 0x10, ~0ULL, 0x7ffffffff000ULL }));
			break;
		case 2:
			attr.uprobe_path = (unsigned long)long_path;
			break;
		case 3:
			attr.uprobe_path = (unsigned long)"";
			break;
		default:
			attr.uprobe_path = (unsigned long)path;
		}
		switch (rnd(5)) {
		case 0:
			attr.probe_offset = exe_size + rnd(5) - 2;
			break;
		case 1:
			attr.probe_offset = rnd64() >> rnd(64);
			break;
		default:
			attr.probe_offset = rnd(exe_size);
		}
		attr.config = rnd(2);
		if (!rnd(4))
			attr.config |= (unsigned long long)(rnd(3) ? rnd(exe_size) :
							    rnd64() >> 32) << 32;
		if (rnd(2))
			attr.sample_type = rnd64() &
					   ((PERF_SAMPLE_MAX - 1) & ~PERF_SAMPLE_BRANCH_STACK);
		if (rnd(2))
			attr.sample_period = rnd(3) ? 1 : rnd64();
		attr.disabled = rnd(2);
		attr.exclude_kernel = rnd(2);
		attr.exclude_user = !rnd(8);
		attr.inherit = rnd(2);
		attr.wakeup_events = rnd(4);
		if (!rnd(16))
			attr.sample_type |= PERF_SAMPLE_BRANCH_STACK;
		fd = perf_open(&attr, rnd(2) ? 0 : -1, rnd(2) ? -1 : 0,
			       rnd(2) ? PERF_FLAG_FD_CLOEXEC : 0);
		if (fd >= 0) {
			opened++;
			ioctl(fd, PERF_EVENT_IOC_ENABLE, 0);
			ioctl(fd, PERF_EVENT_IOC_DISABLE, 0);
			close(fd);
		} else {
			refused++;
			e = errno;
			errs[e < (int)ARRAY_SIZE(errs) ? e : 0]++;
		}
	}
	for (n = 0, e = 0; e < (int)ARRAY_SIZE(errs); e++)
		if (errs[e] && n < sizeof(list) - 32)
			n += snprintf(list + n, sizeof(list) - n, " %s=%ld",
				      e ? strerrorname_np(e) : "other", errs[e]);
	list[n] = '\0';
	printf("# fuzz perf_event_open: %ld tried, %ld opened, %ld refused:%s\n", tries,
	       opened, refused, list);
	fflush(stdout);
	EXPECT_LT(0, opened);
	EXPECT_LT(0, refused);
	EXPECT_EQ(self->taint, tainted());
	EXPECT_EQ(self->exe_sum, file_checksum(scratch_exe));
}

TEST_HARNESS_MAIN
