"""Atomic outputs and the one output policy, for files and folders alike.

- An output is written under a temporary name next to it and renamed onto it only when complete:
  an error, Ctrl-C or SIGTERM (which the CLI turns into Ctrl-C) removes the temporary, so no
  half-written output is ever left behind. `handle_interrupts` installs that handler; it also
  remembers the signal, so an interrupt that a library's C code swallowed still stops the rename.
- Temporaries are hidden and recognisable: `.<name>.aicam-tmp.<host>.<pid>.<random><suffix>`. A
  SIGKILL leaves one behind; the next atomic write into the same folder removes those whose process
  (on this host) is gone.
- `check_output` refuses, before any work starts, an output that is the input, a folder output that
  exists and is not empty (its files are never deleted), a file output that is a folder, and an
  output whose folder cannot be written. An existing file output is replaced.
"""
from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import tempfile
import threading
from pathlib import Path
from typing import Iterator

from .errors import AicamError

TEMP_MARK = ".aicam-tmp."
HOST = re.sub(r"[^A-Za-z0-9-]", "-", socket.gethostname())[:32] or "host"
_TEMP_NAME = re.compile(r"\..*" + re.escape(TEMP_MARK) + r"(?P<host>[A-Za-z0-9-]+)\.(?P<pid>\d+)\.")
_swept: set[Path] = set()
_interrupted = threading.Event()


def _interrupt(signum: int, frame: object) -> None:
    _interrupted.set()
    raise KeyboardInterrupt


def handle_interrupts() -> None:
    """Ctrl-C and SIGTERM raise KeyboardInterrupt and are remembered: no output is renamed into place after one."""
    _interrupted.clear()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, _interrupt)


def _commit_allowed() -> None:
    if _interrupted.is_set():
        raise KeyboardInterrupt


def _temp_prefix(target: Path) -> str:
    return f".{target.name}{TEMP_MARK}{HOST}.{os.getpid()}."


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def sweep_stale_temporaries(folder: Path) -> list[Path]:
    """Remove the temporaries of our killed processes (this host, process gone) from `folder`."""
    removed = []
    try:
        entries = list(folder.iterdir())
    except OSError:
        return removed
    for entry in entries:
        match = _TEMP_NAME.match(entry.name)
        if match is None or match["host"] != HOST:
            continue
        pid = int(match["pid"])
        if pid == os.getpid() or _process_alive(pid):
            continue
        with contextlib.suppress(OSError):
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            else:
                entry.unlink()
            removed.append(entry)
    return removed


def _prepare(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    if folder not in _swept:  # once per folder and process: a folder of many frames is listed once
        sweep_stale_temporaries(folder)
        _swept.add(folder)


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path next to `target`; rename it onto `target` only if the block succeeds."""
    target = Path(target)
    _prepare(target.parent)
    fd, tmp = tempfile.mkstemp(prefix=_temp_prefix(target), suffix=target.suffix, dir=target.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        if tmp_path.exists():  # mkstemp makes 0600 files; outputs get the usual umask-based mode
            os.chmod(tmp_path, 0o666 & ~_umask())
        _commit_allowed()
        os.replace(tmp_path, target)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


@contextlib.contextmanager
def atomic_dir(target: str | os.PathLike) -> Iterator[Path]:
    """A temporary folder next to `target`, renamed onto it only if the block succeeds.

    `target` must not exist or be an empty folder (see `check_output`)."""
    target = Path(target)
    check_output(target, folder=True)
    _prepare(target.parent)
    tmp = Path(tempfile.mkdtemp(prefix=_temp_prefix(target), dir=target.parent))
    try:
        yield tmp
        os.chmod(tmp, 0o777 & ~_umask())  # mkdtemp makes 0700 folders; outputs get the usual mode
        _commit_allowed()
        if target.exists():
            target.rmdir()
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def _umask() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return umask


def _same_path(a: Path, b: Path) -> bool:
    if a.exists() and b.exists():
        return os.path.samefile(a, b)
    return a.resolve() == b.resolve()


def _check_writable(target: Path) -> None:
    """The nearest existing folder above `target` accepts a new file (tried, not guessed from mode bits:
    this also holds for root, ACLs and read-only mounts)."""
    folder = target.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    if not folder.is_dir():
        raise AicamError(f"{target}: cannot create the output there: {folder} is a file, not a folder; "
                         "choose another output path")
    try:
        fd, probe = tempfile.mkstemp(prefix=_temp_prefix(target), dir=folder)
    except OSError as err:
        raise AicamError(f"{target}: cannot write into {folder} ({err.strerror}); choose another output path "
                         "or make the folder writable") from None
    os.close(fd)
    os.unlink(probe)


def check_output(target: str | os.PathLike, *, folder: bool = False, source: str | os.PathLike | None = None) -> None:
    """Refuse an output the policy forbids (see the module's docstring), before any work starts."""
    target = Path(target)
    if source is not None and _same_path(Path(source), target):
        raise AicamError(f"{target}: the output is the input; writing it would replace the input. "
                         "Choose another output path")
    if folder:
        if target.exists() and (not target.is_dir() or any(target.iterdir())):
            raise AicamError(f"{target}: output folder exists and is not empty; choose a new path or remove it")
    elif target.is_dir():
        raise AicamError(f"{target}: is a folder; give the output file's name (with its suffix)")
    _check_writable(target)


def write_text(target: str | os.PathLike, text: str) -> None:
    with atomic_path(target) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_bytes(target: str | os.PathLike, data: bytes) -> None:
    with atomic_path(target) as tmp:
        tmp.write_bytes(data)
