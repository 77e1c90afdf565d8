/* kbuf and kreader: caps, growth, line reading across buffer refills. */
#include "kluis.h"
#include "unit.h"

static void cap_is_enforced(void)
{
	struct kbuf b = KBUF_INIT(10);
	struct kerr e;

	CHECK(kbuf_append(&b, "0123456789", 10, &e) == 0);
	CHECK(b.len == 10 && b.p[10] == '\0');
	CHECK(kbuf_putc(&b, 'x', &e) == KERR_LIMIT);
	CHECK(b.len == 10);
	kbuf_free(&b);
}

static void printf_and_take(void)
{
	struct kbuf b = KBUF_INIT(1 << 20);
	struct kerr e;
	size_t n;
	uint8_t *p;

	for (int i = 0; i < 1000; i++)
		CHECK(kbuf_printf(&b, &e, "%d,", i) == 0);
	CHECK(memcmp(b.p, "0,1,2,", 6) == 0);
	p = kbuf_take(&b, &n);
	CHECK(b.p == NULL && b.len == 0);
	CHECK(n > 3000 && p[n] == '\0');
	kbuf_free_taken(p, n, false);
}

static void secret_buffer_grows(void)
{
	struct kbuf b;
	struct kerr e;

	kbuf_init(&b, 1 << 16, true);
	for (int i = 0; i < 5000; i++)
		CHECK(kbuf_putc(&b, (uint8_t)('a' + i % 26), &e) == 0);
	CHECK(b.len == 5000 && b.p[4999] == 'a' + 4999 % 26);
	kbuf_truncate(&b, 3);
	CHECK(b.len == 3 && memcmp(b.p, "abc", 3) == 0);
	kbuf_free(&b);
}

static void reader_lines_cross_refills(void)
{
	static const char text[] = "alpha\nbe\nta\ngamma-no-newline";
	struct kmem_src src;
	struct kreader r;
	struct kerr e;
	const uint8_t *l;
	size_t len;
	bool lf;

	kmem_src_init(&src, text, sizeof text - 1);
	CHECK(kreader_init(&r, &src.base, 8, &e) == 0);
	CHECK(kreader_line(&r, 7, &l, &len, &lf, &e) == 0);
	CHECK(len == 6 && lf && memcmp(l, "alpha\n", 6) == 0);
	CHECK(kreader_line(&r, 7, &l, &len, &lf, &e) == 0);
	CHECK(len == 3 && memcmp(l, "be\n", 3) == 0);
	CHECK(kreader_line(&r, 7, &l, &len, &lf, &e) == 0);
	CHECK(len == 3 && memcmp(l, "ta\n", 3) == 0);
	/* "gamma-no-newline" is longer than the limit. */
	CHECK(kreader_line(&r, 7, &l, &len, &lf, &e) == KERR_LIMIT);
	CHECK(r.line == 3);
	kreader_free(&r);
}

static void reader_exact_reads(void)
{
	uint8_t data[1000], out[1000];
	struct kmem_src src;
	struct kreader r;
	struct kerr e;
	size_t got, avail;

	for (size_t i = 0; i < sizeof data; i++)
		data[i] = (uint8_t)(i * 7);
	kmem_src_init(&src, data, sizeof data);
	CHECK(kreader_init(&r, &src.base, 64, &e) == 0);
	CHECK(kreader_fill(&r, 10, &avail, &e) == 0 && avail >= 10);
	CHECK(kreader_read(&r, out, 10, &got, &e) == 0 && got == 10);
	CHECK(kreader_read(&r, out + 10, 500, &got, &e) == 0 && got == 500);
	CHECK(kreader_read(&r, out + 510, 1000, &got, &e) == 0 && got == 490);
	CHECK(memcmp(out, data, sizeof data) == 0);
	CHECK(kreader_read(&r, out, 1, &got, &e) == 0 && got == 0);
	CHECK(r.offset == 1000);
	kreader_free(&r);
}

const struct unit_case suite_kbuf[] = {
	{ "kbuf: cap is enforced", cap_is_enforced },
	{ "kbuf: printf and take", printf_and_take },
	{ "kbuf: secret buffer grows and truncates", secret_buffer_grows },
	{ "kreader: lines across refills, limit", reader_lines_cross_refills },
	{ "kreader: exact reads, bypass, EOF", reader_exact_reads },
	{ NULL, NULL },
};
