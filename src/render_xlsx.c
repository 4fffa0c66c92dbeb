/* A view as an Excel workbook (Office Open XML, SpreadsheetML), written
 * here and packed by render_zip.c; see dx_render.h.
 *
 * libxlsxwriter 1.1.4 wrote the workbook to scratch files and zipped them
 * back (15 to 50 ms a month's workbook, most of it allocating and clearing
 * its tables and its file I/O; with constant_memory on tmpfs still 10 ms),
 * where the CSV takes 0.2 ms. The package a workbook needs is small: seven
 * fixed parts and one sheet, whose cells are the CSV's numbers. */
#include "dx_cost.h"
#include "render_impl.h"

#include <errno.h>
#include <locale.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Excel's limits: 16,384 columns, 1,048,576 rows. */
#define COLS_MAX 16384
#define ROWS_MAX 1048576
/* zlib's fastest level: a month's sheet in 0.1 ms, 10% larger than at 6. */
#define DEFLATE_LEVEL 1

#define XML_HEAD "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n"
#define NS_MAIN "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
#define NS_REL "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
#define NS_PKG_REL "http://schemas.openxmlformats.org/package/2006/relationships"
#define CT_OFFICE "application/vnd.openxmlformats-officedocument."

static const char content_types[] = XML_HEAD
	"<Types xmlns=\"http://schemas.openxmlformats.org/package/2006/content-types\">"
	"<Default Extension=\"rels\" "
	"ContentType=\"application/vnd.openxmlformats-package.relationships+xml\"/>"
	"<Default Extension=\"xml\" ContentType=\"application/xml\"/>"
	"<Override PartName=\"/xl/workbook.xml\" "
	"ContentType=\"" CT_OFFICE "spreadsheetml.sheet.main+xml\"/>"
	"<Override PartName=\"/xl/worksheets/sheet1.xml\" "
	"ContentType=\"" CT_OFFICE "spreadsheetml.worksheet+xml\"/>"
	"<Override PartName=\"/xl/styles.xml\" "
	"ContentType=\"" CT_OFFICE "spreadsheetml.styles+xml\"/>"
	"<Override PartName=\"/xl/sharedStrings.xml\" "
	"ContentType=\"" CT_OFFICE "spreadsheetml.sharedStrings+xml\"/>"
	"<Override PartName=\"/docProps/core.xml\" "
	"ContentType=\"application/vnd.openxmlformats-package.core-properties+xml\"/>"
	"<Override PartName=\"/docProps/app.xml\" "
	"ContentType=\"" CT_OFFICE "extended-properties+xml\"/>"
	"</Types>";

static const char package_rels[] = XML_HEAD
	"<Relationships xmlns=\"" NS_PKG_REL "\">"
	"<Relationship Id=\"rId1\" Type=\"" NS_REL "/officeDocument\" Target=\"xl/workbook.xml\"/>"
	"<Relationship Id=\"rId2\" Type=\"" NS_PKG_REL "/metadata/core-properties\" "
	"Target=\"docProps/core.xml\"/>"
	"<Relationship Id=\"rId3\" Type=\"" NS_REL "/extended-properties\" "
	"Target=\"docProps/app.xml\"/>"
	"</Relationships>";

static const char app_props[] = XML_HEAD
	"<Properties xmlns=\"http://schemas.openxmlformats.org/officeDocument/2006/"
	"extended-properties\"><Application>dexmafs</Application></Properties>";

static const char workbook[] = XML_HEAD
	"<workbook xmlns=\"" NS_MAIN "\" xmlns:r=\"" NS_REL "\">"
	"<bookViews><workbookView/></bookViews>"
	"<sheets><sheet name=\"readings\" sheetId=\"1\" r:id=\"rId1\"/></sheets></workbook>";

