/* fuzz_owner.c - libFuzzer target for the home owner's file (gateway/owner.c): the input is the
 * file, read by the gateway config's parser in its owner mode (gw_config_parse_owner_string) and,
 * when good, applied to an OpenADR 2.0b engine twice (the second time must change nothing), then
 * withdrawn; the first line is also read as an availability window list (gw_config_parse_windows).
 * It must never crash or leak, and what it applies must stay within the engine's bounds. */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <gridedge/oadr.h>

#include "gateway/owner.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    oadr_ven_config_t cfg = { "/OpenADR2/Simple/2.0b", "fuzz-ven", NULL, NULL, 0, 0, 1, NULL, NULL, NULL, 0, 0, 0 };
    oadr_opt_window_t w[GW_CONFIG_WINDOWS_MAX];
    char *text, why[200];
    gw_config_t *c;
    gw_config_errors_t *errs;
    oadr_ven_t *v = NULL;
    size_t n = 0, before;

    if (size > 1 << 16 || !(text = malloc(size + 1)))
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    c = malloc(sizeof(*c));
    errs = malloc(sizeof(*errs));
    if (c && errs) {
        char *nl = strchr(text, '\n');
        if (nl)
            *nl = '\0';
        if (gw_config_parse_windows(text, w, GW_CONFIG_WINDOWS_MAX, &n, why, sizeof(why)) == 0 &&
            n > GW_CONFIG_WINDOWS_MAX)
            abort();
        if (nl)
            *nl = '\n';
        if (gw_config_parse_owner_string(c, "owner.ini", text, errs) == 0 && oadr_ven_new(&v, &cfg) == 0) {
            if (c->oadr_n_unavailable > GW_CONFIG_WINDOWS_MAX || c->oadr_n_opt_out > GW_CONFIG_OPT_OUT_MAX)
                abort();
            gw_owner_apply(v, w, n, c, NULL);
            before = oadr_ven_schedules(v, NULL, 0);
            gw_owner_apply(v, w, n, c, NULL);
            if (oadr_ven_schedules(v, NULL, 0) != before || before > OADR_MAX_OPTS)
                abort();
            gw_owner_apply(v, NULL, 0, NULL, NULL); /* everything withdrawn */
            if (oadr_ven_schedules(v, NULL, 0) != 0)
                abort();
            oadr_ven_free(v);
        }
    }
    free(errs);
    free(c);
    free(text);
    return 0;
}
