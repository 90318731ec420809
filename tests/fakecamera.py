"""A video file for Chromium's fake camera showing a QR code made by the project."""

from __future__ import annotations

from pathlib import Path

import qrcode


def qr_y4m(text: str, path: Path, width: int = 640, height: int = 480, frames: int = 5) -> Path:
    """Write a Y4M (YUV 4:2:0) clip of a black-on-white QR code, centred."""
    qr = qrcode.QRCode(border=4, error_correction=qrcode.constants.ERROR_CORRECT_M)
    qr.add_data(text)
    matrix = qr.get_matrix()  # includes the quiet zone
    cell = min(width, height) * 3 // 4 // len(matrix)
    size = cell * len(matrix)
    left, top = (width - size) // 2, (height - size) // 2
    luma = bytearray(b"\xeb" * (width * height))  # white (235)
    for r, row in enumerate(matrix):
        for c, dark in enumerate(row):
            if dark:
                for y in range(top + r * cell, top + (r + 1) * cell):
                    start = y * width + left + c * cell
                    luma[start : start + cell] = b"\x10" * cell  # black (16)
    chroma = b"\x80" * ((width // 2) * (height // 2) * 2)
    with open(path, "wb") as f:
        f.write(f"YUV4MPEG2 W{width} H{height} F10:1 Ip A1:1 C420jpeg\n".encode())
        for _ in range(frames):
            f.write(b"FRAME\n" + bytes(luma) + chroma)
    return path
