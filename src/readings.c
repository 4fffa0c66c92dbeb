/* The decoded readings type's own functions; see dx_readings.h. Its own
 * module so that the decoder (json), the renderers (csv) and the client
 * all release readings the same way without linking each other. */
#include "dx_readings.h"

#include <stdlib.h>
#include <string.h>

void dx_readings_release(struct dx_readings *r)
{
	free(r->timezone);
	free(r->units);
	free(r->values);
	memset(r, 0, sizeof(*r));
}
