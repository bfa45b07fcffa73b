#!/usr/bin/python3
"""import_torch.py - convert a PyTorch ResMLP checkpoint of the paper's reference code (Singh & Bazargan,
TRETS 2025: teacher_model.bin, baseline/h_mul_{1,2}_model.bin, lerp_psa_64/h_mul_1_model.bin,
bspline_65_1e-5/...) into a resmlp checkpoint (safetensors, format resmlp-1) that `resmlp` loads.

    /usr/bin/python3 tools/import_torch.py SRC DST.safetensors [--act auto|relu|gelu|lerp_psa|bspline]
        [--lerp-grid G] [--lerp-range R] [--psa-eps E] [--spline-range R] [--channels 3] [--pythonpath DIR]

SRC is a torch.save file or a .safetensors state_dict. Zip-format torch.save files (torch >= 1.6) are read
with tools/torch_zip.py (numpy only) when torch is not installed, with torch.load when it is; the legacy
format needs torch (Debian python3-torch). The output is written by hand (u64 LE header length, JSON
header padded to 8 bytes, raw little-endian F32 data) so `safetensors` is not needed.

Accepted inputs: a state_dict, a whole pickled nn.Module (needs torch and the paper's source tree on
PYTHONPATH, or --pythonpath DIR), or a dict holding one under 'state_dict', 'model_state_dict', 'model',
'net' or 'module'; keys may carry a 'module.' prefix (DataParallel). Names are the reference ones
(resmlp uses the same), e.g.
    embed_linear.weight, layers.0.layers.0.affine_1.bn.running_mean, layers.0.layers.0.layers.weight,
    layers.0.layers.1.layers.0.psa.v_weight, layers.0.layers.1.layers.1.weight, affine.bn.weight, ...
The architecture (embed, hidden, blocks, tokens, classes, activation) is read from the shapes. The
LERP grid (size, range) comes from the reference's `psa.grid` buffer when present (linspace(-R, R, G)),
eps from `psa.epsilon`; without them the paper's defaults (64 points over [-4, 4], eps 1) or the options
are used and a notice says so. B-spline coefficients may be (C,K) `coefficients` or DeepSplines' flat
(C*K) `_coefficients_vect` / `coefficients_vect`; DeepSplines does not store the knot spacing, so it is
2*range/(K-1) with range 4 (--spline-range), with a notice. BatchNorm `num_batches_tracked`, the PSA
helper buffers and quantiser state (`*_abs_max`, `requant_s`) are ignored and listed.
Exit status 0 on success; 1 with a message naming the problem otherwise.
"""
import argparse
import json
import math
import os
import struct
import sys

try:
    import numpy as np
except ImportError:  # pragma: no cover
    sys.exit('import_torch.py: numpy is needed (Debian python3-numpy; run with /usr/bin/python3)')
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torch_zip  # noqa: E402


def die(msg):
    sys.stderr.write('import_torch.py: %s\n' % msg)
    sys.exit(1)


WRAPPERS = ('state_dict', 'model_state_dict', 'model', 'net', 'module')
ST_DTYPES = {'F32': '<f4', 'F64': '<f8', 'F16': '<f2', 'I64': '<i8', 'I32': '<i4', 'I16': '<i2', 'I8': 'i1',
             'U8': 'u1', 'BOOL': '?'}


def read_safetensors(path):
    """name -> numpy array of a .safetensors file (numpy only)."""
    with open(path, 'rb') as f:
        raw = f.read()
    if len(raw) < 10:
        die('%s: too short for a safetensors file' % path)
    (n,) = struct.unpack('<Q', raw[:8])
    try:
        header = json.loads(raw[8:8 + n])
    except ValueError as e:
        die('%s: bad safetensors header: %s' % (path, e))
    out = {}
    for name, d in header.items():
        if name == '__metadata__':
            continue
        a, b = d['data_offsets']
        buf = raw[8 + n + a:8 + n + b]
        if d['dtype'] == 'BF16':
            arr = (np.frombuffer(buf, dtype='<u2').astype(np.uint32) << 16).view('<f4')
        elif d['dtype'] in ST_DTYPES:
            arr = np.frombuffer(buf, dtype=ST_DTYPES[d['dtype']])
        else:
            die('%s: tensor %s has dtype %s, which the importer does not read' % (path, name, d['dtype']))
        out[name] = arr.reshape(d['shape'])
    return out


