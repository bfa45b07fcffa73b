/* emit_simd.c - `hls emit design=simd`: the paper's second architecture as HLS C++. One 16x16 MAC
 * tile (simd_call) is shared by every layer: the top function calls it 2 + 3L times with a layer
 * descriptor (weights, shifts, what to apply to the inputs on the way in - the token mixer's
 * affine_1 or a learned activation's table - and to the outputs on the way out - ReLU, or a
 * residual add with its res_affine). Activations live in on-chip buffers; the token mixer reads and
 * writes them transposed. The arithmetic is the integer engine's (int_engine.h), so the testbench
 * compares every sublayer output and the logits with quant_samples.h, bit-exact.
 * Differences from the paper's processor, stated in the emitted README: weights are on-chip ROMs
 * (the paper streams them from DRAM through m_axi into ping-pong buffers), and the write-back of
 * each 16x16 output tile takes its own 16 cycles instead of overlapping the next tile.
 * SIMD-block pruning (rm_qnet_set_pruned): a pruned layer's descriptor carries its kept-input list
 * (<layer>_ki, the inputs of the kept blocks) and its compact weights (<layer>_wk of quant_params.h, out x
 * kept in); the kslice loop runs over the kept inputs only, one cycle each, so every pruned block of SIMD
 * inputs saves SIMD * ceil(N/16) * ceil(O/16) cycles of that call (`hls estimate design=simd` counts them). */
#include "emit_simd.h"
#include "simd.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* atomic write: dir/name.tmp then rename */
static FILE *wopen(rm_ctx *ctx, const char *dir, const char *name, char *tmp, size_t n) {
    snprintf(tmp, n, "%s/%s.tmp", dir, name);
    FILE *f = fopen(tmp, "w");
    if (!f) rm_err(ctx, "hls emit: cannot write %s", tmp);
    return f;
}
static int wclose(rm_ctx *ctx, FILE *f, const char *tmp) {
    int bad = ferror(f);
    bad |= fclose(f) != 0;
    char fin[1100];
    snprintf(fin, sizeof fin, "%.*s", (int)(strlen(tmp) - 4), tmp);
    if (bad || rename(tmp, fin) != 0) { unlink(tmp); return rm_err(ctx, "hls emit: cannot write %s", fin); }
    return RM_OK;
}

/* the table read of one element, per lut_edge (lut.h) */
static void put_lut_fn(FILE *f, const rm_qnet *q) {
    if (!q->lut64) {
        fputs("static inline int8_t rm_act(const int8_t *L, int32_t x) { return L[x + 128]; }   /* 256 entries */\n\n", f);
        return;
    }
    int e = q->lut_edge;
    fprintf(f, "/* the 64-entry interpolation, top segment per lut_edge=%s (lerp_psa_params.h) */\n"
               "static inline int8_t rm_act(const int8_t *L, int32_t x) {\n"
               "    int32_t u = x + 128, m = u >> 2, l = u & 3;\n"
               "    int32_t %s;\n"
               "    int32_t y0 = L[m0], yo = L[m1];\n"
               "    int32_t d = ((%s) * l) >> 1, v = y0 + (d >> 1) + (d & 1);\n"
               "    return (int8_t)(v < -128 ? -128 : v > 127 ? 127 : v);\n}\n\n",
            rm_lut_edge_name(e),
            e == RM_LUT_EDGE_EXTEND ? "m0 = m, m1 = m == 63 ? 62 : m + 1"
            : e == RM_LUT_EDGE_PAPER_HLS ? "m0 = m, m1 = m + 1" : "m0 = m > 62 ? 62 : m, m1 = m0 + 1",
            e == RM_LUT_EDGE_EXTEND ? "m == 63 ? y0 - yo : yo - y0" : "yo - y0");
}

