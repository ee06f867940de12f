"""The twenty binary density-estimation benchmarks (Lowd & Davis 2010; Van Haaren & Davis 2012).

:func:`load_density_benchmark` reads the standard train/valid/test splits, in their usual
text format (one sample per line, comma-separated 0/1 values, optionally gzip-compressed),
from ``DATA_HOME/NAME/NAME.{train,valid,test}.data[.gz]``; with ``download=True`` missing
files are fetched from the public repository UCLA-StarAI/Density-Estimation-Datasets and
verified before they are written. :func:`list_density_benchmarks` and
:func:`density_benchmark_info` give the names and shapes.

Integrity: every file's git blob SHA-1 in that repository (commit 37d53c1) is recorded below,
and its SHA-256 for the 52 files that could be read when this module was written; the train
splits of msnbc, tretail, kosarek, book, tmovie, cwebkb, cr52 and ad have ``None`` there
(they are verified by their git blob id and by their shape). Every loaded split is checked
against the recorded shape. Cite the original papers when you report results.
"""
from __future__ import annotations

import gzip
import hashlib
import os
from dataclasses import dataclass
from typing import NoReturn

import numpy as np

from ._atomic import atomic_output

__all__ = ["load_density_benchmark", "list_density_benchmarks", "density_benchmark_info",
           "get_data_home", "parse_binary_rows", "DensityBenchmark", "DownloadError", "ChecksumError"]

SPLITS = ("train", "valid", "test")
DEFAULT_URL = ("https://raw.githubusercontent.com/UCLA-StarAI/Density-Estimation-Datasets/"
               "master/datasets")
_TIMEOUT = 60.0


@dataclass(frozen=True)
class DensityBenchmark:
    """Shape of one benchmark: ``d`` binary variables, rows of each split, first paper."""

    name: str
    title: str
    d: int
    n_train: int
    n_valid: int
    n_test: int
    introduced_in: str

    def n(self, split: str) -> int:
        """Number of rows of ``split`` ('train', 'valid' or 'test')."""
        return getattr(self, "n_" + split)


_LD, _VH = "Lowd & Davis, ICDM 2010", "Van Haaren & Davis, AAAI 2012"
_TABLE = [DensityBenchmark(*row) for row in [
    ("nltcs", "NLTCS", 16, 16181, 2157, 3236, _LD),
    ("msnbc", "MSNBC", 17, 291326, 38843, 58265, _LD),
    ("kdd", "KDDCup2k", 64, 180092, 19907, 34955, _LD),   # the repository README says 65
    ("plants", "Plants", 69, 17412, 2321, 3482, _LD),
    ("baudio", "Audio", 100, 15000, 2000, 3000, _LD),
    ("jester", "Jester", 100, 9000, 1000, 4116, _LD),
    ("bnetflix", "Netflix", 100, 15000, 2000, 3000, _LD),
    ("accidents", "Accidents", 111, 12758, 1700, 2551, _VH),
    ("tretail", "Retail", 135, 22041, 2938, 4408, _VH),
    ("pumsb_star", "Pumsb-star", 163, 12262, 1635, 2452, _VH),
    ("dna", "DNA", 180, 1600, 400, 1186, _VH),
    ("kosarek", "Kosarek", 190, 33375, 4450, 6675, _VH),
    ("msweb", "MSWeb", 294, 29441, 3270, 5000, _LD),
    ("book", "Book", 500, 8700, 1159, 1739, _LD),
    ("tmovie", "EachMovie", 500, 4525, 1002, 591, _LD),
    ("cwebkb", "WebKB", 839, 2803, 558, 838, _LD),
    ("cr52", "Reuters-52", 889, 6532, 1028, 1540, _LD),
    ("c20ng", "20 Newsgroups", 910, 11293, 3764, 3764, _LD),
    ("bbc", "BBC", 1058, 1670, 225, 330, _VH),
    ("ad", "Ad", 1556, 2461, 327, 491, _VH),
]]
_INFO = {b.name: b for b in _TABLE}

