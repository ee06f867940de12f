"""Density-benchmark loader: names, parsing, the six shared sets, download from a local server."""
import functools
import gzip
import hashlib
import http.server
import os
import socket
import threading

import numpy as np
import pytest

from fastdgm import density_data as dd
from fastdgm.density_data import (
    ChecksumError, DownloadError, density_benchmark_info, get_data_home, list_density_benchmarks,
    load_density_benchmark, parse_binary_rows,
)

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# the table of shared/data/density/README.md: d, train, valid, test
SHARED_TABLE = {
    "nltcs": (16, 16181, 2157, 3236), "plants": (69, 17412, 2321, 3482),
    "accidents": (111, 12758, 1700, 2551), "kdd": (64, 180092, 19907, 34955),
    "msweb": (294, 29441, 3270, 5000), "c20ng": (910, 11293, 3764, 3764),
}
SPLITS = ("train", "valid", "test")


def _shared_dir():
    """Folder with the six gzip sets: $FASTDGM_DATA if it holds them, else ../shared/data/density."""
    for cand in (os.environ.get("FASTDGM_DATA"), os.path.join(REPO, "..", "shared", "data", "density")):
        if cand and os.path.isfile(os.path.join(cand, "nltcs", "nltcs.train.data.gz")):
            return os.path.abspath(cand)
    return None


SHARED = _shared_dir()
needs_shared = pytest.mark.skipif(SHARED is None, reason="shared density data sets not available")


def _shared_bytes(name, split):
    with gzip.open(os.path.join(SHARED, name, f"{name}.{split}.data.gz")) as f:
        return f.read()


def _reference_parse(raw):
    """Slow twin: np.loadtxt of the text."""
    return np.loadtxt(raw.decode("ascii").splitlines(), delimiter=",", dtype=np.uint8, ndmin=2)


def _to_text(X):
    """The file format of a 0/1 array: comma-separated values, one row per line."""
    rows = np.full((X.shape[0], 2 * X.shape[1]), ord(","), np.uint8)
    rows[:, 0::2] = X + ord("0")
    rows[:, -1] = ord("\n")
    return rows.tobytes()


# ---------------------------------------------------------------------------------------
# names and metadata
# ---------------------------------------------------------------------------------------
def test_list_and_info():
    names = list_density_benchmarks()
    assert len(names) == len(set(names)) == 20
    assert set(names) == {"nltcs", "msnbc", "kdd", "plants", "baudio", "jester", "bnetflix", "accidents",
                          "tretail", "pumsb_star", "dna", "kosarek", "msweb", "book", "tmovie", "cwebkb",
                          "cr52", "c20ng", "bbc", "ad"}
    ds = [density_benchmark_info(n).d for n in names]
    assert ds == sorted(ds) and ds[0] == 16 and ds[-1] == 1556
    info = density_benchmark_info("  MSWeb ")
    assert (info.name, info.d, info.n_train, info.n_valid, info.n_test) == ("msweb", 294, 29441, 3270, 5000)
    assert info.n("valid") == 3270
    with pytest.raises(AttributeError):
        info.d = 3                                                   # frozen
    for name, (d, *ns) in SHARED_TABLE.items():
        i = density_benchmark_info(name.upper())
        assert (i.d, i.n_train, i.n_valid, i.n_test) == (d, *ns)
    with pytest.raises(ValueError, match="unknown density benchmark 'mnist'.*nltcs.*c20ng"):
        density_benchmark_info("mnist")
    with pytest.raises(TypeError, match="name"):
        density_benchmark_info(3)
    with pytest.raises(ValueError, match="valid names"):
        load_density_benchmark("nope")


def test_checksum_table_is_complete():
    keys = {f"{n}.{s}" for n in list_density_benchmarks() for s in SPLITS}
    assert set(dd._CHECKSUMS) == keys
    missing = sorted(k for k, (sha256, _) in dd._CHECKSUMS.items() if sha256 is None)
    assert missing == sorted(f"{n}.train" for n in
                             ("msnbc", "tretail", "kosarek", "book", "tmovie", "cwebkb", "cr52", "ad"))
    for sha256, sha1 in dd._CHECKSUMS.values():
        assert sha256 is None or (len(sha256) == 64 and int(sha256, 16) >= 0)
        assert len(sha1) == 40 and int(sha1, 16) >= 0


