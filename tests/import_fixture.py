#!/usr/bin/python3
"""import_fixture.py OUTDIR - checkpoints in the paper's reference layout, written with torch.save, for
tests/test_import.c: each is converted with tools/import_torch.py and the C model must reproduce the
logits PyTorch computes for the same input (eval mode).

Cases (models from tools/torch_resmlp.py, parameters and BN statistics perturbed off their init):
  relu_h24      plain state_dict (with num_batches_tracked)
  lerp_h16      {'model': state_dict, 'epoch': 7}, 'module.' prefixes (DataParallel), plus the reference
                PSA buffers psa.grid (linspace(-3, 3, 33) per channel: the reference code's default grid,
                not resmlp's 64/4, so the importer must read it), psa.epsilon, psa.grid_ifeat_offset
  bspline_h16   coefficients stored flat as DeepSplines' coefficients_vect
  broken        the relu case with one tensor removed: the converter must fail naming it
Writes OUTDIR/<case>.bin (torch.save), OUTDIR/<case>.safetensors (converted), OUTDIR/<case>.x.f32
(input (3,64,48)) and OUTDIR/<case>.logits.f32 ((3,10)). Exit 0 when all conversions behaved.
"""
import os
import subprocess
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, 'tools'))
import torch_resmlp as R  # noqa: E402


def perturb(m, g):
    with torch.no_grad():
        for name, t in m.state_dict().items():
            if name.endswith('num_batches_tracked'):
                continue
            n = torch.randn(t.shape, generator=g)
            if name.endswith('running_var'):
                t.copy_(torch.exp(0.3 * n))
            elif name.endswith('running_mean'):
                t.copy_(0.1 * n)
            elif name.endswith('bn.weight'):
                t.copy_(1 + 0.2 * n)
            elif name.endswith('bn.bias') or name.endswith('affine_2.bias'):
                t.copy_(0.1 * n)
            elif name.endswith('affine_2.weight'):
                t.copy_(0.1 + 0.05 * n)
            elif name.endswith('coefficients'):
                t.add_(0.05 * n)
            elif name.endswith('q_weight'):
                t.copy_(1 + 0.3 * n)
            elif name.endswith('o_weight'):
                t.copy_(1 + 0.2 * n)
            elif name.endswith('o_bias'):
                t.copy_(0.1 * n)


GRID, RANGE = 33, 3.0   # the LERP case's grid


def case(out, name, act, hidden, wrap):
    g = torch.Generator().manual_seed(len(name))
    torch.manual_seed(len(name))
    m = R.ResMLP(act, hidden)
    for mod in m.modules():
        if isinstance(mod, R.ResPSALerp):
            mod.G, mod.R = GRID, RANGE
    perturb(m, g)
    m.eval()
    x = torch.randn(3, R.TOKENS, R.PATCH_DIM, generator=g)
    with torch.no_grad():
        z = m(x)
    sd = m.state_dict()
    obj = wrap(sd)
    torch.save(obj, os.path.join(out, name + '.bin'))
    x.numpy().astype('<f4').tofile(os.path.join(out, name + '.x.f32'))
    z.numpy().astype('<f4').tofile(os.path.join(out, name + '.logits.f32'))


def lerp_wrap(sd):
    d = {}
    for k, v in sd.items():
        d['module.' + k] = v
        if k.endswith('.psa.o_bias'):
            C = v.shape[0]
            p = 'module.' + k[:-len('o_bias')]
            d[p + 'grid'] = torch.linspace(-RANGE, RANGE, GRID).view(-1, 1).repeat(1, C)
            d[p + 'epsilon'] = torch.tensor([1.0])
            d[p + 'grid_ifeat_offset'] = (torch.arange(C) * GRID).view(1, -1)
    return {'model': d, 'epoch': 7}


def bspline_wrap(sd):
    return {(k + '_vect' if k.endswith('coefficients') else k): (v.reshape(-1) if k.endswith('coefficients') else v)
            for k, v in sd.items()}


def convert(out, name):
    r = subprocess.run([sys.executable, os.path.join(ROOT, 'tools', 'import_torch.py'), os.path.join(out, name + '.bin'),
                        os.path.join(out, name + '.safetensors')], capture_output=True, text=True)
    sys.stdout.write(r.stdout)
    sys.stdout.write(r.stderr)
    return r


def main():
    out = sys.argv[1]
    case(out, 'relu_h24', 'relu', 24, lambda sd: sd)
    case(out, 'lerp_h16', 'lerp_psa', 16, lerp_wrap)
    case(out, 'bspline_h16', 'bspline', 16, bspline_wrap)
    ok = True
    for name in ('relu_h24', 'lerp_h16', 'bspline_h16'):
        ok &= convert(out, name).returncode == 0
    sd = torch.load(os.path.join(out, 'relu_h24.bin'))
    del sd['layers.2.layers.1.layers.2.weight']
    torch.save(sd, os.path.join(out, 'broken.bin'))
    r = convert(out, 'broken')
    ok &= r.returncode == 1 and 'layers.2.layers.1.layers.2.weight' in r.stderr
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main())
