"""`deepthin-data fetch fsdd [--dest DIR]`: get FSDD's recordings from its public repository, verified.

FSDD (the Free Spoken Digit Dataset, Z. Jackson et al., CC BY-SA 4.0) lives in a GitHub repository,
not on a data server. The download is the source archive of release v1.0.10 by its commit (an
archive of a commit cannot change, a tag's can); its `recordings/` (3,000 WAV files, 8 kHz mono,
identical to the repository's tree at 26eb9aa, the newest commit) is unpacked under `--dest` and every
file is checked against the SHA-256 manifest shipped with this package (`fsdd_sha256.txt`, in
`sha256sum` format), so a changed, truncated or incomplete copy is an error, never a silently different
data set. A verified copy is not fetched again.

Errors (no network, a bad archive, a missing or mismatching recording) end in one line naming the URL or
the file, exit status 2. `--url` fetches the same archive from elsewhere (a mirror, or a local copy as
`file:///path/archive.tar.gz`, which the tests use: they never touch the network).
"""

from __future__ import annotations

import hashlib
import shutil
import tarfile
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path

from deepthin.validation import OneLineParser

from .base import default_cache_dir

FSDD_RELEASE = "v1.0.10"
FSDD_COMMIT = "d6938f9bf1545aa66d8489fc9f1385a7abd64282"
FSDD_URL = f"https://github.com/Jakobovski/free-spoken-digit-dataset/archive/{FSDD_COMMIT}.tar.gz"
MANIFEST = Path(__file__).with_name("fsdd_sha256.txt")
DATASETS = ("fsdd",)


class FetchError(ValueError):
    """A download, archive or checksum problem; the message is one line naming the URL or file."""


def read_manifest(path: Path | None = None) -> dict[str, str]:
    """``{file name: sha256}`` of a ``sha256sum``-format manifest (default: the shipped one)."""
    text = (path or MANIFEST).read_text()
    pairs = (line.split() for line in text.splitlines() if line.strip())
    return {name: digest for digest, name in pairs}


def verify(recordings: Path, manifest: dict[str, str]) -> None:
    """Raise naming the first file of ``manifest`` that is missing or differs under ``recordings``."""
    for name, digest in sorted(manifest.items()):
        path = recordings / name
        if not path.is_file():
            raise FetchError(f"{path}: missing (FSDD {FSDD_RELEASE} has it)")
        got = hashlib.sha256(path.read_bytes()).hexdigest()
        if got != digest:
            raise FetchError(f"{path}: SHA-256 {got[:16]}... does not match the manifest's {digest[:16]}...")


def _download(url: str, target: Path) -> None:
    partial = target.with_name(target.name + ".partial")
    try:
        with urllib.request.urlopen(url, timeout=60) as response, partial.open("wb") as out:
            shutil.copyfileobj(response, out)
    except (urllib.error.URLError, OSError) as e:
        partial.unlink(missing_ok=True)
        reason = getattr(e, "reason", None) or str(e).splitlines()[0]
        raise FetchError(f"cannot download {url}: {reason}") from None
    partial.replace(target)


def _unpack_recordings(archive: Path, url: str, recordings: Path) -> None:
    """Every ``*/recordings/*.wav`` of the archive into ``recordings`` (by base name: no path escapes)."""
    recordings.mkdir(parents=True, exist_ok=True)
    try:
        with tarfile.open(archive) as tar:
            for member in tar:
                parts = Path(member.name).parts
                wanted = len(parts) >= 2 and parts[-2] == "recordings" and parts[-1].endswith(".wav")
                if member.isfile() and wanted:
                    with tar.extractfile(member) as src, (recordings / parts[-1]).open("wb") as dst:
                        shutil.copyfileobj(src, dst)
    except (tarfile.TarError, OSError, EOFError) as e:
        raise FetchError(f"{url}: not a readable .tar.gz archive ({str(e).splitlines()[0]})") from None


def fetch_fsdd(dest: Path, url: str = FSDD_URL, manifest: dict[str, str] | None = None) -> Path:
    """FSDD's verified ``recordings/`` under ``dest`` (downloaded unless already there); its path."""
    manifest = read_manifest() if manifest is None else manifest
    recordings = dest / "recordings"
    try:
        verify(recordings, manifest)
        return recordings
    except FetchError:
        pass  # not there yet, or incomplete: fetch
    dest.mkdir(parents=True, exist_ok=True)
    archive = dest / f"free-spoken-digit-dataset-{FSDD_RELEASE}.tar.gz"
    _download(url, archive)
    _unpack_recordings(archive, url, recordings)
    archive.unlink()
    verify(recordings, manifest)
    return recordings


def default_dest() -> Path:
    """``$DEEPTHIN_CACHE`` (else ``~/.cache/deepthin``) ``/downloads/fsdd-<release>``."""
    return default_cache_dir() / "downloads" / f"fsdd-{FSDD_RELEASE}"


def main(argv: Sequence[str]) -> int:
    """``deepthin-data fetch DATASET [--dest DIR] [--url URL]``; prints the ``data.root`` to use."""
    parser = OneLineParser(prog="deepthin-data fetch", description=__doc__.splitlines()[0])
    parser.add_argument("dataset", choices=DATASETS)
    parser.add_argument("--dest", type=Path, default=None, help=f"default: {default_dest()}")
    parser.add_argument("--url", default=FSDD_URL, help="the archive's URL (a mirror, or file:///... )")
    args = parser.parse_args(argv)
    recordings = fetch_fsdd((args.dest or default_dest()).expanduser(), args.url)
    print(f"FSDD {FSDD_RELEASE}: {len(read_manifest())} recordings verified in {recordings}")
    print(f"data.root={recordings}   (e.g. deepthin-run data=fsdd data.root={recordings}, or FSDD_ROOT)")
    return 0