static const char workbook_rels[] = XML_HEAD
	"<Relationships xmlns=\"" NS_PKG_REL "\">"
	"<Relationship Id=\"rId1\" Type=\"" NS_REL "/worksheet\" Target=\"worksheets/sheet1.xml\"/>"
	"<Relationship Id=\"rId2\" Type=\"" NS_REL "/styles\" Target=\"styles.xml\"/>"
	"<Relationship Id=\"rId3\" Type=\"" NS_REL "/sharedStrings\" "
	"Target=\"sharedStrings.xml\"/>"
	"</Relationships>";

/* Cell styles: 0 plain, 1 bold (the header), 2 a date-time. */
#define STYLE_BOLD 1
#define STYLE_DATE 2
static const char styles[] = XML_HEAD
	"<styleSheet xmlns=\"" NS_MAIN "\">"
	"<numFmts count=\"1\"><numFmt numFmtId=\"164\" formatCode=\"yyyy-mm-dd hh:mm:ss\"/>"
	"</numFmts>"
	"<fonts count=\"2\"><font><sz val=\"11\"/><name val=\"Calibri\"/><family val=\"2\"/></font>"
	"<font><b/><sz val=\"11\"/><name val=\"Calibri\"/><family val=\"2\"/></font></fonts>"
	"<fills count=\"2\"><fill><patternFill patternType=\"none\"/></fill>"
	"<fill><patternFill patternType=\"gray125\"/></fill></fills>"
	"<borders count=\"1\"><border><left/><right/><top/><bottom/><diagonal/></border></borders>"
	"<cellStyleXfs count=\"1\"><xf numFmtId=\"0\" fontId=\"0\" fillId=\"0\" borderId=\"0\"/>"
	"</cellStyleXfs>"
	"<cellXfs count=\"3\"><xf numFmtId=\"0\" fontId=\"0\" fillId=\"0\" borderId=\"0\" "
	"xfId=\"0\"/>"
	"<xf numFmtId=\"0\" fontId=\"1\" fillId=\"0\" borderId=\"0\" xfId=\"0\" applyFont=\"1\"/>"
	"<xf numFmtId=\"164\" fontId=\"0\" fillId=\"0\" borderId=\"0\" xfId=\"0\" "
	"applyNumberFormat=\"1\"/></cellXfs>"
	"<cellStyles count=\"1\"><cellStyle name=\"Normal\" xfId=\"0\" builtinId=\"0\"/>"
	"</cellStyles></styleSheet>";

static const char sheet_head[] = XML_HEAD
	"<worksheet xmlns=\"" NS_MAIN "\" xmlns:r=\"" NS_REL "\">"
	"<sheetViews><sheetView tabSelected=\"1\" workbookViewId=\"0\">"
	"<pane ySplit=\"1\" topLeftCell=\"A2\" activePane=\"bottomLeft\" state=\"frozen\"/>"
	"<selection pane=\"bottomLeft\" activeCell=\"A2\" sqref=\"A2\"/></sheetView></sheetViews>"
	"<sheetFormatPr defaultRowHeight=\"15\"/>";

static const char sheet_tail[] =
	"</sheetData><pageMargins left=\"0.7\" right=\"0.7\" top=\"0.75\" bottom=\"0.75\" "
	"header=\"0.3\" footer=\"0.3\"/></worksheet>";

/* The columns of a sheet: which time columns, and each column's letters. */
struct sheet {
	const struct dx_view *v;
	int local, utc;
	size_t ncols;
	char (*names)[4];   /* "A" .. "XFD", terminated */
	char times[2][160]; /* the time columns' headers, as the CSV's (with the zone) */
	struct dx_buf xml;
};

/* Date cells cannot hold an offset or epoch seconds: those formats get
 * both the local and the UTC date-time, which are unambiguous together. */
static void choose_time_columns(struct sheet *s, enum dx_timefmt f)
{
	s->local = f != DX_TIME_UTC;
	s->utc = f != DX_TIME_LOCAL;
}