# "name.split": (SHA-256 of the file or None, git blob SHA-1 of the file in the repository)
_CHECKSUMS = {k: (a if a != "-" else None, b) for k, a, b in (line.split() for line in """
nltcs.train e547a7aedad1dd2f7177030881ab1b92c7e24ae5464c71a0f1f89daecaf52b30 8c47cc2d814ec699f6d509d4a77dd10ffa2f8a33
nltcs.valid 93bbbf5c6febdc9bc6e5b5bfab636f4dc0685ab2896d24b23dd267794c3bfcf6 717b851a5d543747dd0e7eab65af54b01ecb52ff
nltcs.test f9ffa6b74b27dc03bee3203d157ee31079e80b13be40d0c0093d635c25aed523 127d1f67947bf06d872b2a6c5178374727df8233
msnbc.train - db2f5c53ef25794a0f14180d388538a62cfec39e
msnbc.valid b937466c3e09b956b271438b2ff45ca4dc8b91890c9de6d02e486b0e22bf4e27 c1feb3683cd12e8c589adb71c34639c9af562b36
msnbc.test 60ff71cc017cfde0bd84f0cd383ccd29065f5c06a64404b77d28c4b26aa1aca5 49fd68acfdb4772356bcba14a6e0a2470d641d7a
kdd.train 8d26e8e5baf164df3315bf33861e53052457200a9a57834eae027d84c6e28c12 09af7e69c90a2e3bcff23f794ecb141f189c4671
kdd.valid 582aae9cf84785758869328d44295428395c53e5a091855ca0bf141a53c70765 177900b0f28fc85c9fabe1369223af846ab36887
kdd.test 5cc76212353d13ffc98574c29c14b4b7b7363081acc3a76214e5ff2a5baa79b2 087a5804bac832459e4221b0e8663039d1b5ee69
plants.train 1fb1219ff94068d12a563f9e81f8889a1885f41e867884cff608669300c6848f 3e6263dd8dc8ea93d37db22b05334b0a9b862f29
plants.valid 47834ed318b2d74f48e4b083226ef47fd446d41986012ceae19d230574821b34 1a4fe9824e52a573ff7386786caf765f804cdf19
plants.test 95f53c033cd1d86467aec2610dc5bfe014534206c2da4919f73bcab246ab8755 e1e04c157a53499fc94c67279cc98963ab38c156
baudio.train b1ec73f4aa9d4ce48b465ded865cc3d22b3f68cf6258f9e15fbef8902138add1 53b36fd25aab0415e83d7d0b68979404b11a0eb0
baudio.valid 7164d8a4943f74953f0e982002d84693fdf483e17f69e7407dc939c5ce5622fe 049656e05dec8a816429a2fb250b5ed1f7168eae
baudio.test 1474f3206f1f35e099803a0f40b0cd209bdc8d787825095ef6cb23fd87ed0d05 3e07f701215c85bd4368828074567218c8e1ab9b
jester.train dd93578c3359d5b234bb278bf0901c5215d83b910f7d51d7c91951a0a4c244cd bfb2d367627f73eccea33606e8f0633970d7a59a
jester.valid 91df833941e189265345898d3f63211560c2456df599f34beee8e95381ee7524 48e7a863427503785fe8509c7261cb821cee6c68
jester.test 346044fb561cf18f284f7e9d5896178b03048991b6ebb6f7482885fccbc16082 cb8e29d787084cf9d511355fbc9ac747ca2860ec
bnetflix.train 73c87cf0635ec734cc0726a5c644b904ff33e81ea51f1049db0e77b787ebad7c 606d88a4cde4259f0f88f803c8f19a6452ee6137
bnetflix.valid 7f0a3e597c6f305f707f9ecd2b2aa523c576cdb17fdc5d902fc832ebea5163de 404b00dcc9a8907cd50b3872d5944a5bc5870a65
bnetflix.test af73990782fd2f146d96059855c4f3bbb6a7a7caefc417ff620a3ed1415a2395 f6cacdc6cf931a2b5ab6ac95179645fe4cb9380c
accidents.train a76648cf00772c275b4277b21d858e235e3c6d3c5ef30beeb4958189b6bed21c cefacb1816aec82768b2786006b3999d008def9f
accidents.valid fd3a80a0f411f157cf3772a057d26980bb166cb89b10cafb818a53f1ec30d46d e7ac288dfa26a82b3dcf75ebe0812be98672d459
accidents.test df3f1b6c035bf3e306a7d7127320e479d2546ce14a5d6d3043e6be0925b8b414 25ff1e5d35f133d0f28f1b511c62b58761e9ca68
tretail.train - 52c82ac6a4c9c9a301bcc461335aac0f14c6d682
tretail.valid 69024b394252f491a518ca93e164029fdae7d8c8eae7105739e8ab517b62e418 82682d4997829b5d991e56770fd6a6f447553d8b
tretail.test 474ffe4b10b213c0539a95d070955c35f042eb80d5a6198f7fca849cae28b378 c785a1a267b5708123abd24bbd9792be2a4ba7e1
pumsb_star.train 27e610b5f9f507f94ebf8a227f8b96cc59d7eed51e06ee5d2fe8353afbc1524c eca57d4a6cdc40abab4114af140729006633de75
pumsb_star.valid 6a491d1ea64eb0249dddd168fdddeef88aa21001a933eb7309603b6466187af8 91be6ddbef7e241f9cefcb1ae3e3ffabf3044b07
pumsb_star.test b2da195314ac17f9d8d171743c5f98a28ea9583332a52d34aa228ff2e11aa8e7 4fef8f225876bd9aa1c97386af884d5e4505350b
dna.train bb8de0ca4b6ad9b610036b7a302962ebecd4b504354b14c02c7d0bee48d207d9 b729aff6209c07a4c60cb8d6393417af56fb244e
dna.valid 4b0fc89cda5eaf5c75926e281afb6af99de194a546070d5b81b524ba251f4f3f 15ffc8398c8ff51f9b7967446a925470a7e34734
dna.test fec3ae7b26804020a9c43c99828441c5e08bb76b23719368a74ad2b09af99100 351fb8695ffb6ad5fd68dbed4748afd2e84bce54
kosarek.train - cc9c549b93a3636961debfa59f0dc84df93d4c53
kosarek.valid 5a4a5edc60b9c30a76b44fdc2978e976fec49c1544e850fe72a73ee60f760aa4 a375a72b21c7bb919bce47da1b0537d3d146a186
kosarek.test c54cb99ae56399e26005daba5d56d92d215f73fbb46ce75b9a919690b2990225 03b9a4b9629ec560d5a95dfb711a468d3d497fef
msweb.train dc70b036c0af1822f39e12d4bfdb9a67dcfa23da40fbae4dbd7f83becf0b7a5b 939c8391c77e4764c74553b011ba7ced924337de
msweb.valid a317cd9261dfa29982f0b8663943292773f6c31220d06071e9165c7c9eca13f5 75598aae35655b504670a3b65c311ec0a8f1a9e9
msweb.test a4f071037f0734618695bc8428e8d8ffefc03e52ff97f37e17c928fc964819ff b7c6804dd2ceba1fbff3308516f4748f5d989698
book.train - 7d0e649e4a8952c5454faa29db786d820865ca18
book.valid a111d7a024f88b062c60431306ad521dec64ec6cc2a2bca10503da647d1f0aaf e5a98a673dd4ed0f17fd4bec975a49ca122174b4
book.test 94e7ec33fe7a84b4a92f248d8f0c0e35143f3cd56f5a609f4311c38218e420b9 90460f56e012e5225467a7459e8e0ba1d34d2679
tmovie.train - 7a356abaa5203208127ec5972cf3792bd8d225b3
tmovie.valid 5162bf6ba0cd3d94d5107a48f7a3be4c6f0ca2cc99ef9a2273fa5bb1787cf257 6920f039750d26f81132dc4a3a3c83b0f2eba8bb
tmovie.test 805e27d91fb2bff00d0183a3e941721bf93050efdd45b77ffd79d4bb906168d6 6b610f57b64eb51c4886bc7e29900d4d0bd45870
cwebkb.train - 569179f63ac2795dc1b65ab59165c58abedc49c7
cwebkb.valid 1ab1f1abe7b20a4d78009eaaf64a78f5798a82a7823b8b3368abca4c16398a9e 38539a369cbf1edcf4be0948c5977e7174a045fd
cwebkb.test d84dddffec11d4dc80f90afa3160fe8d54311de8a368383708123087f39f8ac4 98f636014c6a37f58243f71684548445df04d787
cr52.train - 5a132a4c54dc99a9966d9cf00fea63da5d88fa3d
cr52.valid 9dbb0c6537b4ba3ee5316425dadf4b9e29c36b74e4ccfef28728f2d33a5c0e96 b35d4b1ab487e32843212bac3abf1a0fcd444a28
cr52.test 758a2ec314962c902dcc57562b92d98317b1f662b8eb1e529a0aa3b67a20c5d4 4f63c683574db34184e89e8a9b850454a835c5fc
c20ng.train 918fef27a3a6d382f1af3713a81a8465c63d56339a26e183d22b682b18ef8dd3 b5d2937144d0d1340f14c53c807b83f79be21bbd
c20ng.valid be357eab542b402197548801af1511e51f6435f29c069f39e09ca5763db03bef 02fd664e4bbba182a6bf769e25ba7c238307da70
c20ng.test 534d7675128740ea820e9ce2be84ed0f52e670b8224ce9c83a4a22492e60ec8c c767f717205a4fe334815161a07e74a107ca9f2c
bbc.train a6f0ba467ebf502ba3b37caa1f20e43ff82664dcd580be92010106cf80fb0db1 1109ad0cb67d2f1e6fd964a1efe6827b1145d1dc
bbc.valid f6a37bd58cdb6745725628be19dfd3b9b795082faa8ca771b8f27dbf4a5ff46d ac5335071ced6f53a9990c79e5b397d973c00c07
bbc.test 7116fce92a1f3d610cee673a974c8c9895957ee07ce6f086b431ee296aa7734a 5782a91c6fe31e6989780651145a25cfda052214
ad.train - b9dfaba77f2cea10c30a2c3c3d6c80f84d811334
ad.valid 409f039d6d4c859b5b00a45407560cf634321556390e39d9cd481f4cb69401d4 28dfd43ad1234f7b62ad4a560bd918327a6e39bf
ad.test 230c3d09c21b36144185c04cb89d3b21090670561778f766721165bb7d9cca97 1a6ecad267097c75cfb9d9b9d36281bcb0c2a162
""".split("\n") if line)}


