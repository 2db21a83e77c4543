#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include "security/identity.h"

#define KEY_CI "ci-0123456789abcdef"
#define KEY_BOT "bot-fedcba9876543210"

static char keys_path[64];

/* A peer socket address from text: IPv4 as AF_INET, anything with ':' as AF_INET6. */
static const struct sockaddr *peer(const char *ip)
{
    static struct sockaddr_storage ss;
    memset(&ss, 0, sizeof(ss));
    if (strchr(ip, ':')) {
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
        in6->sin6_family = AF_INET6;
        assert_int_equal(inet_pton(AF_INET6, ip, &in6->sin6_addr), 1);
    } else {
        struct sockaddr_in *in4 = (struct sockaddr_in *)&ss;
        in4->sin_family = AF_INET;
        assert_int_equal(inet_pton(AF_INET, ip, &in4->sin_addr), 1);
    }
    return (const struct sockaddr *)&ss;
}

static void init(security_config *cfg, bool enabled, const char *wl, const char *proxies,
                 const char *keys)
{
    char err[512] = "";
    security_settings s = {.enabled = enabled,
                           .whitelist_csv = wl,
                           .trusted_proxies_csv = proxies,
                           .api_keys_file = keys};
    if (security_config_init(cfg, &s, err, sizeof(err)) != 0)
        fail_msg("config: %s", err);
}

/* count: how many X-Container-Name lines the request has; header is the first one's value */
static security_identity who_n(const security_config *cfg, const char *ip, const char *header,
                               size_t count, const char *auth)
{
    security_identity id;
    security_identify(cfg, ip ? peer(ip) : NULL, header, count, auth, &id);
    return id;
}

static security_identity who(const security_config *cfg, const char *ip, const char *header,
                             const char *auth)
{
    return who_n(cfg, ip, header, header ? 1 : 0, auth);
}

static void assert_allowed(security_identity id, const char *name, security_source source)
{
    if (id.verdict != SECURITY_ALLOW)
        fail_msg("refused %s with %d: %s", id.name, id.http_status, id.message);
    assert_int_equal(id.http_status, 200);
    assert_false(id.has_event);
    assert_null(id.code);
    assert_null(id.message);
    assert_string_equal(id.name, name);
    assert_int_equal(id.source, source);
}

#define NO_EVENT (-1)

/* event: the enum sm_event counted, or NO_EVENT. */
static void assert_refused(security_identity id, int status, int event, const char *code)
{
    assert_int_equal(id.http_status, status);
    assert_int_equal(id.has_event, event != NO_EVENT);
    if (event != NO_EVENT)
        assert_int_equal(id.event, event);
    assert_string_equal(id.code, code);
    assert_non_null(id.message);
}

static void trusted_loopback_peers_are_localhost(void **state)
{
    (void)state;
    security_config cfg;
    /* the defaults: old clients on the same host keep working */
    init(&cfg, true, "localhost", "127.0.0.1/32,::1/128", NULL);
    assert_allowed(who(&cfg, "127.0.0.1", NULL, NULL), "localhost", SECURITY_SOURCE_PEER);
    assert_allowed(who(&cfg, "::1", NULL, NULL), "localhost", SECURITY_SOURCE_PEER);
    security_identity id = who(&cfg, "::ffff:127.0.0.1", NULL, NULL);
    assert_allowed(id, "localhost", SECURITY_SOURCE_PEER);
    assert_string_equal(id.client_ip, "127.0.0.1");
    assert_string_equal(id.label, "localhost");
    security_config_free(&cfg);

    init(&cfg, true, "localhost", "127.0.0.0/8", NULL);
    assert_allowed(who(&cfg, "127.9.9.9", NULL, NULL), "localhost", SECURITY_SOURCE_PEER);
    security_config_free(&cfg);
}

/* A loopback peer nobody vouched for (a same-host sidecar such as Istio's 127.0.0.6, relaying
 * every external caller) is known by its address, not as the whitelisted "localhost". */
