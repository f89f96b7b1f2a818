// SPDX-License-Identifier: GPL-2.0
/*
 * Helpers shared by the uprobes selftests. Probes go through tracefs only, so the same
 * tests run on any kernel that has uprobe_events. Functions return 0 or -errno unless
 * they say otherwise.
 */
#define _GNU_SOURCE
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <dirent.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "uprobes_helpers.h"

const struct insn_fn *insn_fn_find(const struct insn_fn *fns, unsigned int nr,
				   const char *name)
{
	unsigned int i;

	for (i = 0; i < nr; i++)
		if (!strcmp(fns[i].name, name))
			return &fns[i];
	return NULL;
}

const char *uprobes_unavailable(void)
{
	if (geteuid())
		return "needs root to write " TRACEFS "/uprobe_events";
	if (access(TRACEFS "/uprobe_events", W_OK))
		return "no " TRACEFS "/uprobe_events (tracefs or CONFIG_UPROBE_EVENTS missing)";
	return NULL;
}

static int write_str(const char *path, const char *str, int flags)
{
	ssize_t len = strlen(str), n;
	int fd, ret = 0;

	fd = open(path, O_WRONLY | O_CLOEXEC | flags);
	if (fd < 0)
		return -errno;
	n = write(fd, str, len);
	if (n < 0)
		ret = -errno;
	else if (n != len)
		ret = -EIO;
	close(fd);
	return ret;
}

/* The whole of a (tracefs or regular) file, NUL-terminated; NULL with errno set. */
char *read_all(const char *path, size_t *lenp)
{
	size_t len = 0, cap = 65536;
	char *buf = malloc(cap + 1), *tmp;
	ssize_t n;
	int fd;

	if (!buf)
		return NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		goto err_free;
	for (;;) {
		if (len == cap) {
			cap *= 2;
			tmp = realloc(buf, cap + 1);
			if (!tmp)
				goto err_close;
			buf = tmp;
		}
		n = read(fd, buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			goto err_close;
		if (!n)
			break;
		len += n;
	}
	close(fd);
	buf[len] = '\0';
	if (lenp)
		*lenp = len;
	return buf;

err_close:
	n = errno;
	close(fd);
	errno = n;
err_free:
	free(buf);
	return NULL;
}

/* The number at the start of a (proc, sys or tracefs) file; @dflt if none can be read. */
long read_long(const char *path, long dflt)
{
	char buf[64] = "";
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return dflt;
	if (read(fd, buf, sizeof(buf) - 1) < 0)
		buf[0] = '\0';
	close(fd);
	return buf[0] ? strtol(buf, NULL, 10) : dflt;
}

/* @str written to the (proc, sys, cgroup or tracefs) file @path at once: 0, or -errno. */
int write_file(const char *path, const char *str)
{
	return write_str(path, str, 0);
}

/**
 * probe_add() - write one probe definition to uprobe_events
 * @fmt: printf format of the line, e.g. "p:" PROBE_GROUP "/x /bin/true:0x10 a=%%di"
 */
int probe_add(const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	return write_str(TRACEFS "/uprobe_events", line, O_APPEND);
}

int probe_del(const char *event)
{
	char line[128];

	snprintf(line, sizeof(line), "-:%s/%s", PROBE_GROUP, event);
	return write_str(TRACEFS "/uprobe_events", line, O_APPEND);
}

/* Enable or disable one event of the group, or the whole group when @event is NULL. */
int probe_enable(const char *event, bool on)
{
	char path[256];

	if (event)
		snprintf(path, sizeof(path), TRACEFS "/events/%s/%s/enable", PROBE_GROUP, event);
	else
		snprintf(path, sizeof(path), TRACEFS "/events/%s/enable", PROBE_GROUP);
	return write_str(path, on ? "1" : "0", 0);
}

/*
 * Disable and delete every event of PROBE_GROUP, one by one: a test that died left
 * its probes, and the next one must start from none. Returns the first error.
 */
int probe_remove_all(void)
{
	char *buf, *line, *save, name[64];
	int ret = 0, err;

	buf = read_all(TRACEFS "/uprobe_events", NULL);
	if (!buf)
		return -errno;
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if ((line[0] != 'p' && line[0] != 'r') || line[1] != ':' ||
		    strncmp(line + 2, PROBE_GROUP "/", strlen(PROBE_GROUP) + 1))
			continue;
		if (sscanf(line + 3 + strlen(PROBE_GROUP), "%63[^ ]", name) != 1)
			continue;
		probe_enable(name, false);
		err = probe_del(name);
		/* An event of several probes went with the first of its lines. */
		if (err == -ENOENT)
			continue;
		if (err && !ret)
			ret = err;
	}
	free(buf);
	return ret;
}

