"""deepthin-transcribe: real speech (FSDD recordings) through a run's model, from files at any rate and
format, Kaldi and LibriSpeech directories, a .keras or a .tflite model; bad input ends in one line."""

import json
import shutil
from pathlib import Path

import jiwer
import numpy as np
import pytest
import soundfile as sf
import soxr
from omegaconf import OmegaConf

from deepthin.data.fsdd import DIGITS
from deepthin.export import export_tflite, save_for_inference
from deepthin.transcribe import main
from recipes.presets import build, compose_config

SAMPLE = Path(__file__).parent / "data" / "fsdd_sample"
#: (recording, its transcript) of the data-directory tests.
SPOKEN = [("0_george_0", "zero"), ("3_theo_8", "three"), ("7_lucas_2", "seven")]


@pytest.fixture(autouse=True)
def cache(tmp_path, monkeypatch) -> Path:
    """Each test's own cache: data directories' features and resampled copies go there."""
    monkeypatch.setenv("DEEPTHIN_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    """A finished run's directory as deepthin-run leaves it (results.json with the resolved config,
    model.keras), of an untrained tiny TFKaldi model: its output differs from recording to recording,
    which is what these tests compare."""
    run = tmp_path_factory.mktemp("run")
    composed = compose_config(["data=fsdd", "model=tfkaldi", "preset=tiny"])
    config = OmegaConf.to_container(composed, resolve=True)
    results = {"model": "tfkaldi", "preset": "tiny", "data": "fsdd", "method": "dense", "ratio": 1.0,
               "seed": 0, "config": config, "complete": True}
    (run / "results.json").write_text(json.dumps(results))
    save_for_inference(build("tfkaldi", "tiny"), run / "model.keras")
    return run


@pytest.fixture(scope="module")
def tflite(run_dir) -> Path:
    """The run's model exported by deepthin-export, beside its model.keras."""
    from deepthin.export import load_deployable

    model, file = load_deployable(run_dir)
    return export_tflite(model, file.with_suffix(".tflite")).path


def transcribe(capsys, *args) -> list[list[str]]:
    """``deepthin-transcribe ARGS``'s output lines, split at tabs."""
    assert main([str(a) for a in args]) == 0
    return [line.split("\t") for line in capsys.readouterr().out.splitlines()]


def kaldi_dir(root: Path) -> Path:
    """A Kaldi data directory of real recordings: wav.scp (absolute paths), text, utt2spk."""
    root.mkdir(parents=True)
    ids = {name: name.replace("_", "-") for name, _ in SPOKEN}  # utterance ids sort as SPOKEN does
    (root / "wav.scp").write_text("".join(f"{ids[n]} {SAMPLE / n}.wav\n" for n, _ in SPOKEN))
    (root / "text").write_text("".join(f"{ids[n]} {t.upper()}\n" for n, t in SPOKEN))
    (root / "utt2spk").write_text("".join(f"{ids[n]} {n.split('_')[1]}\n" for n, _ in SPOKEN))
    return root


def test_files_at_any_rate_and_format(run_dir, tmp_path, capsys):
    """An 8 kHz wav, its 16 kHz copy and a flac copy are heard alike; another recording is not."""
    original = SAMPLE / "0_george_0.wav"
    audio, rate = sf.read(original, dtype="float32")
    assert rate == 8000
    # the features' own resampler, so the 16 kHz copy is exactly what the 8 kHz file becomes
    sf.write(tmp_path / "16k.wav", soxr.resample(audio, rate, 16000), 16000, subtype="FLOAT")
    sf.write(tmp_path / "copy.flac", sf.read(original, dtype="int16")[0], rate)
    other = SAMPLE / "7_lucas_2.wav"
    rows = transcribe(capsys, run_dir, original, tmp_path / "16k.wav", tmp_path / "copy.flac", other)
    assert [row[0] for row in rows] == [str(p) for p in (original, tmp_path / "16k.wav",
                                                         tmp_path / "copy.flac", other)]
    assert all(len(row) == 3 for row in rows)
    assert rows[0][1] and rows[1][1:] == rows[0][1:] and rows[2][1:] == rows[0][1:]
    assert rows[3][1] != rows[0][1]


def test_lexicon_of_the_run_or_given(run_dir, tmp_path, capsys):
    """Lexicon decoding outputs words of the run's lexicon (FSDD's digits), or of --lexicon's."""
    files = [SAMPLE / f"{n}.wav" for n, _ in SPOKEN]
    words = {w for row in transcribe(capsys, run_dir, *files) for w in row[2].split()}
    assert words and words <= set(DIGITS)
    (tmp_path / "words.txt").write_text("yes\nno\n")
    words = {w for row in transcribe(capsys, run_dir, *files, "--lexicon", tmp_path / "words.txt")
             for w in row[2].split()}
    assert words and words <= {"yes", "no"}


def test_tflite_hears_what_keras_hears(run_dir, tflite, capsys):
    """A .tflite file, read with the results.json beside it, transcribes as the run's model.keras."""
    files = [SAMPLE / f"{n}.wav" for n, _ in SPOKEN]
    assert transcribe(capsys, tflite, *files) == transcribe(capsys, run_dir, *files)


