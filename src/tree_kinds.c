/* The table of kinds: one row per kind of node, in enum kind order. A row
 * says what the node is (flags), how to reach and list its children, what
 * it holds, and which cache key families a refresh of it expires. To add a
 * kind: a value at the end of enum kind (tree_impl.h), its functions in the
 * file of its family (declared in tree_kinds.h), a row here, a way in from its parent's resolve (and
 * list), and an example in tests/unit/test_tree.c (test_table).
 */
#include "tree_kinds.h"

#define DIR(fn) .resolve = fn##_resolve, .list = fn##_list
#define FILE_OF(fn) .content = fn##_content
/* a KF_RENDERED file: its content and what its bytes are made of */
#define RENDERED(fn) .content = fn##_content, .stamp = fn##_stamp
#define EXPIRES(...)                                                                               \
	.nexpires = sizeof((enum dx_prefix[]){ __VA_ARGS__ }) / sizeof(enum dx_prefix),            \
	.expires = { __VA_ARGS__ }

#define LOCS_EXPIRE EXPIRES(DX_PREFIX_LOCATIONS, DX_PREFIX_DEVICES)
#define DEVS_EXPIRE EXPIRES(DX_PREFIX_DEVICES)
#define DSS_EXPIRE EXPIRES(DX_PREFIX_DEVICES, DX_PREFIX_DATASOURCES)
#define SERIES_EXPIRE EXPIRES(DX_PREFIX_READINGS_RES, DX_PREFIX_READINGS_MONTHLY)
/* A device's view: its parameters and all its readings. A location's: its
 * members (the listings); their readings go with each device's refresh. */
#define DEV_VIEW_EXPIRE EXPIRES(DX_PREFIX_PARAMETERS, DX_PREFIX_READINGS_DEVICE)

