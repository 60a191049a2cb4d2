/* sunspec_sim.c - the SunSpec device simulator of tests/sunspec_sim.h: register maps of a hybrid
 * inverter (models 1, 103/113, 120, 121, 123, 124) and of a 700-series battery (1, 701, 702, 703,
 * 704, 713), a little physics that turns written controls into measured power, and faults.
 * Point offsets follow the SunSpec model definitions; the values are those of a plausible 5 kW
 * home device, with negative and positive scale factors on purpose. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <modbus/modbus.h>

#include "sunspec_sim.h"

#define MAX_SIM_MODELS 8

struct sunspec_sim {
    ssim_opts_t o;
    pthread_t thread;
    pthread_mutex_t mu;
    int stop;
    int want_online, online;
    int port;
    int lfd, cfd;
    modbus_t *ctx;
    modbus_mapping_t *map;
    int base, nregs;
    unsigned ids[MAX_SIM_MODELS], lens[MAX_SIM_MODELS];
    int addrs[MAX_SIM_MODELS];
    int n_models;
    double pv_avail, soc;
    int fault, fault_count;
    long requests, connections;
};

/* --- register helpers (caller holds the lock) ------------------------------------------------- */

static uint16_t *mregs(sunspec_sim_t *s, unsigned id)
{
    for (int i = 0; i < s->n_models; i++)
        if (s->ids[i] == id)
            return s->map->tab_registers + (s->addrs[i] - s->base);
    return NULL;
}

static void put_str(uint16_t *r, unsigned nregs, const char *txt)
{
    size_t n = strlen(txt);
    for (unsigned i = 0; i < nregs; i++) {
        unsigned char a = 2 * i < n ? (unsigned char)txt[2 * i] : 0;
        unsigned char b = 2 * i + 1 < n ? (unsigned char)txt[2 * i + 1] : 0;
        r[i] = (uint16_t)(a << 8 | b);
    }
}

static void put_u32(uint16_t *r, uint32_t v)
{
    r[0] = (uint16_t)(v >> 16);
    r[1] = (uint16_t)v;
}

static void put_u64(uint16_t *r, uint64_t v)
{
    for (int i = 0; i < 4; i++)
        r[i] = (uint16_t)(v >> (48 - 16 * i));
}

static void put_f32(uint16_t *r, float f)
{
    uint32_t v;
    memcpy(&v, &f, sizeof(v));
    put_u32(r, v);
}

static uint16_t i16(double v)
{
    v = nearbyint(v);
    v = v < -32767 ? -32767 : v > 32767 ? 32767 : v;
    return (uint16_t)(int16_t)v;
}

static double sc(uint16_t sf)
{
    return pow(10.0, (int16_t)sf);
}

/* --- the map ---------------------------------------------------------------------------------- */

static void layout(sunspec_sim_t *s)
{
    static const unsigned hyb[] = { 1, 103, 120, 121, 123, 124 };
    static const unsigned hybf[] = { 1, 113, 120, 121, 123, 124 };
    static const unsigned der[] = { 1, 701, 702, 703, 704, 713 };
    static const unsigned pv[] = { 1, 103, 120 };
    static const unsigned none[] = { 1, 160, 64001 };
    const unsigned *ids;
    int n;
    switch (s->o.variant) {
    case SSIM_HYBRID_FLOAT: ids = hybf; n = 6; break;
    case SSIM_DER7XX: ids = der; n = 6; break;
    case SSIM_PV_ONLY: ids = pv; n = 3; break;
    case SSIM_NO_INVERTER: ids = none; n = 3; break;
    default: ids = hyb; n = 6; break;
    }
    int addr = s->o.base + 2;
    for (int i = 0; i < n; i++) {
        unsigned len;
        switch (ids[i]) {
        case 1: len = 66; break;
        case 103: len = 50; break;
        case 113: len = 60; break;
        case 120: len = 26; break;
        case 121: len = 30; break;
        case 123: len = 24; break;
        case 124: len = 24; break;
        case 701: len = 153; break;
        case 702: len = 50; break;
        case 703: len = 17; break;
        case 704: len = (unsigned)s->o.m704_len; break;
        case 713: len = 7; break;
        case 160: len = 48; break;
        default: len = 10; break;
        }
        s->ids[i] = ids[i];
        s->lens[i] = len;
        s->addrs[i] = addr + 2;
        addr += 2 + (int)len;
    }
    s->n_models = n;
    s->nregs = addr + 2 - s->o.base;
}