/* The hit count of an event from uprobe_profile, or -1 if the event is not listed. */
long probe_hits(const char *event)
{
	char *buf, *line, *save, name[64];
	long hits, ret = -1;

	buf = read_all(TRACEFS "/uprobe_profile", NULL);
	if (!buf)
		return -1;
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (sscanf(line, "%*s %63s %ld", name, &hits) == 2 && !strcmp(name, event)) {
			ret = hits;
			break;
		}
	}
	free(buf);
	return ret;
}

int trace_clear(void)
{
	return write_str(TRACEFS "/trace", "", O_TRUNC);
}

/*
 * Parse one line of the trace file:
 *   "  comm-PID  [CPU] flags  TIMESTAMP: EVENT: (0xADDR[ <- 0xADDR]) ARGS"
 */
static bool parse_trace_line(const char *line, struct trace_rec *rec)
{
	const char *cpu = strstr(line, " ["), *p, *ev, *end;

	if (line[0] == '#' || !cpu)
		return false;
	p = cpu;
	while (p > line && p[-1] == ' ')
		p--;
	while (p > line && p[-1] >= '0' && p[-1] <= '9')
		p--;
	if (p == line || p[-1] != '-')
		return false;
	rec->pid = atoi(p);
	ev = strstr(cpu, ": ");
	if (!ev)
		return false;
	ev += 2;
	end = strstr(ev, ": (");
	if (!end || end - ev >= (long)sizeof(rec->event))
		return false;
	memcpy(rec->event, ev, end - ev);
	rec->event[end - ev] = '\0';
	p = strchr(end, ')');
	snprintf(rec->args, sizeof(rec->args), "%s", p ? p + 1 : "");
	return true;
}

/**
 * trace_read() - the records of one event in the trace buffer
 * @event: event name without the group
 * @recs: set to a malloc()ed array the caller frees
 *
 * Return: the number of records, or -EOVERFLOW when the buffer dropped events (a
 * count would be wrong), or another -errno.
 */
int trace_read(const char *event, struct trace_rec **recs)
{
	char *buf, *line, *save;
	struct trace_rec rec, *arr = NULL, *tmp;
	int nr = 0, cap = 0, ret;

	buf = read_all(TRACEFS "/trace", NULL);
	if (!buf)
		return -errno;
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (strstr(line, "LOST") && strstr(line, "EVENTS")) {
			ret = -EOVERFLOW;
			goto err;
		}
		if (!parse_trace_line(line, &rec) || strcmp(rec.event, event))
			continue;
		if (nr == cap) {
			cap = cap ? cap * 2 : 256;
			tmp = realloc(arr, cap * sizeof(*arr));
			if (!tmp) {
				ret = -ENOMEM;
				goto err;
			}
			arr = tmp;
		}
		arr[nr++] = rec;
	}
	free(buf);
	*recs = arr;
	return nr;
err:
	free(buf);
	free(arr);
	return ret;
}

/* Records of @event by process @pid (any process when 0), or -errno. */
long trace_count(const char *event, pid_t pid)
{
	struct trace_rec *recs;
	long count = 0;
	int i, nr;

	nr = trace_read(event, &recs);
	if (nr < 0)
		return nr;
	for (i = 0; i < nr; i++)
		if (!pid || recs[i].pid == pid)
			count++;
	free(recs);
	return count;
}

