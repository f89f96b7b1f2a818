// SPDX-License-Identifier: GPL-2.0
/*
 * Who may make and use probes. Each rule is the stock kernel's, checked from a child
 * that gave up its privileges (user nobody, or root without the file-permission
 * capabilities):
 *  - tracefs: uprobe_events is root's, mode 0640, uprobe_profile 0440; nobody can
 *    neither make, list, enable nor remove probes;
 *  - the uprobe PMU needs CAP_SYS_ADMIN whatever perf_event_paranoid says;
 *  - a uprobe event opened as a tracepoint follows perf_event_paranoid: counting on
 *    one's own task always (user only above 1), CPU-wide only at 0 or below, raw
 *    samples on one's own task always (uprobe events are TRACE_EVENT_FL_CAP_ANY),
 *    CPU-wide raw samples only at -1;
 *  - the probed path is looked up with the caller's permissions: a file in a directory
 *    the caller cannot search is refused, through tracefs and through the PMU. A file
 *    the caller can reach but not read is accepted, as stock accepts it: only the
 *    lookup is checked, not read access.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/perf_event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <grp.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "targets.h"

#define NOBODY		65534
#define PERM_DIR	"/tmp/uprobes_perm_dir"
/* A directory of someone else (not root, not nobody), mode 0700: only DAC overrides enter. */
#define HIDDEN		PERM_DIR "/hidden"
#define STRANGER	12345
#define NOREAD		"/tmp/uprobes_perm_noread"	/* mode 0000 */
#define OPEN		"/tmp/uprobes_perm_open"	/* mode 0755 */
#define PARANOID	"/proc/sys/kernel/perf_event_paranoid"
/* What read_long() gives for a file it cannot read: perf_event_paranoid may be -1. */
#define NO_NUMBER	(-1000)

static int perf_open(struct perf_event_attr *attr, pid_t pid, int cpu)
{
	return syscall(__NR_perf_event_open, attr, pid, cpu, -1, PERF_FLAG_FD_CLOEXEC);
}

/*
 * Become @uid (and its group) keeping only the capabilities in @caps (a mask of
 * CAP_* bits below 32). Returns 0 or -errno.
 */
static int drop_to(uid_t uid, unsigned int caps)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2] = {};

	if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0))
		return -errno;
	if (uid && (setgroups(0, NULL) || setresgid(uid, uid, uid) ||
		    setresuid(uid, uid, uid)))
		return -errno;
	data[0].effective = caps;
	data[0].permitted = caps;
	if (syscall(SYS_capset, &hdr, data))
		return -errno;
	return 0;
}

/*
 * Run @fn(@arg) in a child that is @uid with only @caps; returns what it returned
 * (an errno value, 0 for success, below 256), or -1 if the child could not drop its
 * privileges or died.
 */
static int run_as(uid_t uid, unsigned int caps, int (*fn)(const void *), const void *arg)
{
	int status;
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (pid < 0)
		return -1;
	if (!pid)
		_exit(drop_to(uid, caps) ? 255 : fn(arg));
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
	    WEXITSTATUS(status) == 255)
		return -1;
	return WEXITSTATUS(status);
}

struct open_arg {
	const char *path;
	int flags;
};

static int open_errno(const void *p)
{
	const struct open_arg *a = p;
	int fd = open(a->path, a->flags | O_CLOEXEC);

	if (fd < 0)
		return errno;
	close(fd);
	return 0;
}

static int write_str(const char *path, const char *str)
{
	int fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC), ret = 0;

	if (fd < 0)
		return errno;
	if (write(fd, str, strlen(str)) < 0)
		ret = errno;
	close(fd);
	return ret;
}

static int set_paranoid(int level)
{
	char buf[16];

	snprintf(buf, sizeof(buf), "%d", level);
	return write_str("/proc/sys/kernel/perf_event_paranoid", buf);
}

FIXTURE(perm) {
	long leaf_off;
	long event_id;
	long paranoid;
	int pmu_type;
};

FIXTURE_SETUP(perm)
{
	char path[256];

	UPROBES_FIXTURE_START();
	ASSERT_NE(NULL, self_path());
	self->leaf_off = elf_sym_offset(self_path(), "tgt_leaf");
	ASSERT_LT(0, self->leaf_off);
	self->paranoid = read_long(PARANOID, NO_NUMBER);
	ASSERT_NE(NO_NUMBER, self->paranoid);
	self->pmu_type = read_long("/sys/bus/event_source/devices/uprobe/type", NO_NUMBER);

	/*
	 * Copies of the test binary: one anybody may read, one nobody may read, one in a
	 * directory that neither nobody nor root without its DAC capabilities may search.
	 */
	ASSERT_EQ(0, copy_file(self_path(), OPEN, 0755));
	ASSERT_EQ(0, copy_file(self_path(), NOREAD, 0));
	mkdir(PERM_DIR, 0700);
	ASSERT_EQ(0, copy_file(self_path(), HIDDEN, 0755));
	ASSERT_EQ(0, chown(PERM_DIR, STRANGER, STRANGER));
	ASSERT_EQ(0, chmod(PERM_DIR, 0700));

	ASSERT_EQ(0, probe_add("p:%s/perm %s:0x%lx", PROBE_GROUP, OPEN, self->leaf_off));
	snprintf(path, sizeof(path), TRACEFS "/events/%s/perm/id", PROBE_GROUP);
	self->event_id = read_long(path, NO_NUMBER);
	ASSERT_LE(0, self->event_id);
}

