"""A TVM RPC server in one process: `python -m aicam_opt.device.rpc_server --host 127.0.0.1 --port 9090`.

The same server loop as `python -m tvm.exec.rpc_server` (tvm.rpc.server's listen loop, one forked
worker per session), without the extra launcher process that one starts: `--rpc local` and the
tests start it in half the time. It prints the port it bound (the first free one from --port to
--port-end) on stdout, then serves until killed. `--tracker HOST:PORT --key KEY` registers it with a
tracker, as the stock server does.
"""
from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m aicam_opt.device.rpc_server", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9090)
    parser.add_argument("--port-end", type=int, default=9199)
    parser.add_argument("--tracker", help="HOST:PORT of a TVM RPC tracker to register with")
    parser.add_argument("--key", default="", help="the device key under which the tracker lists this server")
    args = parser.parse_args(argv)
    if args.tracker and not args.key:
        parser.error("--tracker needs --key")

    from tvm.rpc.server import PopenRPCServerState

    tracker = None
    if args.tracker:
        host, port = args.tracker.rsplit(":", 1)
        tracker = (host, int(port))
    state = PopenRPCServerState(args.host, args.port, args.port_end, tracker_addr=tracker, key=args.key, silent=True)
    print(state.port, flush=True)
    state.thread.join()
    return 0


if __name__ == "__main__":
    sys.exit(main())
