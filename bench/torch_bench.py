#!/usr/bin/env python3
"""torch_bench.py - throughput of the paper's ResMLP in PyTorch on this CPU, the baseline resmlp's own
benchmarks are compared with. Uses tools/torch_resmlp.py; needs Debian's python3-torch:

    /usr/bin/python3 bench/torch_bench.py [--threads 2] [--steps 10] [--models relu384,relu96,lerp96,bspline96]

Inputs are random tensors of the real shapes (images (B,3,32,32) ~ N(0,1), labels uniform in 0..9):
throughput does not depend on the values. Each timed step includes patch extraction.
  train: forward + cross-entropy + backward + optimizer step, batch --batch (128). Optimizer as the
         recipe: AdamW lr 1e-3 wd 0; B-spline coefficients on their own Adam (lr 1e-3) and the loss
         adds 1e-5 * TV2.
  kd:    (students only, i.e. every model but relu384) the same step with the knowledge-distillation
         loss (alpha 0.8, T 1), including the teacher's (ReLU h=384, eval mode) forward under no_grad.
  eval:  eval-mode forward under no_grad, batch --eval-batch (1000).
--warmup steps (2) are run first and not timed.
--precision bf16: every forward (train, KD teacher and student, eval) under
torch.autocast('cpu', dtype=torch.bfloat16), PyTorch's mixed precision on CPUs with AVX-512 BF16 or AMX
(fp32 master weights and optimizer, as resmlp's precision=bf16). Prints one line per model:
    torch <model> train <img/s> kd <img/s|-> eval <img/s>
"""
import contextlib
import argparse
import os
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'tools'))
import torch_resmlp as tr  # noqa: E402

MODELS = {'relu384': ('relu', 384), 'relu192': ('relu', 192), 'relu96': ('relu', 96),
          'lerp96': ('lerp_psa', 96), 'bspline96': ('bspline', 96)}


def optimizers(model):
    coef = [p for n, p in model.named_parameters() if n.endswith('coefficients')]
    rest = [p for n, p in model.named_parameters() if not n.endswith('coefficients')]
    opts = [torch.optim.AdamW(rest, lr=1e-3, weight_decay=0.0)]
    if coef:
        opts.append(torch.optim.Adam(coef, lr=1e-3))
    return opts


def timed(fn, warmup, steps, batch):
    for _ in range(warmup):
        fn()
    t0 = time.perf_counter()
    for _ in range(steps):
        fn()
    return steps * batch / (time.perf_counter() - t0)


def bench(name, args, teacher):
    act, h = MODELS[name]
    torch.manual_seed(0)
    model = tr.ResMLP(act, h)
    opts = optimizers(model)
    x = torch.randn(args.batch, 3, 32, 32)
    y = torch.randint(0, tr.NCLASS, (args.batch,))
    xe = torch.randn(args.eval_batch, 3, 32, 32)

    def ac():
        if args.precision == 'bf16':
            return torch.autocast('cpu', dtype=torch.bfloat16)
        return contextlib.nullcontext()

    def step(loss_fn):
        model.train()
        for o in opts:
            o.zero_grad(set_to_none=True)
        with ac():
            loss = loss_fn()
        if act == 'bspline':
            loss = loss + 1e-5 * model.tv2()
        loss.backward()
        for o in opts:
            o.step()

    def train_step():
        step(lambda: F.cross_entropy(model(x), y))

    def kd_step():
        with torch.no_grad(), ac():
            zt = teacher(x)
        step(lambda: tr.kd_loss(model(x), zt, y, alpha=0.8, T=1.0))

    def eval_step():
        model.eval()
        with torch.no_grad(), ac():
            model(xe)

    tr_ips = timed(train_step, args.warmup, args.steps, args.batch)
    kd_ips = timed(kd_step, args.warmup, args.steps, args.batch) if name != 'relu384' else None
    ev_steps = max(1, args.steps * args.batch // args.eval_batch)
    ev_ips = timed(eval_step, 1, ev_steps, args.eval_batch)
    print('torch%s %s train %.1f kd %s eval %.1f' % ('' if args.precision == 'fp32' else '-' + args.precision, name, tr_ips, '-' if kd_ips is None else '%.1f' % kd_ips,
                                                    ev_ips), flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--threads', type=int, default=2)
    ap.add_argument('--steps', type=int, default=10, help='timed training steps (eval: the same images)')
    ap.add_argument('--warmup', type=int, default=2)
    ap.add_argument('--batch', type=int, default=128)
    ap.add_argument('--eval-batch', type=int, default=1000)
    ap.add_argument('--precision', choices=['fp32', 'bf16'], default='fp32',
                    help='bf16: autocast to bfloat16 on the CPU (fp32 master weights)')
    ap.add_argument('--models', default='relu384,relu96,lerp96,bspline96',
                    help='comma list of ' + ','.join(MODELS))
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    names = [m for m in args.models.split(',') if m]
    for m in names:
        if m not in MODELS:
            ap.error('unknown model %r' % m)
    teacher = tr.ResMLP('relu', 384).eval()
    print('# torch %s, %s, %d threads, batch %d, eval batch %d, %d timed steps, random inputs'
          % (torch.__version__, args.precision, torch.get_num_threads(), args.batch, args.eval_batch, args.steps), flush=True)
    for m in names:
        bench(m, args, teacher)


if __name__ == '__main__':
    main()
