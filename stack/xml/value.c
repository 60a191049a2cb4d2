/* value.c - simple values of the XML codec: whitespace normalization, lexical parsing of the XSD
 * built-ins we map to C (XSD 1.0 part 2, section 3), every facet check (length, ranges,
 * enumerations, patterns), canonical formatting for the encoder, and the pattern NFA runner. */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gridedge/error.h>
#include <gridedge/xml.h>

#include "xml_internal.h"

static int fail(char *msg, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(char *msg, size_t size, const char *fmt, ...)
{
    va_list ap;

    if (msg && size) {
        va_start(ap, fmt);
        vsnprintf(msg, size, fmt, ap);
        va_end(ap);
    }
    return GE_ERR_SCHEMA;
}

/* A short, printable excerpt of a value for error messages. */
static const char *excerpt(const char *s, size_t len, char *buf, size_t size)
{
    size_t j = 0;

    for (size_t i = 0; i < len && j + 4 < size; i++) {
        unsigned char c = (unsigned char)s[i];
        buf[j++] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
    }
    if (j + 4 >= size && len > j) {
        memcpy(buf + j, "...", 3);
        j += 3;
    }
    buf[j] = '\0';
    return buf;
}

/* XSD whiteSpace facet (part 2, 4.3.6), in place; returns the new length. */
size_t ge__xml_ws(int ws, char *s, size_t len)
{
    size_t i, j = 0;
    int space = 1;

    if (ws == GE_XML_WS_PRESERVE)
        return len;
    /* most values hold no whitespace at all (the four whitespace characters are <= ' ') */
    if (!ge__xml_has_ctl(s, len))
        return len;
    if (ws == GE_XML_WS_REPLACE) {
        for (i = 0; i < len; i++)
            if (s[i] == '\t' || s[i] == '\n' || s[i] == '\r')
                s[i] = ' ';
        return len;
    }
    for (i = 0; i < len; i++) {
        char c = s[i];
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
            if (!space)
                s[j++] = ' ';
            space = 1;
        } else {
            s[j++] = c;
            space = 0;
        }
    }
    if (j > 0 && s[j - 1] == ' ')
        j--;
    return j;
}

/* Characters (code points) in valid UTF-8. */
static size_t utf8_chars(const char *s, size_t len)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++)
        if (((unsigned char)s[i] & 0xC0) != 0x80)
            n++;
    return n;
}

/* ---- patterns ------------------------------------------------------------------------------------ */

static uint32_t utf8_next(const unsigned char *s, size_t len, size_t *i)
{
    uint32_t c = s[*i];
    size_t n = 0;

    if (c < 0x80)
        n = 0;
    else if ((c & 0xE0) == 0xC0) {
        c &= 0x1F;
        n = 1;
    } else if ((c & 0xF0) == 0xE0) {
        c &= 0x0F;
        n = 2;
    } else {
        c &= 0x07;
        n = 3;
    }
    (*i)++;
    while (n-- > 0 && *i < len)
        c = (c << 6) | (s[(*i)++] & 0x3F);
    return c;
}

#define NFA_MAX 1024
#define NFA_WORDS (NFA_MAX / 64)

static void nfa_add(const ge_xml_pattern_t *p, uint64_t *set, uint16_t s, uint16_t *stack)
{
    size_t sp = 0;

    stack[sp++] = s;
    while (sp > 0) {
        uint16_t cur = stack[--sp];
        if (set[cur / 64] & ((uint64_t)1 << (cur % 64)))
            continue;
        set[cur / 64] |= (uint64_t)1 << (cur % 64);
        if (p->states[cur].op == GE_XML_NFA_SPLIT) {
            stack[sp++] = p->states[cur].out1;
            stack[sp++] = p->states[cur].out;
        }
    }
}

static int class_has(const ge_xml_pattern_t *p, const ge_xml_nfa_state_t *st, uint32_t c)
{
    int in = 0;
    for (uint16_t k = 0; k < st->n; k++) {
        uint32_t lo = p->ranges[2 * (st->first + k)], hi = p->ranges[2 * (st->first + k) + 1];
        if (c >= lo && c <= hi) {
            in = 1;
            break;
        }
    }
    return st->negate ? !in : in;
}

