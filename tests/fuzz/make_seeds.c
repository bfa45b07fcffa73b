/* make_seeds.c - writes the seed corpora of the fuzz targets (tests/fuzz/corpus/<target>/) from the real
 * writers and real data: tiny checkpoints saved by rm_checkpoint_save (ResMLP with each activation, with
 * and without optimiser state, layer-list nets), net texts, CIFAR-10 records and MNIST IDX pairs cut from
 * ../shared/data, Vertebral rows and CSV tables, csynth.xml fixtures, REPL lines and Lua option records.
 * Run once by hand (`make fuzz-seeds`); the corpora are committed, regression inputs are added beside
 * them by name (crash-*, regress-*). Usage: make_seeds OUTDIR DATADIR */
#include "core/checkpoint.h"
#include "core/net.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

static const char *out;
static void die(const char *m) { fprintf(stderr, "make_seeds: %s\n", m); exit(1); }

static void put(const char *target, const char *name, const void *d, size_t n) {
    char p[1024];
    snprintf(p, sizeof p, "%s/%s", out, target);
    mkdir(p, 0755);
    snprintf(p, sizeof p, "%s/%s/%s", out, target, name);
    FILE *f = fopen(p, "wb");
    if (!f || fwrite(d, 1, n, f) != n || fclose(f)) die(p);
}
/* mode byte + payload */
static void put2(const char *target, const char *name, unsigned mode, const void *d, size_t n) {
    unsigned char *b = malloc(n + 1);
    b[0] = (unsigned char)mode;
    memcpy(b + 1, d, n);
    put(target, name, b, n + 1);
    free(b);
}
static unsigned char *slurp(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    if (!f) die(path);
    fseek(f, 0, SEEK_END);
    long sz = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = malloc(sz + 1);
    if (fread(b, 1, sz, f) != (size_t)sz) die(path);
    fclose(f);
    b[sz] = 0;
    *n = (size_t)sz;
    return b;
}

static void seed_checkpoints(void) {
    rm_ctx ctx = {0};
    const char *tmp = "/tmp/rm_make_seeds.safetensors";
    int acts[] = {RM_ACT_RELU, RM_ACT_LERP_PSA, RM_ACT_BSPLINE, RM_ACT_GELU};
    for (int a = 0; a < 4; a++) {
        rm_model_cfg c = rm_model_default_cfg(acts[a], 3);
        c.T = 4; c.P = 3; c.D = 4; c.L = 1; c.K = 2; c.patch = 1;
        c.act.G = 4; c.act.K = 5; c.act.E = 2;
        rm_model *m;
        if (rm_model_new(&ctx, &m, &c, 1)) die(ctx.msg);
        rm_optim_cfg oc = rm_optim_default();
        rm_optim o;
        rm_train_state st = {.epoch = 1, .total_epochs = 3, .seed = 7};
        snprintf(st.phase, sizeof st.phase, "train");
        if (rm_optim_init(&ctx, &o, m, &oc)) die(ctx.msg);
        for (int with = 0; with < 2; with++) {
            if (rm_checkpoint_save(&ctx, tmp, m, with ? &o : NULL, with ? &st : NULL)) die(ctx.msg);
            size_t n;
            unsigned char *b = slurp(tmp, &n);
            char name[64];
            snprintf(name, sizeof name, "resmlp_%s%s", rm_act_name(acts[a]), with ? "_state" : "");
            put2("safetensors", name, 0, b, n);
            free(b);
        }
        rm_optim_free(&o);
        rm_model_free(m);
    }
    const char *nets[] = {
        "input=4 linear(5) sign linear(3)",
        "input=5 linear(4,w=int4) bn relu dropout(0.5) linear(3,w=binary,bias=off) linear(3,w=ternary)",
        "input=1x6x6 quant(8) conv(2,pad=1,w=int8) bn sign maxpool(2) linear(4) hardtanh linear(3)",
        "input=4 linear(4) lerp_psa linear(3)",
        "input=4 linear(4) bspline linear(2)",
    };
    for (size_t i = 0; i < sizeof nets / sizeof *nets; i++) {
        rm_model *m;
        if (rm_model_new_net(&ctx, &m, nets[i], 1)) { fprintf(stderr, "%s: %s\n", nets[i], ctx.msg); continue; }
        if (rm_checkpoint_save(&ctx, tmp, m, NULL, NULL)) die(ctx.msg);
        size_t n;
        unsigned char *b = slurp(tmp, &n);
        char name[64];
        snprintf(name, sizeof name, "net_%zu", i);
        put2("safetensors", name, 0, b, n);
        free(b);
        snprintf(name, sizeof name, "nettext_%zu", i);
        put2("safetensors", name, 1, nets[i], strlen(nets[i]));
        rm_model_free(m);
    }
    remove(tmp);
}

