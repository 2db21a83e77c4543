#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "security/names.h"
#include "security/whitelist.h"

static int whitelist_parse_(const char *csv, whitelist *out, char *err, size_t errlen)
{
    return whitelist_parse(csv, NULL, out, err, errlen);
}

static void parses_with_spaces_and_empty_items(void **state)
{
    (void)state;
    whitelist wl;
    char err[256];
    assert_int_equal(
        whitelist_parse_("  web-1 ,\tapi.svc , ,, worker_2:x  ", &wl, err, sizeof(err)), 0);
    assert_int_equal(wl.n, 3);
    assert_non_null(whitelist_find(&wl, "web-1"));
    assert_non_null(whitelist_find(&wl, "api.svc"));
    assert_non_null(whitelist_find(&wl, "worker_2:x"));
    assert_null(whitelist_find(&wl, " web-1"));
    assert_null(whitelist_find(&wl, "Web-1"));
    assert_null(whitelist_find(&wl, "web"));
    assert_null(whitelist_find(&wl, "web-10"));
    assert_null(whitelist_find(&wl, NULL));
    whitelist_free(&wl);
    assert_null(wl.names);

    assert_int_equal(whitelist_parse_("", &wl, err, sizeof(err)), 0);
    assert_int_equal(wl.n, 0);
    assert_null(whitelist_find(&wl, "localhost"));
    whitelist_free(&wl);
    assert_int_equal(whitelist_parse_(NULL, &wl, err, sizeof(err)), 0);
    whitelist_free(&wl);
}

static void drops_duplicates(void **state)
{
    (void)state;
    whitelist wl;
    char err[256];
    assert_int_equal(whitelist_parse_("a,b,a, b", &wl, err, sizeof(err)), 0);
    assert_int_equal(wl.n, 2);
    whitelist_free(&wl);
}

static void rejects_invalid_items(void **state)
{
    (void)state;
    whitelist wl;
    char err[256];
    const char *bad[] = {"good,my app", "good,a/b", "x\"y", "10.0.0.0/8", "caf\xc3\xa9"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err[0] = '\0';
        if (whitelist_parse_(bad[i], &wl, err, sizeof(err)) != -1)
            fail_msg("accepted %s", bad[i]);
        assert_non_null(strstr(err, "is not an identity"));
        assert_null(wl.names);
    }
    char longname[SECURITY_NAME_MAX + 2];
    memset(longname, 'n', sizeof(longname) - 1);
    longname[sizeof(longname) - 1] = '\0';
    assert_int_equal(whitelist_parse_(longname, &wl, err, sizeof(err)), -1);
    assert_true(strlen(err) < 200); /* the long item is abbreviated */
    longname[SECURITY_NAME_MAX] = '\0';
    assert_int_equal(whitelist_parse_(longname, &wl, err, sizeof(err)), 0);
    whitelist_free(&wl);
}

static void addresses_match_peer_identities(void **state)
{
    (void)state;
    whitelist wl;
    char err[256];
    cidr_list trusted;
    assert_int_equal(cidr_list_parse("127.0.0.1/32, ::1/128", &trusted, err, sizeof(err)), 0);
    const char *items = "127.0.0.1, ::FFFF:10.0.0.1, 2001:DB8:0::1, 192.0.2.5, 127.0.0.6, ::1";
    assert_int_equal(whitelist_parse(items, &trusted, &wl, err, sizeof(err)), 0);
    assert_non_null(whitelist_find(&wl, "localhost"));
    assert_non_null(whitelist_find(&wl, "10.0.0.1"));
    assert_non_null(whitelist_find(&wl, "2001:db8::1"));
    assert_non_null(whitelist_find(&wl, "192.0.2.5"));
    assert_null(whitelist_find(&wl, "127.0.0.1"));
    /* a loopback address that is not a trusted proxy stays an address */
    assert_non_null(whitelist_find(&wl, "127.0.0.6"));
    assert_int_equal(wl.n, 5); /* 127.0.0.1 and ::1 are both localhost */
    whitelist_free(&wl);
    cidr_list_free(&trusted);

    /* without trusted proxies no address is localhost */
    assert_int_equal(whitelist_parse("127.0.0.1, ::1", NULL, &wl, err, sizeof(err)), 0);
    assert_non_null(whitelist_find(&wl, "127.0.0.1"));
    assert_non_null(whitelist_find(&wl, "::1"));
    assert_null(whitelist_find(&wl, "localhost"));
    whitelist_free(&wl);
}

static void validates_names(void **state)
{
    (void)state;
    assert_true(security_name_valid("a", 1));
    assert_true(security_name_valid("A-z_0.9:x", 9));
    assert_false(security_name_valid("", 0));
    assert_false(security_name_valid(NULL, 0));
    assert_false(security_name_valid("a b", 3));
    assert_false(security_name_valid("a\nb", 3));
    assert_false(security_name_valid("a\0b", 3));
    assert_false(security_name_valid("a/b", 3));
    char buf[SECURITY_NAME_MAX + 1];
    memset(buf, 'x', sizeof(buf));
    assert_true(security_name_valid(buf, SECURITY_NAME_MAX));
    assert_false(security_name_valid(buf, SECURITY_NAME_MAX + 1));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parses_with_spaces_and_empty_items),
        cmocka_unit_test(drops_duplicates),
        cmocka_unit_test(rejects_invalid_items),
        cmocka_unit_test(addresses_match_peer_identities),
        cmocka_unit_test(validates_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