static void untrusted_loopback_peers_are_their_address(void **state)
{
    (void)state;
    security_config cfg;
    init(&cfg, true, "localhost", "127.0.0.1/32,::1/128", NULL);
    security_identity id = who(&cfg, "127.0.0.6", NULL, NULL);
    assert_refused(id, 403, SM_EVENT_BLOCKED, "forbidden");
    assert_string_equal(id.name, "127.0.0.6");
    assert_string_equal(id.label, "unknown");
    assert_string_equal(who(&cfg, "::ffff:127.0.0.6", NULL, NULL).name, "127.0.0.6");
    /* its header is not believed either */
    id = who(&cfg, "127.0.0.6", "localhost", NULL);
    assert_refused(id, 403, SM_EVENT_BLOCKED, "forbidden");
    assert_string_equal(id.name, "127.0.0.6");
    security_config_free(&cfg);

    /* the operator can admit it by address, on its own rate-limit bucket */
    init(&cfg, true, "localhost, 127.0.0.6", "127.0.0.1/32,::1/128", NULL);
    assert_allowed(who(&cfg, "127.0.0.6", NULL, NULL), "127.0.0.6", SECURITY_SOURCE_PEER);
    assert_string_equal(who(&cfg, "127.0.0.6", NULL, NULL).label, "127.0.0.6");
    security_config_free(&cfg);

    /* no trusted proxies: no loopback peer is localhost, but each can be listed by address */
    init(&cfg, true, "localhost", "", NULL);
    id = who(&cfg, "127.0.0.1", NULL, NULL);
    assert_refused(id, 403, SM_EVENT_BLOCKED, "forbidden");
    assert_string_equal(id.name, "127.0.0.1");
    assert_string_equal(who(&cfg, "::1", NULL, NULL).name, "::1");
    security_config_free(&cfg);
    init(&cfg, true, "127.0.0.1, ::1", "", NULL);
    assert_allowed(who(&cfg, "127.0.0.1", NULL, NULL), "127.0.0.1", SECURITY_SOURCE_PEER);
    assert_allowed(who(&cfg, "::ffff:127.0.0.1", NULL, NULL), "127.0.0.1", SECURITY_SOURCE_PEER);
    assert_allowed(who(&cfg, "::1", NULL, NULL), "::1", SECURITY_SOURCE_PEER);
    security_config_free(&cfg);
}

static void other_peers_are_their_address(void **state)
{
    (void)state;
    security_config cfg;
    init(&cfg, true, "localhost", "127.0.0.1/32,::1/128", NULL);
    security_identity id = who(&cfg, "192.0.2.7", NULL, NULL);
    assert_refused(id, 403, SM_EVENT_BLOCKED, "forbidden");
    assert_string_equal(id.name, "192.0.2.7");
    assert_string_equal(id.client_ip, "192.0.2.7");
    assert_string_equal(id.label, "unknown");

    id = who(&cfg, "2001:DB8::5", NULL, NULL);
    assert_refused(id, 403, SM_EVENT_BLOCKED, "forbidden");
    assert_string_equal(id.name, "2001:db8::5");

    id = who(&cfg, "::ffff:198.51.100.3", NULL, NULL);
    assert_string_equal(id.name, "198.51.100.3");
    security_config_free(&cfg);

    init(&cfg, true, "localhost, 192.0.2.7 , 2001:db8::5", "", NULL);
    assert_allowed(who(&cfg, "192.0.2.7", NULL, NULL), "192.0.2.7", SECURITY_SOURCE_PEER);
    assert_allowed(who(&cfg, "::ffff:192.0.2.7", NULL, NULL), "192.0.2.7", SECURITY_SOURCE_PEER);
    assert_allowed(who(&cfg, "2001:db8::5", NULL, NULL), "2001:db8::5", SECURITY_SOURCE_PEER);
    assert_string_equal(who(&cfg, "2001:db8::5", NULL, NULL).label, "2001:db8::5");
    security_config_free(&cfg);
}