static const char K_COMMON[] =
"#define RM_TILE 16\n"
"static inline int32_t rm_sat8(int32_t v) { return v < -128 ? -128 : v > 127 ? 127 : v; }\n"
"/* rq(acc, k, b): acc >>= k-1; acc = (acc >> 1) + (acc & 1); acc += b; clamp to int8 */\n"
"static inline int32_t rm_rq(int32_t acc, int k, int32_t b) {\n"
"    int32_t a = acc >> (k - 1);\n"
"    return rm_sat8((a >> 1) + (a & 1) + b);\n"
"}\n\n"
"enum { PRE_NONE, PRE_AFFINE_ROW, PRE_LUT_K };          /* on each input element */\n"
"enum { POST_NONE, POST_RELU, POST_TOKRES, POST_MLPRES }; /* on each output element */\n\n"
"/* one layer on the shared tile: Y (N x O) = pre(X) (N x K) . W^T (W is O x K), then rq and post.\n"
" * X[n][k] = in[n*ldi + k] (tin: in[k*ldi + n]); Y[n][o] -> out[n*ldo + o] (tout: out[o*ldo + n]) and\n"
" * the residual is read at the same place as the output. */\n"
"struct rm_layer {\n"
"    int K, NK, N, O, tin, tout;                        /* NK: inputs read (K unless SIMD-block pruned) */\n"
"    const int8_t *w, *b; const uint8_t *s;            /* (O,NK), (O), (O) */\n"
"    int pre;  const int8_t *pw, *pb; const uint8_t *ps; /* PRE_AFFINE_ROW: per row n */\n"
"    const int8_t *lut; int lut_n;                      /* PRE_LUT_K: table of input channel k, lut_n entries */\n"
"    int post; const int8_t *qw, *qb; const uint8_t *qs; /* POST_TOKRES: affine_2 per row n */\n"
"    const int8_t *rw, *rb; const uint8_t *rs;          /* POST_TOKRES (per row n) / POST_MLPRES (per column o) */\n"
"    const uint16_t *ki;                                /* pruned: the NK kept inputs ascending (0: all K) */\n"
"};\n\n"
"static inline int8_t pre_op(const rm_layer &c, int8_t x, int n, int k) {\n"
"#pragma HLS inline\n"
"    if (c.pre == PRE_AFFINE_ROW) return (int8_t)rm_rq((int32_t)x * c.pw[n], c.ps[n], c.pb[n]);\n"
"@LUTPRE@"
"    return x;\n"
"}\n\n"
"/* the shared processor: output tiles of 16 rows x 16 columns; per tile one K-slice per cycle into\n"
" * the 256 accumulators (kept inputs only: pruned blocks take no cycle), then the tile's write-back\n"
" * (rq, post-op), a row per cycle */\n"
"static void simd_call(const rm_layer &c, const int8_t *in, int ldi, const int8_t *res, int8_t *out, int ldo) {\n"
"#pragma HLS inline off\n"
"tiles_o:\n"
"    for (int ot = 0; ot < c.O; ot += RM_TILE) {\n"
"    tiles_n:\n"
"        for (int nt = 0; nt < c.N; nt += RM_TILE) {\n"
"            int32_t acc[RM_TILE][RM_TILE];\n"
"#pragma HLS array_partition variable=acc complete dim=0\n"
"        kslice:\n"
"            for (int kk = 0; kk < c.NK; kk++) {\n"
"#pragma HLS pipeline II=1\n"
"                int k = c.ki ? (int)c.ki[kk] : kk;\n"
"                int8_t xv[RM_TILE], wv[RM_TILE];\n"
"                for (int i = 0; i < RM_TILE; i++) {\n"
"#pragma HLS unroll\n"
"                    int n = nt + i;\n"
"                    int8_t x = n < c.N ? (c.tin ? in[(long)k * ldi + n] : in[(long)n * ldi + k]) : (int8_t)0;\n"
"                    xv[i] = n < c.N ? pre_op(c, x, n, k) : (int8_t)0;\n"
"                }\n"
"                for (int j = 0; j < RM_TILE; j++) {\n"
"#pragma HLS unroll\n"
"                    int o = ot + j;\n"
"                    wv[j] = o < c.O ? c.w[(long)o * c.NK + kk] : (int8_t)0;\n"
"                }\n"
"                for (int i = 0; i < RM_TILE; i++) {\n"
"#pragma HLS unroll\n"
"                    for (int j = 0; j < RM_TILE; j++) {\n"
"#pragma HLS unroll\n"
"                        acc[i][j] = (kk == 0 ? 0 : acc[i][j]) + (int32_t)xv[i] * wv[j];\n"
"                    }\n"
"                }\n"
"            }\n"
"        writeback:\n"
"            for (int i = 0; i < RM_TILE; i++) {\n"
"#pragma HLS pipeline II=1\n"
"                for (int j = 0; j < RM_TILE; j++) {\n"
"#pragma HLS unroll\n"
"                    int n = nt + i, o = ot + j;\n"
"                    if (n >= c.N || o >= c.O) continue;\n"
"                    long at = c.tout ? (long)o * ldo + n : (long)n * ldo + o;\n"
"                    int32_t y = rm_rq(acc[i][j], c.s[o], c.b[o]);\n"
"                    if (c.post == POST_RELU) y = y > 0 ? y : 0;\n"
"                    else if (c.post == POST_TOKRES)\n"
"                        y = rm_sat8(rm_rq(y * c.qw[n], c.qs[n], c.qb[n]) + rm_rq((int32_t)res[at] * c.rw[n], c.rs[n], c.rb[n]));\n"
"                    else if (c.post == POST_MLPRES)\n"
"                        y = rm_sat8(y + rm_rq((int32_t)res[at] * c.rw[o], c.rs[o], c.rb[o]));\n"
"                    out[at] = (int8_t)y;\n"
"                }\n"
"            }\n"
"        }\n"
"    }\n"
"}\n\n"
"/* the token pool: p[d] = rq(sum of the RM_T tokens, RM_POOL_SHIFT, 0), a 16-wide vector per cycle */\n"
"static void simd_pool(const int8_t *x, int8_t *p) {\n"
"#pragma HLS inline off\n"
"    for (int d0 = 0; d0 < RM_D; d0 += RM_TILE) {\n"
"        int32_t s[RM_TILE];\n"
"#pragma HLS array_partition variable=s complete\n"
"        for (int t = 0; t < RM_T; t++) {\n"
"#pragma HLS pipeline II=1\n"
"            for (int i = 0; i < RM_TILE; i++) {\n"
"#pragma HLS unroll\n"
"                if (d0 + i < RM_D) s[i] = (t == 0 ? 0 : s[i]) + x[(long)t * RM_D + d0 + i];\n"
"            }\n"
"        }\n"
"        for (int i = 0; i < RM_TILE && d0 + i < RM_D; i++) p[d0 + i] = (int8_t)rm_rq(s[i], RM_POOL_SHIFT, 0);\n"
"    }\n"
"}\n\n";

