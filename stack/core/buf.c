/* buf.c - bounded byte buffers (see gridedge/buf.h). */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include <gridedge/buf.h>
#include <gridedge/error.h>

#define BUF_DEFAULT_CAP (1024u * 1024u)
#define BUF_MIN_SIZE 64u

void ge_buf_init(ge_buf_t *buf, const ge_mem_t *mem, size_t cap)
{
    buf->data = NULL;
    buf->len = 0;
    buf->size = 0;
    buf->cap = cap ? cap : BUF_DEFAULT_CAP;
    if (buf->cap == (size_t)-1)
        buf->cap--; /* room for the terminator */
    buf->mem = mem ? mem : ge_mem_default();
}

void ge_buf_init_fixed(ge_buf_t *buf, char *storage, size_t size)
{
    buf->data = storage;
    buf->len = 0;
    buf->size = size;
    buf->cap = size ? size - 1 : 0;
    buf->mem = NULL;
    if (size)
        storage[0] = '\0';
}

void ge_buf_free(ge_buf_t *buf)
{
    if (buf->mem && buf->data)
        buf->mem->free(buf->data, buf->mem->ud);
    if (buf->mem) {
        buf->data = NULL;
        buf->size = 0;
    } else if (buf->size) {
        buf->data[0] = '\0';
    }
    buf->len = 0;
}

int ge_buf_reserve(ge_buf_t *buf, size_t extra)
{
    size_t need, size;
    char *p;

    if (extra > buf->cap - buf->len)
        return GE_ERR_LIMIT;
    need = buf->len + extra + 1;
    if (need <= buf->size)
        return 0;
    if (!buf->mem)
        return GE_ERR_LIMIT;
    size = buf->size ? buf->size : BUF_MIN_SIZE;
    while (size < need)
        size = size > (buf->cap + 1) / 2 ? buf->cap + 1 : size * 2;
    p = buf->mem->realloc(buf->data, size, buf->mem->ud);
    if (!p)
        return GE_ERR_NOMEM;
    if (!buf->data)
        p[0] = '\0';
    buf->data = p;
    buf->size = size;
    return 0;
}

int ge_buf_append(ge_buf_t *buf, const void *data, size_t len)
{
    int rc = ge_buf_reserve(buf, len);

    if (rc < 0)
        return rc;
    if (len)
        memcpy(buf->data + buf->len, data, len);
    buf->len += len;
    buf->data[buf->len] = '\0';
    return 0;
}

int ge_buf_puts(ge_buf_t *buf, const char *s)
{
    return ge_buf_append(buf, s, strlen(s));
}

int ge_buf_putc(ge_buf_t *buf, char c)
{
    return ge_buf_append(buf, &c, 1);
}

int ge_buf_vprintf(ge_buf_t *buf, const char *fmt, va_list ap)
{
    va_list ap2;
    int n;
    int rc;

    va_copy(ap2, ap);
    n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0)
        return GE_ERR_INVALID;
    rc = ge_buf_reserve(buf, (size_t)n);
    if (rc < 0)
        return rc;
    vsnprintf(buf->data + buf->len, (size_t)n + 1, fmt, ap);
    buf->len += (size_t)n;
    return 0;
}

int ge_buf_printf(ge_buf_t *buf, const char *fmt, ...)
{
    va_list ap;
    int rc;

    va_start(ap, fmt);
    rc = ge_buf_vprintf(buf, fmt, ap);
    va_end(ap);
    return rc;
}

void ge_buf_clear(ge_buf_t *buf)
{
    buf->len = 0;
    if (buf->data)
        buf->data[0] = '\0';
}

void ge_buf_consume(ge_buf_t *buf, size_t n)
{
    if (n >= buf->len) {
        ge_buf_clear(buf);
        return;
    }
    memmove(buf->data, buf->data + n, buf->len - n + 1);
    buf->len -= n;
}

const char *ge_buf_str(const ge_buf_t *buf)
{
    return buf->data ? buf->data : "";
}

int ge_hex_digit(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int ge_buf_put_escaped(ge_buf_t *buf, const char *s)
{
    int rc = 0;

    for (const unsigned char *p = (const unsigned char *)s; *p && rc == 0; p++)
        rc = *p <= ' ' || *p == '%' || *p == 0x7f ? ge_buf_printf(buf, "%%%02X", *p) : ge_buf_putc(buf, (char)*p);
    return rc;
}

int ge_unescape(char *s)
{
    char *o = s;

    for (const char *p = s; *p; p++) {
        if (*p == '%') {
            int hi = ge_hex_digit((unsigned char)p[1]), lo = hi < 0 ? -1 : ge_hex_digit((unsigned char)p[2]);
            if (lo < 0 || (hi | lo) == 0)
                return -1;
            *o++ = (char)(hi << 4 | lo);
            p += 2;
        } else {
            *o++ = *p;
        }
    }
    *o = '\0';
    return 0;
}