/* The value of fetch argument @name of a record ("name=value", decimal or 0x). */
bool trace_arg(const struct trace_rec *rec, const char *name, long *val)
{
	size_t len = strlen(name);
	const char *p = rec->args;
	char *end;

	while ((p = strstr(p, name))) {
		if ((p == rec->args || p[-1] == ' ') && p[len] == '=') {
			errno = 0;
			*val = strtol(p + len + 1, &end, 0);
			return !errno && end != p + len + 1;
		}
		p += len;
	}
	return false;
}

const char *self_path(void)
{
	static char path[PATH_MAX];
	ssize_t n;

	if (path[0])
		return path;
	n = readlink("/proc/self/exe", path, sizeof(path) - 1);
	if (n < 0)
		return NULL;
	path[n] = '\0';
	return path;
}

struct elf_file {
	char *data;
	size_t size;
	Elf64_Ehdr *eh;
	Elf64_Shdr *sh;
};

static int elf_open(const char *path, struct elf_file *ef)
{
	ef->data = read_all(path, &ef->size);
	if (!ef->data)
		return -errno;
	ef->eh = (Elf64_Ehdr *)ef->data;
	if (ef->size < sizeof(*ef->eh) || memcmp(ef->eh->e_ident, ELFMAG, SELFMAG) ||
	    ef->eh->e_ident[EI_CLASS] != ELFCLASS64 ||
	    ef->eh->e_shoff + (size_t)ef->eh->e_shnum * sizeof(Elf64_Shdr) > ef->size ||
	    ef->eh->e_phoff + (size_t)ef->eh->e_phnum * sizeof(Elf64_Phdr) > ef->size) {
		free(ef->data);
		return -ENOEXEC;
	}
	ef->sh = (Elf64_Shdr *)(ef->data + ef->eh->e_shoff);
	return 0;
}

static const char *elf_sec_name(struct elf_file *ef, Elf64_Shdr *sec)
{
	return ef->data + ef->sh[ef->eh->e_shstrndx].sh_offset + sec->sh_name;
}

/* A link-time address to its offset in the file, through the PT_LOAD headers. */
static long elf_vaddr_to_off(struct elf_file *ef, unsigned long vaddr)
{
	Elf64_Phdr *ph = (Elf64_Phdr *)(ef->data + ef->eh->e_phoff);
	int i;

	for (i = 0; i < ef->eh->e_phnum; i++) {
		if (ph[i].p_type != PT_LOAD || vaddr < ph[i].p_vaddr ||
		    vaddr >= ph[i].p_vaddr + ph[i].p_filesz)
			continue;
		return vaddr - ph[i].p_vaddr + ph[i].p_offset;
	}
	return -ENOENT;
}

/*
 * The link-time address of a symbol of a section of @type. With @local_entry, a function
 * of a powerpc64 ELFv2 file is entered where a caller sharing its TOC enters it: the
 * local entry point, past the global entry's TOC set-up, as perf and bpftrace place
 * probes (st_other holds the distance).
 */
static long elf_sym_vaddr(struct elf_file *ef, const char *sym, unsigned int type,
			  bool local_entry)
{
	bool elfv2 = ef->eh->e_machine == EM_PPC64 && (ef->eh->e_flags & EF_PPC64_ABI) == 2;
	Elf64_Shdr *sec;
	Elf64_Sym *syms;
	const char *strtab;
	size_t i, n;
	int s;

	for (s = 0; s < ef->eh->e_shnum; s++) {
		sec = &ef->sh[s];
		if (sec->sh_type != type)
			continue;
		syms = (Elf64_Sym *)(ef->data + sec->sh_offset);
		strtab = ef->data + ef->sh[sec->sh_link].sh_offset;
		n = sec->sh_size / sizeof(*syms);
		for (i = 0; i < n; i++) {
			if (syms[i].st_shndx == SHN_UNDEF || !syms[i].st_value ||
			    strcmp(strtab + syms[i].st_name, sym))
				continue;
			if (local_entry && elfv2 && ELF64_ST_TYPE(syms[i].st_info) == STT_FUNC)
				return syms[i].st_value +
				       PPC64_LOCAL_ENTRY_OFFSET(syms[i].st_other);
			return syms[i].st_value;
		}
	}
	return -ENOENT;
}

