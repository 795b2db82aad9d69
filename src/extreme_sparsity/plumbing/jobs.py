"""What every workflow script needs: a log, a thread count, and clean failures for known errors."""

from __future__ import annotations

import contextlib
import sys
import traceback
from pathlib import Path
from typing import Callable, Iterator

from ..errors import EXPECTED_ERRORS


@contextlib.contextmanager
def job(log_path: str | Path, threads: int | None = None) -> Iterator[Callable[[str], None]]:
    """Run a job body with a ``log`` function (file + stderr) and, when ``threads`` is given,
    torch limited to that many threads (torch is imported only then: plotting jobs do without).

    A known error ends the job with its message only (no traceback): the message says what to do.
    Any other error is written to the log with its traceback, then raised as usual.
    """
    if threads is not None:
        import torch

        torch.set_num_threads(max(1, int(threads)))
    Path(log_path).parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "w") as handle:

        def log(message: str) -> None:
            print(message, file=handle, flush=True)
            print(message, file=sys.stderr, flush=True)

        try:
            yield log
        except EXPECTED_ERRORS as error:
            log(f"ERROR: {error}")
            sys.exit(1)
        except Exception:
            # The terminal (or a SLURM job's output file) gets the traceback from Python itself;
            # the log is the file a user is pointed at.
            print(f"ERROR: unexpected failure\n{traceback.format_exc()}", file=handle, flush=True)
            raise
