"""The numpy+zlib PNG writer: valid per the PNG spec (chunks, CRCs, scanlines), atomic."""
import os
import struct
import zlib

import numpy as np
import pytest

from fastdgm._png import encode_png, text_image, tile_images, write_png


def decode_png(data: bytes):
    """Minimal independent PNG reader (8-bit grey/RGB, filter 0): checks every CRC."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, chunks = 8, []
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        kind = data[pos + 4:pos + 8]
        body = data[pos + 8:pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length:pos + 12 + length])
        assert crc == zlib.crc32(kind + body) & 0xFFFFFFFF, kind
        chunks.append((kind, body))
        pos += 12 + length
    assert pos == len(data)
    assert chunks[0][0] == b"IHDR" and chunks[-1] == (b"IEND", b"")
    w, h, depth, colour, comp, filt, interlace = struct.unpack(">IIBBBBB", chunks[0][1])
    assert (depth, comp, filt, interlace) == (8, 0, 0, 0)
    channels = {0: 1, 2: 3}[colour]
    raw = zlib.decompress(b"".join(b for k, b in chunks if k == b"IDAT"))
    rows = np.frombuffer(raw, dtype=np.uint8).reshape(h, 1 + w * channels)
    assert (rows[:, 0] == 0).all()
    img = rows[:, 1:].reshape(h, w, channels)
    return img[:, :, 0] if channels == 1 else img


@pytest.mark.parametrize("shape", [(1, 1), (7, 13), (40, 3), (5, 6, 3)])
def test_roundtrip(shape):
    img = np.random.default_rng(0).integers(0, 256, size=shape, dtype=np.uint8)
    out = decode_png(encode_png(img))
    assert out.shape == img.shape
    np.testing.assert_array_equal(out, img)


def test_write_png_atomic_and_readable(tmp_path):
    img = np.arange(60, dtype=np.uint8).reshape(6, 10) * 4
    path = write_png(tmp_path / "a.png", img)
    assert path == str(tmp_path / "a.png")
    np.testing.assert_array_equal(decode_png(open(path, "rb").read()), img)
    assert sorted(os.listdir(tmp_path)) == ["a.png"]      # no temporary left behind
    try:
        import matplotlib.image as mpimg
    except ImportError:
        return
    back = mpimg.imread(path)                           # floats in [0, 1]
    np.testing.assert_array_equal(np.round(back * 255).astype(np.uint8), img)


def test_bad_images(tmp_path):
    with pytest.raises(ValueError, match="shape"):
        encode_png(np.zeros((2, 2, 2), np.uint8))
    with pytest.raises(ValueError, match="uint8"):
        encode_png(np.full((2, 2), 300))
    with pytest.raises(ValueError, match="empty"):
        encode_png(np.zeros((0, 3), np.uint8))
    with pytest.raises(ValueError):
        write_png(tmp_path / "b.png", np.zeros((2, 2, 2), np.uint8))
    assert os.listdir(tmp_path) == []


def test_tile_images():
    imgs = np.arange(5 * 2 * 3).reshape(5, 2, 3).astype(np.uint8) + 1
    grid = tile_images(imgs, n_cols=2, pad=1, fill=0)
    assert grid.shape == (3 * 3 + 1, 2 * 4 + 1)
    np.testing.assert_array_equal(grid[1:3, 1:4], imgs[0])
    np.testing.assert_array_equal(grid[1:3, 5:8], imgs[1])
    np.testing.assert_array_equal(grid[7:9, 1:4], imgs[4])
    assert (grid[7:9, 5:8] == 0).all()                  # missing cell
    assert grid.sum() == imgs.astype(int).sum()          # padding is background only
    rgb = tile_images(np.zeros((3, 2, 2, 3), np.uint8), n_cols=3, pad=0)
    assert rgb.shape == (2, 6, 3)


def test_text_image():
    img = text_image("Ab1", scale=2)
    assert img.shape == (10, (3 * 4 - 1) * 2) and set(np.unique(img)) == {0, 1}
    a = text_image("A", scale=1)
    np.testing.assert_array_equal(a, [[0, 1, 0], [1, 0, 1], [1, 1, 1], [1, 0, 1], [1, 0, 1]])
    assert text_image("?", scale=1).sum() == 0          # unknown characters are blank
