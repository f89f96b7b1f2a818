// SPDX-License-Identifier: GPL-2.0
/*
 * Real debuggers on probed programs. Each scenario runs gdb or strace twice against
 * the same program, unprobed and then probed through uprobe_events, and the two
 * transcripts must be the same but for process ids, while every probe counts its hits
 * exactly and the program computes the same:
 *  - gdb breakpoints beside probed instructions: every stop, with the same registers;
 *  - gdb breakpoints on the very instructions probes are on: one byte then holds
 *    gdb's int3 and ours (see break_on_probe for what a kernel makes of that);
 *  - gdb `watch` on a variable that probed instructions write, one emulated and one
 *    stepped out of line: each write reported, with its old and new value;
 *  - gdb `stepi` through every instruction of a probed function: the same registers
 *    after each step;
 *  - gdb -p attaching to a process whose 5-byte nop site was turned into a jump to a
 *    stub before it attached: breakpoints, stepi and continue as unprobed;
 *  - strace -f from the start, and strace -f -p attaching to a process with optimized
 *    sites, with a return probe: the program's own system calls are the same; the
 *    probes' own (uretprobe, 335, which strace shows as a system call like any other,
 *    and uprobe, 336, which a traced process never makes) are counted and must be
 *    exactly what the design says.
 * The target is this binary run again with "--target MODE". Runs started here have
 * address space randomization off, as gdb's own runs have, so that addresses in the
 * transcripts compare too.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/personality.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "uprobes_helpers.h"

#ifdef __x86_64__
#include <cpuid.h>
#endif

/* Calls of the probed function per run, per process. */
#define LOOPS		3
/* Calls of the attach targets before the tracer attaches: the nop5 site's first hits. */
#define WARM_CALLS	3
/* The system call of our optimized nop5 sites' stubs (x86-64). */
#define NR_UPROBE	336

/* What the probed instructions write, and gdb watches: C, so gdb knows its type. */
long dbg_var;

/* What dbg_call(x) returns; dbg_var is then 10x + 1. */
static long dbg_ref(long x)
{
	return 3 * (10 * x + 1);
}

#ifdef __x86_64__
/*
 * dbg_call(x) calls dbg_fn(x), which sets dbg_var to 10x, increments it and returns
 * 3 * dbg_var. One label per instruction of dbg_fn, for the probes and gdb. Our x86
 * uprobes emulate a hit on each but the incq, which is stepped out of line
 * (RIP-relative, so with the scratch register fix-up); the nop5 site (spelled out in
 * bytes: as drops a zero disp8) becomes a jump to a stub at its first hit in a
 * process that is not traced. Aligned so that no instruction crosses a page.
 */
asm(".pushsection .text\n"
	".p2align 6\n"
	".globl dbg_call, dbg_fn, dbg_frame, dbg_body, dbg_double, dbg_store, dbg_inc\n"
	".globl dbg_nop5, dbg_load, dbg_triple, dbg_pop, dbg_ret\n"
	".type dbg_call, @function\n"
	"dbg_call:\n"
	"	call dbg_fn\n"
	"	ret\n"
	".size dbg_call, . - dbg_call\n"
	".p2align 4\n"
	".type dbg_fn, @function\n"
	"dbg_fn:\n"
	"	push %rbp\n"
	"dbg_frame:\n"
	"	mov %rsp, %rbp\n"
	"dbg_body:\n"
	"	lea (%rdi,%rdi,4), %rax\n"
	"dbg_double:\n"
	"	add %rax, %rax\n"
	"dbg_store:\n"
	"	mov %rax, dbg_var(%rip)\n"
	"dbg_inc:\n"
	"	incq dbg_var(%rip)\n"
	"dbg_nop5:\n"
	"	.byte 0x0f, 0x1f, 0x44, 0x00, 0x00\n"	/* nopl 0x0(%rax,%rax,1) */
	"dbg_load:\n"
	"	mov dbg_var(%rip), %rax\n"
	"dbg_triple:\n"
	"	lea (%rax,%rax,2), %rax\n"
	"dbg_pop:\n"
	"	pop %rbp\n"
	"dbg_ret:\n"
	"	ret\n"
	".size dbg_fn, . - dbg_fn\n"
	".popsection\n");

long dbg_call(long x);

/* Does /proc/self/status name a tracer? */
static bool traced(void)
{
	char *buf = read_all("/proc/self/status", NULL), *p;
	bool ret;

	if (!buf)
		return false;
	p = strstr(buf, "TracerPid:");
	ret = p && atoi(p + strlen("TracerPid:")) != 0;
	free(buf);
	return ret;
}

/* One line of output in one write(): for strace, a marker between the calls. */
static void say(const char *fmt, ...)
{
	char buf[128];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (write(1, buf, n) != n)
		_exit(2);
}

/* LOOPS calls, each result written out at once. */
static int target_calls(void)
{
	long i, r, bad = 0;

	for (i = 1; i <= LOOPS; i++) {
		r = dbg_call(i);
		bad += r != dbg_ref(i);
		say("call %ld = %ld var %ld\n", i, r, dbg_var);
	}
	return bad ? 1 : 0;
}

/* The calls in a child forked now, for strace -f, and then here. */
static int target_fork_calls(void)
{
	int status;
	pid_t pid;

	pid = fork();
	if (pid < 0)
		return 1;
	if (!pid)
		_exit(target_calls());
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status))
		return 1;
	return target_calls();
}

