#!/usr/bin/python3
"""import_torch.py - convert a PyTorch ResMLP checkpoint of the paper's reference code (Singh & Bazargan,
TRETS 2025: teacher_model.bin, baseline/h_mul_{1,2}_model.bin, lerp_psa_64/h_mul_1_model.bin,
bspline_65_1e-5/...) into a resmlp checkpoint (safetensors, format resmlp-1) that `resmlp` loads.

    /usr/bin/python3 tools/import_torch.py SRC DST.safetensors [--act auto|relu|gelu|lerp_psa|bspline]
        [--lerp-grid G] [--lerp-range R] [--psa-eps E] [--channels 3]

Needs torch (Debian's python3-torch) to unpickle SRC; the output is written by hand (u64 LE header
length, JSON header padded to 8 bytes, raw little-endian F32 data) so `safetensors` is not needed.

Accepted inputs: a state_dict, a whole pickled nn.Module, or a dict holding one under 'state_dict',
'model_state_dict', 'model', 'net' or 'module'; keys may carry a 'module.' prefix (DataParallel).
Names are the reference ones (resmlp uses the same), e.g.
    embed_linear.weight, layers.0.layers.0.affine_1.bn.running_mean, layers.0.layers.0.layers.weight,
    layers.0.layers.1.layers.0.psa.v_weight, layers.0.layers.1.layers.1.weight, affine.bn.weight, ...
The architecture (embed, hidden, blocks, tokens, classes, activation) is read from the shapes. The
LERP grid (size, range) comes from the reference's `psa.grid` buffer when present (linspace(-R, R, G)),
eps from `psa.epsilon`; otherwise the options (defaults 64, 4, 1). B-spline coefficients may be
(C,K) `coefficients` or flat `coefficients_vect` (DeepSplines). BatchNorm `num_batches_tracked`,
the PSA helper buffers and quantiser state (`*_abs_max`, `requant_s`) are ignored and listed.
Exit status 0 on success; 1 with a message naming the problem otherwise.
"""
import argparse
import json
import math
import struct
import sys

try:
    import numpy as np
except ImportError:  # pragma: no cover
    sys.exit('import_torch.py: numpy is needed (Debian python3-numpy; run with /usr/bin/python3)')


def die(msg):
    sys.stderr.write('import_torch.py: %s\n' % msg)
    sys.exit(1)


def load_state(path):
    try:
        import torch
    except ImportError:
        die('torch is needed to read PyTorch checkpoints (Debian python3-torch; run with /usr/bin/python3)')
    try:
        try:
            obj = torch.load(path, map_location='cpu', weights_only=False)
        except TypeError:
            obj = torch.load(path, map_location='cpu')
    except Exception as e:  # noqa: BLE001 - report any unpickling problem
        die('%s: cannot load: %s' % (path, e))
    for _ in range(4):
        if isinstance(obj, torch.nn.Module):
            obj = obj.state_dict()
        if isinstance(obj, dict):
            for k in ('state_dict', 'model_state_dict', 'model', 'net', 'module'):
                if k in obj and isinstance(obj[k], (dict, torch.nn.Module)):
                    obj = obj[k]
                    break
            else:
                break
    if not isinstance(obj, dict):
        die('%s: no state_dict found (got %s)' % (path, type(obj).__name__))
    out = {}
    for k, v in obj.items():
        if not hasattr(v, 'detach'):
            continue
        name = k[7:] if k.startswith('module.') else k
        out[name] = v.detach().cpu().double().numpy()
    if not out:
        die('%s: the state_dict has no tensors' % path)
    return out