static void fill(sunspec_sim_t *s)
{
    uint16_t *t = s->map->tab_registers;
    for (int i = 0; i < s->nregs; i++)
        t[i] = 0xFFFF;
    t[0] = 0x5375;
    t[1] = 0x6e53;
    for (int i = 0; i < s->n_models; i++) {
        uint16_t *h = t + (s->addrs[i] - 2 - s->base);
        h[0] = (uint16_t)s->ids[i];
        h[1] = (uint16_t)s->lens[i];
    }
    t[s->nregs - 2] = 0xFFFF;
    t[s->nregs - 1] = 0;

    uint16_t *r;
    if ((r = mregs(s, 1))) {
        put_str(r + 0, 16, "GridEdge");
        put_str(r + 16, 16, s->o.variant == SSIM_DER7XX ? "SimBattery 5K" : "SimHybrid 5K");
        put_str(r + 32, 8, "");
        put_str(r + 40, 8, "1.2.3");
        put_str(r + 48, 16, "SIM-0001");
        r[64] = 1;
        r[65] = 0x8000;
    }
    if ((r = mregs(s, 103))) {
        r[4] = (uint16_t)-2;               /* A_SF */
        r[8] = r[9] = r[10] = 2400;        /* PhVphA..C, V_SF -1: 240.0 V */
        r[5] = r[6] = r[7] = 4157;
        r[11] = (uint16_t)-1;
        r[13] = (uint16_t)(int16_t)s->o.w_sf;
        r[14] = 6000;                      /* Hz, Hz_SF -2: 60.00 Hz */
        r[15] = (uint16_t)-2;
        r[17] = 0;                         /* VA_SF */
        r[19] = 0;                         /* VAr_SF */
        r[20] = 10000;                     /* PF in %, PF_SF -2 */
        r[21] = (uint16_t)-2;
        put_u32(r + 22, 12345678);         /* WH, WH_SF 0 */
        r[24] = 0;
        r[26] = (uint16_t)-2;              /* DCA_SF */
        r[27] = 3800;                      /* DCV 380.0 */
        r[28] = (uint16_t)-1;
        r[30] = 0;                         /* DCW_SF */
        r[31] = 350;                       /* TmpCab 35.0 */
        r[35] = (uint16_t)-1;
        put_u32(r + 38, 0);                /* Evt1 */
        put_u32(r + 40, 0);
    }
    if ((r = mregs(s, 113))) {
        for (unsigned i = 0; i < 60; i += 2)
            put_f32(r + i, NAN);
        put_f32(r + 14, 240.0f);
        put_f32(r + 16, 240.0f);
        put_f32(r + 22, 60.0f);
        put_f32(r + 30, 12345678.0f);
        put_f32(r + 34, 380.0f);
        r[46] = 4;
        r[47] = 0xFFFF;
    }
    if ((r = mregs(s, 120))) {
        r[0] = s->o.variant == SSIM_PV_ONLY ? 4 : 82; /* DERTyp PV / PV_STOR */
        r[1] = 5000; r[2] = 0;                         /* WRtg */
        r[3] = 5000; r[4] = 0;                         /* VARtg */
        r[5] = 3000; r[6] = 3000; r[7] = i16(-3000); r[8] = i16(-3000); r[9] = 0;
        r[10] = 21; r[11] = 0;                         /* ARtg */
        r[12] = 80; r[13] = i16(-80); r[14] = i16(-80); r[15] = 80; r[16] = (uint16_t)-2;
        if (s->o.variant == SSIM_PV_ONLY) {
            r[17] = 0xFFFF; r[18] = 0x8000; r[21] = 0xFFFF; r[22] = 0x8000;
            r[23] = 0xFFFF; r[24] = 0x8000;
        } else {
            r[17] = 1350; r[18] = 1;                   /* WHRtg 13500 Wh (positive SF) */
            r[19] = 0xFFFF; r[20] = 0x8000;            /* AhrRtg not implemented */
            r[21] = 5000; r[22] = 0;                   /* MaxChaRte */
            r[23] = 500; r[24] = 1;                    /* MaxDisChaRte 5000 */
        }
        r[25] = 0x8000;
    }
    if ((r = mregs(s, 121))) {
        r[0] = 5000;                 /* WMax, WMax_SF 0 */
        r[1] = 2400;                 /* VRef, VRef_SF -1 */
        r[2] = 0;
        r[3] = 2640; r[4] = 2110;
        r[5] = 5000;
        r[20] = 0; r[21] = (uint16_t)-1; r[22] = (uint16_t)-1; r[23] = (uint16_t)-1;
        r[24] = 0; r[25] = 0; r[26] = 0x8000; r[27] = (uint16_t)-2; r[28] = 0x8000;
        r[29] = (uint16_t)-2;
        r[18] = 6000;                /* ECPNomHz */
    }
    if ((r = mregs(s, 123))) {
        r[0] = 0; r[1] = 0;
        r[2] = 1;                    /* Conn: connected */
        r[3] = 1000;                 /* WMaxLimPct 100.0 %, SF -1 */
        r[4] = r[5] = r[6] = 0;
        r[7] = 0;                    /* WMaxLim_Ena disabled */
        r[8] = 1000;                 /* OutPFSet 1.000, SF -3 */
        r[9] = r[10] = r[11] = 0;
        r[12] = 0;
        r[21] = (uint16_t)-1;
        r[22] = (uint16_t)-3;
        r[23] = 0x8000;
    }
    if ((r = mregs(s, 124))) {
        r[0] = 5000;                 /* WChaMax, SF 0 */
        r[1] = 100; r[2] = 100;
        r[3] = 0;                    /* StorCtl_Mod */
        r[5] = 100;                  /* MinRsvPct 10.0 % */
        r[7] = 6750;
        r[8] = 4000;                 /* InBatV 400.0 */
        r[9] = 3;                    /* ChaSt */
        r[10] = 0; r[11] = 0;        /* OutWRte, InWRte */
        r[12] = r[13] = r[14] = 0;
        r[15] = 1;
        r[16] = 0; r[17] = 0; r[18] = 0x8000; r[19] = (uint16_t)-1;
        r[20] = (uint16_t)-1;        /* ChaState_SF */
        r[21] = 0; r[22] = (uint16_t)-1;
        r[23] = (uint16_t)-2;        /* InOutWRte_SF: 100 % = 10000 */
    }
    if ((r = mregs(s, 701))) {
        r[0] = 1;                    /* ACType single phase */
        r[1] = 1; r[2] = 1; r[3] = 1;
        put_u32(r + 4, 0);
        put_u32(r + 6, 0);
        r[13] = 2400; r[14] = 2400;  /* LLV, LNV; V_SF -1 */
        put_u32(r + 15, 60000);      /* Hz, Hz_SF -3 */
        put_u64(r + 17, 4200000);    /* TotWhInj, TotWh_SF 0 */
        put_u64(r + 21, 5100000);    /* TotWhAbs */
        r[111] = (uint16_t)-2; r[112] = (uint16_t)-1; r[113] = (uint16_t)-3;
        r[114] = (uint16_t)(int16_t)s->o.w_sf;
        r[115] = (uint16_t)-3; r[116] = 0; r[117] = 0; r[118] = 0; r[119] = 0;
        r[120] = (uint16_t)-1;
        put_str(r + 121, 32, "");
    }
    if ((r = mregs(s, 702))) {
        r[0] = 5000; r[5] = 5000; r[6] = 2500; r[7] = 2500;
        r[8] = 5000; r[9] = 5000; r[10] = 5000; r[11] = 5000;
        r[12] = 240; r[13] = 264; r[14] = 211; r[15] = 21;
        r[16] = 850; r[17] = 850;    /* PF ratings, PF_SF -3 */
        r[24] = 5000;                /* WMax */
        r[43] = 0; r[44] = (uint16_t)-3; r[45] = 0; r[46] = 0; r[47] = 0; r[48] = 0; r[49] = 0;
    }
    if ((r = mregs(s, 703))) {
        r[0] = 1;                    /* ES enabled */
        r[15] = (uint16_t)-1; r[16] = (uint16_t)-2;
    }
    if ((r = mregs(s, 704))) {
        int old = s->o.m704_len == 65;
        r[0] = 0; r[1] = 0; r[6] = 0; r[7] = 0;
        r[12] = 0; r[13] = 1000;     /* WMaxLimPct 100.0, WMaxLim_SF -1 */
        r[20] = 0; r[21] = 2;
        put_u32(r + 22, 0);
        int pf_sf = old ? 51 : 55;
        r[pf_sf] = (uint16_t)-3;          /* PF_SF */
        r[pf_sf + 1] = (uint16_t)-1;      /* WMaxLim_SF */
        r[pf_sf + 2] = 0;                 /* WSet_SF */
        r[pf_sf + 3] = 0; r[pf_sf + 4] = 0; r[pf_sf + 5] = 0;
        int g = old ? 57 : 61;
        r[g] = 1000; r[g + 1] = 0;        /* PFWInj */
        r[g + 4] = 1000; r[g + 5] = 1;    /* PFWAbs */
    }
    if ((r = mregs(s, 713))) {
        r[0] = 1350; r[5] = 1;            /* WHRtg 13500 (WH_SF 1) */
        r[3] = 9800; r[4] = 1;            /* SoH 98.00 %, Sta */
        r[6] = (uint16_t)-2;              /* Pct_SF */
    }
    if ((r = mregs(s, 160))) {
        for (int i = 0; i < 48; i++)
            r[i] = 0;
    }
}