class DownloadError(OSError):
    """A benchmark file could not be fetched (network or HTTP error), or failed its checksum."""


class ChecksumError(DownloadError):
    """A fetched file does not match its recorded checksum; nothing was written."""


def list_density_benchmarks() -> list[str]:
    """Names of the twenty standard binary benchmarks, in increasing number of variables.

    Returns
    -------
    names : list of str
        Folder names of the public repository (``'nltcs'``, ``'msnbc'``, ..., ``'ad'``).
    """
    return [b.name for b in _TABLE]


def density_benchmark_info(name: str) -> DensityBenchmark:
    """Shape and origin of one benchmark (``name`` case-insensitive).

    Returns
    -------
    info : DensityBenchmark
        ``d`` variables, ``n_train``/``n_valid``/``n_test`` rows, title, first paper.

    Raises
    ------
    ValueError
        If ``name`` is not one of :func:`list_density_benchmarks`.
    """
    if not isinstance(name, str):
        raise TypeError(f"name must be a str, got {type(name).__name__}")
    info = _INFO.get(name.strip().lower())
    if info is None:
        raise ValueError(f"unknown density benchmark {name!r}; valid names: "
                         + ", ".join(list_density_benchmarks()))
    return info


def get_data_home(data_home: str | os.PathLike | None = None) -> str:
    """The folder that holds ``NAME/NAME.SPLIT.data[.gz]``.

    ``data_home`` if given, else the ``FASTDGM_DATA`` environment variable, else a per-user
    folder: ``%LOCALAPPDATA%\\fastdgm`` on Windows, ``$XDG_DATA_HOME/fastdgm`` or
    ``~/.local/share/fastdgm`` elsewhere.
    """
    if data_home is None:
        data_home = os.environ.get("FASTDGM_DATA") or None
    if data_home is None:
        home = os.path.expanduser("~")
        if os.name == "nt":
            base = os.environ.get("LOCALAPPDATA") or os.path.join(home, "AppData", "Local")
        else:
            base = os.environ.get("XDG_DATA_HOME") or os.path.join(home, ".local", "share")
        data_home = os.path.join(base, "fastdgm")
    if not isinstance(data_home, (str, os.PathLike)):
        raise TypeError(f"data_home must be a str or path, got {type(data_home).__name__}")
    return os.path.abspath(os.path.expanduser(os.fspath(data_home)))