FIXTURE_TEARDOWN_PARENT(perm)
{
	if (self->paranoid != NO_NUMBER)
		set_paranoid(self->paranoid);
	EXPECT_EQ(0, probe_remove_all());
	unlink(OPEN);
	unlink(NOREAD);
	unlink(HIDDEN);
	rmdir(PERM_DIR);
}

/*
 * The tracefs files are root's with stock modes, and nobody can neither write a
 * probe, nor list them, nor read the hit counts, nor enable or remove an event.
 */
TEST_F(perm, tracefs_closed_to_nobody)
{
	static const struct { const char *file; int mode; } files[] = {
		{ TRACEFS "/uprobe_events", 0640 },
		{ TRACEFS "/uprobe_profile", 0440 },
	};
	static const struct open_arg opens[] = {
		{ TRACEFS "/uprobe_events", O_WRONLY | O_APPEND },
		{ TRACEFS "/dynamic_events", O_WRONLY | O_APPEND },
		{ TRACEFS "/events/" PROBE_GROUP "/perm/enable", O_WRONLY },
		{ TRACEFS "/events/" PROBE_GROUP "/enable", O_WRONLY },
		{ TRACEFS "/uprobe_events", O_RDONLY },
		{ TRACEFS "/dynamic_events", O_RDONLY },
		{ TRACEFS "/uprobe_profile", O_RDONLY },
	};
	const struct open_arg *o;
	struct stat st;
	int i, ret;

	for (i = 0; i < ARRAY_SIZE(files); i++) {
		ASSERT_EQ(0, stat(files[i].file, &st));
		EXPECT_EQ(0, st.st_uid);
		EXPECT_EQ(files[i].mode, st.st_mode & 07777) {
			TH_LOG("%s has mode %o", files[i].file, st.st_mode & 07777);
		}
	}
	for (o = opens; o < opens + ARRAY_SIZE(opens); o++) {
		ret = run_as(NOBODY, 0, open_errno, o);
		EXPECT_EQ(EACCES, ret) {
			TH_LOG("nobody opening %s (flags %#x): %d", o->path, o->flags, ret);
		}
	}
	/* Still there, still disabled, still removable by root. */
	EXPECT_EQ(0, probe_hits("perm"));
	EXPECT_EQ(0, read_long(TRACEFS "/events/" PROBE_GROUP "/perm/enable", NO_NUMBER));
	EXPECT_EQ(0, probe_del("perm"));
}

struct pmu_arg {
	int type;
	const char *path;
	long offset;
};

static int pmu_open(const void *p)
{
	const struct pmu_arg *a = p;
	struct perf_event_attr attr = {
		.size = sizeof(attr),
		.type = a->type,
		.uprobe_path = (unsigned long)a->path,
		.probe_offset = a->offset,
		.exclude_kernel = 1,
	};
	int fd = perf_open(&attr, 0, -1);

	if (fd < 0)
		return errno;
	close(fd);
	return 0;
}

/* The uprobe PMU is CAP_SYS_ADMIN's at every perf_event_paranoid level. */
TEST_F(perm, uprobe_pmu_needs_admin)
{
	struct pmu_arg arg = { self->pmu_type, OPEN, self->leaf_off };
	int level;

	if (self->pmu_type < 0)
		SKIP(return, "no uprobe PMU");
	for (level = -1; level <= 2; level++) {
		ASSERT_EQ(0, set_paranoid(level));
		EXPECT_EQ(EACCES, run_as(NOBODY, 0, pmu_open, &arg)) {
			TH_LOG("perf_event_paranoid %d: nobody opened the uprobe PMU", level);
		}
		EXPECT_EQ(0, run_as(NOBODY, 1U << CAP_SYS_ADMIN, pmu_open, &arg)) {
			TH_LOG("perf_event_paranoid %d: CAP_SYS_ADMIN could not", level);
		}
	}
}

enum tp_kind { TP_TASK_USER, TP_TASK_ALL, TP_CPU, TP_TASK_RAW, TP_CPU_RAW, NR_TP_KINDS };

static const char *const tp_kind_name[] = {
	"own task, user only", "own task, user and kernel", "CPU-wide",
	"own task, raw samples", "CPU-wide, raw samples",
};

/*
 * Stock's rule for an unprivileged opener at @level
 * (Documentation/admin-guide/perf-security.rst).
 */
static bool tp_allowed(enum tp_kind kind, int level)
{
	switch (kind) {
	case TP_TASK_USER:
	case TP_TASK_RAW:
		return true;
	case TP_TASK_ALL:
		return level < 2;
	case TP_CPU:
		return level < 1;
	default:
		return level < 0;
	}
}