/* gdb stops here before it sets its watchpoint: a C function, not probed. */
__attribute__((noinline)) void dbg_target_begin(void)
{
	asm volatile("" ::: "memory");
}

/*
 * --target run: the calls, under gdb from the start.
 * --target strace: the calls in a child and here, under strace -f from the start.
 * --target attach FD / strace-attach FD: WARM_CALLS calls untraced (in a probed run
 * the nop5 site becomes a jump), a byte on FD, then wait for a tracer and make the
 * calls under it (strace-attach: in a child too, forked under the tracer).
 */
static int run_target(int argc, char **argv)
{
	const char *mode = argv[2];
	bool attach = !strcmp(mode, "attach"), strace_attach = !strcmp(mode, "strace-attach");
	long i, bad = 0;

	if (attach || strace_attach) {
		if (argc < 4)
			return 2;
		for (i = 1; i <= WARM_CALLS; i++)
			bad += dbg_call(i) != dbg_ref(i);
		if (write(atoi(argv[3]), "w", 1) != 1)
			return 2;
		close(atoi(argv[3]));
		while (!traced())
			usleep(10000);
		/* strace compares what comes from here on. */
		say("@begin warm %s\n", bad ? "wrong" : "right");
		if (strace_attach)
			return target_fork_calls();
		return target_calls();
	}
	dbg_target_begin();
	if (!strcmp(mode, "strace")) {
		say("@begin\n");
		return target_fork_calls();
	}
	return target_calls();
}

#else /* !__x86_64__ */

static int run_target(int argc, char **argv)
{
	return 2;
}

#endif /* __x86_64__ */

/* What the program prints for @n calls: the runs must print exactly this. */
static void calls_output(char *buf, size_t size, int n)
{
	size_t len = 0;
	long i;

	buf[0] = '\0';
	for (i = 1; i <= n && len < size; i++)
		len += snprintf(buf + len, size - len, "call %ld = %ld var %ld\n", i,
				dbg_ref(i), 10 * i + 1);
}

static bool in_path(const char *tool)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "command -v %s > /dev/null 2>&1", tool);
	return system(cmd) == 0;
}

/* Run a shell command made from @fmt; its exit status, or -1. */
static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
	char cmd[1024];
	va_list ap;
	int status;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	status = system(cmd);
	return status != -1 && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* The whole of file @name of directory @dir, NUL-terminated, or NULL. */
static char *slurp(const char *dir, const char *name)
{
	char path[PATH_MAX + 64];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return read_all(path, NULL);
}

static int spill(const char *dir, const char *name, const char *text)
{
	char path[256];
	FILE *f;
	int ret;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "we");
	if (!f)
		return -1;
	ret = fputs(text, f) < 0 ? -1 : 0;
	return fclose(f) ? -1 : ret;
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/*
 * @text with the number @num replaced by @with wherever it follows @tag: a process id
 * where the tag says one is, not any number that happens to be equal (a line number,
 * a length). Frees @text.
 */
static char *mask_number(char *text, const char *tag, const char *num, const char *with)
{
	size_t tlen = strlen(tag), nlen = strlen(num), n = 0;
	char *out, *o, *p, *hit;

	for (p = text; (hit = strstr(p, tag)); p = hit + tlen)
		n++;
	out = malloc(strlen(text) + n * strlen(with) + 1);
	if (!out)
		return text;
	o = out;
	for (p = text; (hit = strstr(p, tag)); ) {
		hit += tlen;
		memcpy(o, p, hit - p);
		o += hit - p;
		p = hit;
		if (!strncmp(p, num, nlen) && !is_digit(p[nlen])) {
			o = stpcpy(o, with);
			p += nlen;
		}
	}
	strcpy(o, p);
	free(text);
	return out;
}

/* gdb names a process "process N" and its threads "LWP N": each N becomes PID. */
static char *mask_gdb_pids(char *text)
{
	static const char *const tags[] = { "process ", "LWP " };
	char num[16], *p;
	unsigned int t;
	size_t off;

	for (t = 0; t < ARRAY_SIZE(tags); t++) {
		for (p = strstr(text, tags[t]); p; p = strstr(p + 1, tags[t])) {
			if (!is_digit(p[strlen(tags[t])]))
				continue;
			snprintf(num, sizeof(num), "%d", atoi(p + strlen(tags[t])));
			off = p - text;
			text = mask_number(text, tags[t], num, "PID");
			p = text + off;
		}
	}
	return text;
}

