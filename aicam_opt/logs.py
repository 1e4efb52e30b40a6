"""Library output into a log file beside a command's outputs; the console keeps aicam_opt's own lines.

    with routed_logs(out_dir, verbose=args.verbose):   # <out_dir>/aicam-opt.log
        ...                                            # NNCF, torch, TVM, Optuna logs and warnings: the file
        with native_stderr_to_log():                   # C++ code writing straight to file descriptor 2 (TVM)
            tvm.compile(...)

While a command runs inside `routed_logs`:
- the standard `logging` of every library goes to the file: the loggers that bring their own console
  handler (nncf prints to stdout, optuna to stderr) lose it for the duration and propagate to the root
  logger, which writes the file; a library imported meanwhile is caught as its import ends;
- Python warnings are logged (as `logging.captureWarnings` does): a library's under `py.warnings`, to the
  file only; aicam_opt's own (an op the cost counter cannot count) under `aicam_opt.warnings`, to the
  console as well;
- rich's global console, on which NNCF draws its progress bars (nncf.common.logging.track_progress
  builds `rich.progress.Progress` without a console of its own), writes into the file: each bar lands
  there as its final line, never on the console;
- `native_stderr_to_log()` points file descriptor 2 at the file around a native call and restores it
  afterwards, also when the call raises.
`verbose=True` shows the library logs on stderr as well. aicam_opt's errors are not logs: the CLI prints
them after the routing is undone. Every line written through logging is scrubbed of the password of
any `scheme://user:password@host` URL and of the secrets passed to `hide()`.
"""
from __future__ import annotations

import contextlib
import datetime
import importlib.abc
import importlib.machinery
import io
import logging
import os
import re
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

LOG_FILE = "aicam-opt.log"
OWN = "aicam_opt"
# Loggers that install a handler of their own (or may), and so would bypass the root logger.
LIBRARIES = ("nncf", "torch", "tvm", "optuna", "onnx", "onnxscript", "onnxruntime", "sqlalchemy", "alembic",
             "matplotlib", "PIL", "py.warnings")
FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
PACKAGE_DIR = str(Path(__file__).resolve().parent)

_URL_PASSWORD = re.compile(r"(\b[a-zA-Z][\w+.-]*://[^:/@\s]*):[^@\s]*@")


class Redact(logging.Filter):
    """Masks URL passwords and the registered secrets in every record it passes (formatted in place)."""

    def __init__(self) -> None:
        super().__init__()
        self.secrets: set[str] = set()

    def scrub(self, text: str) -> str:
        text = _URL_PASSWORD.sub(r"\1:***@", text)
        for secret in self.secrets:
            text = text.replace(secret, "***")
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg, record.args = self.scrub(record.getMessage()), None
        if record.exc_info and not record.exc_text:
            record.exc_text = self.scrub(logging.Formatter().formatException(record.exc_info))
        return True


class _ConsoleFilter(logging.Filter):
    """The console gets aicam_opt's own warnings, and every library record only when verbose."""

    def __init__(self, verbose: bool) -> None:
        super().__init__()
        self.verbose = verbose

    def filter(self, record: logging.LogRecord) -> bool:
        own = record.name == OWN or record.name.startswith(OWN + ".")
        return self.verbose or (own and record.levelno >= logging.WARNING)


class _Session:
    def __init__(self, path: Path, stream: TextIO, redact: Redact) -> None:
        self.path, self.stream, self.redact = path, stream, redact
        self.saved: dict[str, tuple[list[logging.Handler], bool]] = {}  # library logger -> its handlers, propagate

    def adopt(self) -> None:
        """Send every library logger that exists now to the root logger (without its own handlers). Loggers
        not made yet are not created here: NNCF makes its logger of its own class when it is imported."""
        # a library's sub-loggers too: torch gives `torch.onnx`, `torch.distributed`, ... handlers of their own
        for name, logger in list(logging.root.manager.loggerDict.items()):
            if not (isinstance(logger, logging.Logger) and any(name == lib or name.startswith(lib + ".")
                                                               for lib in LIBRARIES)):
                continue
            if logger.handlers or not logger.propagate:
                self.saved.setdefault(name, (list(logger.handlers), logger.propagate))
                logger.handlers, logger.propagate = [], True

    def restore(self) -> None:
        for name, (handlers, propagate) in self.saved.items():
            logger = logging.getLogger(name)
            logger.handlers, logger.propagate = handlers, propagate


_active: _Session | None = None


