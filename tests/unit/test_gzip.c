/* util/gzip: Accept-Encoding negotiation, compression round trip, bounded inflation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "util/gzip.h"

static void accept_encoding(void **state)
{
    (void)state;
    assert_false(gzip_accepted(NULL));
    assert_false(gzip_accepted(""));
    assert_true(gzip_accepted("gzip"));
    assert_true(gzip_accepted("deflate, GZIP;q=0.5"));
    assert_true(gzip_accepted("br, x-gzip"));
    assert_false(gzip_accepted("gzip;q=0"));
    assert_false(gzip_accepted("gzip; q=0.000, *"));
    assert_true(gzip_accepted("*"));
    assert_false(gzip_accepted("*;q=0"));
    assert_false(gzip_accepted("identity, deflate"));
    assert_false(gzip_accepted("gzipper, xgzip"));
    assert_false(gzip_accepted("gzip;q=abc"));
}

static void round_trip_in_pieces(void **state)
{
    (void)state;
    static char plain[200000];
    for (size_t i = 0; i < sizeof plain; i++)
        plain[i] = "kronos forecast "[i % 16] + (char)(i % 7);
    strbuf z, back;
    sb_init(&z, 0);
    sb_init(&back, 0);
    sb_puts(&z, "prefix:"); /* compress appends */
    assert_int_equal(gzip_compress(plain, sizeof plain, &z), 0);
    assert_true((unsigned char)z.data[7] == 0x1f && (unsigned char)z.data[8] == 0x8b);
    gunzip g;
    assert_int_equal(gunzip_init(&g, sizeof plain), 0);
    for (size_t off = 7; off < z.len; off += 1000) {
        size_t n = z.len - off < 1000 ? z.len - off : 1000;
        assert_int_equal(gunzip_feed(&g, z.data + off, n, &back), GUNZIP_OK);
    }
    assert_true(gunzip_done(&g));
    assert_int_equal(back.len, sizeof plain);
    assert_memory_equal(back.data, plain, sizeof plain);
    gunzip_free(&g);
    sb_free(&z);
    sb_free(&back);
}

static void limits_and_corruption(void **state)
{
    (void)state;
    static char zeros[4 << 20];
    strbuf z, out;
    sb_init(&z, 0);
    sb_init(&out, 0);
    assert_int_equal(gzip_compress(zeros, sizeof zeros, &z), 0);
    assert_true(z.len < 65536); /* a bomb: 4 MiB in a few dozen KiB */
    gunzip g;
    assert_int_equal(gunzip_init(&g, 1 << 20), 0);
    assert_int_equal(gunzip_feed(&g, z.data, z.len, &out), GUNZIP_TOO_LARGE);
    assert_true(out.len <= 1 << 20); /* stopped at the limit, not after */
    gunzip_free(&g);

    sb_reset(&out);
    assert_int_equal(gunzip_init(&g, 1 << 30), 0);
    assert_int_equal(gunzip_feed(&g, "not gzip", 8, &out), GUNZIP_CORRUPT);
    gunzip_free(&g);

    /* bytes after the end of the stream */
    sb_reset(&out);
    assert_int_equal(gunzip_init(&g, 1 << 30), 0);
    sb_puts(&z, "trailing");
    assert_int_equal(gunzip_feed(&g, z.data, z.len, &out), GUNZIP_CORRUPT);
    gunzip_free(&g);
    sb_free(&z);
    sb_free(&out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(accept_encoding),
        cmocka_unit_test(round_trip_in_pieces),
        cmocka_unit_test(limits_and_corruption),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
