// SPDX-License-Identifier: GPL-2.0
/* A small real program for the demo: counts words, with a recursive helper to probe. */
#include <stdio.h>
#include <string.h>

static int depth_of(const char *word, int level)
{
	if (!*word)
		return level;
	return depth_of(word + 1, level + 1);
}

int count_word(const char *word, int len)
{
	return depth_of(word, 0) == len ? len : -1;
}

int main(int argc, char **argv)
{
	long total = 0;
	int i;

	for (i = 1; i < argc; i++)
		total += count_word(argv[i], (int)strlen(argv[i]));
	printf("%d words, %ld letters\n", argc - 1, total);
	return 0;
}
