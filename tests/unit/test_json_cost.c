/* Unit tests for the cost decoder (json_cost.c): GET
 * /cost/electrical/consumption answers, good and malformed. */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "dx_cost.h"

/* Two blocks: a price change on 1 January between them. */
static const char two_blocks[] =
	"[{\"type\":\"TOU\",\"from\":\"2023-12-31T00:00:00+01:00\",\"to\":\"2023-12-31T00:00:00+01:"
	"00\","
	"\"units\":\"kWh\",\"total\":1.0,\"total_consumption\":10.5,"
	"\"periods\":[{\"key\":\"P1\",\"label\":\"Punta\",\"price\":0.18,\"val\":2.5,\"cost\":0.45}"
	","
	"{\"key\":\"P3\",\"label\":\"Valle\",\"price\":0.08,\"val\":8.0,\"cost\":0.64}],"
	"\"values\":[{\"k\":\"P1\",\"v\":2.5,\"c\":0.45,\"ts\":\"2023-12-31T00:00:00+01:00\"},"
	"{\"k\":\"P3\",\"v\":8.0,\"c\":0.64,\"ts\":\"2023-12-31T00:00:00+01:00\"}]},"
	"{\"type\":\"TOU\",\"from\":\"2024-01-01T00:00:00+01:00\",\"to\":\"2024-01-01T00:00:00+01:"
	"00\","
	"\"units\":\"kWh\",\"total\":1.0,\"total_consumption\":3,"
	"\"periods\":[{\"key\":\"P1\",\"label\":\"Punta\",\"price\":0.19,\"val\":3,\"cost\":0.57,"
	"\"price_change\":true}],"
	"\"values\":[{\"k\":\"P1\",\"v\":3,\"c\":0.57,\"ts\":\"2024-01-01T00:00:00+01:00\"}]}]";

static void test_decode(void **state)
{
	struct dx_cost c;

	(void)state;
	assert_int_equal(dx_json_cost(two_blocks, strlen(two_blocks), &c), 0);
	assert_int_equal(c.nblocks, 2);
	assert_int_equal(c.nperiods, 2);
	assert_string_equal(c.periods[0], "P1 Punta");
	assert_string_equal(c.periods[1], "P3 Valle");
	assert_string_equal(c.units, "kWh");
	assert_int_equal(c.n, 3);
	assert_int_equal(c.rows[0].at.utc, 1703977200);
	assert_int_equal(c.rows[0].at.offset_min, 60);
	assert_true(c.rows[0].at.v == 2.5 && c.rows[0].cost == 0.45 && c.rows[0].price == 0.18);
	assert_int_equal(c.rows[1].period, 1);
	/* each row has its own block's price */
	assert_int_equal(c.rows[2].period, 0);
	assert_true(c.rows[2].price == 0.19 && c.rows[2].at.v == 3);
	assert_int_equal(dx_json_check_cost(two_blocks, strlen(two_blocks)), 0);
	dx_cost_release(&c);
	dx_cost_release(&c); /* harmless twice */
}

static void test_no_tariff(void **state)
{
	struct dx_cost c;

	(void)state;
	assert_int_equal(dx_json_cost("[]", 2, &c), 0);
	assert_int_equal(c.n, 0);
	assert_int_equal(c.nblocks, 0);
	dx_cost_release(&c);
	assert_int_equal(dx_json_cost("", 0, &c), 0); /* 204 */
	assert_int_equal(c.n, 0);
	dx_cost_release(&c);
}

static void test_malformed(void **state)
{
	static const char *const bad[] = {
		"{}",
		"[1]",
		"[{\"periods\":[]}]",
		"[{\"values\":[]}]",
		"[{\"periods\":{},\"values\":[]}]",
		"[{\"periods\":[{\"label\":\"x\"}],\"values\":[]}]",
		"[{\"periods\":[{\"key\":\"P1\",\"price\":\"0.1\"}],\"values\":[]}]",
		/* a value of a period its block does not name */
		"[{\"periods\":[{\"key\":\"P1\"}],\"values\":[{\"k\":\"P2\",\"v\":1,\"c\":1,"
		"\"ts\":\"2024-01-01T00:00:00+01:00\"}]}]",
		/* no offset, a string value, a null cost, no ts */
		"[{\"periods\":[{\"key\":\"P1\"}],\"values\":[{\"k\":\"P1\",\"v\":1,\"c\":1,"
		"\"ts\":\"2024-01-01T00:00:00\"}]}]",
		"[{\"periods\":[{\"key\":\"P1\"}],\"values\":[{\"k\":\"P1\",\"v\":\"1\",\"c\":1,"
		"\"ts\":\"2024-01-01T00:00:00+01:00\"}]}]",
		"[{\"periods\":[{\"key\":\"P1\"}],\"values\":[{\"k\":\"P1\",\"v\":1,\"c\":null,"
		"\"ts\":\"2024-01-01T00:00:00+01:00\"}]}]",
		"[{\"periods\":[{\"key\":\"P1\"}],\"values\":[{\"k\":\"P1\",\"v\":1,\"c\":1}]}]",
		"[{\"periods\":[],\"values\":[]}",
		"[{\"periods\":[],\"values\":[]}] x",
	};
	struct dx_cost c;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&c, 0x5a, sizeof(c));
		assert_int_equal(dx_json_cost(bad[i], strlen(bad[i]), &c), -EPROTO);
		assert_int_equal(dx_json_check_cost(bad[i], strlen(bad[i])), -EPROTO);
	}
}