/* The time columns' headers as the CSV of the same view names them. */
static int time_headers(struct sheet *s)
{
	struct dx_buf name;
	int rc = 0;

	for (int col = 0; !rc && col < s->local + s->utc; col++) {
		int local = s->local && col == 0;

		dx_buf_init(&name, sizeof(s->times[0]) - 1);
		rc = dx_csv_time_column(local    ? DX_TIME_LOCAL :
					s->local ? DX_TIME_LOCAL_UTC :
						   DX_TIME_UTC,
					local    ? 0 :
					s->local ? 1 :
						   0,
					s->v->timezone, &name);
		if (!rc)
			memcpy(s->times[col], name.data, name.len + 1);
		dx_buf_release(&name);
	}
	return rc;
}

static void column_name(size_t col, char out[4])
{
	char rev[4];
	size_t n = 0, i;

	for (col++; col; col = (col - 1) / 26)
		rev[n++] = (char)('A' + (col - 1) % 26);
	for (i = 0; i < n; i++)
		out[i] = rev[n - 1 - i];
	out[n] = '\0';
}

static size_t put_uint(char *out, uint64_t n)
{
	char rev[24];
	size_t len = 0, i;

	do
		rev[len++] = (char)('0' + n % 10);
	while (n /= 10);
	for (i = 0; i < len; i++)
		out[i] = rev[len - 1 - i];
	return len;
}

/* Excel's serial date of epoch seconds: days since 1899-12-30, the time
 * of day as a fraction with 10 decimals (a microsecond is 1.2e-11 days),
 * written without printf: a double's shortest text took most of the
 * time. At most 24 bytes. */
static size_t put_serial(char *out, int64_t epoch)
{
	int64_t days = epoch / 86400, secs = epoch % 86400;
	uint64_t frac;
	size_t n;

	if (secs < 0) {
		secs += 86400;
		days--;
	}
	n = put_uint(out, (uint64_t)(days + 25569));
	frac = (uint64_t)((secs * 10000000000 + 43200) / 86400);
	if (!frac)
		return n;
	out[n++] = '.';
	for (int i = 9; i >= 0; i--, frac /= 10)
		out[n + (size_t)i] = (char)('0' + frac % 10);
	n += 10;
	while (out[n - 1] == '0')
		n--;
	return n;
}

/* Appends s as XML character data or an attribute value. Characters XML
 * 1.0 cannot hold (controls other than tab and line ends) are left out. */
static int xml_text(struct dx_buf *b, const char *s)
{
	int rc = 0;

	for (const char *p = s; *p && !rc; p++) {
		unsigned char c = (unsigned char)*p;

		if (c == '&')
			rc = dx_buf_puts(b, "&amp;");
		else if (c == '<')
			rc = dx_buf_puts(b, "&lt;");
		else if (c == '>')
			rc = dx_buf_puts(b, "&gt;");
		else if (c == '"')
			rc = dx_buf_puts(b, "&quot;");
		else if (c >= 0x20 || c == '\t' || c == '\n' || c == '\r')
			rc = dx_buf_append(b, p, 1);
	}
	return rc;
}

static const char *label_of(const struct sheet *s, size_t col)
{
	size_t times = (size_t)(s->local + s->utc);

	if (col < times)
		return s->times[col];
	return s->v->series[col - times].label ? s->v->series[col - times].label : "";
}

/* Characters, not bytes, decide how wide a header is. */
static double width_of(const struct sheet *s, size_t col)
{
	const char *label = label_of(s, col);
	size_t chars = 2;

	if (col < (size_t)(s->local + s->utc))
		return 20;
	for (const char *p = label; *p; p++)
		chars += ((unsigned char)*p & 0xC0) != 0x80;
	return chars < 12 ? 12 : chars > 60 ? 60 : (double)chars;
}

