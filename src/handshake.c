/* dexmafs token: placeholder while being written. */
#include <stdio.h>

#include "cli.h"

int dx_token_main(int argc, char *argv[])
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "dexmafs token: not yet\n");
	return 1;
}
