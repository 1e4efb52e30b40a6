"""Reaching a device over TVM RPC: a server address, a tracker and a key, or a server started here.

Every network step is bounded, so a wrong address or a busy pool ends in an AicamError that names the
address and the fix, not in a hang:
- `connect_rpc`: a TCP connect with `timeout` first (TVM's own connect blocks for minutes on an
  unroutable address), then TVM's session handshake;
- `connect_tracker`: the tracker protocol (tvm.rpc.base: magic, then JSON requests) spoken here with
  socket timeouts: a request for the key waits at most `wait` seconds for a free device (a request left
  behind is dropped by the tracker once this socket is closed), then TVM connects to the device the
  tracker hands out with the match key it gave;
- `LocalServer`: `python -m aicam_opt.device.rpc_server` on 127.0.0.1 at a free port, in its own
  process group (stopped as a group: the server forks a worker per session).

`device_info` asks the remote what it is through functions every TVM RPC server has (runtime.*,
device existence) and, where the server carries the compiler library (a Python `tvm.exec.rpc_server`),
its LLVM triple and CPU name; the Android RPC app has the runtime only, so those may be null.
"""
from __future__ import annotations

import gc
import os
import select
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import AicamError

DEFAULT_CONNECT_TIMEOUT_S = 10.0
DEFAULT_WAIT_S = 60.0
LOCAL_START_TIMEOUT_S = 180.0
# device type of each unit kind in TVM (the remote session's device constructors).
UNIT_DEVICES = {"cpu": "cpu", "gpu": "cl", "dsp": "hexagon"}