static void test_order_and_no_price(void **state)
{
	static const char out_of_order[] =
		"[{\"periods\":[{\"key\":\"P2\"},{\"key\":\"P1\",\"label\":null}],\"values\":["
		"{\"k\":\"P2\",\"v\":1,\"c\":2,\"ts\":\"2024-01-01T01:00:00+01:00\"},"
		"{\"k\":\"P1\",\"v\":3,\"c\":4,\"ts\":\"2024-01-01T00:00:00+01:00\"},"
		"{\"k\":\"P2\",\"v\":5,\"c\":6,\"ts\":\"2024-01-01T00:00:00+01:00\"}]}]";
	struct dx_cost c;

	(void)state;
	assert_int_equal(dx_json_cost(out_of_order, strlen(out_of_order), &c), 0);
	assert_string_equal(c.periods[0], "P2");
	assert_string_equal(c.periods[1], "P1");
	assert_null(c.units);
	assert_true(c.rows[0].at.v == 3 && c.rows[1].at.v == 5 && c.rows[2].at.v == 1);
	assert_true(isnan(c.rows[0].price));
	dx_cost_release(&c);
}

static void test_reference(void **state)
{
	static const char locs[] =
		"[{\"id\":1,\"reference_devices\":[{\"device\":{\"id\":7},\"type\":\"GAS\"}]},"
		"{\"id\":2,\"reference_devices\":[{\"device\":{\"id\":7},\"type\":\"MAINSUPPLY\"}]}"
		"]";
	static const char one[] = "{\"id\":3,\"reference_devices\":[{\"device\":{\"id\":9},"
				  "\"type\":\"MAINSUPPLY\"}]}";

	(void)state;
	assert_int_equal(dx_json_is_reference(locs, strlen(locs), 1, "MAINSUPPLY", 7), 0);
	assert_int_equal(dx_json_is_reference(locs, strlen(locs), 2, "MAINSUPPLY", 7), 1);
	assert_int_equal(dx_json_is_reference(locs, strlen(locs), 2, "MAINSUPPLY", 8), 0);
	assert_int_equal(dx_json_is_reference(locs, strlen(locs), 5, "MAINSUPPLY", 7), 0);
	assert_int_equal(dx_json_is_reference(locs, strlen(locs), -1, "MAINSUPPLY", 7), 1);
	assert_int_equal(dx_json_is_reference(locs, strlen(locs), -1, "GAS", 8), 0);
	assert_int_equal(dx_json_is_reference(one, strlen(one), 3, "MAINSUPPLY", 9), 1);
	assert_int_equal(dx_json_is_reference("[", 1, 3, "MAINSUPPLY", 9), -EPROTO);
}

/* Decoded, then rendered: the rows of the range, in both dialects. */
static void test_render_csv(void **state)
{
	struct dx_cost c;
	struct dx_buf out;
	struct dx_cost_view v = { .cost = &c,
				  .range = { { 2023, 12, 31 }, { 2024, 1, 1 } },
				  .timefmt = DX_TIME_LOCAL_UTC,
				  .dialect = DX_CSV_STANDARD };

	(void)state;
	assert_int_equal(dx_json_cost(two_blocks, strlen(two_blocks), &c), 0);
	dx_buf_init(&out, 1 << 20);
	assert_int_equal(dx_cost_render_csv(&v, &out), 0);
	assert_string_equal(out.data,
			    "local_time,utc_time,period,consumption (kWh),cost,price (per kWh)\n"
			    "2023-12-31 00:00:00,2023-12-30 23:00:00,P1 Punta,2.5,0.45,0.18\n"
			    "2023-12-31 00:00:00,2023-12-30 23:00:00,P3 Valle,8,0.64,0.08\n"
			    "2024-01-01 00:00:00,2023-12-31 23:00:00,P1 Punta,3,0.57,0.19\n");
	dx_buf_reset(&out);
	v.range.from = v.range.to; /* 1 January only, in the European dialect */
	v.dialect = DX_CSV_EU;
	v.timefmt = DX_TIME_ISO;
	v.currency = "EUR";
	assert_int_equal(dx_cost_render_csv(&v, &out), 0);
	assert_string_equal(out.data, "\xEF\xBB\xBFtime;period;consumption (kWh);cost (EUR);"
				      "price (EUR/kWh)\n"
				      "2024-01-01T00:00:00+01:00;P1 Punta;3;0,57;0,19\n");
	dx_buf_release(&out);
	dx_cost_release(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_decode),    cmocka_unit_test(test_no_tariff),
		cmocka_unit_test(test_malformed), cmocka_unit_test(test_order_and_no_price),
		cmocka_unit_test(test_reference), cmocka_unit_test(test_render_csv),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
