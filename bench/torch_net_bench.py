#!/usr/bin/env python3
"""torch_net_bench.py - the PyTorch side of bench/bench_net.c (issue 11): training throughput of the same
layer-list nets on this CPU, written the way a PyTorch user would (fake quantisation with straight-through
estimators, as Brevitas/BinaryNet code does). Needs Debian's python3-torch:

    /usr/bin/python3 bench/torch_net_bench.py [--threads 2] [--steps 20] [--mode fp32|bf16|both]

Models (same layer lists as bench_net.c):
  mnist_mlp   784-500-300-10, Linear+BN+ReLU, fp32
  cnv_w1a1    FINN CNV (conv3x3 64,64,pool,128,128,pool,256,256, fc 512,512,10, no padding, BN after every
              layer incl. the last), binary weights (sign, STE clipped to |w|<=1), sign activations (STE),
              8-bit input
  cnv_w2a2    the same with 2-bit weights and activations (uniform fake quantisation, STE)
One step: forward + cross-entropy + backward + AdamW, batch 128, random inputs of the real shapes
(throughput does not depend on the values). --warmup steps are not timed. bf16 = torch.autocast("cpu",
torch.bfloat16). Prints: torch <model> <mode> train <img/s> and images per CPU-second of the process (all
threads; on a loaded machine with 1 thread a steadier measure than the wall clock, as bench_net prints)
"""
import argparse
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class SignSTE(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return torch.where(x >= 0, torch.ones_like(x), -torch.ones_like(x))

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * (x.abs() <= 1).to(g.dtype)


class QuantSTE(torch.autograd.Function):
    """uniform symmetric n-bit fake quantisation of values in [-1, 1], straight-through gradient"""
    @staticmethod
    def forward(ctx, x, bits):
        n = 2 ** (bits - 1) - 1
        return torch.round(x.clamp(-1, 1) * n) / n

    @staticmethod
    def backward(ctx, g):
        return g, None


def qw(w, bits):
    return SignSTE.apply(w) if bits == 1 else QuantSTE.apply(w, bits)


class QConv(nn.Conv2d):
    def __init__(self, cin, cout, bits):
        super().__init__(cin, cout, 3, bias=False)
        self.bits = bits

    def forward(self, x):
        return F.conv2d(x, qw(self.weight, self.bits))


class QLinear(nn.Linear):
    def __init__(self, cin, cout, bits):
        super().__init__(cin, cout, bias=False)
        self.bits = bits

    def forward(self, x):
        return F.linear(x, qw(self.weight, self.bits))


class QAct(nn.Module):
    def __init__(self, bits):
        super().__init__()
        self.bits = bits

    def forward(self, x):
        return SignSTE.apply(x) if self.bits == 1 else QuantSTE.apply(x, self.bits)


def cnv(bits):
    layers, cin = [], 3
    for c, pool in [(64, 0), (64, 1), (128, 0), (128, 1), (256, 0), (256, 0)]:
        layers += [QConv(cin, c, bits), nn.BatchNorm2d(c), QAct(bits)]
        if pool:
            layers.append(nn.MaxPool2d(2))
        cin = c
    layers.append(nn.Flatten())
    cin = 256
    for c in (512, 512):
        layers += [QLinear(cin, c, bits), nn.BatchNorm1d(c), QAct(bits)]
        cin = c
    layers += [QLinear(cin, 10, bits), nn.BatchNorm1d(10)]
    return nn.Sequential(*layers)


def mnist_mlp():
    return nn.Sequential(nn.Linear(784, 500), nn.BatchNorm1d(500), nn.ReLU(),
                         nn.Linear(500, 300), nn.BatchNorm1d(300), nn.ReLU(), nn.Linear(300, 10))


def bench(name, model, shape, in_bits, steps, warmup, batch, mode):
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0)
    x = torch.randn(batch, *shape)
    y = torch.randint(0, 10, (batch,))
    model.train()

    def step():
        xi = torch.round(x.clamp(-1, 1) * 127) / 127 if in_bits else x
        if mode == "bf16":
            with torch.autocast("cpu", dtype=torch.bfloat16):
                loss = F.cross_entropy(model(xi).float(), y)
        else:
            loss = F.cross_entropy(model(xi), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    for _ in range(warmup):
        step()
    t0, c0 = time.perf_counter(), time.process_time()
    for _ in range(steps):
        step()
    dt, dc = time.perf_counter() - t0, time.process_time() - c0
    print(f"torch  {name:<22} {mode:<5} train {batch * steps / dt:8.0f} img/s  ({steps} steps, batch {batch}, "
          f"{torch.get_num_threads()} threads; {batch * steps / dc:.0f} img per CPU-s)", flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--mode", default="both", choices=["fp32", "bf16", "both"])
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    modes = ["fp32", "bf16"] if a.mode == "both" else [a.mode]
    print(f"# torch {torch.__version__}, {a.threads} threads")
    for mode in modes:
        bench("mnist_mlp_784-500-300-10", mnist_mlp(), (784,), 0, a.steps * 5, a.warmup, a.batch, mode)
        bench("cnv_w1a1", cnv(1), (3, 32, 32), 8, a.steps, a.warmup, a.batch, mode)
        bench("cnv_w2a2", cnv(2), (3, 32, 32), 8, a.steps, a.warmup, a.batch, mode)


if __name__ == "__main__":
    main()
