"""torch_zip.py - read and write PyTorch's torch.save format (the zip archive of torch >= 1.6) with
numpy and the standard library only, so state_dicts move between PyTorch and resmlp where torch is not
installed. Used by tools/import_torch.py (when torch is absent) and tests/fixtures/make_paper_fixtures.py.

The format, as torch.save writes it and torch.load reads it (also with weights_only=True):
  ARCHIVE/data.pkl     a pickle (protocol 2) of the object; each tensor is
                       torch._utils._rebuild_tensor_v2(STORAGE, offset, size, stride, requires_grad,
                       OrderedDict()) where STORAGE is a persistent id
                       ('storage', torch.FloatStorage, KEY, 'cpu', numel)
  ARCHIVE/data/KEY     the raw little-endian bytes of storage KEY
  ARCHIVE/byteorder    "little";  ARCHIVE/version  "3\n"
Entries are stored (not compressed); tensor data starts on a 64-byte boundary as torch's writer does.

read(path) -> dict name -> numpy array (a state_dict, unwrapped as described in load_state_dict's
callers); it refuses pickles that name any other Python class (whole pickled modules) with
WholeModule(class name). write(path, items) writes an OrderedDict of numpy arrays.
"""
import collections
import io
import pickle
import struct
import zipfile

import numpy as np

# storage class name <-> numpy dtype (little endian)
STORAGES = {
    'FloatStorage': '<f4', 'DoubleStorage': '<f8', 'HalfStorage': '<f2', 'LongStorage': '<i8',
    'IntStorage': '<i4', 'ShortStorage': '<i2', 'CharStorage': 'i1', 'ByteStorage': 'u1', 'BoolStorage': '?',
}
BF16 = 'BFloat16Storage'


class WholeModule(Exception):
    """The pickle names a Python class other than the tensor helpers: a whole pickled model."""


class _Storage:
    def __init__(self, name):
        self.name = name


def _rebuild_tensor_v2(storage, offset, size, stride, requires_grad=False, hooks=None, metadata=None):
    a = storage
    size, stride = tuple(size), tuple(stride)
    if not size:
        return np.array(a[offset])
    item = a.dtype.itemsize
    v = np.lib.stride_tricks.as_strided(a[offset:], shape=size, strides=tuple(s * item for s in stride))
    return np.array(v)


def _rebuild_parameter(data, requires_grad=False, hooks=None, state=None):
    return data


class _Unpickler(pickle.Unpickler):
    def __init__(self, f, zf, prefix):
        super().__init__(f)
        self.zf, self.prefix = zf, prefix

    def find_class(self, module, name):
        if module == 'collections' and name == 'OrderedDict':
            return collections.OrderedDict
        if module == 'torch._utils' and name == '_rebuild_tensor_v2':
            return _rebuild_tensor_v2
        if module == 'torch._utils' and name in ('_rebuild_parameter', '_rebuild_parameter_with_state'):
            return _rebuild_parameter
        if module == 'torch' and (name in STORAGES or name == BF16):
            return _Storage(name)
        if module == 'builtins' and name in ('dict', 'list', 'tuple', 'set', 'int', 'float', 'str'):
            import builtins
            return getattr(builtins, name)
        raise WholeModule('%s.%s' % (module, name))

    def persistent_load(self, pid):
        if not (isinstance(pid, tuple) and len(pid) == 5 and pid[0] == 'storage'):
            raise pickle.UnpicklingError('unknown persistent id %r' % (pid,))
        _, st, key, _location, numel = pid
        raw = self.zf.read(self.prefix + 'data/' + str(key))
        if st.name == BF16:   # widen bfloat16 to float32
            u = np.frombuffer(raw, dtype='<u2').astype(np.uint32) << 16
            return u.view('<f4')[:numel]
        return np.frombuffer(raw, dtype=STORAGES[st.name])[:numel]


def is_zip(path):
    with open(path, 'rb') as f:
        return f.read(4) == b'PK\x03\x04'