static void trusted_proxy_header_names_the_caller(void **state)
{
    (void)state;
    security_config cfg;
    init(&cfg, true, "localhost, web-1, api", "127.0.0.1/32, ::1/128, 10.0.0.0/8, fd00::/8", NULL);
    assert_allowed(who(&cfg, "127.0.0.1", "web-1", NULL), "web-1", SECURITY_SOURCE_HEADER);
    assert_allowed(who(&cfg, "10.1.2.3", "api", NULL), "api", SECURITY_SOURCE_HEADER);
    assert_allowed(who(&cfg, "::ffff:10.1.2.3", "api", NULL), "api", SECURITY_SOURCE_HEADER);
    assert_allowed(who(&cfg, "fd12::1", "web-1", NULL), "web-1", SECURITY_SOURCE_HEADER);
    /* the header wins over the proxy's own identity, also when that one is whitelisted */
    security_identity id = who(&cfg, "::1", "intruder", NULL);
    assert_refused(id, 403, SM_EVENT_BLOCKED, "forbidden");
    assert_string_equal(id.name, "intruder");
    assert_int_equal(id.source, SECURITY_SOURCE_HEADER);
    assert_string_equal(id.label, "unknown");
    /* a proxy without the header is identified by its address */
    id = who(&cfg, "10.1.2.3", NULL, NULL);
    assert_refused(id, 403, SM_EVENT_BLOCKED, "forbidden");
    assert_string_equal(id.name, "10.1.2.3");
    security_config_free(&cfg);
}

static void spoofed_header_from_untrusted_peer_is_ignored(void **state)
{
    (void)state;
    security_config cfg;
    init(&cfg, true, "localhost, web-1", "10.0.0.0/8", NULL);
    security_identity id = who(&cfg, "192.0.2.66", "web-1", NULL);
    assert_refused(id, 403, SM_EVENT_BLOCKED, "forbidden");
    assert_string_equal(id.name, "192.0.2.66");
    assert_int_equal(id.source, SECURITY_SOURCE_PEER);
    /* loopback is not a proxy here: its header is ignored too, and it is not localhost */
    id = who(&cfg, "127.0.0.1", "web-1", NULL);
    assert_refused(id, 403, SM_EVENT_BLOCKED, "forbidden");
    assert_string_equal(id.name, "127.0.0.1");
    assert_int_equal(id.source, SECURITY_SOURCE_PEER);
    /* an IPv6 peer outside the proxies, and a mapped address just outside 10/8 */
    assert_string_equal(who(&cfg, "2001:db8::9", "web-1", NULL).name, "2001:db8::9");
    assert_string_equal(who(&cfg, "::ffff:11.0.0.1", "web-1", NULL).name, "11.0.0.1");
    /* an invalid or repeated header from an untrusted peer is ignored, not a 400 */
    assert_int_equal(who(&cfg, "192.0.2.66", "bad header", NULL).http_status, 403);
    assert_int_equal(who_n(&cfg, "192.0.2.66", "web-1", 2, NULL).http_status, 403);
    security_config_free(&cfg);
}

/* A proxy that appends its X-Container-Name after the one the client sent must not let the
 * client's (first) value win: more than one line is a 400, whatever the values. */