int ge_xml_pattern_match(const ge_xml_pattern_t *p, const char *text, size_t len)
{
    /* Thompson simulation: time linear in LEN * states, no backtracking, no allocation. */
    uint64_t a[NFA_WORDS], b[NFA_WORDS];
    uint16_t stack[2 * NFA_MAX];
    uint64_t *cur = a, *next = b;
    const unsigned char *s = (const unsigned char *)text;
    size_t i = 0, words;

    if (!p || p->n_states == 0 || p->n_states > NFA_MAX)
        return GE_ERR_INVALID;
    if (len > GE__XML_PATTERN_MAX_INPUT)
        return GE_ERR_LIMIT;
    words = ((size_t)p->n_states + 63) / 64;
    memset(cur, 0, words * sizeof(uint64_t));
    nfa_add(p, cur, p->start, stack);
    while (i < len) {
        uint32_t c = utf8_next(s, len, &i);
        int any = 0;
        memset(next, 0, words * sizeof(uint64_t));
        for (size_t w = 0; w < words; w++) {
            uint64_t bits = cur[w];
            while (bits) {
                unsigned bit = (unsigned)__builtin_ctzll(bits);
                uint16_t st = (uint16_t)(w * 64 + bit);
                bits &= bits - 1;
                if (p->states[st].op == GE_XML_NFA_CLASS && class_has(p, &p->states[st], c)) {
                    nfa_add(p, next, p->states[st].out, stack);
                    any = 1;
                }
            }
        }
        if (!any)
            return 0;
        uint64_t *t = cur;
        cur = next;
        next = t;
    }
    for (uint16_t st = 0; st < p->n_states; st++)
        if ((cur[st / 64] & ((uint64_t)1 << (st % 64))) && p->states[st].op == GE_XML_NFA_MATCH)
            return 1;
    return 0;
}

/* ---- checks on values held in C ------------------------------------------------------------------- */

/* Each space-separated item of an xs:list value must be valid for the item type (part 2, 2.5.1.2). */
static int check_list(const ge_xml_stype_t *t, const char *s, size_t len, char *msg, size_t size)
{
    size_t i = 0;
    char ex[48];

    while (i < len) {
        char item[GE__XML_UNION_MAX + 1];
        size_t j = i;
        while (j < len && s[j] != ' ')
            j++;
        if (j - i > GE__XML_UNION_MAX)
            return fail(msg, size, "an item of the list %s is too long", t->name);
        memcpy(item, s + i, j - i);
        item[j - i] = '\0';
        if (j > i && ge_xml_parse_value(t->members[0], item, j - i, NULL, NULL, NULL, 0) < 0)
            return fail(msg, size, "item '%s' of the list is not valid for %s",
                        excerpt(s + i, j - i, ex, sizeof(ex)), t->members[0]->name);
        i = j + 1;
    }
    return 0;
}

static int check_string(const ge_xml_stype_t *t, const char *s, size_t len, char *msg, size_t size)
{
    char ex[48];

    if (t->flags & (GE_XML_S_MINLEN | GE_XML_S_MAXLEN)) {
        size_t n = utf8_chars(s, len);
        if ((t->flags & GE_XML_S_MAXLEN) && n > t->maxlen)
            return fail(msg, size, "value '%s' is %zu characters long, more than maxLength %u of %s",
                        excerpt(s, len, ex, sizeof(ex)), n, (unsigned)t->maxlen, t->name);
        if ((t->flags & GE_XML_S_MINLEN) && n < t->minlen)
            return fail(msg, size, "value '%s' is %zu characters long, less than minLength %u of %s",
                        excerpt(s, len, ex, sizeof(ex)), n, (unsigned)t->minlen, t->name);
    }
    if (t->n_enums) {
        uint32_t k;
        for (k = 0; k < t->n_enums; k++)
            if (strlen(t->enums[k]) == len && memcmp(t->enums[k], s, len) == 0)
                break;
        if (k == t->n_enums)
            return fail(msg, size, "value '%s' is not one of the enumeration of %s",
                        excerpt(s, len, ex, sizeof(ex)), t->name);
    }
    for (uint32_t k = 0; k < t->n_patterns; k++) {
        int m = ge_xml_pattern_match(t->patterns[k], s, len);
        if (m < 0)
            return fail(msg, size, "value of %zu bytes is too long to check against the pattern of %s",
                        len, t->name);
        if (m == 0)
            return fail(msg, size, "value '%s' does not match the pattern '%s' of %s",
                        excerpt(s, len, ex, sizeof(ex)), t->patterns[k]->source, t->name);
    }
    return 0;
}