/* The shared strings: the header's labels, string i in cell i of row 1. */
static int shared_strings(const struct sheet *s, struct dx_buf *b)
{
	int rc = dx_buf_printf(b,
			       XML_HEAD "<sst xmlns=\"" NS_MAIN "\" count=\"%zu\" "
					"uniqueCount=\"%zu\">",
			       s->ncols, s->ncols);

	for (size_t i = 0; !rc && i < s->ncols; i++) {
		const char *l = label_of(s, i);
		int keep = l[0] == ' ' || (l[0] && l[strlen(l) - 1] == ' ');

		rc = dx_buf_puts(b, keep ? "<si><t xml:space=\"preserve\">" : "<si><t>");
		if (!rc)
			rc = xml_text(b, l);
		if (!rc)
			rc = dx_buf_puts(b, "</t></si>");
	}
	return rc ? rc : dx_buf_puts(b, "</sst>");
}

static int core_props(const struct dx_view *v, struct dx_buf *b)
{
	const struct dx_date *d = &v->range.from;
	int rc = dx_buf_puts(
		b,
		XML_HEAD "<cp:coreProperties xmlns:cp=\"http://schemas.openxmlformats.org/package/"
			 "2006/metadata/core-properties\" "
			 "xmlns:dc=\"http://purl.org/dc/elements/1.1/\" "
			 "xmlns:dcterms=\"http://purl.org/dc/terms/\" "
			 "xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\"><dc:title>");

	if (!rc)
		rc = xml_text(b, v->title ? v->title : "");
	/* the period's start, not "now": the bytes stay the same */
	for (int i = 0; !rc && i < 2; i++)
		rc = dx_buf_printf(b,
				   "%s<dcterms:%s xsi:type=\"dcterms:W3CDTF\">"
				   "%04d-%02d-%02dT00:00:00Z</dcterms:%s>",
				   i ? "" : "</dc:title>", i ? "modified" : "created", d->year,
				   d->month, d->day, i ? "modified" : "created");
	return rc ? rc : dx_buf_puts(b, "</cp:coreProperties>");
}

static int sheet_columns(const struct sheet *s)
{
	struct dx_buf *b = (struct dx_buf *)&s->xml;
	int rc = dx_buf_puts(b, "<cols>");

	for (size_t i = 0; !rc && i < s->ncols; i++)
		rc = dx_buf_printf(
			b, "<col min=\"%zu\" max=\"%zu\" width=\"%.2f\" customWidth=\"1\"/>", i + 1,
			i + 1, width_of(s, i) + 0.71);
	if (!rc)
		rc = dx_buf_puts(b, "</cols><sheetData><row r=\"1\">");
	for (size_t i = 0; !rc && i < s->ncols; i++)
		rc = dx_buf_printf(b, "<c r=\"%s1\" s=\"%d\" t=\"s\"><v>%zu</v></c>", s->names[i],
				   STYLE_BOLD, i);
	return rc ? rc : dx_buf_puts(b, "</row>");
}

/* One number cell at p: <c s="STYLE"><v>NUM</v></c>, the number's text
 * n bytes at num. Its reference (r="C5") only after an empty cell: a cell
 * without one is the next column (ECMA-376 18.3.1.4), and the sheet is a
 * third smaller. */
static char *put_cell(char *p, const char *ref, size_t reflen, int style, const char *num, size_t n)
{
	memcpy(p, "<c", 2);
	p += 2;
	if (ref) {
		memcpy(p, " r=\"", 4);
		memcpy(p += 4, ref, reflen);
		*(p += reflen) = '"';
		p++;
	}
	if (style) {
		memcpy(p, " s=\"2\"", 6);
		p += 6;
	}
	memcpy(p, "><v>", 4);
	memcpy(p += 4, num, n);
	memcpy(p += n, "</v></c>", 8);
	return p + 8;
}

/* The reference of column col in the row at rowtext, into ref. */
static size_t cell_ref(const struct sheet *s, size_t col, const char *rowtext, size_t rl, char *ref)
{
	size_t c = strlen(s->names[col]);

	memcpy(ref, s->names[col], c);
	memcpy(ref + c, rowtext, rl);
	return c + rl;
}

