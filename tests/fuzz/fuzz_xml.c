/* fuzz_xml.c - libFuzzer target for the XML codec, built once per schema (GE_FUZZ_SCHEMA):
 * decode -> encode -> decode -> encode must never crash, and a message that decodes must encode,
 * decode again, and encode to the same bytes (the canonical form is a fixed point).  The input is
 * also fed in two chunks split at a point taken from the data, which must give the same result and
 * the same error. */
#include "config.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <gridedge/gridedge.h>
#include <gridedge/xml.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static ge_xml_decoder_t *dec;
static ge_arena_t *arena, *arena2;

static int decode(ge_arena_t *a, const uint8_t *p, size_t n, size_t split, ge_xml_msg_t *msg)
{
    const ge_xml_schema_t *schema = ge_xml_schema_find(GE_FUZZ_SCHEMA);
    int rc = ge_xml_decoder_reset(dec, schema, a);
    if (split > n)
        split = n;
    if (rc == 0)
        rc = ge_xml_decoder_feed(dec, p, split, false);
    if (rc == 0)
        rc = ge_xml_decoder_feed(dec, p + split, n - split, true);
    if (rc == 0)
        rc = ge_xml_decoder_result(dec, msg);
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ge_xml_msg_t m1, m2;
    ge_buf_t a, b;
    size_t split = size ? data[0] % (size + 1) : 0;
    int rc1, rc2;
    ge_xml_error_t e1;

    if (!dec) {
        ge_xml_limits_t lim = { 1 << 20, 0, 20000, 4096, 0x5eed };
        if (ge_xml_decoder_new(&dec, NULL, &lim, NULL) < 0 || ge_arena_new(&arena, NULL, 0, 64 << 20) < 0 ||
            ge_arena_new(&arena2, NULL, 0, 64 << 20) < 0)
            abort();
    }
    ge_arena_reset(arena);
    rc1 = decode(arena, data, size, size, &m1);
    e1 = *ge_xml_decoder_error(dec);
    /* chunking must not change the outcome, nor the error and where it is (whole, a small document
     * goes into the parser's open wrapper; after a short first chunk it is parsed alone) */
    ge_arena_reset(arena2);
    rc2 = decode(arena2, data, size, split, &m2);
    if ((rc1 == 0) != (rc2 == 0))
        abort();
    if (rc1 != 0 && split >= 4) { /* expat guesses the encoding from the first bytes differently */
        const ge_xml_error_t *e2 = ge_xml_decoder_error(dec);
        /* past the root the wrapper reports junk where it begins, expat alone where its tokens fail */
        bool junk = strstr(e1.msg, "junk after document element") != NULL;
        if (e1.code != e2->code || strcmp(e1.msg, e2->msg) != 0 || (!junk && (e1.line != e2->line || e1.col != e2->col)))
            abort();
    }
    if (rc1 != 0)
        return 0;
    ge_buf_init(&a, NULL, 64 << 20);
    ge_buf_init(&b, NULL, 64 << 20);
    if (ge_xml_encode_msg(&a, &m1, NULL) < 0)
        abort(); /* what we decoded is valid, so it must encode */
    ge_arena_reset(arena2);
    if (decode(arena2, (const uint8_t *)a.data, a.len, a.len, &m2) != 0)
        abort();
    if (ge_xml_encode_msg(&b, &m2, NULL) < 0 || a.len != b.len || memcmp(a.data, b.data, a.len) != 0)
        abort();
    ge_buf_clear(&b);
    if (ge_xml_to_json(&b, &m1) < 0)
        abort();
    ge_buf_free(&a);
    ge_buf_free(&b);
    return 0;
}