static void seed_cifar(const char *data) {
    char p[1024];
    snprintf(p, sizeof p, "%s/cifar-10-batches-bin/test_batch.bin", data);
    FILE *f = fopen(p, "rb");
    if (!f) die(p);
    unsigned char rec[2 * 3073];
    if (fread(rec, 1, sizeof rec, f) != sizeof rec) die(p);
    fclose(f);
    put2("cifar", "one_record", 0, rec, 3073);
    put2("cifar", "two_records_aug", 0x80 | 1 | 2 | 4, rec, sizeof rec);
    put2("cifar", "truncated", 0, rec, 3000);
    rec[3073] = 10;   /* a bad label in record 1 */
    put2("cifar", "bad_label", 1, rec, sizeof rec);
}

static void gz_bytes(const unsigned char *d, size_t n, unsigned char **o, size_t *on) {
    uLong cap = compressBound(n) + 32;
    *o = malloc(cap);
    z_stream z = {0};
    if (deflateInit2(&z, 9, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY) != Z_OK) die("deflateInit2");
    z.next_in = (unsigned char *)d; z.avail_in = n; z.next_out = *o; z.avail_out = cap;
    if (deflate(&z, Z_FINISH) != Z_STREAM_END) die("deflate");
    *on = z.total_out;
    deflateEnd(&z);
}

static void seed_idx(const char *data) {
    char p[1024];
    unsigned char img[16 + 2 * 784], lab[8 + 2];
    snprintf(p, sizeof p, "%s/mnist/t10k-images-idx3-ubyte.gz", data);
    gzFile g = gzopen(p, "rb");
    if (!g || gzread(g, img, sizeof img) != (int)sizeof img) die(p);
    gzclose(g);
    snprintf(p, sizeof p, "%s/mnist/t10k-labels-idx1-ubyte.gz", data);
    g = gzopen(p, "rb");
    if (!g || gzread(g, lab, sizeof lab) != (int)sizeof lab) die(p);
    gzclose(g);
    img[7] = 2; lab[7] = 2;   /* count 2 (big-endian, the real count was 10000) */
    img[4] = img[5] = img[6] = lab[4] = lab[5] = lab[6] = 0;
    for (int gz = 0; gz < 2; gz++) {
        unsigned char *gi = img, *gl = lab;
        size_t ni = sizeof img, nl = sizeof lab;
        if (gz) { gz_bytes(img, sizeof img, &gi, &ni); gz_bytes(lab, sizeof lab, &gl, &nl); }
        unsigned char *b = malloc(2 + ni + nl);
        b[0] = ni & 255; b[1] = ni >> 8;
        memcpy(b + 2, gi, ni);
        memcpy(b + 2 + ni, gl, nl);
        put("idx", gz ? "two_images_gz" : "two_images", b, 2 + ni + nl);
        if (!gz) { b[2 + 7] = 3; put("idx", "count_mismatch", b, 2 + ni + nl); }
        free(b);
        if (gz) { free(gi); free(gl); }
    }
}