/*
 * elf_sym_offset() for a 32-bit file (an i386 program run as a compat task): the same
 * walk over .symtab, then .dynsym, then the PT_LOAD headers, in the Elf32 layout.
 */
static long elf32_sym_offset(const char *path, const char *sym)
{
	static const unsigned int types[] = { SHT_SYMTAB, SHT_DYNSYM };
	Elf32_Ehdr *eh;
	Elf32_Shdr *sh;
	Elf32_Phdr *ph;
	Elf32_Sym *syms;
	const char *strtab;
	long ret = -ENOENT;
	unsigned long vaddr = 0;
	size_t size, i, n;
	unsigned int t;
	char *data;
	int s;

	data = read_all(path, &size);
	if (!data)
		return -errno;
	eh = (Elf32_Ehdr *)data;
	if (size < sizeof(*eh) || memcmp(eh->e_ident, ELFMAG, SELFMAG) ||
	    eh->e_ident[EI_CLASS] != ELFCLASS32 ||
	    eh->e_shoff + (size_t)eh->e_shnum * sizeof(*sh) > size ||
	    eh->e_phoff + (size_t)eh->e_phnum * sizeof(*ph) > size) {
		ret = -ENOEXEC;
		goto out;
	}
	sh = (Elf32_Shdr *)(data + eh->e_shoff);
	ph = (Elf32_Phdr *)(data + eh->e_phoff);
	for (t = 0; t < ARRAY_SIZE(types) && !vaddr; t++) {
		for (s = 0; s < eh->e_shnum && !vaddr; s++) {
			if (sh[s].sh_type != types[t])
				continue;
			syms = (Elf32_Sym *)(data + sh[s].sh_offset);
			strtab = data + sh[sh[s].sh_link].sh_offset;
			n = sh[s].sh_size / sizeof(*syms);
			for (i = 0; i < n && !vaddr; i++)
				if (syms[i].st_shndx != SHN_UNDEF && syms[i].st_value &&
				    !strcmp(strtab + syms[i].st_name, sym))
					vaddr = syms[i].st_value;
		}
	}
	for (s = 0; vaddr && s < eh->e_phnum; s++) {
		if (ph[s].p_type == PT_LOAD && vaddr >= ph[s].p_vaddr &&
		    vaddr < ph[s].p_vaddr + ph[s].p_filesz) {
			ret = vaddr - ph[s].p_vaddr + ph[s].p_offset;
			break;
		}
	}
out:
	free(data);
	return ret;
}

static long elf64_sym_offset(const char *path, const char *sym, bool local_entry)
{
	struct elf_file ef;
	long vaddr, ret;

	ret = elf_open(path, &ef);
	if (ret == -ENOEXEC)
		return elf32_sym_offset(path, sym);
	if (ret)
		return ret;
	vaddr = elf_sym_vaddr(&ef, sym, SHT_SYMTAB, local_entry);
	if (vaddr < 0)
		vaddr = elf_sym_vaddr(&ef, sym, SHT_DYNSYM, local_entry);
	ret = vaddr < 0 ? vaddr : elf_vaddr_to_off(&ef, vaddr);
	free(ef.data);
	return ret;
}

/**
 * elf_sym_offset() - the file offset of a symbol, as uprobe_events wants it
 * @path: an ELF executable or shared library, 64-bit or 32-bit
 * @sym: a symbol of .symtab, else of .dynsym
 *
 * A function of a powerpc64 ELFv2 file is probed at its local entry point, where
 * every call arrives (calls through the global entry run on into it).
 *
 * Return: the offset, or -errno.
 */
long elf_sym_offset(const char *path, const char *sym)
{
	return elf64_sym_offset(path, sym, true);
}

/**
 * elf_sym_start_offset() - the file offset of a symbol's value itself
 * @path: an ELF file
 * @sym: a symbol of .symtab, else of .dynsym
 *
 * The same as elf_sym_offset() but for a function of a powerpc64 ELFv2 file that has
 * two entry points: this one is the global entry, where the symbol starts.
 *
 * Return: the offset, or -errno.
 */
