/* gridedge/buf.h - bounded byte buffers.
 *
 * A ge_buf_t is caller-allocated (init/free).  It either grows through a ge_mem_t up to a hard
 * cap, or wraps fixed storage the caller owns (for devices without a heap).  Appends that would
 * pass the cap fail with GE_ERR_LIMIT and leave the content as it was.  The content is always
 * NUL-terminated after len bytes (the terminator is not counted in len). */
#ifndef GRIDEDGE_BUF_H
#define GRIDEDGE_BUF_H

#include <stdarg.h>
#include <stddef.h>

#include <gridedge/mem.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ge_buf {
    char *data;           /* NULL until the first append on a growing buffer */
    size_t len;           /* bytes of content */
    size_t size;          /* bytes of storage, terminator included */
    size_t cap;           /* most content bytes allowed */
    const ge_mem_t *mem;  /* NULL for fixed storage */
} ge_buf_t;

/* A growing buffer: at most CAP content bytes (0 = 1 MiB).  MEM NULL = malloc. */
void ge_buf_init(ge_buf_t *buf, const ge_mem_t *mem, size_t cap);

/* A buffer over caller storage of SIZE bytes (content cap SIZE - 1); it never allocates. */
void ge_buf_init_fixed(ge_buf_t *buf, char *storage, size_t size);

/* Release a growing buffer's storage; the buffer is empty and usable again afterwards. */
void ge_buf_free(ge_buf_t *buf);

/* Make room for EXTRA more content bytes. */
int ge_buf_reserve(ge_buf_t *buf, size_t extra);

int ge_buf_append(ge_buf_t *buf, const void *data, size_t len);
int ge_buf_puts(ge_buf_t *buf, const char *s);
int ge_buf_putc(ge_buf_t *buf, char c);
int ge_buf_printf(ge_buf_t *buf, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int ge_buf_vprintf(ge_buf_t *buf, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

/* Drop the content, keep the storage. */
void ge_buf_clear(ge_buf_t *buf);

/* Drop the first N bytes of content (all of it if N >= len). */
void ge_buf_consume(ge_buf_t *buf, size_t n);

/* The content as a C string ("" for an empty buffer, never NULL). */
const char *ge_buf_str(const ge_buf_t *buf);

/* Append S as one token that holds no space: every byte <= ' ', '%' and DEL as %XX (for the line
 * formats a saved state is written in).  ge_unescape() reads it back. */
int ge_buf_put_escaped(ge_buf_t *buf, const char *s);

/* Decode the %XX escapes of S in place.  0, or -1 for a broken escape or one that decodes to NUL
 * (S is then undefined). */
int ge_unescape(char *s);

/* The value of hex digit C (0-9, a-f, A-F), or -1. */
int ge_hex_digit(int c);

#ifdef __cplusplus
}
#endif
#endif
