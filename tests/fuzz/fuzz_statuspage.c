/* fuzz_statuspage.c - libFuzzer target for the status page's actions (gateway/status.c): the input
 * is "PATH\nACTION\nBODY" (the request target, the X-Gridedge-Action header, the form body).  It must
 * never crash or leak; an event ID it hands on is never empty, never longer than 127 bytes and holds
 * no control byte, and every answer is one JSON object. */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/status.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int check_id(void *ud, const char *id)
{
    size_t n = strlen(id);

    (void)ud;
    if (n == 0 || n > 127)
        __builtin_trap();
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)id[i] < 0x20 || id[i] == 0x7f)
            __builtin_trap();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text, *path, *action, *body;
    ge_buf_t reply;

    if (size > 1 << 16 || !(text = malloc(size + 1)))
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    path = text;
    action = strchr(path, '\n');
    if (action)
        *action++ = '\0';
    body = action ? strchr(action, '\n') : NULL;
    if (body)
        *body++ = '\0';
    ge_buf_init(&reply, NULL, 0);
    gw_statuspage_post(path, action, body, body ? size - (size_t)(body - text) : 0, check_id, NULL, &reply);
    if (!reply.len || ge_buf_str(&reply)[0] != '{')
        __builtin_trap();
    ge_buf_free(&reply);
    free(text);
    return 0;
}
