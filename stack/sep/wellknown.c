/* wellknown.c - CSIP-AUS version negotiation: what a server's /.well-known/csipaus answer offers
 * (CSIP-AUS v1.3), and which version and DeviceCapability the client takes from it.
 *
 * The answer is JSON (application/json):
 *   {"supportedSchemaVersions": {"https://csipaus.org/ns/v1.3": {"dcap": ["/some/path"]},
 *                                "https://csipaus.org/ns": {"dcap": []}, ...}}
 * Versions we do not know, and entries of the wrong shape, are ignored: a server may list newer
 * versions than ours.  jansson parses (a project dependency already, for OpenADR 3.0). */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include <gridedge/error.h>
#include <gridedge/sep.h>

/* The keys of the list we know, newest first: v1.2 may be listed by its XML namespace URI or, as
 * CSIP-AUS v1.3's examples do, with its version. */
static const struct {
    const char *uri;
    int version;
} known[] = {
    { SEP_CSIPAUS_NS_V13, SEP_CSIPAUS_V13 },
    { SEP_CSIPAUS_NS_V12, SEP_CSIPAUS_V12 },
    { "https://csipaus.org/ns/v1.2", SEP_CSIPAUS_V12 },
};

static void say(char *why, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void say(char *why, size_t size, const char *fmt, ...)
{
    va_list ap;

    if (!why || !size)
        return;
    va_start(ap, fmt);
    vsnprintf(why, size, fmt, ap);
    va_end(ap);
}

/* Can S (N bytes, from the server) be the path of a request we send?  An absolute path of printable
 * ASCII that fits, not a network-path reference ("//host/..."). */
static int usable_path(const char *s, size_t n)
{
    if (n < 1 || n >= SEP_PATH_MAX || s[0] != '/' || (n > 1 && s[1] == '/'))
        return 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f || s[i] == '#')
            return 0;
    return 1;
}

/* The first usable DeviceCapability path of version entry V into OUT (SEP_PATH_MAX bytes): 1, or
 * 0 when V has none (not an object, no "dcap" array, no usable string in it). */
static int first_dcap(const json_t *v, char *out)
{
    const json_t *list = json_is_object(v) ? json_object_get(v, "dcap") : NULL;
    size_t i;
    json_t *p;

    if (!json_is_array(list))
        return 0;
    json_array_foreach(list, i, p) {
        if (json_is_string(p) && usable_path(json_string_value(p), json_string_length(p))) {
            memcpy(out, json_string_value(p), json_string_length(p) + 1);
            return 1;
        }
    }
    return 0;
}

int sep_csipaus_versions_parse(const void *json, size_t len, sep_csipaus_choice_t *out, char *why,
                               size_t why_size)
{
    json_error_t je;
    json_t *root, *versions;
    char path[SEP_PATH_MAX];
    int best = SEP_CSIPAUS_NONE;

    if (!out || (!json && len))
        return GE_ERR_INVALID;
    memset(out, 0, sizeof(*out));
    if (why && why_size)
        why[0] = '\0';
    if (len > SEP_CSIPAUS_WELL_KNOWN_MAX) {
        say(why, why_size, "the answer is larger than %zu bytes", (size_t)SEP_CSIPAUS_WELL_KNOWN_MAX);
        return GE_ERR_LIMIT;
    }
    root = json_loadb(len ? json : "", len, JSON_REJECT_DUPLICATES, &je);
    if (!root) {
        say(why, why_size, "%d:%d: not JSON: %s", je.line, je.column, je.text);
        return GE_ERR_PARSE;
    }
    versions = json_is_object(root) ? json_object_get(root, "supportedSchemaVersions") : NULL;
    if (!json_is_object(versions)) {
        say(why, why_size, "no \"supportedSchemaVersions\" object");
        json_decref(root);
        return GE_ERR_PARSE;
    }
    for (size_t k = 0; k < sizeof(known) / sizeof(known[0]); k++) {
        /* the newest version we know that lists a DeviceCapability wins */
        if (known[k].version <= best || !first_dcap(json_object_get(versions, known[k].uri), path))
            continue;
        best = known[k].version;
        out->version = best;
        memcpy(out->dcap_path, path, sizeof(path));
    }
    if (best == SEP_CSIPAUS_NONE)
        say(why, why_size, "no version we speak (CSIP-AUS v1.3 or v1.2) lists a DeviceCapability");
    json_decref(root);
    return 0;
}