long elf_sym_start_offset(const char *path, const char *sym)
{
	return elf64_sym_offset(path, sym, false);
}

/**
 * elf_sdt_note() - where an SDT probe (sys/sdt.h) and its semaphore are in the file
 * @path: the ELF file
 * @provider: provider name of the probe
 * @name: probe name
 * @pc_off: set to the file offset of the probe's instruction
 * @sema_off: set to the file offset of its semaphore, 0 when it has none
 *
 * Reads .note.stapsdt like perf and bpftrace do: each note gives the probe address,
 * the link-time address of .stapsdt.base (to undo prelinking) and the semaphore address.
 */
int elf_sdt_note(const char *path, const char *provider, const char *name,
		 long *pc_off, long *sema_off)
{
	unsigned long base_addr = 0, pc, base, sema;
	struct elf_file ef;
	Elf64_Shdr *notes = NULL;
	Elf64_Nhdr *nh;
	size_t pos, end;
	const char *desc;
	int s, ret;

	ret = elf_open(path, &ef);
	if (ret)
		return ret;
	for (s = 0; s < ef.eh->e_shnum; s++) {
		if (!strcmp(elf_sec_name(&ef, &ef.sh[s]), ".note.stapsdt"))
			notes = &ef.sh[s];
		else if (!strcmp(elf_sec_name(&ef, &ef.sh[s]), ".stapsdt.base"))
			base_addr = ef.sh[s].sh_addr;
	}
	ret = -ENOENT;
	if (!notes)
		goto out;
	pos = notes->sh_offset;
	end = pos + notes->sh_size;
	while (pos + sizeof(*nh) <= end) {
		nh = (Elf64_Nhdr *)(ef.data + pos);
		desc = ef.data + pos + sizeof(*nh) + ((nh->n_namesz + 3) & ~3);
		pos += sizeof(*nh) + ((nh->n_namesz + 3) & ~3) + ((nh->n_descsz + 3) & ~3);
		if (nh->n_type != 3 || nh->n_descsz < 3 * 8 + 2)
			continue;
		memcpy(&pc, desc, 8);
		memcpy(&base, desc + 8, 8);
		memcpy(&sema, desc + 16, 8);
		if (strcmp(desc + 24, provider) ||
		    strcmp(desc + 24 + strlen(provider) + 1, name))
			continue;
		if (base_addr) {
			pc += base_addr - base;
			if (sema)
				sema += base_addr - base;
		}
		*pc_off = elf_vaddr_to_off(&ef, pc);
		*sema_off = sema ? elf_vaddr_to_off(&ef, sema) : 0;
		ret = *pc_off < 0 || *sema_off < 0 ? -ENOENT : 0;
		break;
	}
out:
	free(ef.data);
	return ret;
}

/* FNV-1a of a whole file, read through read(2): what is on disk, not what is mapped. */
unsigned long file_checksum(const char *path)
{
	unsigned long h = 0xcbf29ce484222325UL;
	size_t len, i;
	char *buf;

	buf = read_all(path, &len);
	if (!buf)
		return 0;
	for (i = 0; i < len; i++)
		h = (h ^ (unsigned char)buf[i]) * 0x100000001b3UL;
	free(buf);
	return h;
}

/**
 * proc_exec_map() - the first executable mapping of a file in a process
 * @pid: the process, 0 for this one
 * @path: the file, as /proc/PID/maps names it
 * @map: set to the mapping's addresses and file offset
 *
 * Turns an instruction address of another process (a tracee's IP) into the file
 * offset a probe names, whatever address the loader chose.
 */
int proc_exec_map(pid_t pid, const char *path, struct exec_map *map)
{
	char maps[64], line[512], perms[8], name[256];
	int ret = -ENOENT;
	FILE *f;

	if (pid)
		snprintf(maps, sizeof(maps), "/proc/%d/maps", pid);
	else
		snprintf(maps, sizeof(maps), "/proc/self/maps");
	f = fopen(maps, "r");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%lx-%lx %7s %lx %*s %*s %255s", &map->start, &map->end,
			   perms, &map->off, name) != 5 || strcmp(name, path) || perms[2] != 'x')
			continue;
		ret = 0;
		break;
	}
	fclose(f);
	return ret;
}