# ---------------------------------------------------------------------------------------
# parser
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("n, d", [(1, 1), (1, 7), (5, 1), (300, 3), (1000, 40)])
def test_parse_matches_loadtxt(n, d):
    X = (np.random.default_rng(n * 100 + d).random((n, d)) < 0.3).astype(np.uint8)
    text = "\n".join(",".join(map(str, row)) for row in X).encode()
    for raw in (text + b"\n", text, text.replace(b"\n", b"\r\n") + b"\r\n", gzip.compress(text + b"\n")):
        Y = parse_binary_rows(raw)
        assert Y.dtype == np.uint8 and Y.flags.c_contiguous and Y.shape == (n, d)
        np.testing.assert_array_equal(Y, X)
        np.testing.assert_array_equal(Y, _reference_parse(text))


@pytest.mark.parametrize("raw, message", [
    (b"", "f.data: no data"),
    (b"\n\n", "f.data: no data"),
    (b"0,1\n1,0,1\n", r"f.data, line 2: expected 2 comma-separated 0/1 values .*got 3 fields"),
    (b"0,1\n1,0\n1\n", r"f.data, line 3: expected 2 .*got 1 fields"),
    (b"0,1\n\n1,0\n", r"f.data, line 2: expected 2"),
    (b"0,1,\n1,0,\n", r"f.data, line 1: expected 0/1 values of one character"),
    (b"01\n10\n", r"f.data, line 1: expected 0/1 values of one character"),
    (b"0,1\n1,0\n1,2\n", r"f.data, line 3, character 3: found b'2'"),
    (b"0,1\n1;0\n", r"f.data, line 2, character 2: found b';'"),
    (b"0,1\n1, \n", r"f.data, line 2, character 3: found b' '"),
])
def test_parse_rejects_malformed(raw, message):
    with pytest.raises(ValueError, match=message):
        parse_binary_rows(raw, "f.data")


def _strict_twin(raw):
    """Slow pure-Python reader of the same format: the array, or None when malformed."""
    lines = raw.replace(b"\r\n", b"\n").rstrip(b"\n").split(b"\n")
    rows = [line.split(b",") for line in lines]
    if rows == [[b""]] or any(len(r) != len(rows[0]) for r in rows):
        return None
    if any(v not in (b"0", b"1") for r in rows for v in r):
        return None
    return np.array([[int(v) for v in r] for r in rows], dtype=np.uint8)


def test_parse_single_byte_corruptions_against_twin():
    """Every mutation of one byte is either parsed exactly as the strict twin reads it, or refused."""
    rng = np.random.default_rng(7)
    refused = 0
    for trial in range(400):
        n, d = rng.integers(1, 6), rng.integers(1, 6)
        X = (rng.random((n, d)) < 0.5).astype(np.uint8)
        raw = bytearray(_to_text(X))
        for _ in range(rng.integers(1, 3)):
            raw[rng.integers(len(raw))] = rng.choice(list(b"01,\n2 \r"))
        want = _strict_twin(bytes(raw))
        if want is None:
            with pytest.raises(ValueError, match="f.data"):
                parse_binary_rows(raw, "f.data")
            refused += 1
        else:
            np.testing.assert_array_equal(parse_binary_rows(raw, "f.data"), want)
    assert 50 < refused < 400                        # both branches exercised
    with pytest.raises(TypeError, match="raw"):
        parse_binary_rows("0,1\n")


# ---------------------------------------------------------------------------------------
# local files
# ---------------------------------------------------------------------------------------
@needs_shared
@pytest.mark.parametrize("name", sorted(SHARED_TABLE))
def test_shared_sets(name):
    d, *ns = SHARED_TABLE[name]
    sets = load_density_benchmark(name.upper(), data_home=SHARED)
    assert len(sets) == 3
    for X, n, split in zip(sets, ns, SPLITS):
        assert X.shape == (n, d) and X.dtype == np.uint8 and X.flags.c_contiguous
        assert X.max() == 1 and np.all(X <= 1)
        raw = _shared_bytes(name, split)
        assert hashlib.sha256(raw).hexdigest() == dd._CHECKSUMS[f"{name}.{split}"][0]
        if split == "test" or n * d < 3 * 10**6:                 # slow twin on the smaller splits
            np.testing.assert_array_equal(X, _reference_parse(raw))