int ge_xml_check_value(const ge_xml_stype_t *t, const void *value, char *msg, size_t size)
{
    char ex[48];

    if (!t || !value)
        return GE_ERR_INVALID;
    if (t->flags & GE_XML_S_LIST) {
        const char *s = *(char *const *)value;
        if (!s)
            return fail(msg, size, "missing value of %s", t->name);
        return check_list(t, s, strlen(s), msg, size);
    }
    if (t->n_members) {
        const char *s = *(char *const *)value;
        char tmp[GE__XML_UNION_MAX + 1];
        size_t len;
        if (!s)
            return fail(msg, size, "missing value of %s", t->name);
        len = strlen(s);
        if (len > GE__XML_UNION_MAX)
            return fail(msg, size, "value is too long for %s", t->name);
        for (uint32_t k = 0; k < t->n_members; k++) {
            memcpy(tmp, s, len + 1);
            if (ge_xml_parse_value(t->members[k], tmp, len, NULL, NULL, NULL, 0) == 0)
                return 0;
        }
        return fail(msg, size, "value '%s' is valid for none of the member types of %s",
                    excerpt(s, len, ex, sizeof(ex)), t->name);
    }
    switch (t->kind) {
    case GE_XML_STRING: {
        const char *s = *(char *const *)value;
        if (!s)
            return fail(msg, size, "missing value of %s", t->name);
        return check_string(t, s, strlen(s), msg, size);
    }
    case GE_XML_BOOL:
        return 0;
    case GE_XML_I8: case GE_XML_I16: case GE_XML_I32: case GE_XML_I64: {
        int64_t v = ge__xml_get_int(t->kind, value);
        if (v < t->imin || v > t->imax)
            return fail(msg, size, "value %lld is outside the range %lld..%lld of %s", (long long)v,
                        (long long)t->imin, (long long)t->imax, t->name);
        return 0;
    }
    case GE_XML_U8: case GE_XML_U16: case GE_XML_U32: case GE_XML_U64: {
        uint64_t v = ge__xml_get_uint(t->kind, value);
        if (v < t->umin || v > t->umax)
            return fail(msg, size, "value %llu is outside the range %llu..%llu of %s",
                        (unsigned long long)v, (unsigned long long)t->umin,
                        (unsigned long long)t->umax, t->name);
        return 0;
    }
    case GE_XML_DOUBLE: {
        double v = *(const double *)value;
        if ((t->flags & GE_XML_S_DECIMAL) && !isfinite(v))
            return fail(msg, size, "value is not a finite decimal for %s", t->name);
        if (t->flags & GE_XML_S_DMIN) {
            if ((t->flags & GE_XML_S_DMIN_EXCL) ? !(v > t->dmin) : !(v >= t->dmin))
                return fail(msg, size, "value %g is below the minimum %g of %s", v, t->dmin, t->name);
        }
        if (t->flags & GE_XML_S_DMAX) {
            if ((t->flags & GE_XML_S_DMAX_EXCL) ? !(v < t->dmax) : !(v <= t->dmax))
                return fail(msg, size, "value %g is above the maximum %g of %s", v, t->dmax, t->name);
        }
        return 0;
    }
    case GE_XML_HEX: case GE_XML_BASE64: {
        const ge_xml_bytes_t *b = value;
        if (!b->data)
            return fail(msg, size, "missing value of %s", t->name);
        if ((t->flags & GE_XML_S_MAXLEN) && b->len > t->maxlen)
            return fail(msg, size, "%s value of %zu octets is longer than maxLength %u of %s",
                        t->kind == GE_XML_HEX ? "hexBinary" : "base64Binary", b->len,
                        (unsigned)t->maxlen, t->name);
        if ((t->flags & GE_XML_S_MINLEN) && b->len < t->minlen)
            return fail(msg, size, "%s value of %zu octets is shorter than minLength %u of %s",
                        t->kind == GE_XML_HEX ? "hexBinary" : "base64Binary", b->len,
                        (unsigned)t->minlen, t->name);
        return 0;
    }
    default:
        return GE_ERR_INTERNAL;
    }
}

int64_t ge__xml_get_int(int kind, const void *v)
{
    switch (kind) {
    case GE_XML_I8: return *(const int8_t *)v;
    case GE_XML_I16: return *(const int16_t *)v;
    case GE_XML_I32: return *(const int32_t *)v;
    default: return *(const int64_t *)v;
    }
}

uint64_t ge__xml_get_uint(int kind, const void *v)
{
    switch (kind) {
    case GE_XML_U8: return *(const uint8_t *)v;
    case GE_XML_U16: return *(const uint16_t *)v;
    case GE_XML_U32: return *(const uint32_t *)v;
    default: return *(const uint64_t *)v;
    }
}