const struct kind_row dx_tree_kinds[K_COUNT] = {
	[K_ROOT] = { "root", KF_DIR | KF_STATIC | KF_DOTS, DIR(root) },
	[K_CTL] = { ".dexmafs", KF_DIR | KF_STATIC | KF_GLOBAL, DIR(ctl) },
	[K_STATUS] = { "status", KF_GLOBAL | KF_VOLATILE, FILE_OF(status) },
	[K_STATUS_JSON] = { "status.json", KF_GLOBAL | KF_VOLATILE, FILE_OF(status_json) },
	[K_METRICS] = { "metrics", KF_GLOBAL | KF_VOLATILE, FILE_OF(metrics) },
	[K_REFRESH] = { "refresh", KF_GLOBAL | KF_VOLATILE | KF_ON_READ, FILE_OF(refresh) },
	[K_DEP] = { "deployment", KF_DIR | KF_STATIC, DIR(dep), EXPIRES(DX_PREFIX_DEPLOYMENT) },
	[K_LOCS] = { "locations", KF_DIR, DIR(locs), LOCS_EXPIRE },
	[K_LOC] = { "location", KF_DIR, DIR(loc_views), LOCS_EXPIRE },
	[K_LOC_JSON] = { "location.json", 0, FILE_OF(loc_json), LOCS_EXPIRE },
	[K_LOC_PARENT] = { "parent", KF_LINK, FILE_OF(loc_parent), LOCS_EXPIRE },
	[K_LOC_DEVS] = { "location devices", KF_DIR, DIR(loc_devs), DEVS_EXPIRE },
	[K_LOC_DEVLINK] = { "location device", KF_LINK, FILE_OF(loc_devlink), DEVS_EXPIRE },
	[K_DEVS] = { "devices", KF_DIR, DIR(devs), DEVS_EXPIRE },
	[K_DEV] = { "device", KF_DIR, DIR(dev_views),
		    EXPIRES(DX_PREFIX_DEVICES, DX_PREFIX_PARAMETERS, DX_PREFIX_READINGS_DEVICE) },
	[K_DEV_JSON] = { "device.json", 0, FILE_OF(dev_json), DEVS_EXPIRE },
	[K_DEV_LOCLINK] = { "location link", KF_LINK, FILE_OF(dev_loclink), DEVS_EXPIRE },
	[K_PARAM] = { "parameter", KF_DIR, DIR(param),
		      EXPIRES(DX_PREFIX_PARAMETERS, DX_PREFIX_READINGS_KEY) },
	[K_PARAM_JSON] = { "parameter.json", 0, FILE_OF(param_json),
			   EXPIRES(DX_PREFIX_PARAMETERS, DX_PREFIX_READINGS_KEY) },
	[K_RES] = { "resolution", KF_DIR | KF_SERIES, DIR(res), SERIES_EXPIRE },
	[K_FILE] = { "period file", KF_DATED | KF_RENDERED | KF_SERIES, RENDERED(file),
		     .chunks = file_chunks, SERIES_EXPIRE },
	[K_SUPS] = { "supplies", KF_DIR | KF_STATIC, DIR(sups), EXPIRES(DX_PREFIX_SUPPLIES) },
	[K_SRC] = { "energy source", KF_DIR, DIR(src), EXPIRES(DX_PREFIX_SUPPLIES) },
	[K_SUP_JSON] = { "supply.json", 0, FILE_OF(sup_json), EXPIRES(DX_PREFIX_SUPPLIES) },
	[K_IDLINK] = { "id link", KF_LINK, FILE_OF(idlink), LOCS_EXPIRE },
	[K_DSS] = { "datasources", KF_DIR, DIR(dss), DSS_EXPIRE },
	[K_DS] = { "datasource", KF_DIR, DIR(ds), DSS_EXPIRE },
	[K_DS_DEVS] = { "datasource devices", KF_DIR, DIR(ds_devs), DSS_EXPIRE },
	[K_DS_DEVLINK] = { "datasource device", KF_LINK, FILE_OF(ds_devlink), DSS_EXPIRE },
	/* the views (tree_views.c); a device's and a location's directory
	 * reach them through dev_views_* and loc_views_* */
	[K_DEV_RES] = { "device resolution", KF_DIR | KF_SERIES, DIR(dev_res), DEV_VIEW_EXPIRE },
	[K_DEV_FILE] = { "device period file", KF_DATED | KF_RENDERED | KF_SERIES,
			 RENDERED(dev_file), .chunks = dev_file_chunks, DEV_VIEW_EXPIRE },
	[K_LOC_RES] = { "location resolution", KF_DIR | KF_SERIES, DIR(loc_res), LOCS_EXPIRE },
	[K_LOC_FILE] = { "location period file", KF_DATED | KF_RENDERED | KF_SERIES,
			 RENDERED(loc_file), .chunks = loc_file_chunks, LOCS_EXPIRE },
	/* tree_reference.c, tree_contracts.c */
	[K_LOC_REFS] = { "reference devices", KF_DIR, DIR(loc_refs), LOCS_EXPIRE },
	[K_LOC_REFLINK] = { "reference device", KF_LINK, FILE_OF(loc_reflink), LOCS_EXPIRE },
	[K_CONTRACTS] = { "contracts", KF_DIR | KF_STATIC, DIR(contracts),
			  EXPIRES(DX_PREFIX_CONTRACTS) },
	[K_CONTRACTS_EL] = { "electricity contracts", KF_DIR, DIR(contracts_el),
			     EXPIRES(DX_PREFIX_CONTRACTS) },
	[K_CONTRACT_JSON] = { "contract.json", 0, FILE_OF(contract_json),
			      EXPIRES(DX_PREFIX_CONTRACTS) },
	/* what a copy and a refresh of a subtree cost (tree_plan.c) */
	[K_PLAN] = { "plan", KF_GLOBAL | KF_VOLATILE | KF_ON_READ, FILE_OF(plan) },
	/* cost by tariff period (tree_cost.c), reached from dev_views_* */
	[K_COST] = { "cost", KF_DIR, DIR(cost), EXPIRES(DX_PREFIX_COST_DEVICE) },
	[K_COST_RES] = { "cost resolution", KF_DIR | KF_SERIES, DIR(cost_res),
			 EXPIRES(DX_PREFIX_COST_DEVICE) },
	[K_COST_FILE] = { "cost period file", KF_DATED | KF_RENDERED | KF_SERIES,
			  FILE_OF(cost_file), .chunks = cost_file_chunks,
			  EXPIRES(DX_PREFIX_COST_DEVICE) },
};
