"""torch_resmlp.py - the paper's ResMLP in PyTorch, as the reference the C implementation is checked
against (fixtures in tests/fixtures/, speed comparison in bench/torch_bench.py). Nothing in resmlp's
build or test suite imports this file; it needs torch (Debian's python3-torch 1.13: run it with
/usr/bin/python3).

Model (Singh & Bazargan, TRETS 2025; see ../shared/REFERENCE.md): embed 96, 4 blocks, patch 4, 64
tokens. state_dict names are the reference code's:
  embed_linear.{weight,bias}                                   Linear(48->96)
  layers.{i}.layers.0.affine_1.bn.*                            token mixing: BatchNorm1d(96)
  layers.{i}.layers.0.layers.{weight,bias}                     Linear(64->64) across tokens
  layers.{i}.layers.0.affine_2.{weight,bias}                   per-channel affine (init 0.1, 0)
  layers.{i}.layers.1.affine_1.bn.*                            channel MLP: BatchNorm1d(96)
  layers.{i}.layers.1.layers.{0,2}.{weight,bias}               act='relu': Linear(96,h), ReLU, Linear(h,96)
  layers.{i}.layers.1.layers.{1,3}.{weight,bias}               act='lerp_psa'/'bspline': Linear(96,h), Linear(h,96)
  layers.{i}.layers.1.layers.{0,2}.psa.{v,q}_weight,q_bias     act='lerp_psa': (C,E) each
  layers.{i}.layers.1.layers.{0,2}.psa.o_{weight,bias}         act='lerp_psa': (C) each
  layers.{i}.layers.1.layers.{0,2}.coefficients                act='bspline': (C,65)
  layers.{i}.layers.1.affine_2.{weight,bias}
  affine.bn.*  then mean over tokens, classifier.{weight,bias} Linear(96->10)
Each sublayer computes x + affine_2(F(affine_1(x))) on x of shape (B,64,96); BatchNorm runs over
batch and tokens (on x.transpose(1,2)).

Activations, per channel c (x is (...,C), elementwise along the last axis):
  PSA:      s_k = (x-b_k)^2/(w_k^2+eps), a = softmax_k(-s), PSA(x) = o_w*sum_k a_k*v_k*x + o_b (E=8, eps=1)
  ResPSA:   x + PSA(x)
  LERP-PSA: table T[c][j] = ResPSA_c(grid_j), grid_j = -R + j*2R/(G-1) (G=64, R=4), rebuilt with autograd
            on every forward; t = (x+R)(G-1)/(2R), i = clamp(floor(t),0,G-2), f = t-i (unclamped),
            y = T[i] + f*(T[i+1]-T[i]).  (Same function as the reference sheet's x + PSA-table form:
            the interpolated grid is exactly x, extrapolation included.)
  B-spline: coefficients c (C,65) on knots k*0.125, k=-32..32, init leaky_relu(knot, 0.01);
            xc = clamp(x,-4,3.875), i = floor((xc+4)/0.125), y = c[i] + (x-knot_i)/0.125*(c[i+1]-c[i])
            (unclamped x: outside [-4,4] the end segments extrapolate).
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

EMBED = 96
TOKENS = 64
PATCH_DIM = 48
NCLASS = 10
NBLOCKS = 4
PSA_E = 8
PSA_EPS = 1.0
LERP_G = 64
LERP_R = 4.0
SPLINE_K = 65
SPLINE_H = 0.125


def patchify(img):
    """img (B,3,32,32) -> (B,64,48); token py*8+px, feature (ky*4+kx)*3+c."""
    B = img.shape[0]
    return img.unfold(2, 4, 4).unfold(3, 4, 4).permute(0, 2, 3, 4, 5, 1).reshape(B, TOKENS, PATCH_DIM)


# ----------------------------------------------------------------------------------------------
# activations

class PSA(nn.Module):
    """Per-channel PSA with params v_weight, q_weight, q_bias (C,E), o_weight, o_bias (C)."""

    def __init__(self, C, E=PSA_E, eps=PSA_EPS):
        super().__init__()
        self.C, self.E, self.eps = C, E, eps
        self.v_weight = nn.Parameter(torch.randn(C, E) * 4.0)
        self.q_weight = nn.Parameter(torch.ones(C, E))
        self.q_bias = nn.Parameter(torch.rand(C, E) * 2.0 - 1.0)
        self.o_weight = nn.Parameter(torch.ones(C))
        self.o_bias = nn.Parameter(torch.zeros(C))

    def forward(self, x):
        # x (...,C) -> (...,C)
        xe = x.unsqueeze(-1)                                          # (...,C,1)
        s = (xe - self.q_bias) ** 2 / (self.q_weight ** 2 + self.eps)  # (...,C,E)
        a = torch.softmax(-s, dim=-1)
        return self.o_weight * (a * self.v_weight).sum(-1) * x + self.o_bias


def respsa(psa, x):
    return x + psa(x)


class ResPSA(nn.Module):
    """x + PSA(x), exact (no table)."""

    def __init__(self, C, E=PSA_E, eps=PSA_EPS):
        super().__init__()
        self.psa = PSA(C, E, eps)

    def forward(self, x):
        return x + self.psa(x)


def lerp_grid(G=LERP_G, R=LERP_R, dtype=torch.float32):
    j = torch.arange(G, dtype=torch.float64)
    return (-R + j * (2.0 * R / (G - 1))).to(dtype)


def lerp_table(psa, G=LERP_G, R=LERP_R):
    """T (C,G) = ResPSA_c(grid_j), differentiable w.r.t. the PSA params."""
    C = psa.C
    g = lerp_grid(G, R, psa.v_weight.dtype).to(psa.v_weight.device)
    xg = g.unsqueeze(1).expand(G, C)          # (G,C)
    return (xg + psa(xg)).t()                 # (C,G)


def lerp_apply(T, x, G=LERP_G, R=LERP_R):
    """T (C,G), x (...,C) -> (...,C), linear interpolation with end-segment extrapolation."""
    shp = x.shape
    C = shp[-1]
    x2 = x.reshape(-1, C)
    t = (x2 + R) * ((G - 1) / (2.0 * R))
    i = torch.clamp(torch.floor(t.detach()), 0, G - 2).long()      # (N,C)
    f = t - i.to(t.dtype)
    Tt = T.t()                                                     # (G,C)
    y0 = torch.gather(Tt, 0, i)
    y1 = torch.gather(Tt, 0, i + 1)
    return (y0 + f * (y1 - y0)).reshape(shp)


class ResPSALerp(nn.Module):
    """The paper's LERP-PSA: ResPSA sampled on G grid points, linearly interpolated."""

    def __init__(self, C, E=PSA_E, eps=PSA_EPS, G=LERP_G, R=LERP_R):
        super().__init__()
        self.psa = PSA(C, E, eps)
        self.G, self.R = G, R

    def table(self):
        return lerp_table(self.psa, self.G, self.R)

    def forward(self, x):
        return lerp_apply(self.table(), x, self.G, self.R)