/* The lines of @text from the first that starts with @prefix (none: ""), as a copy. */
static char *from_line(const char *text, const char *prefix)
{
	const char *p = text;

	while (p && strncmp(p, prefix, strlen(prefix))) {
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	return strdup(p ? p : "");
}

/* A copy of @text without the lines that start with "@" @label " ". */
static char *drop_stops(const char *text, const char *label)
{
	char *out = malloc(strlen(text) + 1), *o = out, prefix[32];
	const char *p = text, *end;
	size_t len;

	if (!out)
		return NULL;
	snprintf(prefix, sizeof(prefix), "@%s ", label);
	for (; *p; p = end) {
		end = strchr(p, '\n');
		end = end ? end + 1 : p + strlen(p);
		if (strncmp(p, prefix, strlen(prefix))) {
			len = end - p;
			memcpy(o, p, len);
			o += len;
		}
	}
	*o = '\0';
	return out;
}

/* How many lines of @text start with @prefix. */
static int count_lines(const char *text, const char *prefix)
{
	const char *p = text;
	int n = 0;

	for (; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		n += !strncmp(p, prefix, strlen(prefix));
	return n;
}

/* Lines @from to @from + @nr - 1 of @text (from 1) as TAP diagnostics, "# " each. */
static void show_lines(const char *what, const char *text, int from, int nr)
{
	const char *p = text, *end;
	int line = 1;

	fprintf(stderr, "# --- %s, from line %d\n", what, from);
	for (; *p && line < from + nr; p = end, line++) {
		end = strchr(p, '\n');
		end = end ? end + 1 : p + strlen(p);
		if (line >= from)
			fprintf(stderr, "#   %.*s\n", (int)(end - p - (end[-1] == '\n')), p);
	}
}

static void show(const char *what, const char *text)
{
	show_lines(what, text, 1, INT_MAX);
}

/* Say where two texts part, and show both there: some lines before, and after. */
static void show_diff(const char *what_a, const char *a, const char *what_b, const char *b)
{
	int line = 1, from;
	size_t i;

	for (i = 0; a[i] && a[i] == b[i]; i++)
		line += a[i] == '\n';
	fprintf(stderr, "# %s and %s differ from line %d on\n", what_a, what_b, line);
	from = line > 12 ? line - 12 : 1;
	show_lines(what_a, a, from, 40);
	show_lines(what_b, b, from, 40);
}

/* The same texts, else both shown as diagnostics (EXPECT_STREQ would break the TAP). */
static void expect_same_text(struct __test_metadata *_metadata, const char *what_a,
			     const char *a, const char *what_b, const char *b)
{
	EXPECT_EQ(0, strcmp(a, b)) {
		show_diff(what_a, a, what_b, b);
	}
}

#define EXPECT_SAME_TEXT(...)	expect_same_text(_metadata, __VA_ARGS__)

/* A probe of @type ('p' or 'r') on symbol @sym of @exe, enabled, named @event. */
static int probe_sym(const char *exe, char type, const char *event, const char *sym)
{
	long off = elf_sym_offset(exe, sym);
	int ret;

	if (off < 0)
		return off;
	ret = probe_add("%c:%s/%s %s:0x%lx", type, PROBE_GROUP, event, exe, off);
	return ret ?: probe_enable(event, true);
}

/* Entry probes on each of @syms, named after them. */
static int probe_syms(const char *exe, const char *const *syms, int nr)
{
	int i, ret = 0;

	for (i = 0; i < nr && !ret; i++)
		ret = probe_sym(exe, 'p', syms[i], syms[i]);
	return ret;
}

/* Does this kernel turn probed nop5 sites into jumps (our system call answers)? */
static bool kernel_optimizes_nop5(void)
{
#ifdef __x86_64__
	errno = 0;
	return syscall(NR_UPROBE) == -1 && errno == ENXIO;
#else
	return false;
#endif
}

/*
 * The first byte of symbol @sym in process @pid, through /proc/PID/mem: 0xe9 where a
 * nop5 site was made a jump. -1 if it cannot be read.
 */
static int target_byte(pid_t pid, const char *exe, const char *sym)
{
	long off = elf_sym_offset(exe, sym);
	struct exec_map map;
	unsigned char b;
	char path[64];
	int fd, ret = -1;

	if (off < 0 || proc_exec_map(pid, exe, &map))
		return -1;
	snprintf(path, sizeof(path), "/proc/%d/mem", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	if (pread(fd, &b, 1, map.start + off - map.off) == 1)
		ret = b;
	close(fd);
	return ret;
}

/*
 * Start this binary as "--target @mode FD" in @dir, its output in @dir/prog.out, and
 * wait for its byte on FD: it has made its untraced calls and now waits for a tracer.
 */
static pid_t start_waiting_target(const char *exe, const char *dir, const char *mode)
{
	char fdstr[16], out[256], byte;
	int fds[2], fd;
	pid_t pid;

	if (pipe(fds))
		return -1;
	snprintf(out, sizeof(out), "%s/prog.out", dir);
	pid = fork();
	if (!pid) {
		close(fds[0]);
		fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fd < 0 || dup2(fd, 1) < 0 || chdir(dir))
			_exit(127);
		snprintf(fdstr, sizeof(fdstr), "%d", fds[1]);
		execl(exe, exe, "--target", mode, fdstr, NULL);
		_exit(127);
	}
	close(fds[1]);
	if (pid > 0 && read(fds[0], &byte, 1) != 1) {
		kill(pid, SIGKILL);
		wait_exit(pid);
		pid = -1;
	}
	close(fds[0]);
	return pid;
}

struct gdb_run {
	char *log;	/* the transcript, process ids masked */
	char *out;	/* what the program printed */
};

static void gdb_run_free(struct gdb_run *run)
{
	free(run->log);
	free(run->out);
}

/*
 * gdb -batch with @script in @dir (its cwd: the script runs the program there, with
 * "> prog.out"), on @target: the executable, or "-p PID". 0 or -1.
 */
static int run_gdb(const char *dir, const char *script, const char *target,
		   struct gdb_run *run)
{
	run->log = run->out = NULL;
	if (spill(dir, "script.gdb", script))
		return -1;
	sh("cd %s && gdb -batch -nx -iex 'set debuginfod enabled off' -x script.gdb %s > gdb.log 2>&1 < /dev/null",
	   dir, target);
	run->log = slurp(dir, "gdb.log");
	run->out = slurp(dir, "prog.out");
	if (!run->log || !run->out)
		return -1;
	run->log = mask_gdb_pids(run->log);
	return 0;
}

/* gdb on the program from its start ("--target run"). */
static int gdb_start(const char *exe, const char *dir, const char *script, struct gdb_run *run)
{
	return run_gdb(dir, script, exe, run);
}

/* The gdb command "state LABEL": one line that says where the task is and what it holds. */
#define GDB_STATE							\
	"define state\n"						\
	"printf \"@%s pc=%#lx rax=%#lx rdi=%#lx rsp=%#lx rbp=%#lx eflags=%#x var=%ld\\n\", " \
	"\"$arg0\", $pc, $rax, $rdi, $rsp, $rbp, $eflags, dbg_var\n"	\
	"end\n"

/* A breakpoint at @where that prints "state LABEL" and goes on. */
#define GDB_BREAK(where, label)						\
	"break " where "\n"						\
	"commands\n"							\
	"silent\n"							\
	"state " label "\n"						\
	"continue\n"							\
	"end\n"

#define GDB_RUN		"run --target run > prog.out\n"

FIXTURE(gdb) {
	const char *exe;
	char dir[32];
	char calls[256];	/* what "--target run" prints */
};

static void debugger_setup(struct __test_metadata *_metadata, const char *tool,
			   const char **exe, char *dir, char *calls)
{
	if (!in_path(tool))
		SKIP(return, "no %s in PATH", tool);
#ifndef __x86_64__
	SKIP(return, "the probed code is x86-64");
#endif
	UPROBES_FIXTURE_START();
	ASSERT_EQ(0, trace_clear());
	*exe = self_path();
	ASSERT_NE(NULL, *exe);
	strcpy(dir, "/tmp/uprobes_dbg.XXXXXX");
	ASSERT_NE(NULL, mkdtemp(dir));
	/* For the processes started here; gdb's own runs have this anyway. */
	ASSERT_LE(0, personality(ADDR_NO_RANDOMIZE));
	calls_output(calls, 256, LOOPS);
}

static void debugger_teardown(struct __test_metadata *_metadata, const char *dir)
{
	EXPECT_EQ(0, probe_remove_all());
	if (dir[0])
		sh("rm -rf %s", dir);
}

FIXTURE_SETUP(gdb)
{
	debugger_setup(_metadata, "gdb", &self->exe, self->dir, self->calls);
}

FIXTURE_TEARDOWN_PARENT(gdb)
{
	debugger_teardown(_metadata, self->dir);
}

/* Every probe of @syms (named after them) hit @want times. */
static void expect_hits(struct __test_metadata *_metadata, const char *const *syms, int nr,
			long want)
{
	int i;

	/* Braces: the harness's EXPECT with a handler is two statements. */
	for (i = 0; i < nr; i++) {
		EXPECT_EQ(want, probe_hits(syms[i])) {
			TH_LOG("hits of the probe on %s", syms[i]);
		}
	}
}

#define EXPECT_HITS(syms, want)	expect_hits(_metadata, syms, ARRAY_SIZE(syms), want)

/* The two runs' transcripts and outputs are the same, and the output is right. */
#define EXPECT_SAME_RUNS(a, b, calls) do {				\
	EXPECT_SAME_TEXT("expected output", calls, "unprobed output", (a).out); \
	EXPECT_SAME_TEXT("unprobed output", (a).out, "probed output", (b).out); \
	EXPECT_SAME_TEXT("unprobed", (a).log, "probed", (b).log);	\
} while (0)

/*
 * The scenario of most gdb tests: gdb runs @script on the program unprobed, and must
 * print @nr_marks lines that start with @mark, then with probes on @probed (@nr of
 * them); the two runs must be the same and each probe hit LOOPS times.
 */
static void gdb_compare(struct __test_metadata *_metadata, const char *exe, const char *dir,
			const char *calls, const char *script, const char *mark, int nr_marks,
			const char *const *probed, int nr)
{
	struct gdb_run a, b;

	ASSERT_EQ(0, gdb_start(exe, dir, script, &a));
	ASSERT_EQ(nr_marks, count_lines(a.log, mark)) {
		show("unprobed", a.log);
	}
	ASSERT_EQ(0, probe_syms(exe, probed, nr));
	ASSERT_EQ(0, gdb_start(exe, dir, script, &b));
	EXPECT_SAME_RUNS(a, b, calls);
	expect_hits(_metadata, probed, nr, LOOPS);
	gdb_run_free(&a);
	gdb_run_free(&b);
}

/*
 * gdb breakpoints beside probed instructions: `break dbg_fn` (gdb puts it past the
 * push/mov prologue it reads there, on the lea) and on the load after the nop5 site;
 * probes on the emulated store, the stepped increment and the nop5 between them.
 * Every stop comes, with the same registers; the program computes the same.
 */
TEST_F_TIMEOUT(gdb, break_beside_probes, 300)
{
	static const char *const probed[] = { "dbg_store", "dbg_inc", "dbg_nop5" };
	static const char script[] = GDB_STATE GDB_BREAK("dbg_fn", "fn")
		GDB_BREAK("*dbg_load", "load") GDB_RUN;

	gdb_compare(_metadata, self->exe, self->dir, self->calls, script, "@fn pc=", LOOPS,
		    probed, ARRAY_SIZE(probed));
}

/*
 * gdb breakpoints on the very instructions probes are on, and one on the unprobed load
 * as a control. `break *dbg_inc` puts gdb's int3 on the probe's: gdb reads our int3 as
 * the instruction there and writes its own over it, on the same byte. So does `break
 * dbg_fn`, which unprobed goes past the push/mov prologue: gdb reads the prologue from
 * the running process, finds our int3 where the push is, takes the function for one
 * without a frame and breaks at its entry. The trap that comes is the probe's hit then,
 * and a kernel that runs the instruction after it, as stock kernels and we do, loses
 * gdb's stop: gdb never sees those breakpoints hit. That loss is accepted, and said,
 * and nothing else: each lost breakpoint lost every time, every other stop as
 * unprobed, the program's results and the hit counts exact.
 */
TEST_F_TIMEOUT(gdb, break_on_probe, 300)
{
	static const char *const probed[] = { "dbg_fn", "dbg_store", "dbg_inc", "dbg_nop5" };
	static const char script[] = GDB_STATE GDB_BREAK("dbg_fn", "fn")
		GDB_BREAK("*dbg_inc", "inc") GDB_BREAK("*dbg_load", "load") GDB_RUN;
	static const char *const lost[] = { "none", "fn", "inc", "fn and inc" };
	struct gdb_run a, b;
	char *without[4];
	int i, match = -1;

	ASSERT_EQ(0, gdb_start(self->exe, self->dir, script, &a));
	ASSERT_EQ(LOOPS, count_lines(a.log, "@inc pc=")) {
		show("unprobed", a.log);
	}
	ASSERT_EQ(0, probe_syms(self->exe, probed, ARRAY_SIZE(probed)));
	ASSERT_EQ(0, gdb_start(self->exe, self->dir, script, &b));

	without[0] = strdup(a.log);
	without[1] = drop_stops(a.log, "fn");
	without[2] = drop_stops(a.log, "inc");
	without[3] = drop_stops(without[1], "inc");
	for (i = 0; i < 4; i++) {
		ASSERT_NE(NULL, without[i]);
		if (match < 0 && !strcmp(without[i], b.log))
			match = i;
	}
	EXPECT_LE(0, match) {
		show_diff("unprobed", a.log, "probed", b.log);
	}
	if (match >= 0)
		TH_LOG("gdb's breakpoints on probed instructions that never stopped: %s",
		       lost[match]);
	EXPECT_SAME_TEXT("expected output", self->calls, "unprobed output", a.out);
	EXPECT_SAME_TEXT("unprobed output", a.out, "probed output", b.out);
	EXPECT_HITS(probed, LOOPS);
	for (i = 0; i < 4; i++)
		free(without[i]);
	gdb_run_free(&a);
	gdb_run_free(&b);
}

#ifdef __x86_64__
/* QEMU's TCG names itself in the hypervisor leaf of CPUID. */
static bool under_tcg(void)
{
	unsigned int eax, ebx, ecx, edx;
	char sig[13];

	__cpuid(1, eax, ebx, ecx, edx);
	if (!(ecx & (1U << 31)))	/* no hypervisor */
		return false;
	__cpuid(0x40000000, eax, ebx, ecx, edx);
	memcpy(sig, &ebx, 4);
	memcpy(sig + 4, &ecx, 4);
	memcpy(sig + 8, &edx, 4);
	sig[12] = '\0';
	return !strcmp(sig, "TCGTCGTCGTCG");
}

/*
 * Is a hit on the enabled probes stepped out of line here? A step needs the XOL area,
 * "[uprobes]" in the maps, which an emulation never maps. 1 or 0, or -1.
 */
static int hit_is_stepped(void)
{
	pid_t pid = fork();

	if (!pid) {
		dbg_call(1);
		_exit(count_maps("[uprobes]") > 0);
	}
	return pid < 0 ? -1 : wait_exit(pid);
}
#else
static bool under_tcg(void)
{
	return false;
}

static int hit_is_stepped(void)
{
	return -1;
}
#endif

/*
 * `watch dbg_var`, a hardware watchpoint, while probed instructions write it: the store
 * (emulated here, stepped on stock kernels) and the increment (stepped). An emulated
 * store must report the watchpoint itself, as the CPU would have after the
 * instruction; a stepped one gets it from the CPU in the step. Every write is reported
 * with its old and new value and where it stopped, as unprobed. Under QEMU TCG an
 * instruction single-stepped onto a data breakpoint wedges the guest, probe or not
 * (see uprobes_exact.c): there a stepped writer is left unprobed, and said so.
 */
TEST_F_TIMEOUT(gdb, watch, 300)
{
	static const char *const writers[] = { "dbg_store", "dbg_inc" };
	static const char script[] =
		"break dbg_target_begin\n"
		GDB_RUN
		"watch dbg_var\n"
		"commands\n"
		"continue\n"
		"end\n"
		"continue\n";
	const char *probed[ARRAY_SIZE(writers)];
	bool tcg = under_tcg();
	unsigned int i, nr = 0;
	int stepped;

	for (i = 0; i < ARRAY_SIZE(writers); i++) {
		ASSERT_EQ(0, probe_sym(self->exe, 'p', writers[i], writers[i]));
		stepped = hit_is_stepped();
		ASSERT_LE(0, stepped);
		ASSERT_EQ(0, probe_remove_all());
		TH_LOG("%s: %s%s", writers[i], stepped ? "stepped" : "emulated",
		       stepped && tcg ? ", not probed under QEMU TCG" : "");
		if (!stepped || !tcg)
			probed[nr++] = writers[i];
	}
	if (!nr)
		SKIP(return, "every writer is stepped here, and this is QEMU TCG");
	gdb_compare(_metadata, self->exe, self->dir, self->calls, script, "Old value = ",
		    2 * LOOPS, probed, nr);
}

/* Every instruction of dbg_fn, by its label. */
static const char *const every_insn[] = {
	"dbg_fn", "dbg_frame", "dbg_body", "dbg_double", "dbg_store", "dbg_inc",
	"dbg_nop5", "dbg_load", "dbg_triple", "dbg_pop", "dbg_ret",
};

/*
 * stepi from dbg_call's call through every instruction of dbg_fn, each probed, and
 * back into C: after each step every register gdb shows is what it is unprobed.
 */
TEST_F_TIMEOUT(gdb, stepi, 300)
{
	static const char script[] =
		"tbreak *dbg_call\n"
		GDB_RUN
		"set $i = 0\n"
		"while $i < 13\n"
		"stepi\n"
		"info registers\n"
		"set $i = $i + 1\n"
		"end\n"
		"continue\n";

	gdb_compare(_metadata, self->exe, self->dir, self->calls, script, "rip ", 13,
		    every_insn, ARRAY_SIZE(every_insn));
}

/*
 * gdb -p on a process that made WARM_CALLS calls untraced (probed, its nop5 site is a
 * jump to a stub by then, where the kernel optimizes sites, and the attach makes it
 * the probe's breakpoint again before gdb reads it) and waits for a tracer.
 * In the first call under gdb: a breakpoint on the store, then stepi over the
 * increment and over the nop5 site, onto the load. In the second: a breakpoint on
 * the site itself, which goes on at once, and a temporary one on the load; then all
 * are deleted and the third call runs free. gdb's breakpoint on the probed site is
 * one byte with the probe's (see break_on_probe): its stop may be lost, nothing else
 * may differ, and the program must compute the same and exit as unprobed.
 */
TEST_F_TIMEOUT(gdb, attach, 300)
{
	static const char *const probed[] = { "dbg_fn", "dbg_inc", "dbg_nop5" };
	static const char script[] =
		"echo @attached\\n\n"
		GDB_STATE
		"break *dbg_store\n"
		"commands\n"
		"silent\n"
		"state store\n"
		"end\n"
		"continue\n"
		"stepi\n"
		"state step\n"
		"stepi\n"
		"state step\n"
		"stepi\n"
		"state step\n"
		"delete\n"
		"tbreak *dbg_call\n"
		"continue\n"
		"state call\n"
		GDB_BREAK("*dbg_nop5", "site")
		"tbreak *dbg_load\n"
		"continue\n"
		"state load\n"
		"delete\n"
		"continue\n";
	char calls[512], target[32], *logs[2], *without;
	struct gdb_run runs[2];
	int r, site;
	pid_t pid;

	snprintf(calls, sizeof(calls), "@begin warm right\n%s", self->calls);
	for (r = 0; r < 2; r++) {
		if (r == 1)
			ASSERT_EQ(0, probe_syms(self->exe, probed, ARRAY_SIZE(probed)));
		pid = start_waiting_target(self->exe, self->dir, "attach");
		ASSERT_LT(0, pid);
		site = target_byte(pid, self->exe, "dbg_nop5");
		TH_LOG("%s run: the nop5 site starts with %#x when gdb attaches",
		       r ? "probed" : "unprobed", site);
		if (r == 1 && kernel_optimizes_nop5())
			EXPECT_EQ(0xe9, site);
		snprintf(target, sizeof(target), "-p %d", pid);
		ASSERT_EQ(0, run_gdb(self->dir, script, target, &runs[r]));
		EXPECT_EQ(0, wait_exit(pid));
		logs[r] = from_line(runs[r].log, "@attached");
		ASSERT_NE(NULL, logs[r]);
	}
	ASSERT_EQ(1, count_lines(logs[0], "@site pc=")) {
		show("unprobed", runs[0].log);
	}
	without = drop_stops(logs[0], "site");
	ASSERT_NE(NULL, without);
	EXPECT_TRUE(!strcmp(logs[0], logs[1]) || !strcmp(without, logs[1])) {
		show_diff("unprobed", logs[0], "probed", logs[1]);
	}
	if (!strcmp(without, logs[1]))
		TH_LOG("gdb's breakpoint on the probed nop5 site never stopped");
	EXPECT_SAME_TEXT("expected output", calls, "unprobed output", runs[0].out);
	EXPECT_SAME_TEXT("unprobed output", runs[0].out, "probed output", runs[1].out);
	EXPECT_HITS(probed, WARM_CALLS + LOOPS);
	free(without);
	for (r = 0; r < 2; r++) {
		free(logs[r]);
		gdb_run_free(&runs[r]);
	}
}

FIXTURE(strace) {
	const char *exe;
	char dir[32];
	char calls[256];
};

FIXTURE_SETUP(strace)
{
	debugger_setup(_metadata, "strace", &self->exe, self->dir, self->calls);
}

FIXTURE_TEARDOWN_PARENT(strace)
{
	debugger_teardown(_metadata, self->dir);
}

/* One process's part of an strace -ff run: its lines, the probes' calls counted apart. */
struct strace_proc {
	char *log;
	int uretprobe;		/* system call 335 */
	int uprobe;		/* system call 336 */
};

struct strace_run {
	struct strace_proc parent, child;
	char *out;
	char first[2][160];	/* the first line of each probe call seen, to show */
};

/*
 * Which of the probes' system calls line @line of strace is: 0 for neither, else its
 * number. strace 6.1 knows neither name, and shows unknown calls by number.
 */
static int probe_syscall(const char *line)
{
	static const char *const names335[] = { "uretprobe(", "syscall_335(", "syscall_0x14f(" };
	static const char *const names336[] = { "uprobe(", "syscall_336(", "syscall_0x150(" };
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(names335); i++) {
		if (!strncmp(line, names335[i], strlen(names335[i])))
			return 335;
		if (!strncmp(line, names336[i], strlen(names336[i])))
			return 336;
	}
	return 0;
}

