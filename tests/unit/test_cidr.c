#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include "security/cidr.h"

static void addr_of(const char *text, uint8_t out[16])
{
    cidr_block b;
    assert_int_equal(cidr_parse(text, &b), 0);
    memcpy(out, b.addr, 16);
}

static bool contains(const char *net, const char *ip)
{
    cidr_block b;
    uint8_t a[16];
    assert_int_equal(cidr_parse(net, &b), 0);
    addr_of(ip, a);
    return cidr_contains(&b, a);
}

static void parses_good_blocks(void **state)
{
    (void)state;
    cidr_block b;
    assert_int_equal(cidr_parse("10.0.0.0/8", &b), 0);
    assert_int_equal(b.prefix, 104);
    assert_int_equal(cidr_parse("192.168.1.7", &b), 0);
    assert_int_equal(b.prefix, 128);
    assert_int_equal(cidr_parse("0.0.0.0/0", &b), 0);
    assert_int_equal(b.prefix, 96);
    assert_int_equal(cidr_parse("2001:db8::/32", &b), 0);
    assert_int_equal(b.prefix, 32);
    assert_int_equal(cidr_parse("::/0", &b), 0);
    assert_int_equal(b.prefix, 0);
    assert_int_equal(cidr_parse("::1", &b), 0);
    assert_int_equal(b.prefix, 128);
    assert_int_equal(cidr_parse("::ffff:10.0.0.0/104", &b), 0);
    assert_int_equal(b.prefix, 104);
}

static void rejects_bad_blocks(void **state)
{
    (void)state;
    const char *bad[] = {"",          "/8",           "10.0.0.0/",    "10.0.0.0/33",
                         "10.0.0/8",  "10.0.0.256",   "10.0.0.0/-1",  "10.0.0.0/8x",
                         "::/129",    "2001:db8:::1", "fe80::1%eth0", "10.0.0.0/1000",
                         "localhost", "10.0.0.0 /8",  "1.2.3.4/+8",   "1.2.3.4/8/8"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        cidr_block b;
        if (cidr_parse(bad[i], &b) != -1)
            fail_msg("accepted '%s'", bad[i]);
    }
    char longer[200];
    memset(longer, '1', sizeof(longer) - 1);
    longer[sizeof(longer) - 1] = '\0';
    cidr_block b;
    assert_int_equal(cidr_parse(longer, &b), -1);
}

static void masks_host_bits(void **state)
{
    (void)state;
    assert_true(contains("10.1.2.3/8", "10.200.0.1"));
    assert_false(contains("10.1.2.3/8", "11.0.0.1"));
    assert_true(contains("2001:db8::1/32", "2001:db8:ffff::2"));
}

static void matches_prefix_edges(void **state)
{
    (void)state;
    /* /0 over IPv4 covers every IPv4 address but no native IPv6 one */
    assert_true(contains("0.0.0.0/0", "255.255.255.255"));
    assert_true(contains("0.0.0.0/0", "0.0.0.0"));
    assert_false(contains("0.0.0.0/0", "2001:db8::1"));
    /* ::/0 covers everything, IPv4 included (mapped) */
    assert_true(contains("::/0", "2001:db8::1"));
    assert_true(contains("::/0", "8.8.8.8"));
    /* /32 and /128 are single hosts */
    assert_true(contains("192.0.2.1/32", "192.0.2.1"));
    assert_false(contains("192.0.2.1/32", "192.0.2.2"));
    assert_true(contains("2001:db8::1/128", "2001:db8::1"));
    assert_false(contains("2001:db8::1/128", "2001:db8::2"));
    /* a prefix that splits a byte */
    assert_true(contains("192.0.2.128/25", "192.0.2.255"));
    assert_false(contains("192.0.2.128/25", "192.0.2.127"));
    assert_true(contains("2001:db8::/33", "2001:db8:7fff::1"));
    assert_false(contains("2001:db8::/33", "2001:db8:8000::1"));
    /* /31 and /127 */
    assert_true(contains("10.0.0.2/31", "10.0.0.3"));
    assert_false(contains("10.0.0.2/31", "10.0.0.4"));
    assert_true(contains("::2/127", "::3"));
    assert_false(contains("::2/127", "::4"));
}

static void mapped_ipv4_is_ipv4(void **state)
{
    (void)state;
    assert_true(contains("10.0.0.0/8", "::ffff:10.9.8.7"));
    assert_true(contains("::ffff:10.0.0.0/104", "10.9.8.7"));
    assert_false(contains("10.0.0.0/8", "::a09:807")); /* IPv4-compatible is not mapped */
}