/* a pruned layer's kept inputs, <w>_ki (the descriptor's ki) */
static void put_kept(FILE *f, const char *w, const rm_qlin *l) {
    if (!l->keep) return;
    fprintf(f, "/* %s: SIMD-block pruned, %d of %d blocks of %d inputs kept; the kept inputs */\nstatic const uint16_t %s_ki[%d] = {",
            w, l->nkeep, l->IC / l->simd, l->simd, w, l->nkeep * l->simd);
    for (int j = 0; j < l->nkeep * l->simd; j++)
        fprintf(f, "%s%s%d", j ? "," : "", j % 32 ? "" : "\n    ", l->keep[j / l->simd] * l->simd + j % l->simd);
    fputs("\n};\n", f);
}

static void put_layer(FILE *f, const char *w, const rm_qlin *l, int K, int N, int O, int tin, int tout, const char *pre, const char *pw,
                      const char *lut, int lut_n, const char *post, const char *qw, const char *rw) {
    int nk = l->keep ? l->nkeep * l->simd : K;
    fprintf(f, "    { %d, %d, %d, %d, %d, %d, &%s_w%s[0]%s, %s_b, %s_s,\n", K, nk, N, O, tin, tout, w, l->keep ? "k" : "",
            K > 1 ? "[0]" : "", w, w);
    if (pw) fprintf(f, "      %s, %s_w, %s_b, %s_s, ", pre, pw, pw, pw);
    else fprintf(f, "      %s, 0, 0, 0, ", pre);
    if (lut) fprintf(f, "&%s[0][0], %d,\n", lut, lut_n);
    else fprintf(f, "0, 0,\n");
    fprintf(f, "      %s, ", post);
    if (qw) fprintf(f, "%s_w, %s_b, %s_s, ", qw, qw, qw);
    else fprintf(f, "0, 0, 0, ");
    if (rw) fprintf(f, "%s_w, %s_b, %s_s, ", rw, rw, rw);
    else fprintf(f, "0, 0, 0, ");
    if (l->keep) fprintf(f, "%s_ki },\n", w);
    else fprintf(f, "0 },\n");
}

