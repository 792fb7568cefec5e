"""What ``import deepthin`` did when it imported TensorFlow itself, now done when TensorFlow or Keras loads.

``import deepthin`` imports no TensorFlow (``deepthin/__init__.py`` resolves its names on first use),
so that a tool can still choose TensorFlow's settings that are read once, at its import (the CPU
allocator of ``deepthin-bench --train``), and ``deepthin-report`` never pays for it. Two things the
eager import gave for free are kept by a meta-path finder, :class:`ImportHooks`:

- TensorFlow's start-up notices are dropped (:func:`deepthin._quiet.startup_notices_dropped`) around its
  first import, whichever module (of this package or the user's) imports it;
- :mod:`deepthin.layers` is imported as soon as Keras is loaded (``import tensorflow`` loads it too), so
  its layers are registered with Keras and ``keras.models.load_model`` reads a saved model after a
  plain ``import deepthin``, as before. Not while TensorFlow, Keras or a module of this package is
  still executing its own import: importing the layers then could meet those modules half-built. So
  the finder also watches this package's modules, and registers once the outermost import in
  progress has finished.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from importlib.machinery import ModuleSpec
from types import ModuleType
from typing import Any

from deepthin._quiet import startup_notices_dropped

#: Top-level packages whose half-done import makes importing the layers unsafe. Of TensorFlow and Keras
#: only the top-level module is watched: its body ends after all of its submodules'.
_GUARDED = ("tensorflow", "keras", "deepthin")


class _WrappedLoader:
    """Runs the real loader's module body inside ``around()``, then calls ``after()``."""

    def __init__(self, loader: Any, around: Callable[[], AbstractContextManager], after: Callable[[], None]):
        self.loader, self.around, self.after = loader, around, after

    def create_module(self, spec: ModuleSpec) -> ModuleType | None:
        return self.loader.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        # The module keeps the real loader (resource readers and reloads go to it), never this wrapper.
        module.__loader__ = module.__spec__.loader = self.loader
        with self.around():
            self.loader.exec_module(module)
        self.after()

    def __getattr__(self, name: str) -> Any:  # get_code (runpy), is_package, resource readers: the real ones
        return getattr(self.loader, name)


def _importing(done: str) -> bool:
    """Whether a guarded module but ``done`` (whose body has just run) is part-way through its import."""
    return any(getattr(getattr(module, "__spec__", None), "_initializing", False)
               for name, module in list(sys.modules.items())
               if name != done and name.partition(".")[0] in _GUARDED)


class ImportHooks:
    """The module doc's meta-path finder; it steps aside once TensorFlow is quiet and the layers are in."""

    def __init__(self) -> None:
        self.quiet_pending = "tensorflow" not in sys.modules
        self.register_pending = True

    def find_spec(self, name: str, path: Any = None, target: ModuleType | None = None) -> ModuleSpec | None:
        watched = self.register_pending and (name in ("tensorflow", "keras") or name.startswith("deepthin."))
        quiet = name == "tensorflow" and self.quiet_pending
        if not (watched or quiet):
            return None
        spec = self._spec_from_others(name, path, target)
        if spec is not None and hasattr(spec.loader, "exec_module"):
            around = startup_notices_dropped if quiet else nullcontext
            spec.loader = _WrappedLoader(spec.loader, around, lambda: self.loaded(name))
        self._step_aside_when_done()
        return spec

    def _spec_from_others(self, name: str, path: Any, target: ModuleType | None) -> ModuleSpec | None:
        for finder in sys.meta_path:
            spec = None if finder is self else finder.find_spec(name, path, target)
            if spec is not None:
                return spec
        return None

    def loaded(self, name: str) -> None:
        """After a watched module's body: register the layers once Keras is in and nothing is half-done.

        TensorFlow's quiet import counts as done only here, once its body has run, so that a mere
        look-up (``importlib.util.find_spec("tensorflow")``) does not use it up.
        """
        self.quiet_pending &= name != "tensorflow"
        if self.register_pending and "keras" in sys.modules and not _importing(name):
            self.register_pending = False
            self._step_aside_when_done()
            importlib.import_module("deepthin.layers")

    def _step_aside_when_done(self) -> None:
        if not (self.quiet_pending or self.register_pending) and self in sys.meta_path:
            sys.meta_path.remove(self)


def install() -> None:
    """Put :class:`ImportHooks` first on ``sys.meta_path``; with Keras loaded already, register the layers.

    Called at the end of ``deepthin/__init__.py``, where importing a subpackage is safe.
    """
    if "keras" in sys.modules:
        importlib.import_module("deepthin.layers")
        if "tensorflow" in sys.modules:
            return
    hooks = ImportHooks()
    hooks.register_pending = "keras" not in sys.modules
    sys.meta_path.insert(0, hooks)