/*
 * Split the probes' calls out of @text (freed) into @proc, and mask the pid of the
 * child: the only pid in the lines compared (strace -ff has no pid column).
 */
static void strace_proc_set(struct strace_proc *proc, char *text, struct strace_run *run,
			    const char *child)
{
	char *out = malloc(strlen(text) + 1), *o = out, *p, *end;
	int which;

	proc->uretprobe = proc->uprobe = 0;
	for (p = text; out && *p; p = end) {
		end = strchr(p, '\n');
		end = end ? end + 1 : p + strlen(p);
		which = probe_syscall(p);
		if (which == 335)
			proc->uretprobe++;
		if (which == 336)
			proc->uprobe++;
		if (which && !run->first[which - 335][0])
			snprintf(run->first[which - 335], sizeof(run->first[0]), "%.*s",
				 (int)(end - p - 1), p);
		if (!which) {
			memcpy(o, p, end - p);
			o += end - p;
		}
	}
	free(text);
	if (!out) {
		proc->log = NULL;
		return;
	}
	*o = '\0';
	/* What clone() and wait4() return, and what wait4() waits for. */
	out = mask_number(out, "= ", child, "CHILD");
	out = mask_number(out, "wait4(", child, "CHILD");
	proc->log = out;
}

/*
 * Read the two trace files of an strace -ff run in @dir (trace.PID): the parent's from
 * its "@begin" on, the child's whole. 0 or -1.
 */