int rm_hls_emit_simd(rm_ctx *ctx, const char *dir, const rm_qnet *q, const char *model, const char *part, double clk,
                     int n, char files[][32], int *nfiles, int maxfiles) {
    const int T = q->T, P = q->P, D = q->D, H = q->H, L = q->L, K = q->K;
    const int tables = q->has_act1 || !q->relu, C = D > H ? D : H;
    int lut_n = !q->lut64 ? 256 : q->lut_edge == RM_LUT_EDGE_PAPER_HLS ? 65 : 64;
    const char *lsuf = q->lut64 ? "lerp_lut" : "lut";
    char tmp[1100];
    rm_hls_dims dims = rm_hls_dims_of_qnet(q);
    rm_simd_est est;
    int pruned[2 + 3 * RM_MAXL];
    rm_hls_simd_pruned_of_qnet(q, pruned);
    if (rm_hls_simd_estimate_pruned(ctx, &dims, clk, pruned, &est)) return RM_ERR;

    /* ---- resmlp.h ---- */
    FILE *f = wopen(ctx, dir, "resmlp.h", tmp, sizeof tmp);
    if (!f) return RM_ERR;
    fprintf(f, "/* resmlp.h - generated by resmlp from %s: the INT8 ResMLP as the fixed SIMD design (one 16x16\n"
               " * MAC tile shared by all layers). */\n#ifndef RESMLP_H\n#define RESMLP_H\n#include <stdint.h>\n\n"
               "#define RM_T %d\n#define RM_P %d\n#define RM_D %d\n#define RM_H %d\n#define RM_L %d\n#define RM_K %d\n"
               "#define RM_C %d            /* the widest activation row (max(D, H)) */\n#define RM_POOL_SHIFT %d\n\n"
               "/* x: the image's int8 tokens; logits out; dbg (may be NULL) receives [0] the embedding, [2i+1] block i's\n"
               " * token mixer output, [2i+2] block i's output, each (T, D) */\n"
               "void %s(const int8_t x[RM_T][RM_P], int8_t logits[RM_K], int8_t dbg[2 * RM_L + 1][RM_T][RM_D]);\n#endif\n",
            model, T, P, D, H, L, K, C, q->pool_shift, RM_HLS_TOP);
    if (wclose(ctx, f, tmp)) return RM_ERR;

    /* ---- resmlp.cpp ---- */
    f = wopen(ctx, dir, "resmlp.cpp", tmp, sizeof tmp);
    if (!f) return RM_ERR;
    fprintf(f, "/* resmlp.cpp - generated by resmlp from %s: the fixed SIMD design. %d calls of one 16x16 MAC tile\n"
               " * per image (embed, per block token mixer / linear_1 / linear_2, classifier) on on-chip buffers;\n"
               " * `hls estimate design=simd` gives the paper processor's latency, %ld cycles here. */\n"
               "#include \"resmlp.h\"\n#include \"quant_params.h\"\n%s\n",
            model, est.ncalls, est.total, tables ? "#include \"lerp_psa_params.h\"\n" : "");
    char lp[200] = "";
    if (tables) snprintf(lp, sizeof lp, "    if (c.pre == PRE_LUT_K) return rm_act(c.lut + (long)k * c.lut_n, x);\n");
    if (tables) put_lut_fn(f, q);
    const char *at = strstr(K_COMMON, "@LUTPRE@");
    fwrite(K_COMMON, 1, (size_t)(at - K_COMMON), f);
    fputs(lp, f);
    fputs(at + 8, f);
    /* the kept-input lists of pruned layers, then the layer descriptors */
    put_kept(f, "embed_linear", &q->embed);
    for (int i = 0; i < L; i++) {
        char nm[64];
        snprintf(nm, sizeof nm, "blocks_%d_token_mixer_linear", i); put_kept(f, nm, &q->blk[i].lin);
        snprintf(nm, sizeof nm, "blocks_%d_mlp_linear_1", i); put_kept(f, nm, &q->blk[i].fc1);
        snprintf(nm, sizeof nm, "blocks_%d_mlp_linear_2", i); put_kept(f, nm, &q->blk[i].fc2);
    }
    put_kept(f, "classifier_linear", &q->cls);
    fprintf(f, "\n/* the %d layers in call order */\nstatic const rm_layer layers[%d] = {\n", 2 + 3 * L, 2 + 3 * L);
    put_layer(f, "embed_linear", &q->embed, P, T, D, 0, 0, "PRE_NONE", NULL, NULL, 0, "POST_NONE", NULL, NULL);
    for (int i = 0; i < L; i++) {
        char a1[64], lin[64], a2[64], res[64], f1[64], f2[64], r2[64], l1[80], l2[80];
        snprintf(a1, sizeof a1, "blocks_%d_token_mixer_affine_1", i);
        snprintf(lin, sizeof lin, "blocks_%d_token_mixer_linear", i);
        snprintf(a2, sizeof a2, "blocks_%d_token_mixer_affine_2", i);
        snprintf(res, sizeof res, "blocks_%d_token_mixer_res", i);
        snprintf(f1, sizeof f1, "blocks_%d_mlp_linear_1", i);
        snprintf(f2, sizeof f2, "blocks_%d_mlp_linear_2", i);
        snprintf(r2, sizeof r2, "blocks_%d_mlp_res", i);
        snprintf(l1, sizeof l1, "blocks_%d_mlp_psa_0_%s", i, lsuf);
        snprintf(l2, sizeof l2, "blocks_%d_mlp_psa_1_%s", i, lsuf);
        fprintf(f, "    /* block %d: token mixer (transposed: rows are channels, K the tokens), linear_1, linear_2 */\n", i);
        put_layer(f, lin, &q->blk[i].lin, T, D, T, 1, 1, "PRE_AFFINE_ROW", a1, NULL, 0, "POST_TOKRES", a2, res);
        put_layer(f, f1, &q->blk[i].fc1, D, T, H, 0, 0, q->has_act1 ? "PRE_LUT_K" : "PRE_NONE", NULL, q->has_act1 ? l1 : NULL, lut_n,
                  q->relu ? "POST_RELU" : "POST_NONE", NULL, NULL);
        put_layer(f, f2, &q->blk[i].fc2, H, T, D, 0, 0, !q->relu ? "PRE_LUT_K" : "PRE_NONE", NULL, !q->relu ? l2 : NULL, lut_n,
                  "POST_MLPRES", NULL, r2);
    }
    put_layer(f, "classifier_linear", &q->cls, D, 1, K, 0, 0, "PRE_NONE", NULL, NULL, 0, "POST_NONE", NULL, NULL);
    fputs("};\n\n", f);
    fprintf(f,
        "void %s(const int8_t x[RM_T][RM_P], int8_t logits[RM_K], int8_t dbg[2 * RM_L + 1][RM_T][RM_D]) {\n"
        "#pragma HLS allocation function instances=simd_call limit=1\n"
        "    static int8_t xb[RM_T * RM_D], mb[RM_T * RM_D], hb[RM_T * RM_C];   /* block input, token mixer out, hidden */\n"
        "    int8_t pooled[RM_D];\n"
        "    simd_call(layers[0], &x[0][0], RM_P, 0, xb, RM_D);\n"
        "    if (dbg) for (int i = 0; i < RM_T * RM_D; i++) (&dbg[0][0][0])[i] = xb[i];\n"
        "blocks:\n"
        "    for (int l = 0; l < RM_L; l++) {\n"
        "        simd_call(layers[1 + 3 * l], xb, RM_D, xb, mb, RM_D);        /* token mixer, residual = xb */\n"
        "        simd_call(layers[2 + 3 * l], mb, RM_D, 0, hb, RM_H);         /* linear_1 */\n"
        "        simd_call(layers[3 + 3 * l], hb, RM_H, mb, xb, RM_D);        /* linear_2, residual = mb */\n"
        "        if (dbg) for (int i = 0; i < RM_T * RM_D; i++) { (&dbg[2 * l + 1][0][0])[i] = mb[i]; (&dbg[2 * l + 2][0][0])[i] = xb[i]; }\n"
        "    }\n"
        "    simd_pool(xb, pooled);\n"
        "    simd_call(layers[1 + 3 * RM_L], pooled, RM_D, 0, logits, RM_K);\n"
        "}\n", RM_HLS_TOP);
    if (wclose(ctx, f, tmp)) return RM_ERR;
    (void)C;

    /* ---- resmlp_tb.cpp ---- */
    f = wopen(ctx, dir, "resmlp_tb.cpp", tmp, sizeof tmp);
    if (!f) return RM_ERR;
    fprintf(f,
        "/* resmlp_tb.cpp - generated by resmlp from %s: C simulation of the fixed SIMD design. Every sample of\n"
        " * quant_samples.h through %s; the embedding, each token mixer and block output and the logits compared\n"
        " * with resmlp's integer engine, bit-exact. Prints RESULT samples=N checked=C mismatches=M. */\n"
        "#include \"resmlp.h\"\n#include \"quant_samples.h\"\n#include <stdio.h>\n\n"
        "static long g_checked, g_bad;\n"
        "static void cmp(int s, const char *what, const int8_t *got, const int8_t *want, long n) {\n"
        "    for (long i = 0; i < n; i++) {\n"
        "        g_checked++;\n"
        "        if (got[i] != want[i]) {\n"
        "            if (g_bad < 20) printf(\"MISMATCH sample %%d %%s [%%ld]: got %%d expected %%d\\n\", s, what, i, got[i], want[i]);\n"
        "            g_bad++;\n"
        "        }\n"
        "    }\n"
        "}\n\n"
        "int main() {\n"
        "    static int8_t dbg[2 * RM_L + 1][RM_T][RM_D];\n"
        "    printf(\"resmlp C simulation (fixed SIMD design): %%d samples\\n\", SAMPLES_N);\n"
        "    for (int n = 0; n < SAMPLES_N; n++) {\n"
        "        int8_t z[RM_K];\n"
        "        %s(samples_input[n], z, dbg);\n"
        "        cmp(n, \"after embed_linear\", &dbg[0][0][0], &samples_inter_0[n][0][0], (long)RM_T * RM_D);\n",
        model, RM_HLS_TOP, RM_HLS_TOP);
    for (int i = 0; i < L; i++)
        fprintf(f, "        cmp(n, \"after block %d's token mixer\", &dbg[%d][0][0], &samples_mix_%d[n][0][0], (long)RM_T * RM_D);\n"
                   "        cmp(n, \"after block %d\", &dbg[%d][0][0], &samples_inter_%d[n][0][0], (long)RM_T * RM_D);\n",
                i, 2 * i + 1, i, i, 2 * i + 2, i + 1);
    fputs("        cmp(n, \"logits\", z, samples_output[n], RM_K);\n    }\n"
          "    printf(\"RESULT samples=%d checked=%ld mismatches=%ld\\n\", SAMPLES_N, g_checked, g_bad);\n"
          "    return g_bad ? 1 : 0;\n}\n", f);
    if (wclose(ctx, f, tmp)) return RM_ERR;

    /* ---- README.md ---- */
    f = wopen(ctx, dir, "README.md", tmp, sizeof tmp);
    if (!f) return RM_ERR;
    char eb[8192];
    rm_hls_simd_format(&est, eb, sizeof eb);
    fprintf(f, "# %s - INT8 ResMLP as the fixed SIMD design (Vitis HLS C++)\n\n"
               "Generated by resmlp (`hls emit design=simd`) from `%s`: h=%d, embedding %d, %d blocks, part `%s`,\n"
               "clock %g ns. One 16x16 MAC tile (`simd_call`) is shared by all %d layer calls (`#pragma HLS allocation\n"
               "... limit=1`); activations stay in on-chip buffers; the token mixer reads and writes them transposed.\n\n"
               "| file | what |\n|---|---|\n| `resmlp.cpp`, `resmlp.h` | the design |\n"
               "| `quant_params.h`%s | weights, biases, shifts%s |\n| `quant_samples.h` | test images and the integer engine's intermediates |\n"
               "| `resmlp_tb.cpp` | testbench: every sublayer output and the logits, bit-exact |\n\n"
               "C simulation: `resmlp -e 'hls csim %s'` (or `g++ -O2 -o tb resmlp.cpp resmlp_tb.cpp && ./tb`).\n\n"
               "Differences from the paper's processor: the weights are on-chip ROMs (the paper streams them from\n"
               "DRAM over m_axi into ping-pong buffers, overlapped with the previous layer); each 16x16 output tile's\n"
               "write-back takes its own 16 cycles (the paper overlaps it with the next tile). The latency below is\n"
               "the paper processor's model (`hls estimate design=simd`):\n\n```\n%s```\n",
            RM_HLS_TOP, model, H, D, L, part, clk, est.ncalls, tables ? ", `lerp_psa_params.h`" : "",
            tables ? "; learned activations as int8 tables" : "", dir, eb);
    if (wclose(ctx, f, tmp)) return RM_ERR;
    const char *names[] = {"resmlp.h", "resmlp.cpp", "resmlp_tb.cpp", "README.md"};
    for (int i = 0; i < 4 && *nfiles < maxfiles; i++) snprintf(files[(*nfiles)++], 32, "%s", names[i]);
    return RM_OK;
}