static void repeated_header_from_trusted_proxy_is_400(void **state)
{
    (void)state;
    security_config cfg;
    init(&cfg, true, "localhost, web-1", "127.0.0.1/32, 10.0.0.0/8, fd00::/8", NULL);
    const char *proxies[] = {"127.0.0.1", "10.1.2.3", "::ffff:10.1.2.3", "fd00::7"};
    for (size_t i = 0; i < sizeof(proxies) / sizeof(proxies[0]); i++) {
        for (size_t n = 2; n <= 3; n++) {
            security_identity id = who_n(&cfg, proxies[i], "web-1", n, NULL);
            assert_refused(id, 400, NO_EVENT, "bad_request");
            assert_non_null(strstr(id.message, "X-Container-Name"));
            assert_int_equal(id.source, SECURITY_SOURCE_PEER);
        }
    }
    /* one line is believed as before */
    assert_allowed(who_n(&cfg, "10.1.2.3", "web-1", 1, NULL), "web-1", SECURITY_SOURCE_HEADER);
    security_config_free(&cfg);

    /* security off: nothing is refused, the header is not believed, the peer identity stays */
    init(&cfg, false, "localhost, web-1", "127.0.0.1/32", NULL);
    assert_allowed(who_n(&cfg, "127.0.0.1", "web-1", 2, NULL), "localhost", SECURITY_SOURCE_PEER);
    security_config_free(&cfg);
}

static void invalid_header_from_trusted_proxy_is_400(void **state)
{
    (void)state;
    security_config cfg;
    init(&cfg, true, "localhost", "127.0.0.0/8", NULL);
    char longname[SECURITY_NAME_MAX + 2];
    memset(longname, 'a', sizeof(longname) - 1);
    longname[sizeof(longname) - 1] = '\0';
    const char *bad[] = {"", "web 1", "web/1", "web\r\nX-Evil: 1", "caf\xc3\xa9", longname};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        security_identity id = who(&cfg, "127.0.0.1", bad[i], NULL);
        assert_refused(id, 400, NO_EVENT, "bad_request");
        assert_int_equal(id.verdict, SECURITY_BAD_REQUEST);
        assert_string_equal(id.name, "localhost"); /* for the log line only */
    }
    longname[SECURITY_NAME_MAX] = '\0';
    security_identity id = who(&cfg, "127.0.0.1", longname, NULL);
    assert_int_equal(id.http_status, 403);
    assert_string_equal(id.name, longname);
    security_config_free(&cfg);
}

static void write_keys(void)
{
    snprintf(keys_path, sizeof(keys_path), "/tmp/kronos-identity-keys-XXXXXX");
    int fd = mkstemp(keys_path);
    assert_true(fd >= 0);
    const char text[] = "ci:" KEY_CI "\nbot:" KEY_BOT "\n";
    assert_int_equal(write(fd, text, sizeof(text) - 1), (ssize_t)(sizeof(text) - 1));
    close(fd);
}

static void bearer_key_names_the_caller(void **state)
{
    (void)state;
    write_keys();
    security_config cfg;
    init(&cfg, true, "localhost", "127.0.0.1/32", keys_path);
    unlink(keys_path);
    /* key names are allowed without being whitelisted, from any peer */
    security_identity id = who(&cfg, "203.0.113.9", NULL, "Bearer " KEY_CI);
    assert_allowed(id, "ci", SECURITY_SOURCE_API_KEY);
    assert_string_equal(id.label, "ci");
    assert_string_equal(id.client_ip, "203.0.113.9");
    assert_allowed(who(&cfg, "2001:db8::1", NULL, "bearer  " KEY_BOT "  "), "bot",
                   SECURITY_SOURCE_API_KEY);
    assert_allowed(who(&cfg, "::1", NULL, "BEARER\t" KEY_BOT), "bot", SECURITY_SOURCE_API_KEY);
    /* with keys on, X-Container-Name is ignored even from a trusted proxy */
    assert_allowed(who(&cfg, "127.0.0.1", "web-1", "Bearer " KEY_CI), "ci",
                   SECURITY_SOURCE_API_KEY);
    security_config_free(&cfg);
}

