"""`aicam-opt compile CANDIDATE_DIR --target sd865 --out DIR` (or `aicam-opt compile REPORT_DIR --winners`).

Compiles the candidate's low-res and full-res parts with TVM for the units its placement names,
verifies the same graphs compiled for this host on real photos, and audits TVM's FLOP estimate
against aicam_opt's counts. `--all-units` also compiles each part for the target's other units
(alternative builds, not verified). TVM's logs and C++ warnings go to aicam-opt.log in the output folder
(`--verbose`: on the console too). Prints a JSON summary. Exit status: 0 when it ran (a part a backend
cannot compile is reported in the summary, not an error), 1 when the host verification failed its
bars (the compiled numerics are wrong), 2 for a user error (a missing folder, an unknown target).
"""
from __future__ import annotations

import argparse
import contextlib
import json
from pathlib import Path
from typing import Any

import torch

from ..data import resolve
from ..logs import routed_logs
from ..search.folder import ReportFolder


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("compile", help="compile a candidate's parts with TVM for the target's units, verify on host")
    p.add_argument("candidate", help="candidate folder (from `aicam-opt compress --out DIR`), or with --winners "
                                     "the report folder holding winners.json (reports/<target>)")
    p.add_argument("--target", default="sd865", help="target name (targets/<name>.yaml) or path (default: sd865)")
    p.add_argument("--out", help="output folder (default: CANDIDATE_DIR/compiled; ignored with --winners)")
    p.add_argument("--winners", action="store_true", help="compile every winner of winners.json into "
                                                           "artifacts/<role>/ and write compile.json")
    p.add_argument("--all-units", action="store_true", help="also compile each part for the target's other units "
                   "(at the precision closest to the candidate's; role 'alternative', not verified on the host)")
    p.add_argument("--data", help="data folder (default: $AICAM_DATA, ../shared/data, else embedded photos)")
    p.add_argument("--no-verify", action="store_true", help="skip the host verification on real photos")
    p.add_argument("--no-audit", action="store_true", help="skip the FLOP audit")
    p.add_argument("--no-quality", action="store_true", help="skip the FiveK PSNR drop of the compiled model")
    p.add_argument("--photos", type=int, default=None, help="verify on at most N evaluation photos (default: all)")
    p.add_argument("--long-side", type=int, default=768, help="evaluation photos resized to this long side")
    p.add_argument("--pixel-dtype", choices=("float32", "uint8", "uint16"), default="float32",
                   help="pixel type of the fused full-res kernel's input and output")
    p.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's own)")
    p.add_argument("-v", "--verbose", action="store_true",
                   help="also show the libraries' logs (NNCF, torch, TVM) on the console; they always go to "
                        "aicam-opt.log in the output folder")
    p.set_defaults(func=run)


def summary(report: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"candidate": report.get("candidate"), "status": report.get("status"),
                           "out_dir": report.get("out_dir"), "parts": {}}
    if report.get("error"):
        out["error"] = report["error"]
    for part in report.get("parts") or []:
        failure = part.get("failure")
        entry = {"unit": part["unit"], "status": part["status"], "engine": part["engine"], "artifact": part["artifact"],
                 **({"failed": {k: failure.get(k) for k in ("stage", "op", "reason")}} if failure else {})}
        if part.get("role", "placed") == "placed":
            out["parts"][part["part"]] = entry
        else:
            out.setdefault("alternatives", {})[f"{part['part']}-{part['unit']}"] = {"precision": part["precision"], **entry}
    verify = report.get("verify")
    if verify:
        if "error" in verify:
            out["verify"] = {"error": verify["error"]}
        else:
            out["verify"] = {"passed": verify["passed"],
                             **{k: {"max_abs": v["max_abs"], "min_psnr": v["min_psnr"], "passed": v["passed"]}
                                for k, v in verify["parts"].items()}}
            quality = verify.get("quality")
            if quality:
                out["verify"]["psnr_drop_vs_student"] = {"compiled": quality["compiled_psnr_drop_vs_student"],
                                                         "predicted": quality["predicted_psnr_drop_vs_student"]}
    audit = report.get("op_audit_detail")
    if audit:
        out["op_audit_differences_over_1pct"] = {k: len(v.get("differences", [])) for k, v in audit.items()}
    return out


def _verify_failed(report: dict[str, Any]) -> bool:
    verify = report.get("verify") or {}
    return verify.get("passed") is False


def _logs(args: argparse.Namespace, out_dir):
    """The libraries' logs into `out_dir`; none for a candidate folder that does not exist (its error says so,
    and no folder is made)."""
    return routed_logs(out_dir, verbose=args.verbose) if Path(args.candidate).is_dir() else contextlib.nullcontext()


def run(args: argparse.Namespace) -> int:
    if args.threads:
        torch.set_num_threads(args.threads)
    source = resolve(args.data)
    options = dict(verify=not args.no_verify, audit=not args.no_audit, quality=not args.no_quality,
                   verify_long_side=args.long_side, verify_photos=args.photos, pixel_dtype=args.pixel_dtype,
                   all_units=args.all_units)
    if args.winners:
        from .winners import compile_winners

        with _logs(args, args.candidate):
            result = compile_winners(args.candidate, args.target, source, **options)
        roles = {role: (summary(r) if r else None) for role, r in result["winners"].items()}
        print(json.dumps({"compile_json": ReportFolder.COMPILE_FILE, "winners": roles}, indent=2))
        return 1 if any(r and _verify_failed(r) for r in result["winners"].values()) else 0
    from .candidate import compile_candidate

    with _logs(args, args.out or Path(args.candidate) / "compiled"):
        report = compile_candidate(args.candidate, args.target, args.out, source, **options).to_dict()
    print(json.dumps(summary(report), indent=2))
    return 1 if _verify_failed(report) else 0