static int sheet_row(struct sheet *s, uint64_t row, const struct dx_reading *const *cells,
		     const struct dx_reading *at)
{
	struct dx_buf *b = &s->xml;
	char rowtext[24], num[40], ref[32], *p;
	size_t rl = put_uint(rowtext, row), col = 0;
	int rc = dx_buf_reserve(b, 32 + s->ncols * (40 + 24 + 32)), gap = 0;

	if (rc)
		return rc;
	p = b->data + b->len;
	memcpy(p, "<row r=\"", 8);
	memcpy(p += 8, rowtext, rl);
	memcpy(p += rl, "\">", 2);
	p += 2;
	if (s->local)
		p = put_cell(p, NULL, 0, STYLE_DATE, num,
			     put_serial(num, at->utc + (int64_t)at->offset_min * 60));
	if (s->utc)
		p = put_cell(p, NULL, 0, STYLE_DATE, num, put_serial(num, at->utc));
	col = (size_t)(s->local + s->utc);
	for (size_t i = 0; i < s->v->nseries; i++, col++) {
		if (!cells[i] || !isfinite(cells[i]->v)) {
			gap = 1;
			continue;
		}
		p = put_cell(p, gap ? ref : NULL, gap ? cell_ref(s, col, rowtext, rl, ref) : 0, 0,
			     num, dx_csv_number(cells[i]->v, num));
		gap = 0;
	}
	memcpy(p, "</row>", 6);
	b->len = (size_t)(p + 6 - b->data);
	return 0;
}

static int sheet_rows(struct sheet *s)
{
	const struct dx_reading **cells = calloc(s->v->nseries + 1, sizeof(*cells));
	struct dx_reading at;
	struct dx_merge m;
	uint64_t row = 2;
	int rc = dx_merge_init(&m, s->v);

	if (!cells && !rc)
		rc = -ENOMEM;
	while (!rc && dx_merge_next(&m, cells, &at))
		rc = row > ROWS_MAX ? -E2BIG : sheet_row(s, row++, cells, &at);
	dx_merge_release(&m);
	free(cells);
	return rc;
}

static int sheet_xml(struct sheet *s)
{
	int rc = dx_buf_puts(&s->xml, sheet_head);

	if (!rc)
		rc = sheet_columns(s);
	if (!rc)
		rc = sheet_rows(s);
	return rc ? rc : dx_buf_puts(&s->xml, sheet_tail);
}

/* The fixed parts, in the package's order; FIXED_BEFORE_CORE go before
 * docProps/core.xml, the others after it. */
#define FIXED_PARTS 6
#define FIXED_BEFORE_CORE 2
static const struct fixed {
	const char *name, *xml;
	size_t len;
} fixed_parts[FIXED_PARTS] = {
	{ "[Content_Types].xml", content_types, sizeof(content_types) - 1 },
	{ "_rels/.rels", package_rels, sizeof(package_rels) - 1 },
	{ "docProps/app.xml", app_props, sizeof(app_props) - 1 },
	{ "xl/workbook.xml", workbook, sizeof(workbook) - 1 },
	{ "xl/_rels/workbook.xml.rels", workbook_rels, sizeof(workbook_rels) - 1 },
	{ "xl/styles.xml", styles, sizeof(styles) - 1 },
};

/* The fixed parts deflated once per process: a quarter of a month's
 * workbook's CPU went to deflating them again for each. Written once under
 * pthread_once and only read after, a constant computed late rather than
 * state; parts it could not make (no memory) are deflated as before, to
 * the same bytes. */
static struct dx_zip_part deflated_parts[FIXED_PARTS];
static pthread_once_t deflated_once = PTHREAD_ONCE_INIT;

static void deflate_fixed(void)
{
	for (size_t i = 0; i < FIXED_PARTS; i++)
		dx_zip_part_make(fixed_parts[i].name, fixed_parts[i].xml, fixed_parts[i].len,
				 DEFLATE_LEVEL, &deflated_parts[i]);
}