def parse_address(text: str, option: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise AicamError(f"{option} {text!r}: expected HOST:PORT (e.g. 127.0.0.1:9090), or `local` for --rpc")
    return host.strip("[]"), int(port)


def _reach(host: str, port: int, timeout: float, what: str, fix: str) -> socket.socket:
    try:
        return socket.create_connection((host, port), timeout=timeout)
    except socket.timeout:
        raise AicamError(f"{what} {host}:{port} did not answer within {timeout:g} s: {fix}") from None
    except OSError as err:
        raise AicamError(f"{what} {host}:{port} is unreachable ({err.strerror or err}): {fix}") from None


SERVER_FIX = ("check the address and that the device runs a TVM RPC server (`python -m tvm.exec.rpc_server --host "
              "0.0.0.0 --port PORT` on a Linux board; the TVM RPC app on a phone, with `adb forward tcp:PORT tcp:PORT` "
              "over USB; see docs/device.md), or raise --connect-timeout")
TRACKER_FIX = ("check the address and that the tracker runs (`python -m tvm.exec.rpc_tracker --host 0.0.0.0 --port "
               "9190`; see docs/device.md), or raise --connect-timeout")


@dataclass
class Remote:
    """A connected RPC session and where it came from."""

    session: Any                      # tvm.rpc.RPCSession
    address: str                      # host:port of the RPC server
    via: str                          # "rpc" | "tracker" | "local"
    tracker: str | None = None
    key: str | None = None
    info: dict[str, Any] = field(default_factory=dict)
    # Libraries loaded in this session, by content (sha256): parts of several models are often byte-identical
    # (the same kernel spec), and uploading a file over one the remote has loaded (mapped) crashes it.
    loaded: dict[str, Any] = field(default_factory=dict)

    def describe(self) -> str:
        if self.via == "tracker":
            return f"device {self.address} (key {self.key!r} at tracker {self.tracker})"
        return f"RPC server {self.address}" + (" (started here)" if self.via == "local" else "")

    def close(self) -> None:
        """Drop the session (TVM ends it when the last reference goes)."""
        self.session = None
        self.loaded.clear()
        gc.collect()


def check_server(address: str, timeout: float = DEFAULT_CONNECT_TIMEOUT_S) -> None:
    """AicamError unless something accepts TCP connections at the RPC server `address` within `timeout`."""
    host, port = parse_address(address, "--rpc")
    _reach(host, port, timeout, "RPC server", SERVER_FIX).close()


def connect_rpc(address: str, timeout: float = DEFAULT_CONNECT_TIMEOUT_S, session_timeout: float = 0,
                key: str = "", via: str = "rpc") -> Remote:
    from tvm import rpc

    host, port = parse_address(address, "--rpc")
    if via != "tracker":
        # Not for a server the tracker handed out: a server registered with a tracker takes a connection
        # that closes before the handshake as a lost tracker and registers again under a new match key.
        check_server(address, timeout)
    try:
        session = rpc.connect(host, port, key=key, session_timeout=session_timeout)
    except Exception as err:  # noqa: BLE001 - TVM raises its own error types for a failed handshake
        raise AicamError(f"RPC server {host}:{port}: the TVM session handshake failed ({_last_line(err)}): is it a "
                         f"TVM RPC server (not a tracker: use --tracker for those)? {SERVER_FIX}") from None
    return Remote(session, f"{host}:{port}", via, key=key or None)


def _tracker_socket(host: str, port: int, timeout: float) -> socket.socket:
    from tvm.rpc import base

    sock = _reach(host, port, timeout, "RPC tracker", TRACKER_FIX)
    try:
        sock.settimeout(timeout)
        sock.sendall(struct.pack("<i", base.RPC_TRACKER_MAGIC))
        magic = struct.unpack("<i", base.recvall(sock, 4))[0]
    except OSError as err:
        sock.close()
        raise AicamError(f"RPC tracker {host}:{port}: no tracker handshake within {timeout:g} s ({err}); is it a "
                         f"TVM RPC tracker (not a server: use --rpc for those)? {TRACKER_FIX}") from None
    if magic != base.RPC_TRACKER_MAGIC:
        sock.close()
        raise AicamError(f"RPC tracker {host}:{port} answered, but not as a TVM RPC tracker: {TRACKER_FIX}")
    return sock


def tracker_summary(address: str, timeout: float = DEFAULT_CONNECT_TIMEOUT_S) -> dict[str, Any]:
    """The tracker's summary: {"queue_info": {key: {free, pending}}, "server_info": [{key, addr}]}."""
    from tvm.rpc import base

    host, port = parse_address(address, "--tracker")
    sock = _tracker_socket(host, port, timeout)
    try:
        base.sendjson(sock, [base.TrackerCode.SUMMARY])
        value = base.recvjson(sock)
    finally:
        sock.close()
    return value[1] if value and value[0] == base.TrackerCode.SUCCESS else {}


def _keys_text(summary: dict[str, Any]) -> str:
    counts: dict[str, int] = {}
    for server in summary.get("server_info", []):
        key = str(server.get("key", "")).split(":", 1)[-1]
        counts[key] = counts.get(key, 0) + 1
    queue = summary.get("queue_info", {})
    parts = [f"{k!r}: {n} device(s), {queue.get(k, {}).get('free', 0)} free" for k, n in sorted(counts.items())]
    return "; ".join(parts) or "none registered"


def connect_tracker(address: str, key: str, wait: float = DEFAULT_WAIT_S, timeout: float = DEFAULT_CONNECT_TIMEOUT_S,
                    session_timeout: float = 0) -> Remote:
    """A session on a free device registered under `key`, waiting at most `wait` seconds for one."""
    from tvm.rpc import base

    host, port = parse_address(address, "--tracker")
    summary = tracker_summary(address, timeout)
    sock = _tracker_socket(host, port, timeout)
    try:
        base.sendjson(sock, [base.TrackerCode.REQUEST, key, "aicam-opt measure", 1])
        sock.settimeout(wait)
        try:
            value = base.recvjson(sock)
        except (socket.timeout, OSError):
            raise AicamError(
                f"no free device under key {key!r} at tracker {host}:{port} within {wait:g} s (devices the tracker "
                f"knows: {_keys_text(summary)}): wait for the jobs holding them, register another with "
                f"`python -m tvm.exec.rpc_server --tracker {host}:{port} --key {key}`, fix --key, or raise --wait") from None
    finally:
        sock.close()
    if not value or value[0] != base.TrackerCode.SUCCESS:
        raise AicamError(f"tracker {host}:{port} refused the request for key {key!r} ({value}); check --key")
    server_host, server_port, match_key = value[1]
    remote = connect_rpc(f"{server_host}:{server_port}", timeout, session_timeout, key=match_key, via="tracker")
    remote.tracker, remote.key = f"{host}:{port}", key
    return remote


def _last_line(err: BaseException) -> str:
    lines = [ln.strip() for ln in str(err).strip().splitlines() if ln.strip()]
    return lines[-1] if lines else type(err).__name__


class LocalServer:
    """`python -m aicam_opt.device.rpc_server` on `host`, started and stopped here (a context manager).

    `tracker`/`key`: register it with a tracker instead of serving direct connections only."""

    def __init__(self, host: str = "127.0.0.1", port: int = 9090, port_end: int = 9199, tracker: str | None = None,
                 key: str = "", env: dict[str, str] | None = None, start_timeout: float = LOCAL_START_TIMEOUT_S):
        self.host, self.port_range, self.tracker, self.key = host, (port, port_end), tracker, key
        self.env, self.start_timeout = env, start_timeout
        self.process: subprocess.Popen | None = None
        self.port: int | None = None
        self.log = Path(tempfile.mkstemp(prefix="aicam_rpc_server_", suffix=".log")[1])

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def start(self) -> "LocalServer":
        cmd = [sys.executable, "-m", "aicam_opt.device.rpc_server", "--host", self.host,
               "--port", str(self.port_range[0]), "--port-end", str(self.port_range[1])]
        if self.tracker:
            cmd += ["--tracker", self.tracker, "--key", self.key]
        repo = str(Path(__file__).resolve().parents[2])
        env = {**os.environ, **(self.env or {})}
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [repo, env.get("PYTHONPATH")]))
        with open(self.log, "wb") as log:
            self.process = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=log, env=env, start_new_session=True)
        return self

    def wait_ready(self) -> "LocalServer":
        """Block until the server listens (its port printed and a TCP connect accepted)."""
        assert self.process is not None and self.process.stdout is not None
        deadline = time.monotonic() + self.start_timeout
        ready, _, _ = select.select([self.process.stdout], [], [], self.start_timeout)
        # the bound port, printed once TVM is imported and the socket bound
        line = self.process.stdout.readline().decode().strip() if ready else ""
        if not line.isdigit():
            self.stop()
            raise AicamError(f"the local TVM RPC server did not start: {self.log_tail()}")
        self.port = int(line)
        while time.monotonic() < deadline:
            try:
                socket.create_connection((self.host, self.port), timeout=1).close()
                return self
            except OSError:
                if self.process.poll() is not None:
                    break
                time.sleep(0.2)
        self.stop()
        raise AicamError(f"the local TVM RPC server did not listen on {self.host}:{self.port}: {self.log_tail()}")

    def log_tail(self) -> str:
        text = self.log.read_text(errors="replace").strip() if self.log.is_file() else ""
        return text[-600:] or "no output (see the TVM installation: python -m tvm.exec.rpc_server)"

    def kill(self) -> None:
        """Kill the server and its session workers at once (SIGKILL to its process group)."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()
        if self.process is not None and self.process.stdout is not None:
            self.process.stdout.close()
        self.log.unlink(missing_ok=True)

    def __enter__(self) -> "LocalServer":
        return self.start().wait_ready()

    def __exit__(self, *exc) -> None:
        self.stop()


def _remote_call(session: Any, name: str, *args: Any) -> Any:
    """A global function on the remote, or None where it lacks it (a runtime-only server)."""
    try:
        return session.get_function(name)(*args)
    except Exception:  # noqa: BLE001 - absent functions raise TVM's AttributeError/RPCError
        return None


def _isa_of(triple: str | None) -> str | None:
    if not triple:
        return None
    arch = triple.split("-")[0]
    return {"arm64": "aarch64", "amd64": "x86_64"}.get(arch, arch)


def device_info(remote: Remote, threads: int | None) -> dict[str, Any]:
    """What the remote reports about itself; `threads`: set its thread pool to that many (big) cores first."""
    session = remote.session
    triple = _remote_call(session, "target.llvm_get_system_triple")
    cpu = _remote_call(session, "target.llvm_get_system_cpu")
    if threads:
        _remote_call(session, "runtime.config_threadpool", 1, threads)  # 1: the big cores (kBig)
    units: dict[str, bool] = {}
    for unit, ctor in UNIT_DEVICES.items():
        try:
            units[unit] = bool(getattr(session, ctor)(0).exist)
        except Exception:  # noqa: BLE001 - no device API for it on the remote
            units[unit] = False
    opencl = None
    if units.get("gpu"):
        try:
            opencl = session.cl(0).device_name
        except Exception:  # noqa: BLE001
            opencl = None
    triple_text = str(triple) if triple else None
    info = {"address": remote.address, "via": remote.via, "tracker": remote.tracker, "key": remote.key,
            "triple": triple_text, "cpu": str(cpu) if cpu else None, "isa": _isa_of(triple_text),
            "os": ("android" if "android" in triple_text else "linux" if "linux" in triple_text else None)
            if triple_text else None,
            "threads": _remote_call(session, "runtime.NumThreads"), "units": units, "opencl_device": opencl}
    remote.info = info
    return info


__all__ = ["Remote", "LocalServer", "check_server", "connect_rpc", "connect_tracker", "tracker_summary", "device_info",
           "parse_address", "UNIT_DEVICES", "DEFAULT_CONNECT_TIMEOUT_S", "DEFAULT_WAIT_S"]
