/* cmd_pki.c - `gridedge pki`: make a test PKI (init) and extra test identities (issue) for
 * negative tests, printing the device identity (LFDI/SFDI) of what it made. */
#include "config.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <gridedge/error.h>
#include <gridedge/log.h>
#include <gridedge/pki.h>

#include "cli.h"

static void log_stderr(void *ud, ge_log_level level, const char *module, const char *msg)
{
    (void)ud;
    fprintf(stderr, "gridedge pki: %s: %s: %s\n", ge_log_level_name(level), module, msg);
}

static int usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int usage(const char *fmt, ...)
{
    char msg[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return gw_usage_error(gw_command_find("pki"), "%s", msg);
}

static void print_ids(const char *lfdi, uint64_t sfdi)
{
    printf("LFDI: %s\nSFDI: %" PRIu64 "\n", lfdi, sfdi);
}

static int cmd_init(int argc, char **argv, const ge_log_t *log)
{
    char lfdi[GE_LFDI_BUF];
    uint64_t sfdi;
    int rc;

    if (argc != 2)
        return usage("%s", argc < 2 ? "init needs DIR" : "init takes exactly one DIR");
    rc = ge_pki_init(argv[1], lfdi, &sfdi, log);
    if (rc) {
        fprintf(stderr, "gridedge pki: cannot create a PKI in %s: %s\n", argv[1], ge_strerror(rc));
        return GW_EXIT_FAIL;
    }
    print_ids(lfdi, sfdi);
    return GW_EXIT_OK;
}

static int path_in(char *buf, size_t size, const char *dir, const char *name, const char *ext)
{
    int n = snprintf(buf, size, "%s/%s%s", dir, name, ext);

    return n >= 0 && (size_t)n < size;
}

static int cmd_issue(int argc, char **argv, const ge_log_t *log)
{
    char cert[4096], key[4096], ca_cert[4096], ca_key[4096], lfdi[GE_LFDI_BUF];
    ge_pki_issue_opts_t o;
    const char *dir, *name;
    int self_signed = 0, rc;
    uint64_t sfdi;

    if (argc < 3)
        return usage("%s", "issue needs DIR and NAME");
    dir = argv[1];
    name = argv[2];
    if (!*name || strchr(name, '/'))
        return usage("NAME '%s' must be a plain file name", name);
    memset(&o, 0, sizeof o);
    o.role = GE_PKI_ROLE_CLIENT;
    o.key = GE_PKI_KEY_P256;
    for (int i = 3; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;

        if (strcmp(a, "--expired") == 0)
            o.expired = 1;
        else if (strcmp(a, "--no-policy") == 0)
            o.no_policy = 1;
        else if (strcmp(a, "--sha384") == 0)
            o.sha384 = 1;
        else if (strcmp(a, "--self-signed") == 0)
            self_signed = 1;
        else if (strcmp(a, "--role") == 0 && v) {
            if (strcmp(v, "client") == 0)
                o.role = GE_PKI_ROLE_CLIENT;
            else if (strcmp(v, "server") == 0)
                o.role = GE_PKI_ROLE_SERVER;
            else if (strcmp(v, "ca") == 0)
                o.role = GE_PKI_ROLE_CA;
            else
                return usage("unknown role '%s' (client, server, ca)", v);
            i++;
        } else if (strcmp(a, "--key") == 0 && v) {
            if (strcmp(v, "p256") == 0)
                o.key = GE_PKI_KEY_P256;
            else if (strcmp(v, "p384") == 0)
                o.key = GE_PKI_KEY_P384;
            else if (strcmp(v, "rsa") == 0)
                o.key = GE_PKI_KEY_RSA2048;
            else
                return usage("unknown key type '%s' (p256, p384, rsa)", v);
            i++;
        } else if (strcmp(a, "--san") == 0 && v) {
            o.san = v;
            i++;
        } else if (strcmp(a, "--cn") == 0 && v) {
            o.common_name = v;
            i++;
        } else {
            return usage("unknown or incomplete option '%s'", a);
        }
    }
    if (!path_in(cert, sizeof cert, dir, name, ".pem") || !path_in(key, sizeof key, dir, name, ".key") ||
        !path_in(ca_cert, sizeof ca_cert, dir, "ca", ".pem") ||
        !path_in(ca_key, sizeof ca_key, dir, "ca", ".key"))
        return usage("path too long: '%s'", dir);
    o.cert_out = cert;
    o.key_out = key;
    if (!self_signed && o.role != GE_PKI_ROLE_CA) {
        o.issuer_cert = ca_cert;
        o.issuer_key = ca_key;
    }
    rc = ge_pki_issue(&o, lfdi, &sfdi, log);
    if (rc) {
        fprintf(stderr, "gridedge pki: cannot issue %s: %s\n", cert, ge_strerror(rc));
        return GW_EXIT_FAIL;
    }
    print_ids(lfdi, sfdi);
    return GW_EXIT_OK;
}

int gw_cmd_pki(int argc, char **argv)
{
    ge_log_t log = { log_stderr, NULL, GE_LOG_WARN };

    if (argc < 2)
        return usage("%s", "no action given (init, issue)");
    if (strcmp(argv[1], "init") == 0)
        return cmd_init(argc - 1, argv + 1, &log);
    if (strcmp(argv[1], "issue") == 0)
        return cmd_issue(argc - 1, argv + 1, &log);
    return usage("unknown action '%s' (init, issue)", argv[1]);
}