def parse_binary_rows(raw: bytes, source: str = "<bytes>") -> np.ndarray:
    """Parse comma-separated 0/1 rows (one sample per line) into a uint8 array.

    Vectorised: every row of ``d`` values is exactly ``2 d`` bytes (``v,v,...,v\\n``), so each
    value and its separator are read as one 16-bit integer and checked in a few numpy passes.
    ``\\r\\n`` line ends, a missing final newline and gzip-compressed input are accepted.

    Returns
    -------
    X : ndarray, uint8, shape (n, d), C-contiguous, values 0/1.

    Raises
    ------
    ValueError
        Naming ``source`` and the first bad line: empty input, a row of another width than
        the first, or a character other than 0/1 separated by commas.
    """
    if not isinstance(raw, (bytes, bytearray)):
        raise TypeError(f"raw must be bytes, got {type(raw).__name__}")
    raw = bytes(raw)                                    # no copy for bytes
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    if b"\r" in raw:
        raw = raw.replace(b"\r\n", b"\n")
    if not raw.endswith(b"\n") or raw.endswith(b"\n\n"):
        raw = raw.rstrip(b"\n") + b"\n"
    if raw == b"\n":
        raise ValueError(f"{source}: no data (empty file)")
    d = raw[:raw.index(b"\n")].count(b",") + 1          # "v,v,...,v": 2 d bytes with its newline
    w = 2 * d
    buf = np.frombuffer(raw, dtype=np.uint8)
    if buf.size % w == 0:
        # each value and the byte after it, read as one little-endian uint16: '0,' / '1,' are
        # 48 + 256 * 44 + {0, 1}, and '0\n' / '1\n' at the end of a row 48 + 256 * 10 + {0, 1}
        pairs = buf.view("<u2") - np.uint16(48 + 256 * 44)
        pairs[d - 1::d] += np.uint16(256 * (44 - 10))    # now 0/1 everywhere iff well-formed
        if pairs.max() <= 1:
            return pairs.astype(np.uint8).reshape(-1, d)
    _raise_first_bad_line(raw, buf, d, source)


