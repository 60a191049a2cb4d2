/* test_url.c - gw_url_parse(): the URLs the gateway's links are given. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include <gridedge/error.h>

#include "gateway/url.h"
#include "runner.h"

static void test_good_urls(void)
{
    static const struct {
        const char *url;
        int https;
        const char *base, *host, *port, *path;
    } rows[] = {
        { "https://utility.example:8443/dcap", 1, "https://utility.example:8443", "utility.example", "8443", "/dcap" },
        { "http://127.0.0.1/OpenADR2/Simple/2.0b", 0, "http://127.0.0.1", "127.0.0.1", "80", "/OpenADR2/Simple/2.0b" },
        { "https://vtn.example", 1, "https://vtn.example", "vtn.example", "443", "" },
        { "http://[::1]:8080/openadr3", 0, "http://[::1]:8080", "::1", "8080", "/openadr3" },
        { "https://[fe80::1]/dcap?x=1", 1, "https://[fe80::1]", "fe80::1", "443", "/dcap?x=1" },
        { "http://h:1/", 0, "http://h:1", "h", "1", "/" },
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        gw_url_t u;
        CU_ASSERT_EQUAL_FATAL(gw_url_parse(rows[i].url, &u), 0);
        CU_ASSERT_EQUAL(u.https, rows[i].https);
        CU_ASSERT_STRING_EQUAL(u.base, rows[i].base);
        CU_ASSERT_STRING_EQUAL(u.host, rows[i].host);
        CU_ASSERT_STRING_EQUAL(u.port, rows[i].port);
        CU_ASSERT_STRING_EQUAL(u.path, rows[i].path);
    }
}

static void test_bad_urls(void)
{
    static const char *const bad[] = {
        "", "ftp://h/x", "http://", "https:///dcap", "http://:80/x", "http://h:/x", "http://h:0/x",
        "http://h:65536/x", "http://h:8x/x", "http://user@h/x", "http://[::1/x", "http://[::1]x/y",
        "http://h /x", "http://h/x y", "http://h?q", "HTTP://h/x",
    };
    gw_url_t u;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int rc = gw_url_parse(bad[i], &u);
        if (rc != GE_ERR_INVALID)
            fprintf(stderr, "\naccepted: '%s'\n", bad[i]);
        CU_ASSERT_EQUAL(rc, GE_ERR_INVALID);
    }
    char longhost[400];
    memset(longhost, 'a', sizeof(longhost));
    memcpy(longhost, "http://", 7);
    longhost[sizeof(longhost) - 1] = '\0';
    CU_ASSERT_EQUAL(gw_url_parse(longhost, &u), GE_ERR_INVALID);
    CU_ASSERT_EQUAL(gw_url_parse(NULL, &u), GE_ERR_INVALID);
}

int test_register(void)
{
    static const test_case_t cases[] = {
        { "good URLs", test_good_urls },
        { "bad URLs", test_bad_urls },
        { NULL, NULL },
    };
    return test_add_suite("gateway url", cases);
}