def test_local_files_plain_gzip_and_errors(tmp_path):
    X = (np.random.default_rng(0).random((4525 + 1002 + 591, 500)) < 0.1).astype(np.uint8)
    parts = np.split(X, [4525, 4525 + 1002])
    folder = tmp_path / "tmovie"
    folder.mkdir()
    for part, split in zip(parts, SPLITS):
        text = _to_text(part)
        if split == "valid":
            (folder / f"tmovie.{split}.data.gz").write_bytes(gzip.compress(text))
        else:
            (folder / f"tmovie.{split}.data").write_bytes(text)
    out = load_density_benchmark("TMovie", data_home=str(tmp_path))
    for got, want in zip(out, parts):
        np.testing.assert_array_equal(got, want)
    # a split of the wrong size is refused, naming the file
    (folder / "tmovie.test.data").write_bytes(b"0,1\n" * 3)
    with pytest.raises(ValueError, match=r"tmovie.test.data: shape \(3, 2\).*\(591, 500\)"):
        load_density_benchmark("tmovie", data_home=tmp_path)
    (folder / "tmovie.test.data").write_bytes(b"0," * 499 + b"1\n" + b"0," * 499 + b"x\n")
    with pytest.raises(ValueError, match=r"tmovie.test.data, line 2, character 999: found b'x'"):
        load_density_benchmark("tmovie", data_home=tmp_path)
    # a missing split, without download: where it looked and how to get it
    (folder / "tmovie.test.data").unlink()
    with pytest.raises(FileNotFoundError, match=r"tmovie\.test\.data.*" + str(folder) + ".*download=True"):
        load_density_benchmark("tmovie", data_home=tmp_path)
    with pytest.raises(TypeError, match="download"):
        load_density_benchmark("tmovie", data_home=tmp_path, download="yes")
    with pytest.raises(TypeError, match="data_home"):
        load_density_benchmark("tmovie", data_home=3)


def test_data_home(monkeypatch, tmp_path):
    for var in ("FASTDGM_DATA", "XDG_DATA_HOME", "LOCALAPPDATA"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert get_data_home() == os.path.join(str(tmp_path), ".local", "share", "fastdgm")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert get_data_home() == str(tmp_path / "xdg" / "fastdgm")
    monkeypatch.setenv("FASTDGM_DATA", str(tmp_path / "env"))
    assert get_data_home() == str(tmp_path / "env")
    assert get_data_home(tmp_path / "arg") == str(tmp_path / "arg")
    assert get_data_home("~/x") == os.path.join(str(tmp_path), "x")
    monkeypatch.delenv("FASTDGM_DATA")
    monkeypatch.setattr(dd.os, "name", "nt")
    monkeypatch.setenv("LOCALAPPDATA", str(tmp_path / "local"))
    assert get_data_home() == str(tmp_path / "local" / "fastdgm")


# ---------------------------------------------------------------------------------------
# download from a server on 127.0.0.1
# ---------------------------------------------------------------------------------------
class _Handler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):                                   # quiet; count requests instead
        self.server.requests.append(self.path)


@pytest.fixture
def server(tmp_path, monkeypatch):
    """(root folder served, base URL of its datasets/ folder, list of requested paths)."""
    for var in ("http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    root = tmp_path / "www"
    (root / "datasets").mkdir(parents=True)
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                            functools.partial(_Handler, directory=str(root)))
    httpd.requests = []
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield root, f"http://127.0.0.1:{httpd.server_address[1]}/datasets", httpd.requests
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()


def _serve(root, name, splits=SPLITS, edit=None):
    folder = root / "datasets" / name
    folder.mkdir(parents=True, exist_ok=True)
    for split in splits:
        raw = _shared_bytes(name, split)
        (folder / f"{name}.{split}.data").write_bytes(edit(raw) if edit else raw)


def _left(folder):
    return sorted(os.listdir(folder)) if os.path.isdir(folder) else []