def infer(sd, args):
    def need(name):
        if name not in sd:
            near = [k for k in sd if k.split('.')[-1] == name.split('.')[-1]][:3]
            die('missing tensor %s%s' % (name, (' (similar: %s)' % ', '.join(near)) if near else ''))
        return sd[name]

    if 'layers.0.layers.0.affine_1.bn.running_mean' not in sd and 'layers.0.layers.0.affine_1.weight' in sd:
        die('this checkpoint is already folded (BatchNorm converted to affines by absorb_affines); '
            'import the float model saved before quantisation')
    D, P = need('embed_linear.weight').shape
    L = 0
    while 'layers.%d.layers.0.layers.weight' % L in sd:
        L += 1
    if L == 0:
        die('no blocks found (expected layers.0.layers.0.layers.weight)')
    T = need('layers.0.layers.0.layers.weight').shape[0]
    K = need('classifier.weight').shape[0]
    pre = 'layers.0.layers.1.layers.'
    if any(k.endswith('.psa.v_weight') for k in sd):
        act = 'lerp_psa'
    elif any(k.endswith('.coefficients') or k.endswith('.coefficients_vect') for k in sd):
        act = 'bspline'
    else:
        act = 'relu'
    if args.act != 'auto':
        if (args.act in ('relu', 'gelu')) != (act == 'relu'):
            die('--act %s does not fit this checkpoint (looks like %s)' % (args.act, act))
        act = args.act
    learned = act in ('lerp_psa', 'bspline')
    H = need(pre + ('1.weight' if learned else '0.weight')).shape[0]
    C = args.channels
    patch = int(round(math.sqrt(P / C)))
    if patch * patch * C != P:
        die('patch_dim %d is not patch^2 * %d channels (use --channels)' % (P, C))
    meta = {'format': 'resmlp-1', 'act': act, 'hidden': H, 'embed': D, 'layers': L, 'tokens': T,
            'patch_dim': P, 'classes': K, 'patch': patch, 'psa_keys': 8, 'psa_eps': args.psa_eps,
            'lerp_grid': args.lerp_grid, 'lerp_range': args.lerp_range, 'spline_size': 65,
            'spline_spacing': 0.125}
    if act == 'lerp_psa':
        meta['psa_keys'] = need(pre + '0.psa.v_weight').shape[1]
        g = sd.get(pre + '0.psa.grid')
        if g is not None:
            col = g[:, 0] if g.ndim == 2 else g.reshape(-1)
            G, R = len(col), float(col[-1])
            if abs(col[0] + R) > 1e-6 * max(1.0, R):
                die('psa.grid is not symmetric (corrected_grid_init checkpoints are not supported)')
            meta['lerp_grid'], meta['lerp_range'] = G, R
        e = sd.get(pre + '0.psa.epsilon')
        if e is not None:
            meta['psa_eps'] = float(e.reshape(-1)[0])
    if act == 'bspline':
        c = sd.get(pre + '0.coefficients')
        if c is None:
            c = need(pre + '0.coefficients_vect').reshape(D, -1)
        meta['spline_size'] = c.shape[1]
        gsp = sd.get(pre + '0.grid')
        if gsp is not None and gsp.size == 1:
            meta['spline_spacing'] = float(gsp.reshape(-1)[0])
    return meta


