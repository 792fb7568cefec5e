"""`deepthin-data`: build (or reuse) one corpus from `conf/data/<name>.yaml` and print its summary.

    deepthin-data                                   # the default synth corpus
    deepthin-data data=fsdd data.root=PATH          # real connected digits
    deepthin-data data=synth data.hours=0.1 data.seed=3
    deepthin-data fetch fsdd [--dest DIR]           # download FSDD, verified (deepthin.data.fetch)

Errors in the user's input (unknown corpus, missing directory, bad file) end with one line on stderr and
exit status 2, not a traceback: they are configuration problems, not bugs.
"""

from __future__ import annotations

import logging
import sys

import hydra
from omegaconf import DictConfig
from omegaconf.errors import OmegaConfBaseException

from deepthin.conf_dir import CONF_DIR


def available() -> list[str]:
    """Corpus names that have a config in conf/data/."""
    return sorted(p.stem for p in (CONF_DIR / "data").glob("*.yaml"))


def _fail(message: str) -> None:
    print(f"deepthin-data: error: {message}", file=sys.stderr)
    sys.exit(2)


@hydra.main(config_path=str(CONF_DIR), config_name="data_cli", version_base="1.3")
def _run(cfg: DictConfig) -> None:
    logging.getLogger("deepthin.data").setLevel(logging.INFO)
    try:
        corpus = hydra.utils.instantiate(cfg.data).load()
    except hydra.errors.InstantiationException as e:  # wraps the class's own one-line error
        cause = e.__cause__ or e
        _fail(str(cause).splitlines()[0] if str(cause) else type(cause).__name__)
    except OmegaConfBaseException as e:
        _fail(str(e).splitlines()[0])
    except (ValueError, FileNotFoundError, RuntimeError) as e:
        _fail(str(e).splitlines()[0])
    print(f"corpus: {corpus.name}")
    print(corpus.summary().to_string(index=False))


def main() -> None:
    """Entry point: `fetch` goes to :mod:`deepthin.data.fetch`; else check the corpus name first, so a
    typo gets one line instead of Hydra's error."""
    if sys.argv[1:2] == ["fetch"]:
        from deepthin.data import fetch

        try:
            sys.exit(fetch.main(sys.argv[2:]))
        except fetch.FetchError as e:
            _fail(str(e))
    names = available()
    for arg in sys.argv[1:]:
        key, _, value = arg.lstrip("+~").partition("=")
        if key == "data" and value not in names:
            _fail(f"unknown data set {value!r}; allowed: {', '.join(names)}")
    _run()


if __name__ == "__main__":
    main()
