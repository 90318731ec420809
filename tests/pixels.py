"""Pixels of a screenshot, read with the standard library (Chromium's PNGs: 8-bit RGB or
RGBA, not interlaced), so that a test can say what colour a point of the page is."""

from __future__ import annotations

import struct
import zlib


class Image:
    def __init__(self, png: bytes):
        assert png[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
        pos, data = 8, b""
        while pos < len(png):
            (length,) = struct.unpack(">I", png[pos : pos + 4])
            kind, chunk = png[pos + 4 : pos + 8], png[pos + 8 : pos + 8 + length]
            if kind == b"IHDR":
                self.width, self.height, depth, colour, _c, _f, interlace = struct.unpack(
                    ">IIBBBBB", chunk
                )
                assert depth == 8 and colour in (2, 6) and interlace == 0, "unexpected PNG"
                self.channels = 4 if colour == 6 else 3
            elif kind == b"IDAT":
                data += chunk
            pos += 12 + length
        self.rows = self._unfilter(zlib.decompress(data))

    def _unfilter(self, raw: bytes) -> list[bytearray]:
        n, stride = self.channels, self.width * self.channels
        rows, previous = [], bytearray(stride)
        for y in range(self.height):
            start = y * (stride + 1)
            kind, line = raw[start], bytearray(raw[start + 1 : start + 1 + stride])
            for i in range(stride):
                left = line[i - n] if i >= n else 0
                up = previous[i]
                corner = previous[i - n] if i >= n else 0
                if kind == 1:
                    line[i] = (line[i] + left) & 255
                elif kind == 2:
                    line[i] = (line[i] + up) & 255
                elif kind == 3:
                    line[i] = (line[i] + (left + up) // 2) & 255
                elif kind == 4:
                    p = left + up - corner
                    pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
                    guess = left if pa <= pb and pa <= pc else up if pb <= pc else corner
                    line[i] = (line[i] + guess) & 255
            rows.append(line)
            previous = line
        return rows

    def pixel(self, x: int, y: int) -> tuple[int, ...]:
        """(r, g, b, a) at a point; a is 255 for a PNG without alpha."""
        i = x * self.channels
        values = tuple(self.rows[y][i : i + self.channels])
        return values if self.channels == 4 else (*values, 255)
