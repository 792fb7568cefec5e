"""Import TensorFlow without its start-up notices on the console.

While it is imported, TensorFlow 2.21 writes its oneDNN notice, each time preceded by absl's
"All log messages before absl::InitializeLog() is called are written to STDERR", straight to file
descriptor 2, before ``TF_CPP_MIN_LOG_LEVEL`` applies, so every command of this package would
open with those lines. They are dropped by importing TensorFlow with descriptor 2 sent to a file;
everything else written there meanwhile (a real import problem) is passed on to stderr.
"""

from __future__ import annotations

import os
import re
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager

#: The lines TensorFlow prints on every import, whatever the log level.
STARTUP_NOTICES = re.compile(r"absl::InitializeLog\(\) is called|oneDNN custom operations are on")


@contextmanager
def startup_notices_dropped() -> Iterator[None]:
    """Run the body with descriptor 2 captured, then pass on all it wrote but the start-up notices."""
    try:
        saved = os.dup(2)
    except OSError:  # no stderr at all: nothing to keep quiet
        yield
        return
    with tempfile.TemporaryFile() as sink:
        sys.stderr.flush()
        os.dup2(sink.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            sink.seek(0)
            lines = sink.read().decode(errors="replace").splitlines(keepends=True)
            sys.stderr.write("".join(line for line in lines if not STARTUP_NOTICES.search(line)))
            sys.stderr.flush()
