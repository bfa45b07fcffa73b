#!/usr/bin/python3
"""png_stats.py FILE.png - width, height and pixel counts of an 8-bit RGB/RGBA PNG, decoded with the
standard library only (zlib + the five PNG row filters), for tests/e2e_svg_browser.sh. Prints
`WIDTH HEIGHT NONWHITE DARK COLOURED`: pixels not white, near black (text, axes), and clearly
coloured (curves, bars)."""
import struct
import sys
import zlib


def decode(path):
    data = open(path, 'rb').read()
    if data[:8] != b'\x89PNG\r\n\x1a\n':
        sys.exit('not a PNG: %s' % path)
    pos, idat, w = 8, b'', None
    while pos < len(data):
        n, kind = struct.unpack('>I4s', data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if kind == b'IHDR':
            w, h, depth, ctype = struct.unpack('>IIBB', body[:10])
            if depth != 8 or ctype not in (2, 6):
                sys.exit('unsupported PNG (depth %d, colour type %d)' % (depth, ctype))
            bpp = 3 if ctype == 2 else 4
        elif kind == b'IDAT':
            idat += body
        pos += 12 + n
    raw = zlib.decompress(idat)
    stride = w * bpp
    prev = bytearray(stride)
    rows = []
    for y in range(h):
        f = raw[y * (stride + 1)]
        cur = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = cur[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            if f == 1:
                cur[i] = (cur[i] + a) & 255
            elif f == 2:
                cur[i] = (cur[i] + b) & 255
            elif f == 3:
                cur[i] = (cur[i] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                cur[i] = (cur[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(cur)
        prev = cur
    return w, h, bpp, rows


def main():
    w, h, bpp, rows = decode(sys.argv[1])
    nonwhite = dark = coloured = 0
    for r in rows:
        for x in range(0, w * bpp, bpp):
            R, G, B = r[x], r[x + 1], r[x + 2]
            if R < 245 or G < 245 or B < 245:
                nonwhite += 1
            if R < 100 and G < 100 and B < 100:
                dark += 1
            if max(R, G, B) - min(R, G, B) > 60:
                coloured += 1
    print(w, h, nonwhite, dark, coloured)


if __name__ == '__main__':
    main()