def whole_module_error(path, cls, have_torch, pythonpath):
    hint = ('put the paper\'s source tree on PYTHONPATH (or pass --pythonpath DIR) so %s can be imported, '
            'or save model.state_dict() instead of the whole model' % cls)
    if not have_torch:
        die('%s is a whole pickled model (class %s): unpickling it needs torch, which is not installed here, and the '
            'paper\'s source tree on PYTHONPATH (--pythonpath DIR); in the paper\'s environment, save '
            'model.state_dict() and import that' % (path, cls))
    if pythonpath:
        die('%s is a whole pickled model and %s is not importable from --pythonpath %s: '
            'point PYTHONPATH (--pythonpath) at the root of the paper\'s source tree' % (path, cls, pythonpath))
    die('%s is a whole pickled model: %s' % (path, hint))


def load_state(path, pythonpath=None):
    """The checkpoint's state_dict as name -> numpy array (float64 for float tensors). Reads torch.save
    files with torch when it is installed, else with tools/torch_zip.py (zip format, numpy only), and
    .safetensors files with numpy."""
    if pythonpath:
        for d in reversed(pythonpath.split(os.pathsep)):
            sys.path.insert(0, os.path.abspath(d))
    try:
        with open(path, 'rb') as f:
            head = f.read(9)
    except OSError as e:
        die('%s: %s' % (path, e.strerror))
    try:
        if os.environ.get('RESMLP_IMPORT_NO_TORCH'):   # tests: the numpy-only reader even where torch exists
            raise ImportError
        import torch
    except ImportError:
        torch = None
    if len(head) == 9 and head[8:9] == b'{' and head[:4] != b'PK\x03\x04':
        obj = read_safetensors(path)
    elif torch is not None:
        try:
            try:
                obj = torch.load(path, map_location='cpu', weights_only=False)
            except TypeError:
                obj = torch.load(path, map_location='cpu')
        except (ModuleNotFoundError, AttributeError) as e:
            whole_module_error(path, getattr(e, 'name', None) or str(e), True, pythonpath)
        except Exception as e:  # noqa: BLE001 - report any unpickling problem
            die('%s: cannot load: %s' % (path, e))
    else:
        if head[:4] != b'PK\x03\x04':
            die('%s: not a zip-format torch.save file or safetensors: torch is needed to read other (legacy pickle) '
                'formats (Debian python3-torch, run with /usr/bin/python3)' % path)
        try:
            obj = torch_zip.read(path)
        except torch_zip.WholeModule as e:
            whole_module_error(path, str(e), False, pythonpath)
        except Exception as e:  # noqa: BLE001
            die('%s: cannot read: %s' % (path, e))
    for _ in range(4):
        if torch is not None and isinstance(obj, torch.nn.Module):
            obj = obj.state_dict()
        if isinstance(obj, dict):
            for k in WRAPPERS:
                if k in obj and (isinstance(obj[k], dict) or (torch is not None and isinstance(obj[k], torch.nn.Module))):
                    obj = obj[k]
                    break
            else:
                break
    if not isinstance(obj, dict):
        die('%s: no state_dict found (got %s)' % (path, type(obj).__name__))
    out = {}
    for k, v in obj.items():
        if hasattr(v, 'detach'):
            v = v.detach().cpu()
            v = v.double().numpy() if v.is_floating_point() else v.numpy()
        elif isinstance(v, np.ndarray):
            v = v.astype(np.float64) if v.dtype.kind == 'f' else v
        else:
            continue
        name = k[7:] if k.startswith('module.') else k
        if name.endswith('._coefficients_vect'):   # DeepSplines' parameter (property coefficients_vect)
            name = name[:-len('._coefficients_vect')] + '.coefficients_vect'
        out[name] = v
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
            'patch_dim': P, 'classes': K, 'patch': patch, 'psa_keys': 8, 'psa_eps': 1.0,
            'lerp_grid': 64, 'lerp_range': 4.0, 'spline_size': 65,
            'spline_spacing': 0.125}
    notices = meta['notices'] = []
    if act == 'lerp_psa':
        meta['psa_keys'] = need(pre + '0.psa.v_weight').shape[1]
        g = sd.get(pre + '0.psa.grid')
        if g is not None:
            col = g[:, 0] if g.ndim == 2 else g.reshape(-1)
            G, R = len(col), float(col[-1])
            if abs(col[0] + R) > 1e-6 * max(1.0, R):
                die('psa.grid is not symmetric (corrected_grid_init checkpoints are not supported)')
            for opt, mine, val in (('--lerp-grid', G, args.lerp_grid), ('--lerp-range', R, args.lerp_range)):
                if val is not None and abs(val - mine) > 1e-6 * max(1.0, abs(mine)):
                    die('%s %g contradicts the checkpoint\'s psa.grid (%g)' % (opt, val, mine))
            meta['lerp_grid'], meta['lerp_range'] = G, R
        else:
            meta['lerp_grid'] = args.lerp_grid if args.lerp_grid is not None else 64
            meta['lerp_range'] = args.lerp_range if args.lerp_range is not None else 4.0
            if args.lerp_grid is None or args.lerp_range is None:
                notices.append('no psa.grid in the checkpoint: LERP grid %d points over [-%g, %g] (the paper\'s '
                               'default; give --lerp-grid/--lerp-range if the model was trained with another grid)'
                               % (meta['lerp_grid'], meta['lerp_range'], meta['lerp_range']))
        e = sd.get(pre + '0.psa.epsilon')
        if e is not None:
            meta['psa_eps'] = float(e.reshape(-1)[0])
            if args.psa_eps is not None and abs(args.psa_eps - meta['psa_eps']) > 1e-9:
                die('--psa-eps %g contradicts the checkpoint\'s psa.epsilon (%g)' % (args.psa_eps, meta['psa_eps']))
        else:
            meta['psa_eps'] = args.psa_eps if args.psa_eps is not None else 1.0
            if args.psa_eps is None:
                notices.append('no psa.epsilon in the checkpoint: PSA epsilon %g (the paper\'s default; give '
                               '--psa-eps otherwise)' % meta['psa_eps'])
    else:
        meta['lerp_grid'] = args.lerp_grid if args.lerp_grid is not None else 64
        meta['lerp_range'] = args.lerp_range if args.lerp_range is not None else 4.0
        meta['psa_eps'] = args.psa_eps if args.psa_eps is not None else 1.0
    if act == 'bspline':
        c = sd.get(pre + '0.coefficients')
        if c is None:
            v = need(pre + '0.coefficients_vect')
            if v.size % D:
                die('%s has %d values, not a multiple of the %d channels' % (pre + '0.coefficients_vect', v.size, D))
            c = v.reshape(D, -1)
        meta['spline_size'] = c.shape[1]
        gsp = sd.get(pre + '0.grid')
        if gsp is not None and gsp.size == 1:
            meta['spline_spacing'] = float(gsp.reshape(-1)[0])
        else:   # DeepSplines keeps grid as a plain attribute: spacing = 2*range/(size-1)
            meta['spline_spacing'] = 2.0 * args.spline_range / (meta['spline_size'] - 1)
            notices.append('B-spline knot spacing not stored in the checkpoint: %d coefficients over [-%g, %g], '
                           'spacing %g (DeepSplines\' range_; give --spline-range otherwise)'
                           % (meta['spline_size'], args.spline_range, args.spline_range, meta['spline_spacing']))
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
    os.replace(tmp, path)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('src')
    ap.add_argument('dst')
    ap.add_argument('--act', default='auto', choices=['auto', 'relu', 'gelu', 'lerp_psa', 'bspline'])
    ap.add_argument('--lerp-grid', type=int, default=None, help='LERP grid points when the checkpoint has no psa.grid [64]')
    ap.add_argument('--lerp-range', type=float, default=None, help='LERP grid range R [4]')
    ap.add_argument('--psa-eps', type=float, default=None, help='PSA epsilon when the checkpoint has no psa.epsilon [1]')
    ap.add_argument('--spline-range', type=float, default=4.0, help='B-spline range_ when no spacing is stored [4]')
    ap.add_argument('--pythonpath', default=None, help='directories holding the paper\'s source (whole pickled models)')
    ap.add_argument('--channels', type=int, default=3)
    args = ap.parse_args(argv)
    sd = load_state(args.src, args.pythonpath)
    meta = infer(sd, args)
    tensors, ignored = convert(sd, meta)
    notices = meta.pop('notices')
    write_safetensors(args.dst, tensors, meta)
    nparam = sum(a.size for n, a in tensors if 'running_' not in n)
    print('import_torch: %s -> %s: act %s, hidden %d, embed %d, %d blocks, %d tokens, %d classes, %d parameters'
          % (args.src, args.dst, meta['act'], meta['hidden'], meta['embed'], meta['layers'], meta['tokens'],
             meta['classes'], nparam))
    if meta['act'] == 'lerp_psa':
        print('import_torch: LERP grid %d points over [-%g, %g], eps %g' % (meta['lerp_grid'], meta['lerp_range'],
                                                                            meta['lerp_range'], meta['psa_eps']))
    for n in notices:
        print('import_torch: notice: ' + n)
    if ignored:
        print('import_torch: ignored %d tensors: %s%s' % (len(ignored), ', '.join(ignored[:8]),
                                                         ' ...' if len(ignored) > 8 else ''))
    return 0


if __name__ == '__main__':
    sys.exit(main())