/* Turn the controls into measurements, as the device would. */
static void physics(sunspec_sim_t *s)
{
    uint16_t *r;
    double soc = s->soc;
    if (s->o.variant == SSIM_DER7XX) {
        uint16_t *c = mregs(s, 704), *cap = mregs(s, 702), *m = mregs(s, 701), *es = mregs(s, 703);
        int old = s->o.m704_len == 65, sfo = old ? 51 : 55, g = old ? 57 : 61;
        double bat = 0;
        if (c[20] == 1 && c[21] == 2) {
            int32_t v = (int32_t)((uint32_t)c[22] << 16 | c[23]);
            bat = v * sc(c[sfo + 2]);
        }
        bat = fmin(fmax(bat, -cap[8] * 1.0), cap[9] * 1.0);
        if ((soc <= 0 && bat > 0) || (soc >= 100 && bat < 0))
            bat = 0;
        if (c[12] == 1) {
            double lim = c[13] * sc(c[sfo + 1]) / 100.0 * cap[24];
            if (bat > lim)
                bat = lim;
        }
        int conn = es[0] == 1;
        if (!conn)
            bat = 0;
        double pf = 1;
        if (bat > 0 && c[0] == 1)
            pf = c[g] * sc(c[sfo]);
        if (bat < 0 && c[6] == 1)
            pf = c[g + 4] * sc(c[sfo]);
        double var = pf > 0 && pf < 1 ? fabs(bat) * tan(acos(pf)) : 0;
        m[3] = (uint16_t)conn;
        m[8] = i16(bat / sc(m[114]));
        m[9] = i16(fabs(bat) / sc(m[116]));
        m[10] = i16(var / sc(m[117]));
        m[12] = i16(fabs(bat) / 240.0 / sc(m[111]));
        r = mregs(s, 713);
        r[2] = (uint16_t)nearbyint(soc / sc(r[6]));
        r[1] = (uint16_t)nearbyint(13500 * soc / 100.0 / 10.0);
        return;
    }
    double pv = s->pv_avail, bat = 0;
    uint16_t *st = mregs(s, 124), *c = mregs(s, 123), *set = mregs(s, 121);
    if (st) {
        double wcha = st[0] * sc(st[16]);
        double out = (int16_t)st[10] * sc(st[23]), in = (int16_t)st[11] * sc(st[23]);
        if ((st[3] & 2) && out > 0)
            bat = out / 100.0 * wcha;
        else if ((st[3] & 1) && in > 0)
            bat = -in / 100.0 * wcha;
        if ((soc <= 0 && bat > 0) || (soc >= 100 && bat < 0))
            bat = 0;
        st[6] = (uint16_t)nearbyint(soc / sc(st[20]));
    }
    int conn = c ? c[2] == 1 : 1, capped = 0;
    if (!conn)
        pv = bat = 0;
    if (c && c[7] == 1 && set) {
        double lim = c[3] * sc(c[21]) / 100.0 * set[0] * sc(set[20]);
        double excess = pv + bat - lim;
        if (excess > 0) {
            double cut = fmin(pv, excess);
            pv -= cut;
            excess -= cut;
            if (excess > 0 && bat > 0)
                bat = fmax(0, bat - excess);
            capped = 1;
        }
    }
    double w = pv + bat, pf = 1;
    if (c && c[12] == 1)
        pf = (int16_t)c[8] * sc(c[22]);
    double var = pf > 0 && pf < 1 ? fabs(w) * tan(acos(pf)) : 0;
    if ((r = mregs(s, 103))) {
        r[0] = i16(fabs(w) / 240.0 / sc(r[4]));
        r[12] = i16(w / sc(r[13]));
        r[16] = i16(fabs(w) / sc(r[17]));
        r[18] = i16(var / sc(r[19]));
        r[29] = i16(pv / sc(r[30]));
        r[25] = i16(pv / 380.0 / sc(r[26]));
        r[36] = !conn ? 1 : capped ? 5 : 4; /* St: OFF, THROTTLED, MPPT */
    }
    if ((r = mregs(s, 113))) {
        put_f32(r + 0, (float)(fabs(w) / 240.0));
        put_f32(r + 20, (float)w);
        put_f32(r + 24, (float)fabs(w));
        put_f32(r + 26, (float)var);
        put_f32(r + 36, (float)pv);
        r[46] = !conn ? 1 : capped ? 5 : 4;
    }
}

