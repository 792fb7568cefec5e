#!/usr/bin/env bash
# Build flashlight-text 0.0.7 (the lexicon CTC decoder, with KenLM) for an interpreter it has no wheel for:
# CPython 3.13. `make install` runs it there before `pip install`, which then finds the requirement met.
#
# Why not plain pip: flashlight-text's sdist cannot build as pip runs it. Its setup.py downloads KenLM's
# unpinned master branch from GitHub (offline: "<urlopen error [Errno -2] Name or service not known>") and
# then needs an importable `kenlm`, whose only PyPI release (the 0.3.0 sdist) ships Cython output from before
# 3.13 ("'_PyGen_SetStopIterationValue' was not declared in this scope"). So, from PyPI sdists only:
# kenlm 0.3.0 with its Cython output regenerated, then flashlight-text 0.0.7 with KenLM's headers taken from
# that sdist where its setup.py would have downloaded them, and pybind11 from PyPI instead of GitHub.
# Needs g++, cmake >= 3.18, the Python headers and zlib/bzip2/lzma headers (the Makefile's system-deps).
# Usage: PYTHON=python3.13 scripts/build_flashlight_text.sh   (does nothing when the decoder already imports)
set -euo pipefail
PYTHON=${PYTHON:-python3}
if "$PYTHON" -c "import flashlight.lib.text.decoder.kenlm" 2>/dev/null; then
  exit 0
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$PYTHON" -m pip install -q "setuptools>=68" wheel "cython>=3" "pybind11>=2.10"
"$PYTHON" -m pip download -q --no-deps --no-binary=:all: --no-build-isolation -d "$work" \
  kenlm==0.3.0 flashlight-text==0.0.7
cd "$work"
tar xzf kenlm-0.3.0.tar.gz
tar xzf flashlight-text-0.0.7.tar.gz
# Where flashlight-text's setup.py looks before downloading: <build_temp>/kenlm/kenlm/kenlm.
build_temp=build/temp.$("$PYTHON" -c 'import sys, sysconfig; print(f"{sysconfig.get_platform()}-{sys.implementation.cache_tag}")')
mkdir -p "flashlight-text-0.0.7/$build_temp/kenlm/kenlm"
cp -r kenlm-0.3.0 "flashlight-text-0.0.7/$build_temp/kenlm/kenlm/kenlm"
"$PYTHON" -m cython --cplus kenlm-0.3.0/python/kenlm.pyx -o kenlm-0.3.0/python/kenlm.cpp
"$PYTHON" -m pip install -q --no-build-isolation --no-deps ./kenlm-0.3.0
CMAKE_PREFIX_PATH=$("$PYTHON" -m pybind11 --cmakedir) \
  "$PYTHON" -m pip install -q --no-build-isolation --no-deps ./flashlight-text-0.0.7
"$PYTHON" -c "import flashlight.lib.text.decoder.kenlm"
echo "flashlight-text 0.0.7 with KenLM built and installed for $("$PYTHON" -c 'import sys; print(sys.version.split()[0])')"