def _raise_first_bad_line(raw: bytes, buf: np.ndarray, d: int, source: str) -> NoReturn:
    """Locate the first offending line (error path only) and raise a ValueError about it."""
    ends = np.flatnonzero(buf == 10)
    starts = np.concatenate(([0], ends[:-1] + 1))
    for i in np.flatnonzero(ends - starts != 2 * d - 1)[:1]:   # first row of another length
        line = raw[starts[i]:ends[i]]
        got = f"got {line.count(b',') + 1} fields in {len(line)} characters: {line[:60]!r}"
        if i == 0:
            raise ValueError(f"{source}, line 1: expected 0/1 values of one character each, "
                             f"separated by commas; {got}")
        raise ValueError(f"{source}, line {i + 1}: expected {d} comma-separated 0/1 values "
                         f"({2 * d - 1} characters) as on line 1; {got}")
    rows = buf.reshape(-1, 2 * d)
    sep = np.full(2 * d, 44, np.uint8)
    sep[-1] = 10
    bad = (rows - np.uint8(48) > 1)
    bad[:, 1::2] = rows[:, 1::2] != sep[1::2]
    i, j = np.argwhere(bad)[0]                          # exists: the fast check failed
    line = raw[starts[i]:ends[i]]
    raise ValueError(f"{source}, line {i + 1}, character {j + 1}: found {line[j:j + 1]!r}; "
                     f"only 0 and 1 separated by commas are allowed")


def _find(folder: str, name: str, split: str) -> str | None:
    for ext in (".data", ".data.gz"):
        path = os.path.join(folder, f"{name}.{split}{ext}")
        if os.path.isfile(path):
            return path
    return None


def _check_shape(X: np.ndarray, info: DensityBenchmark, split: str, source: str) -> None:
    expected = (info.n(split), info.d)
    if X.shape != expected:
        raise ValueError(f"{source}: shape {X.shape}, but the standard {info.name} {split} split has "
                         f"shape {expected}")


