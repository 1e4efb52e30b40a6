"""A part a backend cannot compile, and how TVM's errors are read into one: stage, reason, ops."""
from __future__ import annotations

import re
from typing import Any


class CompileFailure(Exception):
    """A part that a backend cannot compile: the stage, the reason and, when known, the ops."""

    def __init__(self, stage: str, reason: str, ops: list[dict[str, str]] | None = None):
        super().__init__(f"{stage}: {reason}")
        self.stage, self.reason, self.ops = stage, reason, ops or []

    def to_dict(self) -> dict[str, Any]:
        return {"stage": self.stage, "op": ", ".join(dict.fromkeys(o["op"] for o in self.ops)) or None,
                "reason": self.reason, "ops": self.ops}


def error_reason(err: BaseException) -> str:
    """The decisive line of a TVM error (its last non-empty line), without the C++ trace."""
    lines = [ln.strip() for ln in str(err).strip().splitlines() if ln.strip()]
    text = lines[-1] if lines else type(err).__name__
    return text if len(text) <= 400 else text[:400] + "..."


def function_kind(function_name: str) -> str:
    """A legalized PrimFunc's op kind: its name without the numeric suffix (softmax1 -> softmax)."""
    return re.sub(r"\d+$", "", function_name)


def llvm_intrinsic(reason: str) -> str | None:
    """The LLVM intrinsic a codegen error names (`llvm.exp`), if any."""
    found = re.search(r"(llvm\.[A-Za-z0-9_.]+)", reason)
    return found.group(1) if found else None


def op_entry(function: str, err: BaseException) -> dict[str, str]:
    """One failing function: its op kind, the reason and, when named, the intrinsic it lacked."""
    reason = error_reason(err)
    entry = {"function": function, "op": function_kind(function), "reason": reason}
    intrinsic = llvm_intrinsic(reason)
    if intrinsic:
        entry["intrinsic"] = intrinsic
    elif "tvm_call_packed" in reason:
        entry["intrinsic"] = "tirx.tvm_call_packed"
    return entry


__all__ = ["CompileFailure", "error_reason", "function_kind", "llvm_intrinsic", "op_entry"]
