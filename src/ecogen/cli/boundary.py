"""The CLI's one error boundary, and the thread count fitted to a busy machine before torch starts."""

from __future__ import annotations

import logging
import os
import sys
import traceback
from collections.abc import Callable

import typer
from safetensors import SafetensorError

from ecogen.cli.consoles import notice
from ecogen.energy.machine import others_load, threads_left, visible_cores
from ecogen.errors import EcogenError

# Failures that mean "this input or this machine cannot do that", not a bug in ecogen: one line, exit 2.
KNOWN_FAILURES: dict[type[BaseException], str] = {
    RecursionError: "the input is nested too deeply",
    MemoryError: "not enough memory for this request",
    SafetensorError: "a safetensors file could not be read or written",
}
DEVICE_OOM = "the device ran out of memory for this request"  # torch.OutOfMemoryError, when torch was loaded


def _known_failures() -> dict[type[BaseException], str]:
    torch = sys.modules.get("torch")  # a torch error can only come from a loaded torch
    return {**KNOWN_FAILURES, torch.OutOfMemoryError: DEVICE_OOM} if torch else KNOWN_FAILURES


class _Notices(logging.Handler):
    """The library's notices (the ``ecogen`` loggers) as lines on stderr; stderr is looked up per line,
    so a caller that redirects it (the tests) sees them."""

    def emit(self, record: logging.LogRecord) -> None:
        notice(self.format(record))


def show_notices() -> None:
    logger = logging.getLogger("ecogen")
    if not any(isinstance(h, _Notices) for h in logger.handlers):
        logger.addHandler(_Notices())
        logger.setLevel(logging.INFO)
        logger.propagate = False


def guarded(run: Callable[[], object]) -> None:
    """User errors and known failures become one line on stderr and exit code 2 (nothing already written
    is lost: files are replaced atomically); anything else is a bug, shown with its traceback and a
    request to report it. ``run`` calls the Typer app with ``standalone_mode=False``, so a usage error
    (a bad option value, an unknown command) reaches this boundary too and gets the same one line."""
    try:
        show_notices()
        fit_threads()
        if "WORLD_SIZE" in os.environ:  # torchrun: c10d's C++ log of a failed rendezvous is a page per retry;
            os.environ.setdefault("TORCH_CPP_LOG_LEVEL", "FATAL")  # the guard says it in one line (set INFO to see it)
        code = run()
    except typer.TyperException as err:  # Typer's (vendored click's) usage errors
        if type(err).__name__ == "NoArgsIsHelpError":
            sys.exit(err.exit_code)  # the help was already printed
        where = getattr(getattr(err, "ctx", None), "command_path", None)
        fail(err.format_message() + (f" (see: {where} --help)" if where else ""))
    except typer.Abort:
        sys.exit(130)
    except EcogenError as err:
        fail(str(err))
    except OSError as err:
        where = f": {err.filename}" if err.filename else ""
        fail(f"{err.strerror or err}{where}")
    except tuple(_known_failures()) as err:
        reason = next(text for kind, text in _known_failures().items() if isinstance(err, kind))
        detail = str(err).strip().splitlines()[0][:200] if str(err).strip() else err.__class__.__name__
        fail(f"{reason} ({detail})")
    except Exception:  # noqa: BLE001  (the boundary: report, do not hide)
        traceback.print_exc()
        print("error: this is a bug in ecogen; please report it with the command and the traceback above",
              file=sys.stderr)
        sys.exit(1)
    if isinstance(code, int) and not isinstance(code, bool) and code:
        sys.exit(code)  # typer.Exit(code) inside a command, returned instead of raised


def fit_threads() -> None:
    """On a machine other processes keep busy, torch's threads (one per core) oversubscribe the cores:
    steps got about 10x slower here, and CPU-time energy estimates as much larger. Use the idle cores only."""
    cores, other = visible_cores(), others_load()
    torch = sys.modules.get("torch")
    current = torch.get_num_threads() if torch else int(os.environ.get("OMP_NUM_THREADS") or cores)
    left = threads_left(cores, other)
    if left is not None and current > 1:
        threads = min(current, left)
        if threads < current:
            if torch:
                torch.set_num_threads(threads)
            else:
                os.environ["OMP_NUM_THREADS"] = str(threads)  # read by torch when it loads
            print(f"notice: the machine is busy (load {other:.1f} on {cores} cores): using {threads} thread(s)",
                  file=sys.stderr)


def fail(message: str) -> None:
    print(f"error: {' '.join(message.split())}", file=sys.stderr)  # one line, whatever the message holds
    sys.exit(2)
