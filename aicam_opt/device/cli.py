"""`aicam-opt measure`: time the shipped parts on a device over TVM RPC, beside the latency model's prediction.

    aicam-opt measure student --target host --rpc local
    aicam-opt measure reports/sd865 --target sd865 --tracker 127.0.0.1:9190 --key sd865 --ndk ~/android-ndk
    aicam-opt measure trials/0003 --target sd865 --os linux --rpc 192.168.1.20:9090 --save-rows rb5.yaml

The table is Markdown (paste it into docs); --json prints (or, with a FILE, writes after every part)
the document of aicam_opt/device/results.py. See docs/device.md for phones and boards.
"""
from __future__ import annotations

import argparse
import json
import shlex
import sys
from typing import Any

from ..cost.model_cost import DEFAULT_WORKLOAD
from .remote import DEFAULT_CONNECT_TIMEOUT_S, DEFAULT_WAIT_S

STDOUT = "-"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("measure", help="time a model's compiled parts on a device over TVM RPC, beside the prediction",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("model", help="`student`, a candidate folder (aicam-opt compress --out DIR), a report folder with "
                                 "winners.json (every winner), or space:NAME (--sample architectures of a search "
                                 "space, untrained, both parts fp32 on the CPU: rows to calibrate the compiled "
                                 "low-res network with)")
    p.add_argument("--target", required=True, help="target name (targets/<name>.yaml) or path: the units' TVM targets "
                                                    "and the latency model; `host` is this machine")
    where = p.add_mutually_exclusive_group(required=True)
    where.add_argument("--rpc", metavar="HOST:PORT|local", help="a TVM RPC server; `local` starts one on 127.0.0.1")
    where.add_argument("--tracker", metavar="HOST:PORT", help="a TVM RPC tracker (with --key)")
    p.add_argument("--key", help="the device key of the servers registered with --tracker")
    p.add_argument("--workload", default=DEFAULT_WORKLOAD, help="image size: preview, photo100mp, video8k or HxW "
                                                               f"(default {DEFAULT_WORKLOAD})")
    p.add_argument("--repeat", type=int, default=10, help="timed repeats per part (median and spread; default 10)")
    p.add_argument("--number", type=int, default=1, help="calls averaged into each repeat (default 1)")
    p.add_argument("--threads", type=int, default=1, help="CPU threads on the remote (its big cores; default 1, as "
                                                          "the latency model's CPU figures)")
    p.add_argument("--sample", type=int, default=12, help="MODEL space:NAME: architectures to draw (default 12)")
    p.add_argument("--seed", type=int, default=0, help="MODEL space:NAME: the sampler's seed (default 0)")
    p.add_argument("--pixel-dtype", choices=("uint8", "uint16", "float32"), default="uint8",
                   help="pixel type of the fused full-res kernel (default uint8: camera frames and JPEG stills)")
    p.add_argument("--os", choices=("android", "linux"), help="the remote's operating system, if not the target's "
                   "(sd865 units build for Android; `linux` for an aarch64 Linux board such as a Qualcomm RB5)")
    p.add_argument("--ndk", metavar="PATH", help="Android NDK (its root, or its aarch64-linux-android<API>-clang) to "
                                                 "link Android parts; default $TVM_NDK_CC")
    p.add_argument("--json", nargs="?", const=STDOUT, metavar="FILE",
                   help="print the JSON document instead of the table; with FILE, write it there after every part")
    p.add_argument("--save-rows", metavar="FILE", help="append the measurements as calibration rows (the schema of "
                                                       "shared/calibration/*.yaml) to FILE")
    p.add_argument("--build-dir", metavar="DIR", help="keep the built parts here (default: a temporary folder)")
    p.add_argument("--connect-timeout", type=float, default=DEFAULT_CONNECT_TIMEOUT_S,
                   help=f"seconds to reach the server or tracker (default {DEFAULT_CONNECT_TIMEOUT_S:g})")
    p.add_argument("--wait", type=float, default=DEFAULT_WAIT_S,
                   help=f"seconds to wait for a free device under --key (default {DEFAULT_WAIT_S:g})")
    p.add_argument("--session-timeout", type=float, default=0.0,
                   help="seconds after which the remote ends the session (default 0: never)")
    p.add_argument("--data", help="data folder for int8 calibration photos (default: $AICAM_DATA, ../shared/data)")
    p.add_argument("--calibration", metavar="PATH", help="predict with this fitted calibration (aicam-opt calibrate "
                                                         "... --out PATH) instead of targets/calibration/<target>.json")
    p.set_defaults(func=run)


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def _ratio(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}x"


def print_table(document: dict[str, Any], file=None) -> None:
    from rich import box
    from rich.table import Table

    from ..terminal import OutputConsole

    console = OutputConsole(file=file or sys.stdout, highlight=False)
    models = document["models"] if "models" in document else {document["model"]: document}
    device = document.get("device") or {}
    if device:
        console.print(f"device: {device.get('cpu') or '?'} ({device.get('triple') or 'no triple reported'}), "
                      f"{device['via']} {device['address']}" + (f", key {device['key']}" if device.get("key") else "")
                      + f", {device.get('threads')} thread(s)")
    for label, doc in models.items():
        title = (f"{label} on {doc['target']} at {doc['workload']} ({doc['height']}x{doc['width']}), "
                 f"{doc['pixel_type']} pixels, {doc['threads']} thread(s), median of {doc['repeat']}")
        table = Table(title=title, title_justify="left", box=box.MARKDOWN)
        for column in ("part", "unit", "precision", "measured ms", "min-max ms", "IQR ms", "predicted ms", "ratio",
                       "status"):
            table.add_column(column, justify="left" if column in ("part", "unit", "precision", "status") else "right")
        notes = []
        for name, part in doc["parts"].items():
            spread = part.get("spread") or {}
            span = f"{spread['min_ms']:.2f}-{spread['max_ms']:.2f}" if spread else "-"
            predicted = _ms(part["predicted_ms"])
            if part["predicted_ms"] is None and part.get("predicted_missing"):
                notes.append(f"{name}: no prediction: {part['predicted_missing']}")
                predicted = f"- [{len(notes)}]"
            status = part["status"]
            if part.get("reason"):
                notes.append(f"{name}: {part['reason']}")
                status = f"{status} [{len(notes)}]"
            table.add_row(name, part["unit"], part["precision"], _ms(part["measured_ms"]), span,
                          _ms(spread.get("iqr_ms")), predicted, _ratio(part.get("ratio")), status)
        total = doc["total"]
        measured_from = {"end_to_end": "end_to_end", "sum_of_parts": "sum of parts"}.get(total.get("measured_from"), "")
        table.add_row("total", "", "", _ms(total["measured_ms"]), measured_from, "", _ms(total["predicted_ms"]),
                      _ratio(total.get("ratio")), doc["status"])
        console.print(table)
        for i, note in enumerate(notes, 1):
            console.print(f"[{i}] {note}")
        if doc.get("error"):
            console.print(f"error: {doc['error']['message']}")


def command_line(args: argparse.Namespace) -> str:
    """The command as given (its options, from the parsed arguments), for the documents' `command`."""
    words = ["aicam-opt", "measure", args.model, "--target", args.target]
    for option in ("rpc", "tracker", "key", "workload", "repeat", "number", "threads", "sample", "seed", "pixel_dtype", "os", "ndk",
                   "json", "save_rows", "build_dir", "connect_timeout", "wait", "session_timeout", "data",
                   "calibration"):
        value = getattr(args, option)
        if value is not None and value != _DEFAULTS.get(option):
            words += [f"--{option.replace('_', '-')}"] + ([] if value == STDOUT and option == "json" else [str(value)])
    return shlex.join(words)


_DEFAULTS = {"workload": DEFAULT_WORKLOAD, "repeat": 10, "number": 1, "threads": 1, "sample": 12, "seed": 0,
             "pixel_dtype": "uint8",
             "connect_timeout": DEFAULT_CONNECT_TIMEOUT_S, "wait": DEFAULT_WAIT_S, "session_timeout": 0.0}


def run(args: argparse.Namespace) -> int:
    from ..data import resolve
    from ..latency.model import using_calibration
    from ..latency.target import load_target
    from .measure import MeasurementFailed, MeasureOptions, RemoteSpec, measure

    spec = RemoteSpec(rpc=args.rpc, tracker=args.tracker, key=args.key, connect_timeout=args.connect_timeout,
                      wait=args.wait, session_timeout=args.session_timeout)
    options = MeasureOptions(target=args.target, workload=args.workload, repeat=args.repeat, number=args.number,
                             threads=args.threads, pixel_type=args.pixel_dtype, sample=args.sample, seed=args.seed,
                             os_name=args.os, ndk=args.ndk, command=command_line(args))

    to_stdout = args.json == STDOUT
    json_file = None if args.json in (None, STDOUT) else args.json
    log = (lambda text: print(text, file=sys.stderr, flush=True))
    try:
        with using_calibration(load_target(args.target).name, args.calibration):
            document = measure(args.model, spec, options, json_file, args.save_rows, args.build_dir,
                               resolve(args.data), log)
    except MeasurementFailed as err:
        _show(err.document.dump(), to_stdout)
        raise
    _show(document.dump(), to_stdout)
    return 0


def _show(document: dict[str, Any], to_stdout: bool) -> None:
    if to_stdout:
        print(json.dumps(document, indent=2))
    else:
        print_table(document)