/* --- the server ------------------------------------------------------------------------------- */

static int listen_on(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    struct sockaddr_in a;
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(fd, 4) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static void handle(sunspec_sim_t *s, const uint8_t *q, int len)
{
    int hl = modbus_get_header_length(s->ctx);
    uint8_t fc = q[hl];
    s->requests++;
    if (s->fault != SSIM_FAULT_NONE && s->fault_count != 0) {
        int f = s->fault;
        if (s->fault_count > 0 && --s->fault_count == 0)
            s->fault = SSIM_FAULT_NONE;
        if (f == SSIM_FAULT_EXCEPTION) {
            modbus_reply_exception(s->ctx, q, MODBUS_EXCEPTION_SLAVE_OR_SERVER_FAILURE);
        } else if (f == SSIM_FAULT_DROP) {
            close(s->cfd);
            s->cfd = -1;
        }
        return;
    }
    modbus_reply(s->ctx, q, len, s->map);
    if (fc == MODBUS_FC_WRITE_SINGLE_REGISTER || fc == MODBUS_FC_WRITE_MULTIPLE_REGISTERS)
        physics(s);
}

static void *serve(void *arg)
{
    sunspec_sim_t *s = arg;
    uint8_t q[MODBUS_TCP_MAX_ADU_LENGTH];
    for (;;) {
        pthread_mutex_lock(&s->mu);
        if (s->stop) {
            pthread_mutex_unlock(&s->mu);
            break;
        }
        if (s->want_online != s->online) {
            if (s->want_online) {
                s->lfd = listen_on(s->port);
            } else {
                if (s->lfd >= 0)
                    close(s->lfd);
                if (s->cfd >= 0)
                    close(s->cfd);
                s->lfd = s->cfd = -1;
            }
            s->online = s->want_online;
        }
        struct pollfd p[2];
        int n = 0, li = -1, ci = -1;
        if (s->lfd >= 0) {
            li = n;
            p[n++] = (struct pollfd){ s->lfd, POLLIN, 0 };
        }
        if (s->cfd >= 0) {
            ci = n;
            p[n++] = (struct pollfd){ s->cfd, POLLIN, 0 };
        }
        pthread_mutex_unlock(&s->mu);
        if (n == 0) {
            struct timespec ts = { 0, 10 * 1000000L };
            nanosleep(&ts, NULL);
            continue;
        }
        if (poll(p, (nfds_t)n, 20) <= 0)
            continue;
        pthread_mutex_lock(&s->mu);
        if (li >= 0 && (p[li].revents & POLLIN) && s->lfd >= 0) {
            int fd = accept(s->lfd, NULL, NULL);
            if (fd >= 0) {
                if (s->cfd >= 0)
                    close(s->cfd); /* a reconnecting client: its old socket is dead */
                s->cfd = fd;
                ci = -1;
                s->connections++;
            }
        }
        if (ci >= 0 && (p[ci].revents & (POLLIN | POLLHUP | POLLERR)) && s->cfd >= 0) {
            modbus_set_socket(s->ctx, s->cfd);
            int rc = modbus_receive(s->ctx, q);
            if (rc < 0) {
                close(s->cfd);
                s->cfd = -1;
            } else if (rc > 0) {
                handle(s, q, rc);
            }
        }
        pthread_mutex_unlock(&s->mu);
    }
    return NULL;
}

void ssim_opts_default(ssim_opts_t *o)
{
    memset(o, 0, sizeof(*o));
    o->base = 40000;
    o->variant = SSIM_HYBRID;
    o->pv_w = 3000;
    o->soc_pct = 50;
    o->m704_len = 69;
}

int ssim_start(sunspec_sim_t **out, const ssim_opts_t *o)
{
    sunspec_sim_t *s = calloc(1, sizeof(*s));
    if (!s)
        return -1;
    if (o)
        s->o = *o;
    else
        ssim_opts_default(&s->o);
    s->pv_avail = s->o.pv_w;
    s->soc = s->o.soc_pct;
    s->cfd = -1;
    s->base = s->o.base;
    layout(s);
    s->map = modbus_mapping_new_start_address(0, 0, 0, 0, (unsigned)s->base, (unsigned)s->nregs, 0, 0);
    s->ctx = modbus_new_tcp("127.0.0.1", 0);
    s->lfd = listen_on(0);
    if (!s->map || !s->ctx || s->lfd < 0)
        goto fail;
    struct sockaddr_in a;
    socklen_t al = sizeof(a);
    if (getsockname(s->lfd, (struct sockaddr *)&a, &al) < 0)
        goto fail;
    s->port = ntohs(a.sin_port);
    s->online = s->want_online = 1;
    fill(s);
    physics(s);
    pthread_mutex_init(&s->mu, NULL);
    if (pthread_create(&s->thread, NULL, serve, s) != 0) {
        pthread_mutex_destroy(&s->mu);
        goto fail;
    }
    *out = s;
    return 0;
fail:
    if (s->lfd >= 0)
        close(s->lfd);
    if (s->ctx)
        modbus_free(s->ctx);
    if (s->map)
        modbus_mapping_free(s->map);
    free(s);
    return -1;
}

void ssim_stop(sunspec_sim_t *s)
{
    if (!s)
        return;
    pthread_mutex_lock(&s->mu);
    s->stop = 1;
    pthread_mutex_unlock(&s->mu);
    pthread_join(s->thread, NULL);
    if (s->lfd >= 0)
        close(s->lfd);
    if (s->cfd >= 0)
        close(s->cfd);
    modbus_free(s->ctx);
    modbus_mapping_free(s->map);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

int ssim_port(const sunspec_sim_t *s)
{
    return s->port;
}

int ssim_model_addr(sunspec_sim_t *s, unsigned id)
{
    for (int i = 0; i < s->n_models; i++)
        if (s->ids[i] == id)
            return s->addrs[i];
    return -1;
}

uint16_t ssim_get(sunspec_sim_t *s, unsigned id, unsigned off)
{
    pthread_mutex_lock(&s->mu);
    uint16_t *r = mregs(s, id);
    uint16_t v = r ? r[off] : 0;
    pthread_mutex_unlock(&s->mu);
    return v;
}

void ssim_set(sunspec_sim_t *s, unsigned id, unsigned off, uint16_t v)
{
    pthread_mutex_lock(&s->mu);
    uint16_t *r = mregs(s, id);
    if (r)
        r[off] = v;
    pthread_mutex_unlock(&s->mu);
}

void ssim_set_raw(sunspec_sim_t *s, int addr, uint16_t v)
{
    pthread_mutex_lock(&s->mu);
    if (addr >= s->base && addr < s->base + s->nregs)
        s->map->tab_registers[addr - s->base] = v;
    pthread_mutex_unlock(&s->mu);
}

void ssim_set_pv(sunspec_sim_t *s, double w)
{
    pthread_mutex_lock(&s->mu);
    s->pv_avail = w;
    physics(s);
    pthread_mutex_unlock(&s->mu);
}

void ssim_fault(sunspec_sim_t *s, int fault, int count)
{
    pthread_mutex_lock(&s->mu);
    s->fault = fault;
    s->fault_count = count;
    pthread_mutex_unlock(&s->mu);
}

void ssim_set_online(sunspec_sim_t *s, int online)
{
    pthread_mutex_lock(&s->mu);
    s->want_online = online;
    pthread_mutex_unlock(&s->mu);
    for (int i = 0; i < 500; i++) { /* at most 5 s */
        pthread_mutex_lock(&s->mu);
        int done = s->online == online;
        pthread_mutex_unlock(&s->mu);
        if (done)
            return;
        struct timespec ts = { 0, 10 * 1000000L };
        nanosleep(&ts, NULL);
    }
}

long ssim_requests(sunspec_sim_t *s)
{
    pthread_mutex_lock(&s->mu);
    long n = s->requests;
    pthread_mutex_unlock(&s->mu);
    return n;
}

long ssim_connections(sunspec_sim_t *s)
{
    pthread_mutex_lock(&s->mu);
    long n = s->connections;
    pthread_mutex_unlock(&s->mu);
    return n;
}