def convert(sd, meta):
    D, H, L, T, K, P = (meta[k] for k in ('embed', 'hidden', 'layers', 'tokens', 'classes', 'patch_dim'))
    act = meta['act']
    learned = act in ('lerp_psa', 'bspline')
    out = []   # (name, array float32) in resmlp's tensor order
    used = set()

    def take(name, shape, src=None):
        src = src or name
        if src not in sd:
            die('missing tensor %s' % src)
        a = sd[src]
        if a.size != int(np.prod(shape)):
            die('tensor %s has shape %s, expected %s' % (src, list(a.shape), list(shape)))
        out.append((name, a.reshape(shape).astype('<f4')))
        used.add(src)

    def bn(prefix, C):
        for s in ('weight', 'bias', 'running_mean', 'running_var'):
            take('%s.bn.%s' % (prefix, s), (C,))
        used.add(prefix + '.bn.num_batches_tracked')

    def actp(prefix, C):
        if act == 'lerp_psa':
            E = meta['psa_keys']
            for s in ('v_weight', 'q_weight', 'q_bias'):
                take('%s.psa.%s' % (prefix, s), (C, E))
            for s in ('o_weight', 'o_bias'):
                take('%s.psa.%s' % (prefix, s), (C,))
            used.update(prefix + s for s in ('.psa.grid', '.psa.epsilon', '.psa.grid_ifeat_offset'))
        else:
            Ks = meta['spline_size']
            src = prefix + '.coefficients'
            take(src, (C, Ks), src if src in sd else prefix + '.coefficients_vect')

    take('embed_linear.weight', (D, P))
    take('embed_linear.bias', (D,))
    for l in range(L):
        t = 'layers.%d.layers.0' % l
        bn(t + '.affine_1', D)
        take(t + '.layers.weight', (T, T))
        take(t + '.layers.bias', (T,))
        take(t + '.affine_2.weight', (D,))
        take(t + '.affine_2.bias', (D,))
        c = 'layers.%d.layers.1' % l
        bn(c + '.affine_1', D)
        if learned:
            actp(c + '.layers.0', D)
            take(c + '.layers.1.weight', (H, D))
            take(c + '.layers.1.bias', (H,))
            actp(c + '.layers.2', H)
            take(c + '.layers.3.weight', (D, H))
            take(c + '.layers.3.bias', (D,))
        else:
            take(c + '.layers.0.weight', (H, D))
            take(c + '.layers.0.bias', (H,))
            take(c + '.layers.2.weight', (D, H))
            take(c + '.layers.2.bias', (D,))
        take(c + '.affine_2.weight', (D,))
        take(c + '.affine_2.bias', (D,))
    bn('affine', D)
    take('classifier.weight', (K, D))
    take('classifier.bias', (K,))
    ignored = sorted(k for k in sd if k not in used)
    return out, ignored


def write_safetensors(path, tensors, meta):
    header = {'__metadata__': {k: str(v) for k, v in meta.items()}}
    off = 0
    for name, a in tensors:
        n = a.nbytes
        header[name] = {'dtype': 'F32', 'shape': list(a.shape), 'data_offsets': [off, off + n]}
        off += n
    h = json.dumps(header, separators=(',', ':')).encode()
    h += b' ' * ((8 - len(h) % 8) % 8)
    tmp = path + '.tmp'
    with open(tmp, 'wb') as f:
        f.write(struct.pack('<Q', len(h)))
        f.write(h)
        for _, a in tensors:
            f.write(np.ascontiguousarray(a).tobytes())
    import os
    os.replace(tmp, path)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('src')
    ap.add_argument('dst')
    ap.add_argument('--act', default='auto', choices=['auto', 'relu', 'gelu', 'lerp_psa', 'bspline'])
    ap.add_argument('--lerp-grid', type=int, default=64)
    ap.add_argument('--lerp-range', type=float, default=4.0)
    ap.add_argument('--psa-eps', type=float, default=1.0)
    ap.add_argument('--channels', type=int, default=3)
    args = ap.parse_args(argv)
    sd = load_state(args.src)
    meta = infer(sd, args)
    tensors, ignored = convert(sd, meta)
    write_safetensors(args.dst, tensors, meta)
    nparam = sum(a.size for n, a in tensors if 'running_' not in n)
    print('import_torch: %s -> %s: act %s, hidden %d, embed %d, %d blocks, %d tokens, %d classes, %d parameters'
          % (args.src, args.dst, meta['act'], meta['hidden'], meta['embed'], meta['layers'], meta['tokens'],
             meta['classes'], nparam))
    if meta['act'] == 'lerp_psa':
        print('import_torch: LERP grid %d points over [-%g, %g], eps %g' % (meta['lerp_grid'], meta['lerp_range'],
                                                                            meta['lerp_range'], meta['psa_eps']))
    if ignored:
        print('import_torch: ignored %d tensors: %s%s' % (len(ignored), ', '.join(ignored[:8]),
                                                         ' ...' if len(ignored) > 8 else ''))
    return 0


if __name__ == '__main__':
    sys.exit(main())