@needs_shared
def test_download_success(server, tmp_path, monkeypatch):
    root, base, requests = server
    _serve(root, "nltcs")
    home = tmp_path / "home"
    got = load_density_benchmark("nltcs", data_home=home, download=True, base_url=base)
    want = load_density_benchmark("nltcs", data_home=SHARED)
    for g, w, split in zip(got, want, SPLITS):
        np.testing.assert_array_equal(g, w)
        assert g.dtype == np.uint8 and g.flags.c_contiguous
        assert (home / "nltcs" / f"nltcs.{split}.data").read_bytes() == _shared_bytes("nltcs", split)
    assert len(requests) == 3
    assert _left(home / "nltcs") == ["nltcs.test.data", "nltcs.train.data", "nltcs.valid.data"]
    # present files are not fetched again; a missing one is, through FASTDGM_DENSITY_URL
    for g, w in zip(load_density_benchmark("nltcs", data_home=home), want):
        np.testing.assert_array_equal(g, w)
    (home / "nltcs" / "nltcs.valid.data").unlink()
    monkeypatch.setenv("FASTDGM_DENSITY_URL", base + "/")
    load_density_benchmark("nltcs", data_home=home, download=True)
    assert requests[3:] == ["/datasets/nltcs/nltcs.valid.data"]


@needs_shared
def test_download_checksum_mismatch_leaves_nothing(server, tmp_path):
    root, base, _ = server
    flip = lambda raw: raw[:6] + (b"1" if raw[6:7] == b"0" else b"0") + raw[7:]  # still well-formed
    _serve(root, "nltcs", edit=flip)
    home = tmp_path / "home"
    with pytest.raises(ChecksumError, match=r"nltcs.train.data: SHA-256 [0-9a-f]{64} differs") as e:
        load_density_benchmark("nltcs", data_home=home, download=True, base_url=base)
    assert isinstance(e.value, OSError) and _left(home / "nltcs") == []
    # with no SHA-256 recorded (the eight unreadable train splits), the git blob id still catches it
    dd_sums = dict(dd._CHECKSUMS)
    dd_sums["nltcs.train"] = (None, dd_sums["nltcs.train"][1])
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(dd, "_CHECKSUMS", dd_sums)
        with pytest.raises(ChecksumError, match="git blob SHA-1"):
            load_density_benchmark("nltcs", data_home=home, download=True, base_url=base)
    assert _left(home / "nltcs") == []


@needs_shared
def test_download_without_checksums_checks_format_and_shape(server, tmp_path, monkeypatch):
    root, base, _ = server
    monkeypatch.setattr(dd, "_CHECKSUMS", {})
    home = tmp_path / "home"
    _serve(root, "nltcs", edit=lambda raw: raw.replace(b"1,", b"2,", 1))           # malformed
    raw = _shared_bytes("nltcs", "train")
    at = raw.index(b"1,")
    line, char = raw[:at].count(b"\n") + 1, at - raw.rfind(b"\n", 0, at)
    with pytest.raises(ValueError, match=rf"127\.0\.0\.1.*/nltcs.train.data, line {line}, "
                                         rf"character {char}: found b'2'"):
        load_density_benchmark("nltcs", data_home=home, download=True, base_url=base)
    assert _left(home / "nltcs") == []
    _serve(root, "nltcs", edit=lambda raw: raw[:raw.index(b"\n") + 1] * 3)          # wrong shape
    with pytest.raises(ValueError, match=r"shape \(3, 16\).*\(16181, 16\)"):
        load_density_benchmark("nltcs", data_home=home, download=True, base_url=base)
    assert _left(home / "nltcs") == []


def test_download_server_down(tmp_path):
    with socket.socket() as s:                                     # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    base = f"http://127.0.0.1:{port}/datasets"
    home = tmp_path / "home"
    with pytest.raises(DownloadError, match=rf"could not download {base}/dna/dna.train.data .*"
                                            rf"Without internet access.*{home / 'dna'}") as e:
        load_density_benchmark("dna", data_home=home, download=True, base_url=base)
    assert isinstance(e.value, OSError) and not isinstance(e.value, ChecksumError)
    assert _left(home / "dna") == []


def test_download_not_found(server, tmp_path):
    _, base, _ = server
    with pytest.raises(DownloadError, match=r"dna/dna.train.data \(HTTP 404 "):
        load_density_benchmark("dna", data_home=tmp_path, download=True, base_url=base)
    assert _left(tmp_path / "dna") == []