static void seed_table(const char *data) {
    char p[1024];
    snprintf(p, sizeof p, "%s/vertebral/column_3C.dat", data);
    size_t n;
    unsigned char *b = slurp(p, &n);
    size_t cut = 0;
    for (int lines = 0; cut < n && lines < 24; cut++) if (b[cut] == '\n') lines++;
    /* every 10th row would be nicer, but the first rows hold only DH; take rows from three places */
    unsigned char buf[8192];
    size_t k = 0;
    const size_t starts[3] = {0, n / 3, 2 * n / 3};
    for (int s = 0; s < 3; s++) {
        size_t i = starts[s];
        while (i && i < n && b[i - 1] != '\n') i++;
        for (int lines = 0; i < n && lines < 8 && k < sizeof buf; i++) { buf[k++] = b[i]; if (b[i] == '\n') lines++; }
    }
    buf[k] = 0;
    put2("table", "vertebral3c", 0x80 | 0x40, buf, k);
    put2("table", "vertebral_as_table", 0, buf, k);
    free(b);
    const char *csv[] = {
        "a,b,c,class\n1,2,3,x\n4,5,6,y\n7,8,9,x\n1.5,2.5,3.5,y\n",
        "# comment\n\"f1\";\"f2\";label\n0.1;0.2;0\n0.3;0.4;1\n0.5;0.6;2\n0.7;0.8;1\n",
        "1\t2\t0\n3\t4\t1\n5\t6\t0\n7\t8\t1\n",
        "1 2 3 DH\n4 5 6 SL\n7 8 9 NO\n1 1 1 DH\n2 2 2 SL\n3 3 3 NO\n",
        "x,y\n1,\n,2\n",
        "label,a,b\n1,2,3\r\n0,4,5\r\n1,6,7\r\n0,8,9\r\n",
    };
    unsigned opts[][2] = {{1, 4}, {2 + 3 * 2, 1 + 10 * 0}, {0 + 3 * 3, 0}, {0, 0 + 10 * 1}, {0, 0}, {1 + 3, 2}};
    for (size_t i = 0; i < sizeof csv / sizeof *csv; i++) {
        size_t l = strlen(csv[i]);
        unsigned char *t = malloc(l + 2);
        t[0] = (unsigned char)opts[i][0]; t[1] = (unsigned char)opts[i][1];
        memcpy(t + 2, csv[i], l);
        char name[32];
        snprintf(name, sizeof name, "csv_%zu", i);
        put("table", name, t, l + 2);
        free(t);
    }
}

static void seed_csynth(const char *fixtures) {
    const char *f[] = {"top_csynth.xml", "top_csynth_vivado.xml", "modules/blocks_0_mlp_linear_1_csynth.xml"};
    for (int i = 0; i < 3; i++) {
        char p[1024];
        snprintf(p, sizeof p, "%s/hls/%s", fixtures, f[i]);
        size_t n;
        unsigned char *b = slurp(p, &n);
        const char *s = strrchr(f[i], '/');
        put("csynth", s ? s + 1 : f[i], b, n);
        free(b);
    }
}

static void seed_repl(void) {
    const char *lines[] = {
        "train epochs=2 lr=1e-3 data=d", "model new kind=mlp layers=6-32-3 act=relu", "help train",
        "load m ./runs/x.safetensors", "data vertebral path=\"../data/column 3C.dat\" test=0.2",
        "quantize bits=8 'model'=m", "plot curve layer=blocks.0 ch=3", "eval data=d batch=5e2",
        "train = 1", "info m", "save m \"a b\\\"c\" overwrite=yes", "evaluate runs=3 seed=x",
        "synth /tmp/hls top=resmlp", "hls emit dir=out clock=3.3", "who", "model new hidden=-1",
        "train epochs=1 epochs=2 unknown=1", "set threads=2", "'unterminated",
    };
    for (size_t i = 0; i < sizeof lines / sizeof *lines; i++) {
        char name[32];
        snprintf(name, sizeof name, "line_%02zu", i);
        put("cmdline", name, lines[i], strlen(lines[i]));
    }
    /* Lua option records (see fuzz_luaopts.c): command, positionals, then key/value records */
    unsigned char rec[][24] = {
        {0, 0, 1, 2, 3, 'a', 'b', 'c'},
        {1, 1, 6, 3 << 2 | 1, 0, 5, 0, 0, 0, 0, 0, 0, 0, 7 << 2 | 3, 2, 4, 't', 'r', 'u', 'e'},
        {5, 2, 7, 2, 2, 'x', 'y', 1, 0x9a, 0x99, 0x99, 0x99, 0x99, 0x99, 0xb9, 0x3f, 1 << 2 | 1, 1, 0, 0, 0, 0, 0, 0},
        {9, 0, 2 << 2 | 3, 4, 5 << 2 | 1, 5, 0, 2, 3, 'o', 'f', 'f'},
        {12, 3, 0, 1, 0, 0, 0, 0, 0, 0, 0, 2, 1, 'm', 8, 16, 2, 3, 'f', 'o', 'o', 6},
    };
    for (size_t i = 0; i < sizeof rec / sizeof *rec; i++) {
        char name[32];
        snprintf(name, sizeof name, "call_%zu", i);
        put("luaopts", name, rec[i], sizeof rec[i]);
    }
}

int main(int argc, char **argv) {
    if (argc != 4) { fprintf(stderr, "usage: make_seeds OUTDIR DATADIR FIXTURES\n"); return 2; }
    out = argv[1];
    mkdir(out, 0755);
    seed_checkpoints();
    seed_cifar(argv[2]);
    seed_idx(argv[2]);
    seed_table(argv[2]);
    seed_csynth(argv[3]);
    seed_repl();
    return 0;
}