/**
 * proc_text_diff() - compare a process's executable mappings of a file with the file
 * @pid: the process, 0 for this one
 * @path: the file
 * @first: set to the address of the first byte that differs, 0 when none does
 *
 * Reads the text through /proc/PID/mem, that is as the process sees it: probes that
 * are still installed, or were not all removed, show as differences.
 *
 * Return: how many bytes differ, or -errno.
 */
long proc_text_diff(pid_t pid, const char *path, unsigned long *first)
{
	char maps[64], mem[64], line[512], perms[8], name[256], *want, *got;
	unsigned long start, end, off;
	long diff = 0, i;
	int fd, memfd;
	ssize_t n;
	FILE *f;

	snprintf(maps, sizeof(maps), "/proc/%d/maps", pid ? pid : getpid());
	snprintf(mem, sizeof(mem), "/proc/%d/mem", pid ? pid : getpid());
	*first = 0;
	f = fopen(maps, "r");
	if (!f)
		return -errno;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	memfd = open(mem, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || memfd < 0) {
		diff = -errno;
		goto out;
	}
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%lx-%lx %7s %lx %*s %*s %255s", &start, &end, perms, &off,
			   name) != 5 || strcmp(name, path) || perms[2] != 'x')
			continue;
		want = malloc(end - start);
		got = malloc(end - start);
		/* The last page may run past the end of the file: compare what both have. */
		n = want && got ? pread(fd, want, end - start, off) : -1;
		if (n <= 0 || pread(memfd, got, n, start) != n) {
			diff = -EIO;
			free(want);
			free(got);
			break;
		}
		for (i = 0; i < n; i++) {
			if (want[i] == got[i])
				continue;
			if (!diff++)
				*first = start + i;
		}
		free(want);
		free(got);
	}
out:
	if (fd >= 0)
		close(fd);
	if (memfd >= 0)
		close(memfd);
	fclose(f);
	return diff;
}

/* The first byte at @addr as this process sees it (through /proc/self/mem), or -1. */
int mem_byte(const void *addr)
{
	unsigned char b;
	int fd = open("/proc/self/mem", O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = pread(fd, &b, 1, (off_t)(unsigned long)addr);
	close(fd);
	return n == 1 ? b : -1;
}

/**
 * copy_file() - a copy of a file with the given mode, replacing @to
 * @from: the file
 * @to: the copy's path
 * @mode: its permissions
 *
 * The tests probe copies where they change or take apart a file (a probe on a
 * copy is a probe of another inode, whatever else maps the original).
 *
 * Return: 0, or -1.
 */
int copy_file(const char *from, const char *to, mode_t mode)
{
	char buf[65536];
	int in, out, ret = 0;
	ssize_t n;

	unlink(to);
	in = open(from, O_RDONLY | O_CLOEXEC);
	out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (in < 0 || out < 0)
		ret = -1;
	while (!ret && (n = read(in, buf, sizeof(buf))) > 0)
		if (write(out, buf, n) != n)
			ret = -1;
	if (in >= 0)
		close(in);
	if (out >= 0)
		close(out);
	return ret ?: chmod(to, mode);
}

/* Run this test binary again with @argv (argv[0] is replaced); file descriptors stay. */
pid_t spawn_self(char *const argv[])
{
	const char *exe = self_path();
	pid_t pid;

	if (!exe)
		return -1;
	pid = fork();
	if (pid)
		return pid;
	execv(exe, argv);
	_exit(127);
}

/* The exit code of @pid, 128 + the signal that killed it, or -1. */
int wait_exit(pid_t pid)
{
	int status;

	if (waitpid(pid, &status, 0) != pid)
		return -1;
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return -1;
}

/*
 * The next wait status of @pid (a stop, or its end), waited for at most @ms
 * milliseconds: a child that never stops or never dies fails a test instead of
 * hanging it. On timeout the child is SIGKILLed (and reaped if it died within
 * 100 ms), and -1 returned.
 */
int wait_within(pid_t pid, int ms)
{
	int status, i;

	for (i = 0; i < ms; i++) {
		if (waitpid(pid, &status, WNOHANG) == pid)
			return status;
		usleep(1000);
	}
	kill(pid, SIGKILL);
	usleep(100000);
	waitpid(pid, NULL, WNOHANG);	/* not blocking: it may be unkillable */
	return -1;
}

/* One field of /proc/meminfo, in kB. */
int meminfo_kb(const char *field, long *kb)
{
	char *buf = read_all("/proc/meminfo", NULL), *p;
	size_t len = strlen(field);
	int ret = -ENOENT;

	if (!buf)
		return -errno;
	for (p = buf; p; p = strchr(p, '\n')) {
		if (*p == '\n')
			p++;
		if (!strncmp(p, field, len) && p[len] == ':') {
			*kb = strtol(p + len + 1, NULL, 10);
			ret = 0;
			break;
		}
	}
	free(buf);
	return ret;
}

/**
 * map_named() - where this process's first mapping of @name is
 * @name: what /proc/self/maps names it ("[uprobes]", "[uprobes-stubs]")
 * @end: set to its end, if not NULL
 *
 * Return: its start, or 0 if there is none.
 */
unsigned long map_named(const char *name, unsigned long *end)
{
	char line[512], nm[256];
	unsigned long s, e, start = 0;
	FILE *f = fopen("/proc/self/maps", "r");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%lx-%lx %*s %*s %*s %*s %255s", &s, &e, nm) == 3 &&
		    !strcmp(nm, name)) {
			start = s;
			if (end)
				*end = e;
			break;
		}
	fclose(f);
	return start;
}