def spline_knots(K=SPLINE_K, h=SPLINE_H, dtype=torch.float32):
    k = torch.arange(K, dtype=torch.float64) - (K - 1) // 2
    return (k * h).to(dtype)


def bspline_apply(c, x, h=SPLINE_H):
    """c (C,K) coefficients on knots k*h, k=-(K-1)/2..(K-1)/2; x (...,C) -> (...,C)."""
    shp = x.shape
    C, K = c.shape
    lo = -((K - 1) // 2) * h
    x2 = x.reshape(-1, C)
    xc = torch.clamp(x2.detach(), lo, lo + (K - 2) * h)
    i = torch.clamp(torch.floor((xc - lo) / h), 0, K - 2).long()   # (N,C)
    knot = lo + i.to(x2.dtype) * h
    ct = c.t()                                                     # (K,C)
    c0 = torch.gather(ct, 0, i)
    c1 = torch.gather(ct, 0, i + 1)
    return (c0 + (x2 - knot) / h * (c1 - c0)).reshape(shp)


class BSpline(nn.Module):
    """Linear B-spline activation (DeepSplines-style), param `coefficients` (C,65)."""

    def __init__(self, C, K=SPLINE_K, h=SPLINE_H):
        super().__init__()
        self.h = h
        self.coefficients = nn.Parameter(F.leaky_relu(spline_knots(K, h), 0.01).repeat(C, 1))

    def forward(self, x):
        return bspline_apply(self.coefficients, x, self.h)

    def tv2(self):
        c = self.coefficients
        return (c[:, :-2] - 2.0 * c[:, 1:-1] + c[:, 2:]).abs().sum() / self.h


# ----------------------------------------------------------------------------------------------
# model

class Affine1(nn.Module):
    """affine_1: BatchNorm1d(C) over batch and tokens of x (B,T,C)."""

    def __init__(self, C):
        super().__init__()
        self.bn = nn.BatchNorm1d(C)

    def forward(self, x):
        return self.bn(x.transpose(1, 2)).transpose(1, 2)


class Affine2(nn.Module):
    """affine_2: per-channel y = x*weight + bias (weight init 0.1, bias 0)."""

    def __init__(self, C, init=0.1):
        super().__init__()
        self.weight = nn.Parameter(torch.full((C,), init))
        self.bias = nn.Parameter(torch.zeros(C))

    def forward(self, x):
        return x * self.weight + self.bias


class SubLayer(nn.Module):
    def __init__(self, C, F_):
        super().__init__()
        self.affine_1 = Affine1(C)
        self.layers = F_
        self.affine_2 = Affine2(C)

    def forward(self, x):
        return x + self.affine_2(self.layers(self.affine_1(x)))


class TokenSubLayer(SubLayer):
    """F = Linear(64->64) across tokens; its params are named `layers.{weight,bias}`."""

    def __init__(self, C, T):
        super().__init__(C, nn.Linear(T, T))

    def forward(self, x):
        h = self.affine_1(x)
        h = self.layers(h.transpose(1, 2)).transpose(1, 2)
        return x + self.affine_2(h)


def channel_mlp(act, C, h):
    if act == 'relu':
        return nn.Sequential(nn.Linear(C, h), nn.ReLU(), nn.Linear(h, C))
    if act == 'lerp_psa':
        return nn.Sequential(ResPSALerp(C), nn.Linear(C, h), ResPSALerp(h), nn.Linear(h, C))
    if act == 'respsa':   # exact ResPSA (no table), for comparisons only
        return nn.Sequential(ResPSA(C), nn.Linear(C, h), ResPSA(h), nn.Linear(h, C))
    if act == 'bspline':
        return nn.Sequential(BSpline(C), nn.Linear(C, h), BSpline(h), nn.Linear(h, C))
    raise ValueError('unknown act %r' % act)


class Block(nn.Module):
    def __init__(self, act, C, T, h):
        super().__init__()
        self.layers = nn.ModuleList([TokenSubLayer(C, T), SubLayer(C, channel_mlp(act, C, h))])

    def forward(self, x):
        for l in self.layers:
            x = l(x)
        return x


class ResMLP(nn.Module):
    def __init__(self, act='relu', hidden=96, embed=EMBED, nblocks=NBLOCKS):
        super().__init__()
        self.act, self.hidden = act, hidden
        self.embed_linear = nn.Linear(PATCH_DIM, embed)
        self.layers = nn.ModuleList([Block(act, embed, TOKENS, hidden) for _ in range(nblocks)])
        self.affine = Affine1(embed)
        self.classifier = nn.Linear(embed, NCLASS)

    def embed(self, x):
        if x.dim() == 4:
            x = patchify(x)
        return self.embed_linear(x)

    def head(self, x):
        return self.classifier(self.affine(x).mean(1))

    def features(self, x):
        """list of the activations after each block (B,64,96), for knowledge transfer."""
        x = self.embed(x)
        out = []
        for b in self.layers:
            x = b(x)
            out.append(x)
        return out

    def forward(self, x):
        """x: patches (B,64,48) or images (B,3,32,32) -> logits (B,10)."""
        x = self.embed(x)
        for b in self.layers:
            x = b(x)
        return self.head(x)

    def splines(self):
        return [m for m in self.modules() if isinstance(m, BSpline)]

    def tv2(self):
        s = [m.tv2() for m in self.splines()]
        return sum(s) if s else torch.zeros(())


def count_params(model):
    return sum(p.numel() for p in model.parameters())


def expected_params(act, hidden):
    n = 25962 + 772 * hidden
    if act in ('lerp_psa', 'respsa'):
        n += NBLOCKS * (EMBED + hidden) * (3 * PSA_E + 2)
    elif act == 'bspline':
        n += NBLOCKS * (EMBED + hidden) * SPLINE_K
    return n


def kd_loss(zs, zt, y, alpha=0.8, T=1.0):
    """alpha*T^2*KL(softmax(zt/T) || softmax(zs/T)) + (1-alpha)*CE(zs, y), KL averaged over the batch."""
    kl = F.kl_div(F.log_softmax(zs / T, dim=1), F.softmax(zt / T, dim=1), reduction='batchmean')
    return alpha * T * T * kl + (1.0 - alpha) * F.cross_entropy(zs, y)


def _selfcheck():
    for act, h, n in (('relu', 96, 100074), ('relu', 384, 322410), ('relu', 192, 174186),
                      ('lerp_psa', 96, 120042), ('bspline', 96, 149994)):
        m = ResMLP(act, h)
        got = count_params(m)
        assert got == n == expected_params(act, h), (act, h, got, n)
    m = ResMLP('relu', 96)
    names = list(m.state_dict().keys())
    for k in ('embed_linear.weight', 'layers.0.layers.0.affine_1.bn.running_mean',
              'layers.0.layers.0.layers.weight', 'layers.0.layers.0.affine_2.weight',
              'layers.3.layers.1.layers.0.weight', 'layers.3.layers.1.layers.2.bias',
              'affine.bn.running_var', 'classifier.weight'):
        assert k in names, k
    m = ResMLP('lerp_psa', 96)
    names = list(m.state_dict().keys())
    for k in ('layers.0.layers.1.layers.0.psa.v_weight', 'layers.0.layers.1.layers.2.psa.o_bias',
              'layers.0.layers.1.layers.1.weight', 'layers.0.layers.1.layers.3.weight'):
        assert k in names, k
    # the LERP table interpolates ResPSA exactly on the grid and closely between grid points
    a = ResPSALerp(3).double()
    g = lerp_grid(dtype=torch.float64).unsqueeze(1).expand(-1, 3)
    assert torch.allclose(a(g), g + a.psa(g), atol=1e-12)
    m = ResMLP('bspline', 96)
    assert 'layers.2.layers.1.layers.2.coefficients' in m.state_dict()
    x = torch.randn(2, 3, 32, 32)
    assert m(x).shape == (2, 10)
    print('torch_resmlp: self-check ok')


if __name__ == '__main__':
    _selfcheck()