static int strace_collect(const char *dir, struct strace_run *run)
{
	char names[2][sizeof(((struct dirent *)0)->d_name)], *texts[2], *from;
	struct dirent *de;
	int nr = 0, parent;
	DIR *d;

	memset(run, 0, sizeof(*run));
	d = opendir(dir);
	if (!d)
		return -1;
	while ((de = readdir(d)))
		if (!strncmp(de->d_name, "trace.", 6) && nr < 2)
			snprintf(names[nr++], sizeof(names[0]), "%s", de->d_name);
	closedir(d);
	if (nr != 2)
		return -1;
	texts[0] = slurp(dir, names[0]);
	texts[1] = slurp(dir, names[1]);
	run->out = slurp(dir, "prog.out");
	if (!texts[0] || !texts[1] || !run->out)
		return -1;
	parent = strstr(texts[0], "\"@begin") ? 0 : 1;
	from = from_line(texts[parent], "write(1, \"@begin");
	free(texts[parent]);
	strace_proc_set(&run->parent, from, run, names[!parent] + 6);
	strace_proc_set(&run->child, texts[!parent], run, names[!parent] + 6);
	return run->parent.log && run->child.log ? 0 : -1;
}

static void strace_run_free(struct strace_run *run)
{
	free(run->parent.log);
	free(run->child.log);
	free(run->out);
}