static int add_fixed(struct dx_zip *z, size_t from, size_t to)
{
	int rc = 0;

	for (size_t i = from; !rc && i < to; i++)
		rc = deflated_parts[i].bytes ? dx_zip_add_part(z, &deflated_parts[i]) :
					       dx_zip_add(z, fixed_parts[i].name,
							  fixed_parts[i].xml, fixed_parts[i].len);
	return rc;
}

/* The package: the fixed parts, the sheet and the parts made of the view. */
static int package(struct sheet *s, struct dx_buf *out)
{
	struct dx_buf part;
	struct dx_zip *z;
	int rc = dx_zip_new(out, DEFLATE_LEVEL, &z);

	if (rc)
		return rc;
	pthread_once(&deflated_once, deflate_fixed);
	dx_buf_init(&part, 1 << 20);
	rc = add_fixed(z, 0, FIXED_BEFORE_CORE);
	if (!rc && !(rc = core_props(s->v, &part)))
		rc = dx_zip_add(z, "docProps/core.xml", part.data, part.len);
	if (!rc)
		rc = add_fixed(z, FIXED_BEFORE_CORE, FIXED_PARTS);
	dx_buf_reset(&part);
	if (!rc && !(rc = shared_strings(s, &part)))
		rc = dx_zip_add(z, "xl/sharedStrings.xml", part.data, part.len);
	if (!rc)
		rc = dx_zip_add(z, "xl/worksheets/sheet1.xml", s->xml.data, s->xml.len);
	if (!rc)
		rc = dx_zip_finish(z);
	dx_buf_release(&part);
	dx_zip_free(z);
	return rc;
}

int dx_render_xlsx(const struct dx_view *v, struct dx_buf *out)
{
	struct sheet s = { .v = v };
	locale_t c_locale, previous;
	int rc;

	if ((unsigned)v->timefmt >= DX_TIME_COUNT || v->nseries + 2 > COLS_MAX)
		return -EINVAL;
	choose_time_columns(&s, v->timefmt);
	s.ncols = v->nseries + (size_t)(s.local + s.utc);
	s.names = calloc(s.ncols, sizeof(*s.names));
	c_locale = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
	if (!s.names || c_locale == (locale_t)0) {
		rc = -ENOMEM;
		goto out;
	}
	if ((rc = time_headers(&s)))
		goto out;
	for (size_t i = 0; i < s.ncols; i++)
		column_name(i, s.names[i]);
	dx_buf_init(&s.xml, (size_t)1 << 30); /* a sheet is about 10 times its zip */
	previous = uselocale(c_locale);
	rc = sheet_xml(&s);
	uselocale(previous);
	if (!rc)
		rc = package(&s, out);
	dx_buf_release(&s.xml);
out:
	if (c_locale != (locale_t)0)
		freelocale(c_locale);
	free(s.names);
	return rc;
}

/* ---- cost rows (dx_cost.h): a row per (bucket, period), the period as
 * an inline string, every cell with its reference ---- */

static int cost_cell(struct sheet *s, size_t col, const char *rowtext, int style, const char *num,
		     size_t n)
{
	return dx_buf_printf(&s->xml, "<c r=\"%s%s\"%s><v>%.*s</v></c>", s->names[col], rowtext,
			     style ? " s=\"2\"" : "", (int)n, num);
}