/* ---- lexical parsing ------------------------------------------------------------------------------ */

/* 1 + the value of a hex digit, 0 for any other byte */
static const uint8_t hex1[256] = {
    ['0'] = 1, ['1'] = 2, ['2'] = 3, ['3'] = 4, ['4'] = 5, ['5'] = 6, ['6'] = 7, ['7'] = 8, ['8'] = 9,
    ['9'] = 10, ['a'] = 11, ['b'] = 12, ['c'] = 13, ['d'] = 14, ['e'] = 15, ['f'] = 16,
    ['A'] = 11, ['B'] = 12, ['C'] = 13, ['D'] = 14, ['E'] = 15, ['F'] = 16
};

static int hexval(char c)
{
    return (int)hex1[(unsigned char)c] - 1;
}

static int b64val(char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

/* Digits with an optional sign: [+-]?[0-9]+ (XSD part 2, 3.3.13). */
static int parse_integer(const char *s, size_t len, int *neg, uint64_t *mag)
{
    size_t i = 0;
    uint64_t v = 0;

    *neg = 0;
    if (i < len && (s[i] == '+' || s[i] == '-'))
        *neg = s[i++] == '-';
    if (i == len)
        return -1;
    for (; i < len; i++) {
        unsigned dig = (unsigned)((unsigned char)s[i] - '0');
        if (dig > 9)
            return -1;
        /* v * 10 + dig > UINT64_MAX */
        if (v >= UINT64_MAX / 10 && (v > UINT64_MAX / 10 || dig > UINT64_MAX % 10))
            return -2;
        v = v * 10 + dig;
    }
    *mag = v;
    return 0;
}

/* XSD float/double/decimal lexical space (part 2, 3.2.3-3.2.5); NaN/INF only for float/double. */
static int lex_double(const char *s, size_t len, int decimal)
{
    size_t i = 0, digits = 0;

    if (!decimal && ((len == 3 && (memcmp(s, "INF", 3) == 0 || memcmp(s, "NaN", 3) == 0)) ||
                     (len == 4 && (memcmp(s, "-INF", 4) == 0 || memcmp(s, "+INF", 4) == 0))))
        return 0;
    if (i < len && (s[i] == '+' || s[i] == '-'))
        i++;
    while (i < len && s[i] >= '0' && s[i] <= '9') {
        i++;
        digits++;
    }
    if (i < len && s[i] == '.') {
        i++;
        while (i < len && s[i] >= '0' && s[i] <= '9') {
            i++;
            digits++;
        }
    }
    if (digits == 0)
        return -1;
    if (!decimal && i < len && (s[i] == 'e' || s[i] == 'E')) {
        size_t ed = 0;
        i++;
        if (i < len && (s[i] == '+' || s[i] == '-'))
            i++;
        while (i < len && s[i] >= '0' && s[i] <= '9') {
            i++;
            ed++;
        }
        if (ed == 0)
            return -1;
    }
    return i == len ? 0 : -1;
}

/* See xml_internal.h. */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
/* Bytes of X (eight ASCII bytes) in LO..HI have their top bit set in the result, the others not. */
static inline uint64_t bytes_between(uint64_t x, unsigned lo, unsigned hi)
{
    const uint64_t ones = 0x0101010101010101u;
    return (x + ones * (0x80 - lo)) & ~(x + ones * (0x7F - hi)) & ones * 0x80;
}

/* Eight hex digits at S (the first digit the lowest byte) into four octets at OUT; -1 (OUT
 * unchanged) if one of them is not a hex digit. */
static inline int hex8(const char *s, uint8_t out[4])
{
    const uint64_t ones = 0x0101010101010101u;
    uint64_t x, digit, letter, v;
    uint32_t o;

    memcpy(&x, s, 8);
    if (x & ones * 0x80) /* the sums below need bytes below 0x80 */
        return -1;
    digit = bytes_between(x, '0', '9');
    letter = bytes_between(x | ones * 0x20, 'a', 'f'); /* 'A'-'F' and 'a'-'f' */
    if ((digit | letter) != ones * 0x80)
        return -1;
    v = (x & ones * 0x0F) + (letter >> 7) * 9;                     /* each byte a nibble */
    v = (v << 4 | v >> 8) & 0x00FF00FF00FF00FFu;                   /* pairs of digits */
    v = (v | v >> 8) & 0x0000FFFF0000FFFFu;
    o = (uint32_t)(v | v >> 16);
    memcpy(out, &o, 4);
    return 0;
}
#endif

static int parse_fast_hex(const ge_xml_stype_t *t, const char *s, size_t len, ge_arena_t *arena, void *value);

int ge__xml_parse_fast(const ge_xml_stype_t *t, const char *s, size_t len, ge_arena_t *arena, void *value)
{
    if (t->n_members || (t->flags & GE_XML_S_LIST) || t->n_enums || len == 0)
        return 1;
    if (t->kind == GE_XML_STRING) {
        /* a string with nothing to normalize (no character <= ' ') and no facet but a maxLength
         * it is within in bytes, so in characters too (hrefs, mRIDs in text, descriptions) */
        char *copy;
        if (t->n_patterns || (t->flags & ~GE_XML_S_MAXLEN) || ((t->flags & GE_XML_S_MAXLEN) && len > t->maxlen) ||
            ge__xml_has_ctl(s, len))
            return 1;
        if (!(copy = ge_arena_strndup(arena, s, len)))
            return ge_arena_error(arena);
        *(char **)value = copy;
        return 0;
    }
    if (t->kind >= GE_XML_I8 && t->kind <= GE_XML_U64) {
        size_t i = s[0] == '-';
        uint64_t v = 0;
        if (len > 18 || i == len)
            return 1;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
        if (len - i >= 8) {
            /* eight digits at once: each byte is 0x30-0x39, then pairs, quads and the eight
             * are combined by multiplying (the first digit is the lowest byte) */
            uint64_t x;
            memcpy(&x, s + i, 8);
            if ((x & 0xF0F0F0F0F0F0F0F0u) != 0x3030303030303030u ||
                ((x + 0x0606060606060606u) & 0xF0F0F0F0F0F0F0F0u) != 0x3030303030303030u)
                return 1;
            x -= 0x3030303030303030u;
            x = (x * 10 + (x >> 8)) & 0x00FF00FF00FF00FFu;
            x = (x * 100 + (x >> 16)) & 0x0000FFFF0000FFFFu;
            v = (x * 10000 + (x >> 32)) & 0xFFFFFFFFu;
            i += 8;
        }
#endif
        for (; i < len; i++) {
            unsigned dig = (unsigned)((unsigned char)s[i] - '0');
            if (dig > 9)
                return 1;
            v = v * 10 + dig;
        }
        if (t->kind <= GE_XML_I64) {
            int64_t x = s[0] == '-' ? -(int64_t)v : (int64_t)v;
            if (x < t->imin || x > t->imax)
                return 1;
            v = (uint64_t)x; /* stored as its two's complement bits, truncated to the size */
        } else if ((s[0] == '-' && v != 0) || v < t->umin || v > t->umax) {
            return 1;
        }
        switch (ge__xml_kind_size(t->kind)) {
        case 1: *(uint8_t *)value = (uint8_t)v; break;
        case 2: *(uint16_t *)value = (uint16_t)v; break;
        case 4: *(uint32_t *)value = (uint32_t)v; break;
        default: *(uint64_t *)value = v; break;
        }
        return 0;
    }
    if (t->kind == GE_XML_BOOL && !t->n_patterns) {
        if ((len == 4 && memcmp(s, "true", 4) == 0) || (len == 1 && s[0] == '1'))
            *(bool *)value = true;
        else if ((len == 5 && memcmp(s, "false", 5) == 0) || (len == 1 && s[0] == '0'))
            *(bool *)value = false;
        else
            return 1;
        return 0;
    }
    if (t->kind == GE_XML_HEX)
        return parse_fast_hex(t, s, len, arena, value);
    return 1;
}

/* ge__xml_parse_fast() for hexBinary: out of line, so that its buffer does not cost the other
 * kinds' calls a stack frame. */
static __attribute__((noinline)) int parse_fast_hex(const ge_xml_stype_t *t, const char *s, size_t len,
                                                    ge_arena_t *arena, void *value)
{
    uint8_t tmp[64], *p;
    size_t n = len / 2;
    if (len % 2 || n > sizeof(tmp) || ((t->flags & GE_XML_S_MAXLEN) && n > t->maxlen) ||
        ((t->flags & GE_XML_S_MINLEN) && n < t->minlen))
        return 1;
    unsigned bad = 0; /* an invalid digit's hex1 - 1 is UINT_MAX: checked once, after the loop */
    size_t i = 0;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    for (; 2 * i + 8 <= len; i += 4)
        if (hex8(s + 2 * i, tmp + i) < 0)
            return 1;
#endif
    for (; i < n; i++) {
        unsigned hi = hex1[(unsigned char)s[2 * i]] - 1u, lo = hex1[(unsigned char)s[2 * i + 1]] - 1u;
        bad |= hi | lo;
        tmp[i] = (uint8_t)(hi << 4 | lo);
    }
    if (bad > 15)
        return 1;
    if (!(p = ge_arena_alloc(arena, n ? n : 1, 1)))
        return ge_arena_error(arena);
    memcpy(p, tmp, n);
    ((ge_xml_bytes_t *)value)->data = p;
    ((ge_xml_bytes_t *)value)->len = n;
    return 0;
}

int ge_xml_parse_value(const ge_xml_stype_t *t, char *s, size_t len, ge_arena_t *arena, void *value,
                       char *msg, size_t size)
{
    char ex[48];
    union {
        char *str;
        bool b;
        int8_t i8;
        int16_t i16;
        int32_t i32;
        int64_t i64;
        uint8_t u8;
        uint16_t u16;
        uint32_t u32;
        uint64_t u64;
        double d;
        ge_xml_bytes_t bytes;
    } tmp;
    int rc;

    if (!t || (!s && len))
        return GE_ERR_INVALID;
    if (value && (rc = ge__xml_parse_fast(t, s, len, arena, value)) <= 0)
        return rc;
    len = ge__xml_ws(t->ws, s, len);
    if (t->flags & GE_XML_S_LIST) {
        rc = check_list(t, s, len, msg, size);
        if (rc == 0 && value) {
            char *copy = ge_arena_strndup(arena, s, len);
            if (!copy)
                return ge_arena_error(arena);
            *(char **)value = copy;
        }
        return rc;
    }
    if (t->n_members) {
        /* a union is kept as its text; valid if one member accepts it (part 2, 2.5.1.3) */
        for (uint32_t k = 0; k < t->n_members; k++) {
            char small[GE__XML_UNION_MAX + 1];
            if (len > GE__XML_UNION_MAX)
                break;
            memcpy(small, s, len);
            small[len] = '\0';
            if (ge_xml_parse_value(t->members[k], small, len, NULL, NULL, NULL, 0) == 0) {
                if (value) {
                    char *copy = ge_arena_strndup(arena, s, len);
                    if (!copy)
                        return ge_arena_error(arena);
                    *(char **)value = copy;
                }
                return 0;
            }
        }
        return fail(msg, size, "value '%s' is valid for none of the member types of %s",
                    excerpt(s, len, ex, sizeof(ex)), t->name);
    }
    switch (t->kind) {
    case GE_XML_STRING:
        rc = check_string(t, s, len, msg, size);
        if (rc < 0)
            return rc;
        if (value) {
            char *copy = ge_arena_strndup(arena, s, len);
            if (!copy)
                return ge_arena_error(arena);
            *(char **)value = copy;
        }
        return 0;
    case GE_XML_BOOL:
        if ((len == 4 && memcmp(s, "true", 4) == 0) || (len == 1 && s[0] == '1'))
            tmp.b = true;
        else if ((len == 5 && memcmp(s, "false", 5) == 0) || (len == 1 && s[0] == '0'))
            tmp.b = false;
        else
            return fail(msg, size, "value '%s' is not a boolean (true, false, 1, 0)",
                        excerpt(s, len, ex, sizeof(ex)));
        if (value)
            *(bool *)value = tmp.b;
        return 0;
    case GE_XML_I8: case GE_XML_I16: case GE_XML_I32: case GE_XML_I64:
    case GE_XML_U8: case GE_XML_U16: case GE_XML_U32: case GE_XML_U64: {
        int neg, sgn = t->kind <= GE_XML_I64;
        uint64_t mag = 0;
        rc = parse_integer(s, len, &neg, &mag);
        if (rc == -1)
            return fail(msg, size, "value '%s' is not an integer", excerpt(s, len, ex, sizeof(ex)));
        if (sgn) {
            int64_t v;
            if (rc == -2 || (neg ? mag > (uint64_t)INT64_MAX + 1 : mag > (uint64_t)INT64_MAX))
                return fail(msg, size, "value '%s' is outside the range %lld..%lld of %s",
                            excerpt(s, len, ex, sizeof(ex)), (long long)t->imin,
                            (long long)t->imax, t->name);
            v = neg ? (mag == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)mag) : (int64_t)mag;
            if (v < t->imin || v > t->imax)
                return fail(msg, size, "value %lld is outside the range %lld..%lld of %s",
                            (long long)v, (long long)t->imin, (long long)t->imax, t->name);
            switch (t->kind) {
            case GE_XML_I8: tmp.i8 = (int8_t)v; break;
            case GE_XML_I16: tmp.i16 = (int16_t)v; break;
            case GE_XML_I32: tmp.i32 = (int32_t)v; break;
            default: tmp.i64 = v; break;
            }
        } else {
            if (rc == -2 || (neg && mag != 0) || mag < t->umin || mag > t->umax)
                return fail(msg, size, "value '%s' is outside the range %llu..%llu of %s",
                            excerpt(s, len, ex, sizeof(ex)), (unsigned long long)t->umin,
                            (unsigned long long)t->umax, t->name);
            switch (t->kind) {
            case GE_XML_U8: tmp.u8 = (uint8_t)mag; break;
            case GE_XML_U16: tmp.u16 = (uint16_t)mag; break;
            case GE_XML_U32: tmp.u32 = (uint32_t)mag; break;
            default: tmp.u64 = mag; break;
            }
        }
        if (t->n_enums && (rc = check_string(t, s, len, msg, size)) < 0)
            return rc;
        if (value)
            switch (ge__xml_kind_size(t->kind)) {
            case 1: memcpy(value, &tmp, 1); break;
            case 2: memcpy(value, &tmp, 2); break;
            case 4: memcpy(value, &tmp, 4); break;
            default: memcpy(value, &tmp, 8); break;
            }
        return 0;
    }
    case GE_XML_DOUBLE: {
        char num[64];
        int decimal = (t->flags & GE_XML_S_DECIMAL) != 0;
        if (len >= sizeof(num) || lex_double(s, len, decimal) < 0)
            return fail(msg, size, "value '%s' is not a %s", excerpt(s, len, ex, sizeof(ex)),
                        decimal ? "decimal" : "floating-point number");
        if (len == 3 && memcmp(s, "INF", 3) == 0)
            tmp.d = HUGE_VAL;
        else if (len == 4 && s[1] == 'I')
            tmp.d = s[0] == '-' ? -HUGE_VAL : HUGE_VAL;
        else if (len == 3 && s[0] == 'N')
            tmp.d = NAN;
        else {
            memcpy(num, s, len);
            num[len] = '\0';
            tmp.d = strtod(num, NULL);
        }
        rc = ge_xml_check_value(t, &tmp.d, msg, size);
        if (rc < 0)
            return rc;
        if (t->n_enums && (rc = check_string(t, s, len, msg, size)) < 0)
            return rc;
        if (value)
            *(double *)value = tmp.d;
        return 0;
    }
    case GE_XML_HEX: {
        size_t n = len / 2;
        if (len % 2)
            return fail(msg, size, "value '%s' is not hexBinary (odd number of digits)",
                        excerpt(s, len, ex, sizeof(ex)));
        for (size_t i = 0; i < len; i++)
            if (hexval(s[i]) < 0)
                return fail(msg, size, "value '%s' is not hexBinary", excerpt(s, len, ex, sizeof(ex)));
        tmp.bytes.len = n;
        tmp.bytes.data = (uint8_t *)"";
        rc = ge_xml_check_value(t, &tmp.bytes, msg, size);
        if (rc < 0)
            return rc;
        if (value) {
            uint8_t *p = ge_arena_alloc(arena, n ? n : 1, 1);
            if (!p)
                return ge_arena_error(arena);
            for (size_t i = 0; i < n; i++)
                p[i] = (uint8_t)((hex1[(unsigned char)s[2 * i]] - 1) << 4 | (hex1[(unsigned char)s[2 * i + 1]] - 1));
            tmp.bytes.data = p;
            *(ge_xml_bytes_t *)value = tmp.bytes;
        }
        return 0;
    }
    case GE_XML_BASE64: {
        size_t nchars = 0, pad = 0, n;
        for (size_t i = 0; i < len; i++) {
            if (s[i] == ' ')
                continue;
            if (s[i] == '=') {
                pad++;
                nchars++;
                continue;
            }
            if (pad || b64val(s[i]) < 0)
                return fail(msg, size, "value '%s' is not base64Binary", excerpt(s, len, ex, sizeof(ex)));
            nchars++;
        }
        if (nchars % 4 || pad > 2)
            return fail(msg, size, "value '%s' is not base64Binary", excerpt(s, len, ex, sizeof(ex)));
        n = nchars / 4 * 3 - pad;
        tmp.bytes.len = n;
        tmp.bytes.data = (uint8_t *)"";
        rc = ge_xml_check_value(t, &tmp.bytes, msg, size);
        if (rc < 0)
            return rc;
        if (value) {
            uint8_t *p = ge_arena_alloc(arena, n ? n : 1, 1);
            uint32_t acc = 0;
            size_t bits = 0, o = 0;
            if (!p)
                return ge_arena_error(arena);
            for (size_t i = 0; i < len; i++) {
                int v = b64val(s[i]);
                if (v < 0)
                    continue;
                acc = (acc << 6) | (uint32_t)v;
                bits += 6;
                if (bits >= 8) {
                    bits -= 8;
                    if (o < n)
                        p[o++] = (uint8_t)(acc >> bits);
                }
            }
            tmp.bytes.data = p;
            *(ge_xml_bytes_t *)value = tmp.bytes;
        }
        return 0;
    }
    default:
        return GE_ERR_INTERNAL;
    }
}

