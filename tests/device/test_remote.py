"""Reaching a remote: addresses, bounded connects, the tracker's key and its bounded wait, what a remote reports."""
from __future__ import annotations

import time

import pytest

from aicam_opt.device import remote as remotes
from aicam_opt.device.measure import RemoteSpec
from aicam_opt.errors import AicamError

from .conftest import free_port


@pytest.mark.parametrize("text", ["localhost", "host:port", ":9090", "1.2.3.4:0", "1.2.3.4:70000"])
def test_bad_addresses(text):
    with pytest.raises(AicamError, match="expected HOST:PORT"):
        remotes.parse_address(text, "--rpc")


def test_remote_spec_needs_one_place_and_a_key_for_the_tracker():
    with pytest.raises(AicamError, match="exactly one of"):
        RemoteSpec()
    with pytest.raises(AicamError, match="--tracker needs --key"):
        RemoteSpec(tracker="127.0.0.1:9190")


def test_refused_server_and_tracker_fail_at_once():
    port = free_port()  # bound a moment ago, nothing listens now
    clock = time.monotonic()
    with pytest.raises(AicamError, match=rf"RPC server 127.0.0.1:{port} is unreachable .*tvm.exec.rpc_server"):
        remotes.connect_rpc(f"127.0.0.1:{port}", timeout=2)
    with pytest.raises(AicamError, match=rf"RPC tracker 127.0.0.1:{port} is unreachable .*rpc_tracker"):
        remotes.connect_tracker(f"127.0.0.1:{port}", "phone", wait=1, timeout=2)
    assert time.monotonic() - clock < 5


def test_unroutable_address_is_bounded_by_the_connect_timeout():
    """TEST-NET-1 (RFC 5737) never answers: the connect gives up after the timeout, not minutes later."""
    clock = time.monotonic()
    with pytest.raises(AicamError, match=r"192.0.2.1:9090 (did not answer within 1 s|is unreachable)"):
        remotes.connect_rpc("192.0.2.1:9090", timeout=1)
    assert time.monotonic() - clock < 4


@pytest.mark.slow
def test_a_tracker_is_not_a_server_and_a_server_not_a_tracker(tracker, rpc_server):
    with pytest.raises(AicamError, match="is it a TVM RPC server"):
        remotes.connect_rpc(tracker["address"], timeout=3)
    with pytest.raises(AicamError, match="is it a TVM RPC tracker"):
        remotes.connect_tracker(rpc_server.address, "x", wait=1, timeout=2)


@pytest.mark.slow
def test_unknown_key_waits_a_bounded_time_and_lists_the_keys(tracker):
    clock = time.monotonic()
    with pytest.raises(AicamError, match=r"no free device under key 'phone' .* within 1 s .*'tinyboard': 2 device\(s\), "
                                         r"2 free.*--key phone"):
        remotes.connect_tracker(tracker["address"], "phone", wait=1, timeout=3)
    assert time.monotonic() - clock < 5


@pytest.mark.slow
def test_busy_key_waits_then_fails_and_a_freed_device_serves_again(tracker):
    """Both devices of the key held by other sessions: a bounded wait, then an error; released, one serves."""
    held = [remotes.connect_tracker(tracker["address"], tracker["key"], wait=30) for _ in range(2)]
    try:
        assert len({r.address for r in held}) == 2  # the tracker handed out both devices
        with pytest.raises(AicamError, match=r"no free device under key 'tinyboard' .* within 1 s"):
            remotes.connect_tracker(tracker["address"], tracker["key"], wait=1, timeout=3)
    finally:
        for r in held:
            r.close()
    again = remotes.connect_tracker(tracker["address"], tracker["key"], wait=60)
    try:
        info = remotes.device_info(again, threads=1)
        assert info["via"] == "tracker" and info["key"] == "tinyboard" and info["units"]["cpu"]
    finally:
        again.close()


@pytest.mark.slow
def test_device_info_of_this_host(rpc_server):
    remote = remotes.connect_rpc(rpc_server.address)
    try:
        info = remotes.device_info(remote, threads=1)
    finally:
        remote.close()
    assert info["triple"].startswith("x86_64-") and info["cpu"]
    assert info["isa"] == "x86_64" and info["os"] == "linux" and info["threads"] == 1
    assert info["units"] == {"cpu": True, "gpu": False, "dsp": False}