/* strace -f -ff in @dir with @args; its output collected into @run. */
static int run_strace(const char *dir, const char *args, struct strace_run *run)
{
	sh("cd %s && rm -f trace.* && strace -f -ff -o trace -e 'signal=!SIGCHLD' %s 2> strace.err",
	   dir, args);
	return strace_collect(dir, run);
}

/* The runs' transcripts of each process are the same, but for the probes' calls. */
#define EXPECT_SAME_STRACE(a, b) do {					\
	EXPECT_SAME_TEXT("unprobed output", (a).out, "probed output", (b).out); \
	EXPECT_SAME_TEXT("unprobed parent", (a).parent.log,		\
			 "probed parent", (b).parent.log);		\
	EXPECT_SAME_TEXT("unprobed child", (a).child.log,		\
			 "probed child", (b).child.log);		\
	EXPECT_EQ(0, (a).parent.uretprobe + (a).parent.uprobe +	\
		  (a).child.uretprobe + (a).child.uprobe);		\
} while (0)

static void show_probe_calls(struct strace_run *run)
{
	fprintf(stderr, "# strace shows the uretprobe call as: %s\n",
		run->first[0][0] ? run->first[0] : "(none)");
	fprintf(stderr, "# strace shows the uprobe call as: %s\n",
		run->first[1][0] ? run->first[1] : "(none)");
}