/* ---- formatting ------------------------------------------------------------------------------------ */

static int fmt_double(ge_buf_t *out, double v, int decimal)
{
    char num[400]; /* %f of the largest double has 309 digits */

    if (isnan(v))
        return ge_buf_puts(out, "NaN");
    if (isinf(v))
        return ge_buf_puts(out, v < 0 ? "-INF" : "INF");
    if (decimal) {
        /* no exponent in xs:decimal: the shortest fixed form that reads back the same */
        for (int prec = 0; prec <= 40; prec++) {
            snprintf(num, sizeof(num), "%.*f", prec, v);
            if (strtod(num, NULL) == v)
                break;
        }
        return ge_buf_puts(out, num);
    }
    /* the shortest of %.1g .. %.17g that reads back to the same double */
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(num, sizeof(num), "%.*g", prec, v);
        if (strtod(num, NULL) == v)
            break;
    }
    return ge_buf_puts(out, num);
}

int ge_xml_format_value(ge_buf_t *out, const ge_xml_stype_t *t, const void *value)
{
    static const char hex[] = "0123456789ABCDEF";
    static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

    if (t->n_members)
        return ge_buf_puts(out, *(char *const *)value ? *(char *const *)value : "");
    switch (t->kind) {
    case GE_XML_STRING:
        return ge_buf_puts(out, *(char *const *)value ? *(char *const *)value : "");
    case GE_XML_BOOL:
        return ge_buf_puts(out, *(const bool *)value ? "true" : "false");
    case GE_XML_I8: case GE_XML_I16: case GE_XML_I32: case GE_XML_I64:
        return ge_buf_printf(out, "%lld", (long long)ge__xml_get_int(t->kind, value));
    case GE_XML_U8: case GE_XML_U16: case GE_XML_U32: case GE_XML_U64:
        return ge_buf_printf(out, "%llu", (unsigned long long)ge__xml_get_uint(t->kind, value));
    case GE_XML_DOUBLE:
        return fmt_double(out, *(const double *)value, (t->flags & GE_XML_S_DECIMAL) != 0);
    case GE_XML_HEX: {
        const ge_xml_bytes_t *b = value;
        int rc = ge_buf_reserve(out, 2 * b->len);
        if (rc < 0)
            return rc;
        for (size_t i = 0; i < b->len; i++) {
            char two[2] = { hex[b->data[i] >> 4], hex[b->data[i] & 15] };
            ge_buf_append(out, two, 2);
        }
        return 0;
    }
    case GE_XML_BASE64: {
        const ge_xml_bytes_t *b = value;
        int rc = ge_buf_reserve(out, (b->len + 2) / 3 * 4);
        if (rc < 0)
            return rc;
        for (size_t i = 0; i < b->len; i += 3) {
            uint32_t v = (uint32_t)b->data[i] << 16;
            size_t rem = b->len - i;
            char four[4];
            if (rem > 1)
                v |= (uint32_t)b->data[i + 1] << 8;
            if (rem > 2)
                v |= b->data[i + 2];
            four[0] = b64[(v >> 18) & 63];
            four[1] = b64[(v >> 12) & 63];
            four[2] = rem > 1 ? b64[(v >> 6) & 63] : '=';
            four[3] = rem > 2 ? b64[v & 63] : '=';
            ge_buf_append(out, four, 4);
        }
        return 0;
    }
    default:
        return GE_ERR_INTERNAL;
    }
}
