"""Write PNG images with numpy and zlib only (no plotting library needed).

A PNG file is the 8-byte signature followed by chunks ``length | type | data | crc32``:
IHDR (size, bit depth 8, colour type 0 = grey or 2 = RGB), one IDAT holding the
zlib-compressed scanlines (each prefixed by filter byte 0), and IEND (PNG spec, ISO/IEC
15948). :func:`write_png` writes through a temporary file and an atomic rename.
"""
from __future__ import annotations

import os
import struct
import zlib

import numpy as np

from ._atomic import atomic_output

__all__ = ["encode_png", "write_png", "tile_images", "text_image"]

_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _chunk(kind: bytes, data: bytes) -> bytes:
    crc = zlib.crc32(kind + data) & 0xFFFFFFFF
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)


def encode_png(image) -> bytes:
    """The bytes of a PNG file holding ``image``.

    Parameters
    ----------
    image : array_like, uint8, shape (H, W) (grey) or (H, W, 3) (RGB)
        Pixel values; other integer dtypes are accepted if within [0, 255].

    Returns
    -------
    bytes
    """
    img = np.asarray(image)
    if img.ndim == 2:
        colour = 0
    elif img.ndim == 3 and img.shape[2] == 3:
        colour = 2
    else:
        raise ValueError(f"image must have shape (H, W) or (H, W, 3), got {img.shape}")
    if img.shape[0] < 1 or img.shape[1] < 1:
        raise ValueError(f"image must not be empty, got shape {img.shape}")
    if img.dtype != np.uint8:
        if img.dtype.kind not in "iub" or (img.size and (img.min() < 0 or img.max() > 255)):
            raise ValueError(f"image must hold uint8 values in [0, 255], got dtype {img.dtype}")
        img = img.astype(np.uint8)
    h, w = img.shape[:2]
    rows = np.ascontiguousarray(img).reshape(h, -1)
    raw = np.empty((h, rows.shape[1] + 1), dtype=np.uint8)
    raw[:, 0] = 0  # filter type "None" on every scanline
    raw[:, 1:] = rows
    header = struct.pack(">IIBBBBB", w, h, 8, colour, 0, 0, 0)
    return (_SIGNATURE + _chunk(b"IHDR", header) + _chunk(b"IDAT", zlib.compress(raw.tobytes(), 9))
            + _chunk(b"IEND", b""))


def write_png(path, image) -> str:
    """Write ``image`` as a PNG file, whole or not at all.

    Parameters
    ----------
    path : str or os.PathLike
        Destination; written to a temporary file in the same directory, then renamed.
    image : array_like, uint8, shape (H, W) or (H, W, 3)

    Returns
    -------
    str
        The absolute path written.
    """
    data = encode_png(image)
    path = os.path.abspath(os.fspath(path))
    with atomic_output(path) as tmp, open(tmp, "wb") as f:
        f.write(data)
    return path


def tile_images(images, n_cols: int, *, pad: int = 1, fill: int = 0) -> np.ndarray:
    """Arrange equally sized images in a grid, row by row.

    Parameters
    ----------
    images : array_like, shape (n, h, w) or (n, h, w, 3)
        The images (any dtype); missing cells of the last row are filled with ``fill``.
    n_cols : int
        Images per row (>= 1).
    pad : int, default 1
        Pixels of ``fill`` between and around the images.
    fill : scalar
        Background value.

    Returns
    -------
    ndarray, dtype of ``images``, shape (rows*(h+pad)+pad, n_cols*(w+pad)+pad[, 3])
    """
    imgs = np.asarray(images)
    if imgs.ndim not in (3, 4) or imgs.shape[0] < 1:
        raise ValueError(f"images must have shape (n, h, w) or (n, h, w, 3), got {imgs.shape}")
    n, h, w = imgs.shape[:3]
    if n_cols < 1 or pad < 0:
        raise ValueError(f"n_cols must be >= 1 and pad >= 0, got {n_cols}, {pad}")
    n_rows = -(-n // n_cols)
    out = np.full((n_rows * (h + pad) + pad, n_cols * (w + pad) + pad) + imgs.shape[3:], fill,
                  dtype=imgs.dtype)
    for i in range(n):
        r, c = divmod(i, n_cols)
        y, x = pad + r * (h + pad), pad + c * (w + pad)
        out[y:y + h, x:x + w] = imgs[i]
    return out


# A 3x5 pixel font, enough to label image grids without a plotting library.
_FONT = {
    "A": "010101111101101", "B": "110101110101110", "C": "011100100100011", "D": "110101101101110",
    "E": "111100110100111", "F": "111100110100100", "G": "011100101101011", "H": "101101111101101",
    "I": "111010010010111", "K": "101101110101101", "L": "100100100100111", "M": "101111111101101",
    "N": "110101101101101", "O": "010101101101010", "P": "110101110100100", "R": "110101110101101",
    "S": "011100010001110", "T": "111010010010010", "U": "101101101101111", "V": "101101101101010",
    "W": "101101111111101", "X": "101101010101101", "Y": "101101010010010", "Z": "111001010100111",
    "0": "111101101101111", "1": "010110010010111", "2": "110001010100111", "3": "110001010001110",
    "4": "101101111001001", "5": "111100110001110", "6": "011100111101111", "7": "111001010010010",
    "8": "111101111101111", "9": "111101111001110", "-": "000000111000000", "=": "000111000111000",
    "(": "001010010010001", ")": "100010010010100", ".": "000000000000010", " ": "000000000000000",
}


def text_image(text: str, scale: int = 2) -> np.ndarray:
    """``text`` drawn in a 3x5 pixel font (upper case, digits, ``-=(). ``), ink 1 on 0.

    Parameters
    ----------
    text : str
        Characters outside the font are drawn as blanks.
    scale : int
        Pixel size of one font dot.

    Returns
    -------
    ndarray, uint8, shape (5*scale, (4*len(text) - 1)*scale), values 0 and 1
    """
    cols = []
    for k, ch in enumerate(text.upper()):
        glyph = np.array([int(b) for b in _FONT.get(ch, _FONT[" "])], dtype=np.uint8).reshape(5, 3)
        if k:
            cols.append(np.zeros((5, 1), np.uint8))
        cols.append(glyph)
    img = np.concatenate(cols, axis=1) if cols else np.zeros((5, 0), np.uint8)
    return img.repeat(scale, 0).repeat(scale, 1)