/*
 * strace -f from the start of a program that forks, with an entry and a return probe
 * on dbg_fn and a probe on its nop5 site. Traced from the start, the site is never
 * made a jump: no uprobe call (336). Every return through the trampoline is a
 * uretprobe call (335), which strace shows in its place among the program's own
 * calls, as on stock kernels: once per call in each process. The rest of each
 * process's trace is the unprobed one.
 */
TEST_F_TIMEOUT(strace, from_start, 300)
{
	struct strace_run a, b;
	char cmd[256], want[600];

	snprintf(cmd, sizeof(cmd), "%s --target strace > prog.out", self->exe);
	ASSERT_EQ(0, run_strace(self->dir, cmd, &a));
	ASSERT_EQ(0, probe_sym(self->exe, 'p', "dbg_fn", "dbg_fn"));
	ASSERT_EQ(0, probe_sym(self->exe, 'r', "dbg_fn_ret", "dbg_fn"));
	ASSERT_EQ(0, probe_sym(self->exe, 'p', "dbg_nop5", "dbg_nop5"));
	ASSERT_EQ(0, run_strace(self->dir, cmd, &b));
	show_probe_calls(&b);
	snprintf(want, sizeof(want), "@begin\n%s%s", self->calls, self->calls);
	EXPECT_SAME_TEXT("expected output", want, "unprobed output", a.out);
	EXPECT_SAME_STRACE(a, b);
	EXPECT_EQ(LOOPS, b.parent.uretprobe);
	EXPECT_EQ(LOOPS, b.child.uretprobe);
	EXPECT_EQ(0, b.parent.uprobe);
	EXPECT_EQ(0, b.child.uprobe);
	EXPECT_EQ(2 * LOOPS, probe_hits("dbg_fn"));
	EXPECT_EQ(2 * LOOPS, probe_hits("dbg_nop5"));
	EXPECT_EQ(2 * LOOPS, trace_count("dbg_fn_ret", 0));
	strace_run_free(&a);
	strace_run_free(&b);
}

