#!/usr/bin/python3
"""numpy_int.py - the paper's verification method as a speed baseline: a numpy integer emulation of the
quantised ResMLP, one image at a time, activation tables applied with a Python loop over channels, as
the reference numpy code does (int_linear = matmul + rounded shift + bias + clip, int_affine, saturating
add, LERP table per channel with the 64-entry interpolation, avgpool as a rounded shift).

    /usr/bin/python3 bench/numpy_int.py MODEL.int8.safetensors [--images N] [--data DIR] [--expect LOGITS.i8]

MODEL is a quantised model file (format resmlp-int8-1, e.g. written by `build/bench/bench_int --save DIR`).
--expect compares the int8 logits of the first images with the C engine's (bench_int --save writes
them): the emulation must agree exactly. Prints images/s. Needs numpy only (Debian python3-numpy).
"""
import argparse
import json
import struct
import sys
import time

import numpy as np

ACT_MIN, ACT_MAX = -128, 127


def load(path):
    with open(path, 'rb') as f:
        n = struct.unpack('<Q', f.read(8))[0]
        h = json.loads(f.read(n))
        data = f.read()
    meta = h.pop('__metadata__', {})
    dt = {'I8': np.int8, 'F32': np.float32, 'I32': np.int32}
    t = {}
    for k, v in h.items():
        a, b = v['data_offsets']
        t[k] = np.frombuffer(data[a:b], dtype=dt[v['dtype']]).reshape(v['shape'])
    return meta, t


def params(meta, t):
    """the reference numpy code's parameter dict (int32 arrays)"""
    def lin(p):
        return {'w': t[p + '.weight'].astype(np.int32), 'b': t[p + '.bias'].astype(np.int32),
                's': t[p + '.shift'].astype(np.int32)}
    L = int(meta['layers'])
    lut64 = meta.get('lut', '64') == '64'
    blocks = []
    for l in range(L):
        p = 'int.layers.%d.' % l
        blk = {'token_mixer': {'affine_1': lin(p + 'tok.affine_1'), 'linear': lin(p + 'tok.linear'),
                               'affine_2': lin(p + 'tok.affine_2'), 'res_affine': lin(p + 'tok.res_affine')},
               'mlp': {'linear_1': lin(p + 'mlp.linear_1'), 'linear_2': lin(p + 'mlp.linear_2'),
                       'res_affine': lin(p + 'mlp.res_affine')}}
        for s in (1, 2):
            k = p + 'mlp.act_%d.lut' % s
            if k + '64' in t and lut64:
                blk['mlp']['psa_%d' % s] = {'lerp_lut': t[k + '64'].astype(np.int32), 'offset': 128}
            elif k in t:
                blk['mlp']['psa_%d' % s] = {'lut': t[k].astype(np.int32), 'offset': 128}
        blocks.append(blk)
    return {'embed_linear': lin('int.embed'), 'blocks': blocks, 'classifier_linear': lin('int.classifier'),
            'input_lut': t['int.input.lut'].astype(np.int32), 'patch': int(meta['patch'])}


def rshift_round(y, s):
    y = y >> (s - 1)
    return (y >> 1) + (y & 1)


def int_linear(x, p):
    y = rshift_round(np.matmul(x, p['w'].T), p['s']) + p['b']
    return np.clip(y, ACT_MIN, ACT_MAX)


def int_affine(x, p):
    y = rshift_round(x * p['w'], p['s']) + p['b']
    return np.clip(y, ACT_MIN, ACT_MAX)


def add(a, b):
    return np.clip(a + b, ACT_MIN, ACT_MAX)


def psa(x, p):
    y = np.zeros_like(x)
    if 'lut' in p:
        lut = p['lut']
        for i in range(lut.shape[0]):
            y[:, i] = lut[i, x[:, i] + p['offset']]
        return y
    lerp = p['lerp_lut']
    idx = x + p['offset']
    msb = np.clip(idx >> 2, 0, lerp.shape[-1] - 2)
    lsb = idx & 3
    for i in range(lerp.shape[0]):
        y0 = lerp[i, msb[:, i]]
        y1 = lerp[i, msb[:, i] + 1]
        t = ((y1 - y0) * lsb[:, i]) >> 1
        y[:, i] = y0 + (t >> 1) + (t & 1)
    return y


def resmlp(x, P):
    x = int_linear(x, P['embed_linear'])
    for blk in P['blocks']:
        tm = blk['token_mixer']
        res = int_affine(x, tm['res_affine'])
        h = int_affine(x, tm['affine_1'])
        h = int_linear(h.T, tm['linear']).T
        h = int_affine(h, tm['affine_2'])
        x = add(h, res)
        mp = blk['mlp']
        res = int_affine(x, mp['res_affine'])
        h = psa(x, mp['psa_1']) if 'psa_1' in mp else x
        h = int_linear(h, mp['linear_1'])
        h = psa(h, mp['psa_2']) if 'psa_2' in mp else np.maximum(h, 0)
        h = int_linear(h, mp['linear_2'])
        x = add(h, res)
    n = int(round(np.log2(x.shape[0])))
    pooled = np.clip(rshift_round(x.sum(axis=0, keepdims=True), n), ACT_MIN, ACT_MAX)
    return int_linear(pooled, P['classifier_linear'])[0]


def patches(img, P):
    """uint8 image (3,32,32) -> int8 codes (64, 48), token py*8+px, feature (ky*4+kx)*3+c"""
    p = P['patch']
    c, h, w = img.shape
    q = np.stack([P['input_lut'][ch][img[ch]] for ch in range(c)])        # (c,h,w)
    q = q.reshape(c, h // p, p, w // p, p).transpose(1, 3, 2, 4, 0)        # (gh,gw,ky,kx,c)
    return q.reshape((h // p) * (w // p), p * p * c)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('model')
    ap.add_argument('--images', type=int, default=100)
    ap.add_argument('--data', default='../shared/data/cifar-10-batches-bin')
    ap.add_argument('--expect')
    a = ap.parse_args()
    meta, t = load(a.model)
    P = params(meta, t)
    raw = np.fromfile(a.data + '/test_batch.bin', dtype=np.uint8).reshape(-1, 3073)
    n = min(a.images, raw.shape[0])
    imgs = raw[:n, 1:].reshape(n, 3, 32, 32)
    labels = raw[:n, 0]
    xs = [patches(imgs[i], P) for i in range(n)]
    t0 = time.perf_counter()
    out = np.stack([resmlp(xs[i], P) for i in range(n)])
    dt = time.perf_counter() - t0
    acc = float((out.argmax(1) == labels).mean())
    print('numpy_int: %s (act %s, hidden %s, lut %s): %d images in %.2f s = %.1f images/s, accuracy %.3f'
          % (a.model, meta.get('act'), meta.get('hidden'), meta.get('lut'), n, dt, n / dt, acc))
    if a.expect:
        e = np.fromfile(a.expect, dtype=np.int8).reshape(-1, out.shape[1])
        m = min(len(e), n)
        same = np.array_equal(e[:m], out[:m].astype(np.int8))
        print('numpy_int: logits of the first %d images %s the C engine\'s' % (m, 'equal' if same else 'DIFFER from'))
        return 0 if same else 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