def test_kaldi_directory_scored_against_its_transcripts(run_dir, tmp_path, capsys):
    data = kaldi_dir(tmp_path / "test")
    rows = transcribe(capsys, run_dir, data, "--out", tmp_path / "out.json")
    record = json.loads((tmp_path / "out.json").read_text())
    (result,) = record["directories"]
    assert record["run"] == str(run_dir) and record["features"]["num_features"] == 40
    assert [t["reference"] for t in result["transcripts"]] == [t for _, t in SPOKEN]
    assert [row[0] for row in rows[:-1]] == [t["name"] for t in result["transcripts"]]
    assert rows[-1][0].startswith(f"# {data}: 3 utterances, WER ")
    refs = [t["reference"] for t in result["transcripts"]]
    for name in ("greedy", "lexicon"):
        hyps = [t[name] for t in result["transcripts"]]
        assert result["metrics"][f"wer_{name}"] == pytest.approx(jiwer.wer(refs, hyps))
        assert result["metrics"][f"cer_{name}"] == pytest.approx(jiwer.cer(refs, hyps))


def test_librispeech_subset_of_flac_files(run_dir, tmp_path, capsys, cache):
    """A LibriSpeech subset (SPEAKER/CHAPTER/*.flac at 8 kHz, resampled) is read by utterance id."""
    chapter = tmp_path / "test-clean" / "19" / "198"
    chapter.mkdir(parents=True)
    for i, (name, _) in enumerate(SPOKEN):
        sf.write(chapter / f"19-198-{i:04d}.flac", sf.read(SAMPLE / f"{name}.wav", dtype="int16")[0], 8000)
    (chapter / "19-198.trans.txt").write_text("".join(f"19-198-{i:04d} {t.upper()}\n"
                                                      for i, (_, t) in enumerate(SPOKEN)))
    rows = transcribe(capsys, run_dir, tmp_path / "test-clean")
    assert [row[0] for row in rows[:-1]] == [f"19-198-{i:04d}" for i in range(3)]
    assert rows[-1][0].startswith(f"# {tmp_path / 'test-clean'}: 3 utterances")
    assert len(list((cache / "resampled").glob("*.wav"))) == 3  # 8 kHz flac: 16 kHz copies


@pytest.mark.parametrize("case, expected", [
    ("unreadable", "unreadable audio"),
    ("missing", "audio file not found"),
    ("empty", "empty audio"),
    ("unknown_directory", "no audio of a known layout"),
    ("empty_lexicon", "has no words"),
    ("out_folder", "its folder does not exist"),
])
def test_bad_audio_or_options_end_in_one_line(refused, run_dir, tmp_path, capsys, case, expected):
    audio = SAMPLE / "0_george_0.wav"
    extra = []
    if case == "unreadable":
        audio = tmp_path / "noise.wav"
        audio.write_bytes(b"not audio at all")
    elif case == "missing":
        audio = tmp_path / "absent.wav"
    elif case == "empty":
        audio = tmp_path / "silent.wav"
        sf.write(audio, np.zeros(0, "float32"), 8000)
    elif case == "unknown_directory":
        audio = tmp_path
    elif case == "empty_lexicon":
        (tmp_path / "none.txt").write_text("\n")
        extra = ["--lexicon", tmp_path / "none.txt"]
    else:
        extra = ["--out", tmp_path / "absent" / "out.json"]
    assert expected in refused(main, run_dir, audio, *extra)


@pytest.mark.parametrize("kind", ["keras", "tflite"])
def test_model_without_its_run_is_refused(refused, run_dir, tflite, tmp_path, capsys, kind):
    """A model file alone lacks the features it was trained on: the error says what is missing."""
    lone = tmp_path / f"model.{kind}"
    shutil.copy(run_dir / "model.keras" if kind == "keras" else tflite, lone)
    err = refused(main, lone, SAMPLE / "0_george_0.wav")
    assert "feature config of its run is missing" in err and "--run RUN_DIR" in err
    # ... and --run names the run that records them
    assert transcribe(capsys, lone, SAMPLE / "0_george_0.wav", "--run", run_dir)[0][1]


def test_not_a_model_or_other_features_are_refused(refused, run_dir, tmp_path, capsys):
    (tmp_path / "junk.tflite").write_bytes(b"\0" * 64)
    err = refused(main, tmp_path / "junk.tflite", SAMPLE / "0_george_0.wav")
    assert "not a model of deepthin-export" in err
    other = tmp_path / "mfcc"
    other.mkdir()
    results = json.loads((run_dir / "results.json").read_text())
    results["config"]["model"]["features"] = {"kind": "mfcc", "num_features": 13}
    (other / "results.json").write_text(json.dumps(results))
    err = refused(main, run_dir / "model.keras", SAMPLE / "0_george_0.wav", "--run", other)
    assert "reads 40 features" in err and "records 13" in err
