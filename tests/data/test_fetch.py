"""`deepthin-data fetch fsdd`: from a local archive (file:// URLs only; no test touches the network)."""

import hashlib
import tarfile

import pytest

from deepthin.data import fetch

from .conftest import FSDD_SAMPLE
from .test_cli import _run

PREFIX = "free-spoken-digit-dataset-d6938f9/"


def _archive(path, recordings, replace=None):
    """A .tar.gz laid out as GitHub's source archive: PREFIX/recordings/*.wav plus another file."""
    with tarfile.open(path, "w:gz") as tar:
        for wav in recordings:
            tar.add(wav, arcname=PREFIX + "recordings/" + wav.name)
        tar.add(FSDD_SAMPLE / "README.md", arcname=PREFIX + "README.md")
    if replace:  # rewrite one recording inside the archive with other bytes
        name, data = replace
        other = path.with_name("bad-" + path.name)
        with tarfile.open(path) as src, tarfile.open(other, "w:gz") as dst:
            for member in src:
                if member.name.endswith("/" + name):
                    (path.parent / name).write_bytes(data)
                    dst.add(path.parent / name, arcname=member.name)
                else:
                    dst.addfile(member, src.extractfile(member) if member.isfile() else None)
        return other
    return path


@pytest.fixture
def sample():
    """The sample's recordings and the shipped manifest's entries for them (real FSDD files)."""
    wavs = sorted(FSDD_SAMPLE.glob("*.wav"))
    shipped = fetch.read_manifest()
    return wavs, {w.name: shipped[w.name] for w in wavs}


def test_shipped_manifest_lists_every_fsdd_recording_once():
    manifest = fetch.read_manifest()
    assert len(manifest) == 3000 and all(len(d) == 64 for d in manifest.values())
    speakers = {name.split("_")[1] for name in manifest}
    assert speakers == {"george", "jackson", "lucas", "nicolas", "theo", "yweweler"}


def test_fsdd_root_matches_the_shipped_manifest(fsdd_root):
    """The sample, or all of FSDD in CI (FSDD_ROOT), is the release the manifest describes."""
    manifest = fetch.read_manifest()
    present = {p.name for p in fsdd_root.glob("*.wav")}
    fetch.verify(fsdd_root, {name: manifest[name] for name in present})


def test_fetch_from_local_archive_unpacks_and_verifies(tmp_path, sample):
    wavs, manifest = sample
    url = _archive(tmp_path / "fsdd.tar.gz", wavs).as_uri()
    recordings = fetch.fetch_fsdd(tmp_path / "dest", url, manifest)
    assert recordings == tmp_path / "dest" / "recordings"
    assert sorted(p.name for p in recordings.iterdir()) == sorted(manifest)
    for wav in wavs:
        assert hashlib.sha256((recordings / wav.name).read_bytes()).hexdigest() == manifest[wav.name]
    assert not list((tmp_path / "dest").glob("*.tar.gz*"))  # the archive is removed after unpacking
    # a verified copy is not fetched again: an unreachable URL is never opened
    assert fetch.fetch_fsdd(tmp_path / "dest", (tmp_path / "gone.tar.gz").as_uri(), manifest) == recordings


def test_fetch_with_a_bad_checksum_names_the_file(tmp_path, sample):
    wavs, manifest = sample
    url = _archive(tmp_path / "fsdd.tar.gz", wavs, replace=(wavs[3].name, b"RIFF not the recording")).as_uri()
    with pytest.raises(fetch.FetchError, match=rf"recordings/{wavs[3].name}: SHA-256 .* does not match"):
        fetch.fetch_fsdd(tmp_path / "dest", url, manifest)


def test_cli_prints_the_data_root(tmp_path, sample, monkeypatch, capsys):
    wavs, manifest = sample
    small = tmp_path / "sha256.txt"
    small.write_text("".join(f"{digest}  {name}\n" for name, digest in manifest.items()))
    monkeypatch.setattr(fetch, "MANIFEST", small)
    url = _archive(tmp_path / "fsdd.tar.gz", wavs).as_uri()
    assert fetch.main(["fsdd", "--dest", str(tmp_path / "dest"), "--url", url]) == 0
    out = capsys.readouterr().out
    assert f"data.root={tmp_path / 'dest' / 'recordings'}" in out
    assert f"{len(wavs)} recordings verified" in out


def _error_lines(result):
    return [line for line in result.stderr.splitlines() if line.startswith("deepthin-data")]


@pytest.mark.slow
def test_cli_fetch_errors_are_one_line_exit_2(tmp_path, sample):
    wavs, _ = sample
    missing = (tmp_path / "nowhere.tar.gz").as_uri()
    r = _run("fetch", "fsdd", "--dest", str(tmp_path / "a"), "--url", missing, cache=tmp_path)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert len(_error_lines(r)) == 1 and f"cannot download {missing}" in _error_lines(r)[0]
    # the sample is not all of FSDD: the shipped manifest names the first recording it lacks
    url = _archive(tmp_path / "fsdd.tar.gz", wavs).as_uri()
    r = _run("fetch", "fsdd", "--dest", str(tmp_path / "b"), "--url", url, cache=tmp_path)
    assert r.returncode == 2 and len(_error_lines(r)) == 1 and "0_george_1.wav: missing" in r.stderr
    r = _run("fetch", "tidigits", cache=tmp_path)
    assert r.returncode == 2 and len(_error_lines(r)) == 1 and "'tidigits'" in r.stderr
