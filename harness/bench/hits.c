// SPDX-License-Identifier: GPL-2.0
/*
 * hits KIND CALLS THREADS: call a function whose first instruction is of one kind,
 * CALLS times in each of THREADS threads, and print the nanoseconds per call and the
 * calls per second over all threads. hits --offsets prints each kind's file offset.
 * The benchmark probes that first instruction and compares with the unprobed time.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

long bench_global = 1;

/*
 * Each function: the measured instruction first, then whatever returns cleanly. The
 * 5-byte nop of USDT sites (nopl 0x0(%rax,%rax,1)) is spelled as bytes: the assembler
 * drops the zero displacement and writes the 4-byte nopl (%rax,%rax,1). Each is typed
 * and sized as a function, so that bpftrace finds it by name.
 */
#define FUNCTION(name, insns) ".globl " #name "\n.type " #name ", @function\n" \
	#name ":\n" insns ".size " #name ", .-" #name "\n"
asm(".text\n"
    FUNCTION(k_nop1, "\tnop\n\tret\n")
    FUNCTION(k_nop5, "\t.byte 0x0f, 0x1f, 0x44, 0x00, 0x00\n\tret\n")
    FUNCTION(k_push_rbp, "\tpush %rbp\n\tpop %rbp\n\tret\n")
    FUNCTION(k_endbr64, "\tendbr64\n\tret\n")
    FUNCTION(k_sub_rsp, "\tsub $0x18,%rsp\n\tadd $0x18,%rsp\n\tret\n")
    FUNCTION(k_mov_reg, "\tmov %rdi,%rax\n\tret\n")
    FUNCTION(k_mov_to_stack, "\tmov %rdi,-0x8(%rsp)\n\tret\n")
    FUNCTION(k_mov_from_stack, "\tmov -0x8(%rsp),%rax\n\tret\n")
    FUNCTION(k_riprel_mov, "\tmov bench_global(%rip),%rax\n\tret\n")
    FUNCTION(k_riprel_cmp, "\tcmpq $0x0,bench_global(%rip)\n\tret\n")
    FUNCTION(k_lea, "\tlea 0x8(%rdi),%rax\n\tret\n")
    FUNCTION(k_xor, "\txor %eax,%eax\n\tret\n")
    FUNCTION(k_test, "\ttest %rdi,%rdi\n\tret\n")
    FUNCTION(k_ret, "\tret\n")
    FUNCTION(k_call, "\tcall k_ret\n\tret\n"));

#define KINDS(X) X(nop1) X(nop5) X(push_rbp) X(endbr64) X(sub_rsp) X(mov_reg) \
	X(mov_to_stack) X(mov_from_stack) X(riprel_mov) X(riprel_cmp) X(lea) X(xor) \
	X(test) X(ret) X(call)
#define DECLARE(k) void k_##k(void);
KINDS(DECLARE)
#define ENTRY(k) { #k, k_##k },
static const struct { const char *name; void (*fn)(void); } kinds[] = { KINDS(ENTRY) };

static void (*volatile target)(void);
static long calls;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void *loop(void *arg)
{
	long i;

	for (i = 0; i < calls; i++)
		target();
	return NULL;
}

/* The file offset of @addr, from the mapping that holds it. */
static long file_offset(void *addr)
{
	unsigned long start, end, off, a = (unsigned long)addr;
	char line[512];
	FILE *maps = fopen("/proc/self/maps", "r");
	long ret = -1;

	while (maps && fgets(line, sizeof(line), maps)) {
		if (sscanf(line, "%lx-%lx %*s %lx", &start, &end, &off) == 3 &&
		    a >= start && a < end) {
			ret = a - start + off;
			break;
		}
	}
	if (maps)
		fclose(maps);
	return ret;
}

int main(int argc, char **argv)
{
	pthread_t tids[64];
	int i, threads;
	double t0, t1;

	if (argc == 2 && !strcmp(argv[1], "--offsets")) {
		for (i = 0; i < (int)(sizeof(kinds) / sizeof(kinds[0])); i++)
			printf("%s 0x%lx\n", kinds[i].name, file_offset(kinds[i].fn));
		return 0;
	}
	if (argc != 4)
		return fprintf(stderr, "usage: hits KIND CALLS THREADS | --offsets\n"), 2;
	for (i = 0; i < (int)(sizeof(kinds) / sizeof(kinds[0])); i++)
		if (!strcmp(argv[1], kinds[i].name))
			target = kinds[i].fn;
	calls = atol(argv[2]);
	threads = atoi(argv[3]);
	if (!target || calls <= 0 || threads < 1 || threads > 64)
		return fprintf(stderr, "hits: bad arguments\n"), 2;

	t0 = now();
	for (i = 0; i < threads; i++)
		pthread_create(&tids[i], NULL, loop, NULL);
	for (i = 0; i < threads; i++)
		pthread_join(tids[i], NULL);
	t1 = now();
	/* ns per call in one thread, and calls per second over all of them */
	printf("%.1f %.0f\n", (t1 - t0) * 1e9 / calls, threads * calls / (t1 - t0));
	return 0;
}