static void missing_or_wrong_key_is_401(void **state)
{
    (void)state;
    write_keys();
    security_config cfg;
    init(&cfg, true, "localhost", "127.0.0.1/32", keys_path);
    unlink(keys_path);
    /* even loopback, whitelisted by address, needs a key */
    const char *missing[] = {NULL,
                             "",
                             "Bearer",
                             "Bearer ",
                             "Bearer    ",
                             "Basic " KEY_CI,
                             "Bearer" KEY_CI,
                             KEY_CI,
                             "Token " KEY_CI};
    for (size_t i = 0; i < sizeof(missing) / sizeof(missing[0]); i++) {
        security_identity id = who(&cfg, "127.0.0.1", "web-1", missing[i]);
        assert_refused(id, 401, SM_EVENT_UNAUTHORIZED, "unauthorized");
        assert_int_equal(id.source, SECURITY_SOURCE_PEER);
        assert_string_equal(id.name, "localhost");
    }
    const char *wrong[] = {"Bearer ci-0123456789abcdeX",
                           "Bearer ci-0123456789abcde",
                           "Bearer " KEY_CI "0",
                           "Bearer " KEY_CI " " KEY_BOT,
                           "Bearer ci",
                           "Bearer x"};
    for (size_t i = 0; i < sizeof(wrong) / sizeof(wrong[0]); i++) {
        security_identity id = who(&cfg, "192.0.2.1", NULL, wrong[i]);
        assert_refused(id, 401, SM_EVENT_INVALID_API_KEY, "unauthorized");
        assert_string_equal(id.name, "192.0.2.1");
        assert_string_equal(id.label, "unknown");
    }
    security_config_free(&cfg);
}

static void disabled_security_passes_everything_but_identifies(void **state)
{
    (void)state;
    security_config cfg;
    init(&cfg, false, "localhost", "127.0.0.1/32", NULL);
    security_identity id = who(&cfg, "192.0.2.7", "web-1", NULL);
    assert_allowed(id, "192.0.2.7", SECURITY_SOURCE_PEER);
    assert_string_equal(id.label, "unknown");
    assert_allowed(who(&cfg, "127.0.0.1", "web-1", NULL), "web-1", SECURITY_SOURCE_HEADER);
    assert_allowed(who(&cfg, "127.0.0.1", "bad header", NULL), "localhost", SECURITY_SOURCE_PEER);
    security_config_free(&cfg);
}

/* SPEC section 2: when a keys file is set, a key is required. KRONOS_SECURITY_ENABLED=false
 * turns off the whitelist and header checks, not the keys an operator configured. */
static void keys_are_required_even_with_security_disabled(void **state)
{
    (void)state;
    write_keys();
    security_config cfg;
    init(&cfg, false, "localhost", "127.0.0.1/32", keys_path);
    unlink(keys_path);
    security_identity id = who(&cfg, "192.0.2.7", NULL, NULL);
    assert_refused(id, 401, SM_EVENT_UNAUTHORIZED, "unauthorized");
    assert_string_equal(id.name, "192.0.2.7");
    id = who(&cfg, "127.0.0.1", "web-1", "Bearer wrong-key-0000000000");
    assert_refused(id, 401, SM_EVENT_INVALID_API_KEY, "unauthorized");
    assert_allowed(who(&cfg, "192.0.2.7", NULL, "Bearer " KEY_BOT), "bot", SECURITY_SOURCE_API_KEY);
    security_config_free(&cfg);
}

static void non_ip_peer_is_unknown(void **state)
{
    (void)state;
    security_config cfg;
    init(&cfg, true, "localhost", "0.0.0.0/0,::/0", NULL);
    security_identity id = who(&cfg, NULL, "web-1", NULL);
    assert_refused(id, 403, SM_EVENT_BLOCKED, "forbidden");
    assert_string_equal(id.name, "unknown");
    assert_string_equal(id.client_ip, "unknown");
    security_config_free(&cfg);

    init(&cfg, true, "", "", NULL);
    assert_refused(who(&cfg, "127.0.0.1", NULL, NULL), 403, SM_EVENT_BLOCKED, "forbidden");
    security_config_free(&cfg);
}

