/* dexmafs prefetch: placeholder while being written. */
#include <stdio.h>

#include "cli.h"

int dx_prefetch_main(int argc, char *argv[])
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "dexmafs prefetch: not yet\n");
	return 1;
}
