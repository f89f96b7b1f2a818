/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers shared by the uprobes selftests: probes through tracefs, hits read back from
 * uprobe_profile and trace, file offsets from the ELF, and re-running the test binary
 * as a helper process.
 */
#ifndef UPROBES_HELPERS_H
#define UPROBES_HELPERS_H

#include <stdbool.h>
#include <sys/types.h>

#define TRACEFS		"/sys/kernel/tracing"
/* Every probe the tests make is in this group, so a teardown can remove them all. */
#define PROBE_GROUP	"uprobes_test"

/* Argument registers in the fetch-arg syntax of uprobe_events. */
#if defined(__x86_64__)
#define REG_ARG1	"%di"
#define REG_ARG2	"%si"
#elif defined(__powerpc64__)
#define REG_ARG1	"%r3"
#define REG_ARG2	"%r4"
#elif defined(__aarch64__)
#define REG_ARG1	"%x0"
#define REG_ARG2	"%x1"
#else
#error "add the argument registers of this architecture"
#endif

#ifndef ARRAY_SIZE
#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#endif

/* What the compiler must leave alone in a probed function: a real call, a real entry. */
#define PROBED		__attribute__((noipa, used))

/* One function of targets.o and the offset of each of its instructions (insns.h). */
struct insn_fn {
	const char *name;
	unsigned int count;
	const unsigned int *off;	/* from the function's start */
	const char *const *mnem;
	const unsigned char *pad;	/* alignment padding, never executed */
};

const struct insn_fn *insn_fn_find(const struct insn_fn *fns, unsigned int nr,
				   const char *name);

/* NULL when probes can be made here, else why not (not root, no uprobe_events). */
const char *uprobes_unavailable(void);

/*
 * The start of every fixture's setup (it may SKIP and ASSERT, so it is a macro): skip
 * where uprobes cannot be used here, and clear what an earlier test left behind.
 */
#define UPROBES_FIXTURE_START() do {					\
	const char *__why = uprobes_unavailable();			\
									\
	if (__why)							\
		SKIP(return, "%s", __why);				\
	ASSERT_EQ(0, probe_remove_all());				\
} while (0)

int probe_add(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int probe_del(const char *event);
int probe_enable(const char *event, bool on);
int probe_remove_all(void);
long probe_hits(const char *event);

struct trace_rec {
	pid_t pid;
	char event[64];
	char args[256];
};

int trace_clear(void);
int trace_read(const char *event, struct trace_rec **recs);
long trace_count(const char *event, pid_t pid);
bool trace_arg(const struct trace_rec *rec, const char *name, long *val);

const char *self_path(void);
long elf_sym_offset(const char *path, const char *sym);
long elf_sym_start_offset(const char *path, const char *sym);
int elf_sdt_note(const char *path, const char *provider, const char *name,
		 long *pc_off, long *sema_off);
unsigned long file_checksum(const char *path);

/* An executable mapping of a file: [start, end) maps the file from offset off. */
struct exec_map {
	unsigned long start;
	unsigned long end;
	unsigned long off;
};

int proc_exec_map(pid_t pid, const char *path, struct exec_map *map);
long proc_text_diff(pid_t pid, const char *path, unsigned long *first);

char *read_all(const char *path, size_t *lenp);
long read_long(const char *path, long dflt);
int write_file(const char *path, const char *str);
int copy_file(const char *from, const char *to, mode_t mode);
int mem_byte(const void *addr);
pid_t spawn_self(char *const argv[]);
int wait_exit(pid_t pid);
int wait_within(pid_t pid, int ms);
int meminfo_kb(const char *field, long *kb);
unsigned long map_named(const char *name, unsigned long *end);
int count_maps(const char *name);
int count_children(pid_t ppid);
bool kernel_has_symbol(const char *name);
double now(void);
long loop_sum(long n);

/*
 * How long uprobes_stress and uprobes_fuzz run: UPROBES_STRESS_SECONDS, the one
 * variable of both (`make stress` sets it from STRESS_SECONDS), else
 * STRESS_DEFAULT_SECONDS. Each stress test runs its workers that long; the fuzzing
 * writes FUZZ_LINES_PER_SECOND probe lines per second of it.
 */
#define STRESS_DEFAULT_SECONDS	4
#define FUZZ_LINES_PER_SECOND	1000
int stress_seconds(void);

#endif /* UPROBES_HELPERS_H */