/* How many lines of /proc/self/maps end with @name (e.g. "[uprobes]"). */
int count_maps(const char *name)
{
	char *buf = read_all("/proc/self/maps", NULL), *line, *save;
	size_t len = strlen(name), l;
	int count = 0;

	if (!buf)
		return -errno;
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		l = strlen(line);
		if (l >= len && !strcmp(line + l - len, name))
			count++;
	}
	free(buf);
	return count;
}

/*
 * How many processes (zombies included) have @ppid as parent, from /proc/PID/stat:
 * unlike waitpid(), it also sees a child that cannot be reaped.
 */
int count_children(pid_t ppid)
{
	char path[32 + sizeof(((struct dirent *)0)->d_name)], buf[512], *p;
	struct dirent *de;
	int count = 0, fd, parent;
	ssize_t n;
	DIR *dir;

	dir = opendir("/proc");
	if (!dir)
		return -errno;
	while ((de = readdir(dir))) {
		if (de->d_name[0] < '1' || de->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/stat", de->d_name);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;	/* gone meanwhile */
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (n <= 0)
			continue;
		buf[n] = '\0';
		/* "pid (comm) state ppid ...": comm may hold spaces and parentheses. */
		p = strrchr(buf, ')');
		if (p && sscanf(p + 1, " %*c %d", &parent) == 1 && parent == ppid)
			count++;
	}
	closedir(dir);
	return count;
}

/* Whether /proc/kallsyms lists @name: tells what the running kernel was built with. */
bool kernel_has_symbol(const char *name)
{
	char line[256], sym[128];
	bool found = false;
	FILE *f;

	f = fopen("/proc/kallsyms", "r");
	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f))
		found = sscanf(line, "%*s %*s %127s", sym) == 1 && !strcmp(sym, name);
	fclose(f);
	return found;
}

/* Seconds on the monotonic clock. */
double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* What tgt_loop(@n) returns, computed here, away from any probe. */
long loop_sum(long n)
{
	long sum = 0, i;

	for (i = 0; i < n; i++)
		sum += (i * i) ^ (sum >> 3);
	return sum;
}

int stress_seconds(void)
{
	const char *env = getenv("UPROBES_STRESS_SECONDS");
	int s = env ? atoi(env) : 0;

	return s > 0 ? s : STRESS_DEFAULT_SECONDS;
}