static void labels_are_bounded_and_enumerable(void **state)
{
    (void)state;
    write_keys();
    security_config cfg;
    init(&cfg, true, "localhost, web-1, ci, unknown", "", keys_path);
    unlink(keys_path);
    /* whitelist first, then key names not already listed, "unknown" once and last */
    const char *expect[] = {"localhost", "web-1", "ci", "unknown", "bot"};
    assert_int_equal(security_label_count(&cfg), 5);
    for (size_t i = 0; i < 5; i++)
        assert_string_equal(security_label_at(&cfg, i), expect[i]);
    assert_null(security_label_at(&cfg, 5));
    security_config_free(&cfg);

    init(&cfg, true, "a,b", "", NULL);
    assert_int_equal(security_label_count(&cfg), 3);
    assert_string_equal(security_label_at(&cfg, 2), "unknown");
    assert_string_equal(security_label(&cfg, "a"), "a");
    assert_ptr_equal(security_label(&cfg, "a"), security_label_at(&cfg, 0));
    assert_string_equal(security_label(&cfg, "192.0.2.1"), "unknown");
    assert_string_equal(security_label(&cfg, "A"), "unknown");
    assert_string_equal(security_label(&cfg, NULL), "unknown");
    security_config_free(&cfg);

    assert_string_equal(sm_event_names[SM_EVENT_UNAUTHORIZED], "unauthorized");
    assert_string_equal(sm_event_names[SM_EVENT_INVALID_API_KEY], "invalid_api_key");
    assert_string_equal(sm_event_names[SM_EVENT_BLOCKED], "blocked");
}

static void config_errors_name_the_variable(void **state)
{
    (void)state;
    security_config cfg;
    char err[512];
    security_settings s = {.enabled = true, .whitelist_csv = "a b", .trusted_proxies_csv = ""};
    assert_int_equal(security_config_init(&cfg, &s, err, sizeof(err)), -1);
    assert_true(strncmp(err, "KRONOS_CONTAINER_WHITELIST: ", 28) == 0);

    s.whitelist_csv = "localhost";
    s.trusted_proxies_csv = "127.0.0.1/33";
    assert_int_equal(security_config_init(&cfg, &s, err, sizeof(err)), -1);
    assert_true(strncmp(err, "KRONOS_TRUSTED_PROXIES: ", 24) == 0);
    assert_non_null(strstr(err, "127.0.0.1/33"));

    s.trusted_proxies_csv = "127.0.0.1";
    s.api_keys_file = "/nonexistent/kronos-keys";
    assert_int_equal(security_config_init(&cfg, &s, err, sizeof(err)), -1);
    assert_true(strncmp(err, "KRONOS_API_KEYS_FILE: /nonexistent/kronos-keys: ", 48) == 0);

    s.api_keys_file = "";
    assert_int_equal(security_config_init(&cfg, &s, err, sizeof(err)), 0);
    assert_null(cfg.keys);
    security_config_free(&cfg);
    security_config_free(&cfg); /* idempotent */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(trusted_loopback_peers_are_localhost),
        cmocka_unit_test(untrusted_loopback_peers_are_their_address),
        cmocka_unit_test(other_peers_are_their_address),
        cmocka_unit_test(trusted_proxy_header_names_the_caller),
        cmocka_unit_test(spoofed_header_from_untrusted_peer_is_ignored),
        cmocka_unit_test(invalid_header_from_trusted_proxy_is_400),
        cmocka_unit_test(repeated_header_from_trusted_proxy_is_400),
        cmocka_unit_test(bearer_key_names_the_caller),
        cmocka_unit_test(missing_or_wrong_key_is_401),
        cmocka_unit_test(disabled_security_passes_everything_but_identifies),
        cmocka_unit_test(keys_are_required_even_with_security_disabled),
        cmocka_unit_test(non_ip_peer_is_unknown),
        cmocka_unit_test(labels_are_bounded_and_enumerable),
        cmocka_unit_test(config_errors_name_the_variable),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
