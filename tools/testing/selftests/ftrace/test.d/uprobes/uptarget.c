// SPDX-License-Identifier: GPL-2.0
/*
 * The program the uprobe event tests probe.  uprobe_target() is called with
 * known values in its argument registers and behind its pointers, and returns
 * a known value, so that every kind of fetch argument has something to find.
 * Usage: uptarget [CALLS]
 */
#include <stdlib.h>

struct uprobe_test_rec {
	unsigned int	flags;		/* 0xf0a5: bitfields are cut from it */
	short		neg;		/* -2 */
	unsigned char	bytes[4];	/* 1 2 3 4 */
	const char	*name;		/* "rec-name" */
	long		vals[3];	/* 10 20 30 */
	long		*mid;		/* &vals[1] */
	const char	*names[2];	/* "first" "second" */
};

/* In .rodata, next to the code: reachable through @+FILE_OFFSET. */
const char test_ro[] = "read-only data";
char test_str[] = "hello uprobe";
struct uprobe_test_rec test_rec = {
	.flags	= 0xf0a5,
	.neg	= -2,
	.bytes	= { 1, 2, 3, 4 },
	.name	= "rec-name",
	.vals	= { 10, 20, 30 },
	.mid	= &test_rec.vals[1],
	.names	= { "first", "second" },
};

__attribute__((noinline)) long uprobe_target(long num, const char *str,
					     struct uprobe_test_rec *rec)
{
	asm volatile("" : : "r"(str) : "memory");
	return num * 2 + rec->neg;	/* 82 for 42 */
}

int main(int argc, char **argv)
{
	int i, calls = argc > 1 ? atoi(argv[1]) : 1;
	long sum = 0;

	for (i = 0; i < calls; i++)
		sum += uprobe_target(42, test_str, &test_rec);
	return sum == 82L * calls ? 0 : 1;
}
