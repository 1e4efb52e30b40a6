"""Shared fixtures: real TVM RPC servers and a tracker on 127.0.0.1, and parts built once for this host.

Servers (session scope, started together so that their TVM imports overlap):
- `rpc_server`: one server for direct connections (`--rpc HOST:PORT`);
- `tracker`: `python -m tvm.exec.rpc_tracker` (needs tornado) with two servers registered under the key
  TRACKER_KEY: {"address", "key", "servers"}.
Builds (session scope): the committed student and a small candidate (64 px low-res input, 8x8x4 grid,
fp32 on the CPU, in a report folder with a winners.json naming it twice) for this host at WORKLOAD.
"""
from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from aicam_opt.compress.folder import CandidateFolder
from aicam_opt.report.summary import Summary
from aicam_opt.search.winners import WinnerEntry, WinnersDocument
import torch

from aicam_opt.compress.candidate import Candidate
from aicam_opt.config import save_yaml
from aicam_opt.data import resolve
from aicam_opt.device.build import build_model
from aicam_opt.device.models import resolve_models
from aicam_opt.device.remote import LocalServer
from aicam_opt.models.checkpoints import save_checkpoint
from aicam_opt.models.student import StudentConfig, StudentNet

TINY = StudentConfig(lowres_size=64, grid_size=8, width=8, grid_depth=4)
WORKLOAD = "240x320"
TRACKER_KEY = "tinyboard"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def tiny_candidate(folder: Path, name: str = "tiny_fp32", seed: int = 0) -> Path:
    """A candidate folder as `aicam-opt compress` writes it (no metrics.json: measure does not read it)."""
    torch.manual_seed(seed)
    net = StudentNet(TINY).eval()
    with torch.no_grad():
        for p in net.parameters():
            p.add_(torch.randn_like(p) * 0.05)
    folder.mkdir(parents=True, exist_ok=True)
    save_checkpoint(net, "student", folder / "student.safetensors")
    save_yaml(Candidate(name=name, target="host"), folder / "candidate.yaml")
    return folder


@pytest.fixture(scope="session")
def source():
    found = resolve(None)
    return type(found)(found.root, explicit=False)


class Tracker:
    def __init__(self):
        self.port = free_port()
        self.address = f"127.0.0.1:{self.port}"
        self.process = subprocess.Popen([sys.executable, "-m", "tvm.exec.rpc_tracker", "--host", "127.0.0.1",
                                         "--port", str(self.port), "--port-end", str(self.port + 1), "--silent"],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)

    def wait_ready(self, timeout: float = 180) -> "Tracker":
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return self
            except OSError:
                assert self.process.poll() is None, "the tracker exited (is tornado installed?)"
                time.sleep(0.2)
        raise TimeoutError("tracker did not start")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)


def wait_registered(address: str, key: str, count: int, timeout: float = 180) -> None:
    from aicam_opt.device.remote import tracker_summary

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        queue = tracker_summary(address).get("queue_info", {})
        if queue.get(key, {}).get("free", 0) >= count:
            return
        time.sleep(0.3)
    raise TimeoutError(f"{count} servers did not register under {key!r}")


@pytest.fixture(scope="session")
def _servers():
    """Every server of the session, started at once (each imports TVM: seconds on a loaded machine)."""
    direct = LocalServer(port=free_port(), port_end=65535).start()
    tracker = Tracker()
    tracker.wait_ready()
    pooled = [LocalServer(port=free_port(), port_end=65535, tracker=tracker.address, key=TRACKER_KEY).start()
              for _ in range(2)]
    try:
        yield {"direct": direct, "tracker": tracker, "pooled": pooled}
    finally:
        for server in [direct, *pooled]:
            server.stop()
        tracker.stop()


@pytest.fixture(scope="session")
def rpc_server(_servers) -> LocalServer:
    return _servers["direct"].wait_ready() if _servers["direct"].port is None else _servers["direct"]


@pytest.fixture(scope="session")
def tracker(_servers) -> dict:
    for server in _servers["pooled"]:
        if server.port is None:
            server.wait_ready()
    address = _servers["tracker"].address
    wait_registered(address, TRACKER_KEY, 2)
    return {"address": address, "key": TRACKER_KEY, "servers": _servers["pooled"]}


@pytest.fixture(scope="session")
def report_dir(tmp_path_factory) -> Path:
    """reports/host with winners.json: `fastest` and `balanced` name the same tiny candidate, `none` is null."""
    base = tmp_path_factory.mktemp("reports") / "host"
    tiny_candidate(base / "trials" / "0001")
    # the figures measure does not read are placeholders of the right type; the folder and roles are real
    quality = {"psnr": 30.0, "student_psnr": 30.0, "psnr_drop_vs_student": 0.0, "psnr_vs_student": 50.0,
               "deltae_vs_student": 0.1, "psnr_vs_teacher": 40.0, "deltae_vs_teacher": 0.5, "pairs": 1, "images": 1}
    entry = WinnerEntry(trial=1, dir="trials/0001", candidate=CandidateFolder(base / "trials" / "0001").load_candidate(),
                        fidelity="full", quality=quality, predicted_latency_ms={}, macs={}, peak_memory_mb={},
                        speedup_vs_student={}, constraints={})
    student = Summary.load(Path(__file__).resolve().parents[2] / "reports" / "baseline" / "sd865.json", "").student
    WinnersDocument(target="host", search_space="device-tests", roles={"fastest": "a test fixture",
                    "balanced": "a test fixture", "none": "a test fixture"}, student=student,
                    winners={"fastest": entry, "balanced": entry, "none": None}).save(base / "winners.json")
    return base


@pytest.fixture(scope="session")
def tiny_dir(report_dir) -> Path:
    return report_dir / "trials" / "0001"


def build(spec: str, target: str, source, out: Path, **options) -> dict:
    from aicam_opt.cost.workloads import parse_workload

    height, width = parse_workload(options.pop("workload", WORKLOAD))
    _, models, _ = resolve_models(spec, target, source)
    return {m.label: build_model(m, target, height, width, out / m.label, **options) for m in models}


@pytest.fixture(scope="session")
def built_student(tmp_path_factory, source) -> dict:
    torch.set_num_threads(1)
    return build("student", "host", source, tmp_path_factory.mktemp("student_parts"))


@pytest.fixture(scope="session")
def built_tiny(tmp_path_factory, tiny_dir, source) -> dict:
    torch.set_num_threads(1)
    return build(str(tiny_dir), "host", source, tmp_path_factory.mktemp("tiny_parts"))