static int cost_row(struct sheet *s, uint64_t row, const struct dx_cost *c,
		    const struct dx_cost_row *r)
{
	const double vals[3] = { r->at.v, r->cost, r->price };
	char rowtext[24], num[40];
	size_t col = 0;
	int rc;

	rowtext[put_uint(rowtext, row)] = '\0';
	rc = dx_buf_printf(&s->xml, "<row r=\"%s\">", rowtext);
	if (!rc && s->local)
		rc = cost_cell(s, col++, rowtext, STYLE_DATE, num,
			       put_serial(num, r->at.utc + (int64_t)r->at.offset_min * 60));
	if (!rc && s->utc)
		rc = cost_cell(s, col++, rowtext, STYLE_DATE, num, put_serial(num, r->at.utc));
	if (!rc)
		rc = dx_buf_printf(&s->xml, "<c r=\"%s%s\" t=\"inlineStr\"><is><t>",
				   s->names[col++], rowtext);
	rc = rc ? rc : xml_text(&s->xml, c->periods[r->period]);
	rc = rc ? rc : dx_buf_puts(&s->xml, "</t></is></c>");
	for (int i = 0; !rc && i < 3; i++, col++)
		if (isfinite(vals[i]))
			rc = cost_cell(s, col, rowtext, 0, num, dx_csv_number(vals[i], num));
	return rc ? rc : dx_buf_puts(&s->xml, "</row>");
}

static int cost_sheet(struct sheet *s, const struct dx_cost_view *v)
{
	int64_t first = dx_date_to_days(v->range.from), last = dx_date_to_days(v->range.to);
	uint64_t row = 2;
	int rc = dx_buf_puts(&s->xml, sheet_head);

	rc = rc ? rc : sheet_columns(s);
	for (size_t i = 0; !rc && i < v->cost->n; i++) {
		int64_t day = dx_reading_local_day(&v->cost->rows[i].at);

		if (day >= first && day <= last)
			rc = row > ROWS_MAX ? -E2BIG :
					      cost_row(s, row++, v->cost, &v->cost->rows[i]);
	}
	return rc ? rc : dx_buf_puts(&s->xml, sheet_tail);
}

/* The header labels of a cost sheet after its time columns. */
static void cost_labels(const struct dx_cost_view *v, char labels[4][160])
{
	const char *units = v->cost->units && *v->cost->units ? v->cost->units : "kWh";
	const char *cur = v->currency && *v->currency ? v->currency : NULL;

	snprintf(labels[0], 160, "period");
	snprintf(labels[1], 160, "consumption (%s)", units);
	if (cur) {
		snprintf(labels[2], 160, "cost (%s)", cur);
		snprintf(labels[3], 160, "price (%s/%s)", cur, units);
	} else {
		snprintf(labels[2], 160, "cost");
		snprintf(labels[3], 160, "price (per %s)", units);
	}
}

int dx_cost_render_xlsx(const struct dx_cost_view *v, struct dx_buf *out)
{
	char labels[4][160];
	struct dx_series cols[4];
	struct dx_view frame = { .title = v->title,
				 .series = cols,
				 .nseries = 4,
				 .range = v->range,
				 .timefmt = v->timefmt,
				 .timezone = v->timezone };
	struct sheet s = { .v = &frame };
	locale_t c_locale, previous;
	int rc;

	if ((unsigned)v->timefmt >= DX_TIME_COUNT)
		return -EINVAL;
	cost_labels(v, labels);
	for (int i = 0; i < 4; i++)
		cols[i] = (struct dx_series){ labels[i], NULL, NULL, NULL };
	choose_time_columns(&s, v->timefmt);
	s.ncols = 4 + (size_t)(s.local + s.utc);
	s.names = calloc(s.ncols, sizeof(*s.names));
	c_locale = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
	rc = !s.names || c_locale == (locale_t)0 ? -ENOMEM : time_headers(&s);
	for (size_t i = 0; !rc && i < s.ncols; i++)
		column_name(i, s.names[i]);
	dx_buf_init(&s.xml, (size_t)1 << 30);
	if (!rc) {
		previous = uselocale(c_locale);
		rc = cost_sheet(&s, v);
		uselocale(previous);
	}
	if (!rc)
		rc = package(&s, out);
	dx_buf_release(&s.xml);
	if (c_locale != (locale_t)0)
		freelocale(c_locale);
	free(s.names);
	return rc;
}