static void converts_socket_addresses(void **state)
{
    (void)state;
    struct sockaddr_in in4 = {.sin_family = AF_INET};
    inet_pton(AF_INET, "172.16.5.4", &in4.sin_addr);
    struct sockaddr_in6 in6 = {.sin6_family = AF_INET6};
    inet_pton(AF_INET6, "::ffff:172.16.5.4", &in6.sin6_addr);
    uint8_t a[16], b[16];
    assert_int_equal(cidr_addr_from_sockaddr((struct sockaddr *)&in4, a), 0);
    assert_int_equal(cidr_addr_from_sockaddr((struct sockaddr *)&in6, b), 0);
    assert_memory_equal(a, b, 16);

    struct sockaddr unix_like = {.sa_family = AF_UNIX};
    assert_int_equal(cidr_addr_from_sockaddr(&unix_like, a), -1);
    assert_int_equal(cidr_addr_from_sockaddr(NULL, a), -1);
}

static void parses_lists(void **state)
{
    (void)state;
    cidr_list l;
    char err[128];
    assert_int_equal(cidr_list_parse(" 127.0.0.1/32 , ::1/128,10.0.0.0/8 ", &l, err, sizeof(err)),
                     0);
    assert_int_equal(l.n, 3);
    uint8_t a[16];
    addr_of("10.3.3.3", a);
    assert_true(cidr_list_contains(&l, a));
    addr_of("::1", a);
    assert_true(cidr_list_contains(&l, a));
    addr_of("11.0.0.1", a);
    assert_false(cidr_list_contains(&l, a));
    cidr_list_free(&l);
    assert_null(l.blocks);

    assert_int_equal(cidr_list_parse("", &l, err, sizeof(err)), 0);
    assert_int_equal(l.n, 0);
    assert_false(cidr_list_contains(&l, a));
    cidr_list_free(&l);
    assert_int_equal(cidr_list_parse(NULL, &l, err, sizeof(err)), 0);
    cidr_list_free(&l);
    assert_int_equal(cidr_list_parse(" , ,", &l, err, sizeof(err)), 0);
    assert_int_equal(l.n, 0);
    cidr_list_free(&l);
}

static void list_errors_name_the_item(void **state)
{
    (void)state;
    cidr_list l;
    char err[128] = "";
    assert_int_equal(cidr_list_parse("10.0.0.0/8, 300.1.1.1/8 ,::1", &l, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "'300.1.1.1/8'"));
    assert_null(l.blocks);
    assert_int_equal(l.n, 0);
    assert_int_equal(cidr_list_parse("::1/200", &l, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "'::1/200'"));
    assert_int_equal(cidr_list_parse("10.0.0.0/8;11.0.0.0/8", &l, err, sizeof(err)), -1);
}

static void formats_and_detects_loopback(void **state)
{
    (void)state;
    uint8_t a[16];
    char text[CIDR_ADDR_TEXT_MAX];
    addr_of("::ffff:192.0.2.9", a);
    cidr_addr_to_text(a, text);
    assert_string_equal(text, "192.0.2.9");
    addr_of("2001:DB8:0:0:0:0:0:1", a);
    cidr_addr_to_text(a, text);
    assert_string_equal(text, "2001:db8::1");
    addr_of("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", a);
    cidr_addr_to_text(a, text);
    assert_string_equal(text, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");

    const char *loop[] = {"127.0.0.1", "127.255.0.3", "::1", "::ffff:127.0.0.1"};
    for (size_t i = 0; i < 4; i++) {
        addr_of(loop[i], a);
        assert_true(cidr_addr_is_loopback(a));
    }
    const char *not_loop[] = {"128.0.0.1", "::2", "::", "0.0.0.0", "::127.0.0.1"};
    for (size_t i = 0; i < 5; i++) {
        addr_of(not_loop[i], a);
        if (cidr_addr_is_loopback(a))
            fail_msg("'%s' taken for loopback", not_loop[i]);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parses_good_blocks),
        cmocka_unit_test(rejects_bad_blocks),
        cmocka_unit_test(masks_host_bits),
        cmocka_unit_test(matches_prefix_edges),
        cmocka_unit_test(mapped_ipv4_is_ipv4),
        cmocka_unit_test(converts_socket_addresses),
        cmocka_unit_test(parses_lists),
        cmocka_unit_test(list_errors_name_the_item),
        cmocka_unit_test(formats_and_detects_loopback),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