def _download(info: DensityBenchmark, split: str, folder: str, base_url: str) -> np.ndarray:
    """Fetch one split, verify checksums, shape and content, then write it atomically."""
    import http.client
    import urllib.error
    import urllib.request

    url = f"{base_url.rstrip('/')}/{info.name}/{info.name}.{split}.data"
    try:
        with urllib.request.urlopen(url, timeout=_TIMEOUT) as response:
            raw = response.read()
    except (OSError, ValueError, http.client.HTTPException) as exc:   # URLError, timeouts: OSError
        reason = (f"HTTP {exc.code} {exc.reason}" if isinstance(exc, urllib.error.HTTPError)
                  else getattr(exc, "reason", None) or exc)
        raise DownloadError(
            f"could not download {url} ({reason}). Without internet access, copy the files "
            f"{info.name}.{{train,valid,test}}.data (or .data.gz) of the public repository "
            f"UCLA-StarAI/Density-Estimation-Datasets into {folder} (data_home= or FASTDGM_DATA "
            f"sets the folder above it)") from exc
    sha256, git_sha1 = _CHECKSUMS.get(f"{info.name}.{split}", (None, None))
    blob = hashlib.sha1(b"blob %d\0" % len(raw))       # git's object id of the file
    blob.update(raw)
    got = {"SHA-256": (sha256, hashlib.sha256(raw).hexdigest()),
           "git blob SHA-1": (git_sha1, blob.hexdigest())}
    for kind, (want, have) in got.items():
        if want is not None and want != have:
            raise ChecksumError(f"{url}: {kind} {have} differs from the recorded {want}; "
                                f"the file was not saved (corrupted or changed upstream)")
    X = parse_binary_rows(raw, url)
    _check_shape(X, info, split, url)
    os.makedirs(folder, exist_ok=True)
    with atomic_output(os.path.join(folder, f"{info.name}.{split}.data")) as tmp:
        with open(tmp, "wb") as f:
            f.write(raw)
    return X


def load_density_benchmark(name: str, data_home: str | os.PathLike | None = None,
                           download: bool = False, *, base_url: str | None = None
                           ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Load the train, validation and test splits of one binary density benchmark.

    Parameters
    ----------
    name : str
        One of :func:`list_density_benchmarks` (case-insensitive), e.g. ``'nltcs'``.
    data_home : str or path, optional
        Folder holding ``NAME/NAME.{train,valid,test}.data`` or ``.data.gz``; default
        :func:`get_data_home` (``FASTDGM_DATA``, else a per-user data folder).
    download : bool, default False
        Fetch missing splits (``NAME.SPLIT.data`` under ``base_url``), verify them against the
        recorded checksums and shape, and store them under ``data_home/NAME/`` as downloaded.
    base_url : str, optional
        The folder URL holding ``NAME/NAME.SPLIT.data``; default the ``FASTDGM_DENSITY_URL``
        environment variable, else the ``datasets`` folder of UCLA-StarAI/Density-Estimation-Datasets.

    Returns
    -------
    train, valid, test : ndarray, uint8, shapes (n_train, d), (n_valid, d), (n_test, d)
        C-contiguous 0/1 arrays, one row per sample (shapes in :func:`density_benchmark_info`).

    Raises
    ------
    ValueError
        Unknown name, or a malformed file (naming the file and line), or a shape other than
        the standard split's.
    FileNotFoundError
        A split is missing and ``download`` is False.
    DownloadError
        The download failed (an ``OSError``); :class:`ChecksumError` when a fetched file
        does not match its checksum (nothing is written then).

    Examples
    --------
    >>> train, valid, test = load_density_benchmark("nltcs")      # doctest: +SKIP
    >>> train.shape, train.dtype                                   # doctest: +SKIP
    ((16181, 16), dtype('uint8'))
    """
    info = density_benchmark_info(name)
    if not isinstance(download, (bool, np.bool_)):
        raise TypeError(f"download must be a bool, got {type(download).__name__}")
    folder = os.path.join(get_data_home(data_home), info.name)
    if base_url is None:
        base_url = os.environ.get("FASTDGM_DENSITY_URL") or DEFAULT_URL
    if not isinstance(base_url, str):
        raise TypeError(f"base_url must be a str, got {type(base_url).__name__}")
    out = []
    for split in SPLITS:
        path = _find(folder, info.name, split)
        if path is not None:
            with open(path, "rb") as f:
                X = parse_binary_rows(f.read(), path)
            _check_shape(X, info, split, path)
        elif download:
            X = _download(info, split, folder, base_url)
        else:
            raise FileNotFoundError(
                f"density benchmark {info.name!r}: no {info.name}.{split}.data or "
                f"{info.name}.{split}.data.gz in {folder}. Pass download=True to fetch it from "
                f"{base_url}, or place the files there (data_home= or the FASTDGM_DATA "
                f"environment variable choose the folder above {info.name}/)")
        out.append(X)
    return out[0], out[1], out[2]