def read(path):
    """The object pickled in a torch.save zip file, with tensors as numpy arrays."""
    with zipfile.ZipFile(path) as zf:
        pkl = [n for n in zf.namelist() if n == 'data.pkl' or n.endswith('/data.pkl')]
        if not pkl:
            raise pickle.UnpicklingError('no data.pkl in the archive (not a torch.save file)')
        prefix = pkl[0][:-len('data.pkl')]
        return _Unpickler(io.BytesIO(zf.read(pkl[0])), zf, prefix).load()


# ---- writing ------------------------------------------------------------------------------------

def _uni(s):
    b = s.encode('utf-8')
    return b'X' + struct.pack('<I', len(b)) + b


def _int(n):
    if 0 <= n < 256:
        return b'K' + bytes([n])
    if 0 <= n < 65536:
        return b'M' + struct.pack('<H', n)
    if -2**31 <= n < 2**31:
        return b'J' + struct.pack('<i', n)
    raw = n.to_bytes(9, 'little', signed=True)
    return b'\x8a' + bytes([len(raw)]) + raw


def _tuple(items):
    return b'(' + b''.join(items) + b't'


def pickle_state_dict(items):
    """protocol-2 pickle of OrderedDict(name -> tensor) as torch.save writes it; items is a list of
    (name, storage_class, key, numel, shape). Shapes are contiguous (row-major strides)."""
    od = b'ccollections\nOrderedDict\n'
    out = [b'\x80\x02', od, b')R', b'(']
    for name, sclass, key, numel, shape in items:
        stride, s = [], 1
        for d in reversed(shape):
            stride.insert(0, s)
            s *= d
        out.append(_uni(name))
        out.append(b'ctorch._utils\n_rebuild_tensor_v2\n(')
        out.append(_tuple([_uni('storage'), b'ctorch\n' + sclass.encode() + b'\n', _uni(key), _uni('cpu'), _int(numel)]) + b'Q')
        out.append(_int(0) + _tuple([_int(d) for d in shape]) + _tuple([_int(d) for d in stride]) + b'\x89' + od + b')R')
        out.append(b'tR')
    out.append(b'u.')
    return b''.join(out)


def _dtype_storage(a):
    for k, v in STORAGES.items():
        if np.dtype(v) == a.dtype.newbyteorder('<') or np.dtype(v) == a.dtype:
            return k
    raise ValueError('no torch storage for dtype %s' % a.dtype)


def write(path, state, archive='archive'):
    """Write OrderedDict name -> numpy array as a torch.save file (atomically: path.tmp, then rename)."""
    import os
    items, blobs = [], []
    for i, (name, a) in enumerate(state.items()):
        a = np.array(a, order='C')   # (ascontiguousarray would make a 0-d tensor 1-d)
        sclass = _dtype_storage(a)
        a = a.astype(np.dtype(STORAGES[sclass]), copy=False)
        items.append((name, sclass, str(i), int(a.size), tuple(int(d) for d in a.shape)))
        blobs.append(a.tobytes())
    tmp = path + '.tmp'
    with open(tmp, 'wb') as f:
        with zipfile.ZipFile(f, 'w', compression=zipfile.ZIP_STORED) as zf:
            entries = [('data.pkl', pickle_state_dict(items)), ('byteorder', b'little')]
            entries += [('data/%d' % i, b) for i, b in enumerate(blobs)]
            entries += [('version', b'3\n')]
            for name, data in entries:
                zi = zipfile.ZipInfo(archive + '/' + name, date_time=(1980, 1, 1, 0, 0, 0))
                zi.compress_type = zipfile.ZIP_STORED
                # pad the local header's extra field so the data starts on a 64-byte boundary
                here = f.tell() + 30 + len(zi.filename.encode())
                pad = (-(here + 4)) % 64
                zi.extra = struct.pack('<HH', 0x4246, pad) + b'Z' * pad
                zf.writestr(zi, data)
    os.replace(tmp, path)