/*
 * strace -f -p on a process whose nop5 site became a jump before (where the kernel
 * optimizes sites), which then forks and calls dbg_fn in both processes. The attach
 * turns the site back into a breakpoint before strace sees anything: no stub call
 * (336) in either process, as on a kernel that does not optimize. The uretprobe
 * calls as from the start; the rest the same.
 */
TEST_F_TIMEOUT(strace, attach, 300)
{
	struct strace_run runs[2];
	bool optimized = false;
	char args[64], want[600];
	int r, site;
	pid_t pid;

	for (r = 0; r < 2; r++) {
		if (r == 1) {
			ASSERT_EQ(0, probe_sym(self->exe, 'p', "dbg_fn", "dbg_fn"));
			ASSERT_EQ(0, probe_sym(self->exe, 'r', "dbg_fn_ret", "dbg_fn"));
			ASSERT_EQ(0, probe_sym(self->exe, 'p', "dbg_nop5", "dbg_nop5"));
		}
		pid = start_waiting_target(self->exe, self->dir, "strace-attach");
		ASSERT_LT(0, pid);
		site = target_byte(pid, self->exe, "dbg_nop5");
		if (r == 1) {
			optimized = site == 0xe9;
			TH_LOG("the nop5 site is %s when strace attaches",
			       optimized ? "a jump" : "not a jump");
			if (kernel_optimizes_nop5())
				EXPECT_TRUE(optimized);
		}
		snprintf(args, sizeof(args), "-p %d", pid);
		ASSERT_EQ(0, run_strace(self->dir, args, &runs[r]));
		EXPECT_EQ(0, wait_exit(pid));
	}
	show_probe_calls(&runs[1]);
	snprintf(want, sizeof(want), "@begin warm right\n%s%s", self->calls, self->calls);
	EXPECT_SAME_TEXT("expected output", want, "unprobed output", runs[0].out);
	EXPECT_SAME_STRACE(runs[0], runs[1]);
	EXPECT_EQ(LOOPS, runs[1].parent.uretprobe);
	EXPECT_EQ(LOOPS, runs[1].child.uretprobe);
	EXPECT_EQ(0, runs[1].parent.uprobe);
	EXPECT_EQ(0, runs[1].child.uprobe);
	EXPECT_EQ(WARM_CALLS + 2 * LOOPS, probe_hits("dbg_fn"));
	EXPECT_EQ(WARM_CALLS + 2 * LOOPS, probe_hits("dbg_nop5"));
	EXPECT_EQ(WARM_CALLS + 2 * LOOPS, trace_count("dbg_fn_ret", 0));
	for (r = 0; r < 2; r++)
		strace_run_free(&runs[r]);
}

int main(int argc, char **argv)
{
	if (argc >= 3 && !strcmp(argv[1], "--target"))
		return run_target(argc, argv);
	return test_harness_run(argc, argv);
}
