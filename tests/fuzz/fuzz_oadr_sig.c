/* fuzz_oadr_sig.c - libFuzzer target for OpenADR 2.0b XML signatures (stack/oadr/sig.c).  The
 * first byte chooses: 'S' - sign the rest (after a 3-byte mutation: offset, xor) with the fuzzer's
 * key; what signs must verify (else trap), and verifying it with that one byte changed must not
 * crash; anything else - verify the input as a VTN's payload.  The key and CA are made once, in a
 * temporary directory (gridedge's own test PKI).  Seeds: our own signed and unsigned payloads. */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <gridedge/buf.h>
#include <gridedge/oadr_sig.h>
#include <gridedge/pki.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NOW 1800000000.0

static oadr_sig_t *sig;
static char dir[] = "/tmp/ge-fuzz-oadr-sig-XXXXXX";

/* The PKI is only needed while loading it: gone at exit. */
static void remove_pki(void)
{
    static const char *const files[] = { "ca.pem", "ca.key", "server.pem", "server.key", "client.pem", "client.key" };
    char path[128];

    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
        unlink(path);
    }
    rmdir(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    char ca[128], cert[128], key[128], err[256];

    (void)argc;
    (void)argv;
    if (!mkdtemp(dir))
        abort();
    atexit(remove_pki);
    if (ge_pki_init(dir, NULL, NULL, NULL) < 0)
        abort();
    snprintf(ca, sizeof(ca), "%s/ca.pem", dir);
    snprintf(cert, sizeof(cert), "%s/client.pem", dir);
    snprintf(key, sizeof(key), "%s/client.key", dir);
    if (oadr_sig_new(&sig, cert, key, ca, err, sizeof(err)) < 0) {
        fprintf(stderr, "fuzz_oadr_sig: %s\n", err);
        abort();
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[256];
    ge_buf_t out;

    if (size < 1)
        return 0;
    if (data[0] != 'S' || size < 4) {
        oadr_sig_verify(sig, data, size, NOW, OADR_SIG_DEFAULT_SKEW_S, err, sizeof(err));
        return 0;
    }
    ge_buf_init(&out, NULL, OADR_SIG_MAX_BYTES * 2);
    if (oadr_sig_sign(sig, data + 4, size - 4, NOW, &out, err, sizeof(err)) == 0) {
        /* the clock stands still here: a fresh nonce table for each input, or it would fill */
        oadr_sig_set_nonce_memory(sig, 8);
        size_t at = ((size_t)data[1] << 8 | data[2]) % out.len;
        if (oadr_sig_verify(sig, out.data, out.len, NOW, OADR_SIG_DEFAULT_SKEW_S, err, sizeof(err)) != 0) {
            fprintf(stderr, "fuzz_oadr_sig: what we signed does not verify: %s\n", err);
            __builtin_trap();
        }
        ((uint8_t *)out.data)[at] ^= data[3];
        oadr_sig_verify(sig, out.data, out.len, NOW, OADR_SIG_DEFAULT_SKEW_S, err, sizeof(err));
    }
    ge_buf_free(&out);
    return 0;
}