class _AdoptOnImport(importlib.abc.MetaPathFinder):
    """A library imported while a command runs (NNCF on the first int8 candidate) installs its console
    handler as it loads: its logger is adopted right after."""

    def find_spec(self, fullname, path, target=None):
        if _active is None or fullname not in LIBRARIES:
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path, target)
        if spec is not None and spec.loader is not None and hasattr(spec.loader, "exec_module"):
            exec_module = spec.loader.exec_module

            def exec_and_adopt(module) -> None:
                exec_module(module)
                if _active is not None:
                    _active.adopt()

            spec.loader.exec_module = exec_and_adopt  # this spec's own loader object
        return spec


def log_path() -> Path | None:
    """The log file of the command running inside `routed_logs`, else None."""
    return _active.path if _active is not None else None


def log_written() -> Path | None:
    """The log file of the running command if anything has been written to it yet, else None."""
    return _active.path if _active is not None and _active.stream.opened else None


def hide(secret: str | None) -> None:
    """Mask `secret` (a database password) wherever it would reach the log file."""
    if secret and _active is not None:
        _active.redact.secrets.add(secret)


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    # ours: a warning class of aicam_opt (it may point at the caller's line), or raised in its code
    own = category.__module__.startswith(OWN) or (
        bool(filename) and str(Path(filename).resolve()).startswith(PACKAGE_DIR))
    text = warnings.formatwarning(message, category, filename, lineno, line).rstrip()
    logging.getLogger(f"{OWN}.warnings" if own else "py.warnings").warning(text)


class _LazyLog(io.TextIOBase):
    """The log file, created (with its folder) by the first write: a command refused before any work
    writes nothing. Line-buffered, so that its lines keep their order with fd 2's."""

    def __init__(self, path: Path, header: str) -> None:
        super().__init__()
        self.path, self.header, self._file = path, header, None

    @property
    def opened(self) -> bool:
        return self._file is not None

    def _open(self) -> TextIO:
        if self._file is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._file = open(self.path, "a", encoding="utf-8", buffering=1)
            self._file.write(self.header)
        return self._file

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        return self._open().write(text)

    def flush(self) -> None:
        if self._file is not None and not self._file.closed:
            self._file.flush()

    def fileno(self) -> int:
        return self._open().fileno()

    def close(self) -> None:
        if self._file is not None and not self._file.closed:
            self._file.close()
        super().close()


@contextlib.contextmanager
def routed_logs(out_dir: str | os.PathLike, verbose: bool = False, title: str = "") -> Iterator[Path]:
    """Route library logs, warnings and NNCF's progress bars into `out_dir`/aicam-opt.log (appended: a
    resumed run adds to it) for the duration (module doc). Yields the log file's path."""
    global _active
    import rich

    path = Path(out_dir) / LOG_FILE
    redact = Redact()
    stream = _LazyLog(path, f"==== {datetime.datetime.now():%Y-%m-%d %H:%M:%S} "
                            f"{redact.scrub(title or ' '.join(sys.argv))}\n")
    to_file = logging.StreamHandler(stream)
    to_file.setFormatter(logging.Formatter(FORMAT))
    to_file.addFilter(redact)
    to_console = logging.StreamHandler(sys.stderr)
    to_console.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    to_console.addFilter(redact)
    to_console.addFilter(_ConsoleFilter(verbose))

    root = logging.getLogger()
    saved_root = (root.level, list(root.handlers))
    saved_show = warnings.showwarning
    global_console = rich.get_console()
    saved_file = global_console._file  # None: stdout as it is at each write (the getter would pin today's)
    previous = _active
    session = _Session(path, stream, redact)
    finder = _AdoptOnImport()
    try:
        root.handlers = [to_file, to_console]
        root.setLevel(logging.INFO)
        session.adopt()
        sys.meta_path.insert(0, finder)
        warnings.showwarning = _show_warning
        global_console.file = stream
        _active = session
        yield path
    except BaseException:
        if stream.opened:  # a run refused before any work leaves no log (nor its folder) behind
            logging.getLogger(OWN).info("stopped by an exception", exc_info=True)  # the file only: the CLI prints it
        raise
    finally:
        _active = previous
        global_console.file = saved_file
        warnings.showwarning = saved_show
        if finder in sys.meta_path:
            sys.meta_path.remove(finder)
        session.restore()
        root.setLevel(saved_root[0])
        root.handlers = saved_root[1]
        stream.close()


@contextlib.contextmanager
def native_stderr_to_log() -> Iterator[None]:
    """File descriptor 2 into the active log file for the duration (TVM's C++ warnings bypass Python);
    nothing changes outside `routed_logs`."""
    if _active is None:
        yield
        return
    sys.stderr.flush()
    _active.stream.flush()
    saved = os.dup(2)
    try:
        os.dup2(_active.stream.fileno(), 2)
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)