struct tp_arg {
	long id;
	enum tp_kind kind;
};

/*
 * Open the uprobe event as a tracepoint; on the own task, call the probed function
 * three times and expect to count three hits (exit EBADMSG if not).
 */
static int tp_open(const void *p)
{
	const struct tp_arg *a = p;
	struct perf_event_attr attr = {
		.size = sizeof(attr),
		.type = PERF_TYPE_TRACEPOINT,
		.config = a->id,
		.exclude_kernel = a->kind != TP_TASK_ALL,
	};
	bool task = a->kind != TP_CPU && a->kind != TP_CPU_RAW;
	long long count = 0;
	int fd, i;

	if (a->kind == TP_TASK_RAW || a->kind == TP_CPU_RAW) {
		attr.sample_type = PERF_SAMPLE_RAW;
		attr.sample_period = 1;
	}
	fd = perf_open(&attr, task ? 0 : -1, task ? -1 : 0);
	if (fd < 0)
		return errno;
	if (task) {
		for (i = 0; i < 3; i++)
			if (tgt_leaf(i) != i * 7 + 3)
				return EBADMSG;
		if (read(fd, &count, sizeof(count)) != sizeof(count) || count != 3)
			return EBADMSG;
	}
	close(fd);
	return 0;
}

/*
 * A uprobe event opened by nobody as a perf tracepoint, in every way at every level:
 * allowed exactly where stock's rules allow it, refused otherwise; where allowed on
 * its own task, it counts every hit.
 */
TEST_F(perm, uprobe_event_by_paranoid)
{
	struct tp_arg arg = { .id = self->event_id };
	int level, ret;
	char path[256];

	/* The probe on this binary itself, which nobody's child runs. */
	ASSERT_EQ(0, probe_del("perm"));
	ASSERT_EQ(0, probe_add("p:%s/perm %s:0x%lx", PROBE_GROUP, self_path(), self->leaf_off));
	snprintf(path, sizeof(path), TRACEFS "/events/%s/perm/id", PROBE_GROUP);
	arg.id = read_long(path, NO_NUMBER);
	ASSERT_LE(0, arg.id);
	for (level = -1; level <= 2; level++) {
		ASSERT_EQ(0, set_paranoid(level));
		for (arg.kind = 0; arg.kind < NR_TP_KINDS; arg.kind++) {
			ret = run_as(NOBODY, 0, tp_open, &arg);
			if (tp_allowed(arg.kind, level)) {
				EXPECT_EQ(0, ret) {
					TH_LOG("paranoid %d, %s: refused (%d)", level,
					       tp_kind_name[arg.kind], ret);
				}
			} else {
				EXPECT_TRUE(ret == EACCES || ret == EPERM) {
					TH_LOG("paranoid %d, %s: %d, not refused", level,
					       tp_kind_name[arg.kind], ret);
				}
			}
		}
	}
}

static int trace_line(const void *line)
{
	return write_str(TRACEFS "/uprobe_events", line);
}

/*
 * The path of a probe is looked up as the caller: root without CAP_DAC_OVERRIDE and
 * CAP_DAC_READ_SEARCH cannot probe a file in a directory it may not search, through
 * uprobe_events, nor can a CAP_SYS_ADMIN nobody through the PMU. The same callers
 * probe a file they can reach (also one they cannot read, as on stock).
 */
TEST_F(perm, unreachable_file_refused)
{
	unsigned int root_caps = ~((1U << CAP_DAC_OVERRIDE) | (1U << CAP_DAC_READ_SEARCH));
	struct pmu_arg arg = { self->pmu_type, HIDDEN, self->leaf_off };
	char line[256];

	snprintf(line, sizeof(line), "p:%s/hidden %s:0x%lx", PROBE_GROUP, HIDDEN,
		 self->leaf_off);
	EXPECT_EQ(EACCES, run_as(0, root_caps, trace_line, line));
	EXPECT_EQ(-1, probe_hits("hidden"));
	snprintf(line, sizeof(line), "p:%s/noread %s:0x%lx", PROBE_GROUP, NOREAD,
		 self->leaf_off);
	EXPECT_EQ(0, run_as(0, root_caps, trace_line, line));
	EXPECT_EQ(0, probe_hits("noread"));
	/* With its capabilities, root probes the hidden file: the refusal was the path's. */
	snprintf(line, sizeof(line), "p:%s/hidden %s:0x%lx", PROBE_GROUP, HIDDEN,
		 self->leaf_off);
	EXPECT_EQ(0, trace_line(line));

	if (self->pmu_type < 0)
		SKIP(return, "no uprobe PMU");
	EXPECT_EQ(EACCES, run_as(NOBODY, 1U << CAP_SYS_ADMIN, pmu_open, &arg));
	arg.path = NOREAD;
	EXPECT_EQ(0, run_as(NOBODY, 1U << CAP_SYS_ADMIN, pmu_open, &arg));
	arg.path = OPEN;
	EXPECT_EQ(0, run_as(NOBODY, 1U << CAP_SYS_ADMIN, pmu_open, &arg));
}

TEST_HARNESS_MAIN
