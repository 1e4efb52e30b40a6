"""Hexagon DSP units (Hexagon 698, HVX v66): the DSP built as its own host, the math lowerings TVM lacks
for it, and the unlinked Hexagon objects (ELF e_machine 164) with the symbols they leave to link.

Why its own host. TVM 0.27's `tirx.build` treats only llvm/c/cuda_host functions as host code: with an
aarch64 host a plain (not thread-bound) TIR function is bound to the host and compiled for aarch64, so
a "Hexagon" build with an aarch64 host contains no Hexagon code at all (the ISA check would catch it;
tests/compile/test_backend.py shows it), and with a Hexagon host the build stops at
`unknown intrinsic tirx.tvm_call_packed` (host builtins are left unlowered for a "device"). So a DSP
part is built as TVM's Hexagon flow runs it, with the DSP as its own host (the aarch64 side only
launches it over FastRPC): the `default` TIR pipeline, the host finalisation passes, then
`target.build.hexagon`. That codegen links with the Hexagon SDK's `hexagon-link`, which is not here:
`capture_objects` takes the object files it would link instead, and the artifact is a tar of them.

Math. TVM 0.27's `hexagon.FLowerIntrinsic` rules (src/target/llvm/intrin_rule_hexagon.cc) map exp,
sqrt, floor, ceil and pow to LLVM intrinsics (`llvm.exp`, ...) that its LLVM cannot declare for
Hexagon ("Cannot find intrinsic declaration, possible type mismatch: llvm.exp"); tanh and sigmoid
have no Hexagon rule and fall back to the default legalization, which expands them into exp.
`register_math_lowering()` overrides these rules (at a priority level above the built-in 10) with
calls to the C math library, which the Hexagon SDK's libc provides when the object is linked:

    exp -> expf    sqrt -> sqrtf    floor -> floorf    ceil -> ceilf    pow -> powf    tanh -> tanhf
    sigmoid -> 1 / (1 + expf(-x))

float16 arguments are computed in float32 (widened, the float function, narrowed back: v66 has no
half-precision scalar arithmetic), float64 with the double functions. A vector operand (a loop TVM
vectorized, e.g. the fused kernel's column blocks) is lowered lane by lane: one scalar call per lane,
the results gathered back into a vector (HVX has no vector libm). Other types are left alone. The
rules are process-wide (TVM's op attribute registry) but only consulted for `kind: hexagon` targets;
registering is idempotent (a TVM global function marks that they are in place, so a reloaded module
does not register twice, which TVM would reject at the same level). Math functions still missing
(erf on float16: "unknown intrinsic tirx.erf") are found up front by `unsupported_math`, which builds
each math function a module calls alone, once per function and float type.
"""
from __future__ import annotations

import contextlib
import io
import json
import re
import tarfile
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator

from ... import atomic
from .. import elf
from ..failures import CompileFailure, error_reason, function_kind, llvm_intrinsic
from ..targets import without_host

if TYPE_CHECKING:
    from ..backend import Compiled

ELF_MACHINES = {164: "hexagon"}  # EM_QDSP6

# --- math lowering ----------------------------------------------------------------------------------

LEVEL = 100  # above TVM's own Hexagon/default rules (10; the example rules of tvm.target.intrin use 99)
_MARK = "aicam_opt.compile.unit_kinds.hexagon.math_lowering"

# TVM op -> the C function computing it on float32 (the double one is the name without the `f`).
LIBM = {"exp": "expf", "sqrt": "sqrtf", "floor": "floorf", "ceil": "ceilf", "pow": "powf", "tanh": "tanhf"}
LOWERED = (*LIBM, "sigmoid")


def _scalar_call(libm: str, dtype: str, args: list[Any]) -> Any:
    """`libm(args)` for one scalar of `dtype` (float16 through float32)."""
    from tvm import tirx

    if dtype == "float64":
        return tirx.call_pure_extern("float64", libm[:-1], *args)
    if dtype == "float16":
        wide = tirx.call_pure_extern("float32", libm, *(tirx.Cast("float32", a) for a in args))
        return tirx.Cast("float16", wide)
    return tirx.call_pure_extern(dtype, libm, *args)


def _lanes(dtype) -> int:
    lanes = dtype.lanes
    return lanes if isinstance(lanes, int) else -1  # scalable vectors report an expression


def _per_lane(op, scalar: Callable[[str, list[Any]], Any]) -> Any:
    """Apply `scalar(elem_dtype, scalar_args)` to op; a fixed-width vector lane by lane."""
    import tvm
    from tvm import tirx

    dtype = tvm.DataType(str(op.ty.dtype))
    elem = str(dtype.element_of) if hasattr(dtype, "element_of") else str(dtype).split("x")[0]
    if elem not in ("float16", "float32", "float64"):
        return op
    lanes = _lanes(dtype)
    if lanes == 1:
        return scalar(elem, list(op.args))
    if lanes < 1:
        return op
    parts = []
    for lane in range(lanes):
        index = tirx.const(lane, "int32")
        args = [a if _lanes(tvm.DataType(str(a.ty.dtype))) == 1 else
                tirx.Shuffle([a], [index]) for a in op.args]
        parts.append(scalar(elem, args))
    return tirx.Shuffle(parts, [tirx.const(i, "int32") for i in range(lanes)])


def _libm_rule(libm: str) -> Callable:
    def rule(op):
        return _per_lane(op, lambda elem, args: _scalar_call(libm, elem, args))
    rule.__name__ = f"hexagon_{libm}"
    return rule


def _sigmoid_rule(op):
    from tvm import tirx

    def scalar(elem: str, args: list[Any]) -> Any:
        (x,) = args
        compute = "float64" if elem == "float64" else "float32"
        x = x if elem == compute else tirx.Cast(compute, x)
        one = tirx.const(1.0, compute)
        value = one / (one + _scalar_call("expf", compute, [tirx.const(0.0, compute) - x]))
        return value if elem == compute else tirx.Cast(elem, value)

    return _per_lane(op, scalar)


def op_name(name: str) -> str:
    """The registered TVM op `tvm.tirx.<name>` builds (tirx.exp, ...; ceil is `prim.ceil` in 0.27)."""
    import tvm

    x = tvm.tirx.Var("x", "float32")
    fn = getattr(tvm.tirx, name)
    return (fn(x, x) if name == "pow" else fn(x)).op.name


def register_math_lowering() -> None:
    """Install the rules (once per process)."""
    import tvm_ffi
    from tvm.tirx import register_intrin_lowering

    if tvm_ffi.get_global_func(_MARK, allow_missing=True) is not None:
        return
    for name, libm in LIBM.items():
        register_intrin_lowering(op_name(name), target="hexagon", f=_libm_rule(libm), level=LEVEL)
    register_intrin_lowering(op_name("sigmoid"), target="hexagon", f=_sigmoid_rule, level=LEVEL)
    tvm_ffi.register_global_func(_MARK, lambda: list(LOWERED), override=True)


# --- building with the DSP as its own host ------------------------------------------------------------

_LINK = "tvm.contrib.hexagon.link_shared"


@contextlib.contextmanager
def capture_objects() -> Iterator[list[tuple[str, bytes]]]:
    """While active, `target.build.hexagon`'s link step keeps the object files instead of linking.

    The codegen writes each object to a scratch `tvm-XXXXXX.o` in the temp dir and expects the linker
    to write the `.so` beside it; both are removed once read (left there, every DSP build, a few
    hundred per CI run, piled up in /tmp)."""
    import tvm_ffi

    objects: list[tuple[str, bytes]] = []
    scratch: list[Path] = []

    def link_shared(so_name, object_files, *_args):  # the signature target.build.hexagon calls
        for obj in object_files:
            path = Path(obj if isinstance(obj, str) else obj.value)
            objects.append((path.name, path.read_bytes()))
            scratch.append(path)
        so_path = Path(so_name if isinstance(so_name, str) else so_name.value)
        so_path.write_bytes(b"")  # the codegen checks the linker made it
        scratch.append(so_path)
        return 0

    previous = tvm_ffi.get_global_func(_LINK, allow_missing=True)
    tvm_ffi.register_global_func(_LINK, link_shared, override=True)
    try:
        yield objects
    finally:
        for path in scratch:
            path.unlink(missing_ok=True)
        if previous is not None:
            tvm_ffi.register_global_func(_LINK, previous, override=True)
        else:
            tvm_ffi.remove_global_func(_LINK)


def device_target(target: dict[str, Any]):
    """The Hexagon target as its own host (see the module doc)."""
    import tvm

    device = without_host(target)
    try:
        return tvm.target.Target(device, host=device)
    except Exception as err:  # noqa: BLE001 - TVM's own error types
        raise CompileFailure("target", f"tvm.target.Target({device}, host=itself) failed: {error_reason(err)}") from None


def build_tir(tir_mod, target: dict[str, Any]) -> tuple[Any, list[tuple[str, bytes]]]:
    """`tir_mod` built for the DSP as its own host: (the codegen's module, the unlinked objects)."""
    import tvm
    from tvm.tirx.build import codegen_build

    register_math_lowering()
    mod = tvm.tirx.transform.BindTarget(device_target(target))(tir_mod)
    pipeline, finalize_host, _ = tvm.tirx.get_tir_pipeline("default")
    mod = finalize_host()(pipeline(mod))
    with capture_objects() as objects:
        lib = codegen_build(mod, tvm.target.Target(without_host(target)))
    return lib, list(objects)


# --- math functions Hexagon cannot build, found before building ----------------------------------------

# Math functions a TIR function may call (TVMScript `T.<name>(`), probed one by one.
MATH_FUNCTIONS = ("exp", "exp2", "exp10", "log", "log2", "log10", "log1p", "sqrt", "rsqrt", "floor", "ceil", "round",
                  "nearbyint", "trunc", "pow", "tanh", "sigmoid", "erf", "sin", "cos", "tan", "atan", "fmod")
_MATH_CALL = re.compile(r"\bT\.(" + "|".join(MATH_FUNCTIONS) + r")\(")
_probes: dict[tuple[str, str, str], str | None] = {}


def probe_math(name: str, dtype: str, target: dict[str, Any]) -> str | None:
    """Build `b[0] = name(a[0])` alone for `target`: None if it compiles, else the reason (cached)."""
    import tvm
    from tvm import te

    key = (json.dumps(target, sort_keys=True), name, dtype)
    if key not in _probes:
        a = te.placeholder((1,), dtype, name="a")
        fn = getattr(tvm.tirx, name)
        args = 2 if name in ("pow", "fmod") else 1
        b = te.compute((1,), lambda i: fn(*([a[i]] * args)), name="b")
        try:
            build_tir(tvm.IRModule({"probe": te.create_prim_func([a, b])}), target)
            _probes[key] = None
        except Exception as err:  # noqa: BLE001
            _probes[key] = error_reason(err)
    return _probes[key]


def unsupported_math(tir_mod, target: dict[str, Any]) -> list[dict[str, str]]:
    """The functions of `tir_mod` that call a math function the codegen cannot emit (each math function
    and float type probed once: a seconds-long check instead of minutes of per-function builds)."""
    found = []
    for gv, func in tir_mod.functions.items():
        text = func.script()
        dtypes = [d for d in ("float32", "float16") if d in text] or ["float32"]
        for name in sorted(set(_MATH_CALL.findall(text))):
            for dtype in dtypes:
                reason = probe_math(name, dtype, target)
                if reason is not None:
                    entry = {"function": gv.name_hint, "op": function_kind(gv.name_hint), "math": f"{name} ({dtype})",
                             "reason": reason}
                    intrinsic = llvm_intrinsic(reason)
                    if intrinsic:
                        entry["intrinsic"] = intrinsic
                    found.append(entry)
                    break
    return found


# --- the artifact and what the manifest says about it ---------------------------------------------------

_LIBM_SYMBOL = re.compile(r"^(exp|exp2|exp10|expm1|log|log2|log10|log1p|sqrt|cbrt|floor|ceil|round|nearbyint|rint|"
                          r"trunc|pow|tanh|sinh|cosh|erf|erfc|sin|cos|tan|asin|acos|atan|atan2|fmod|fabs|fmin|fmax|"
                          r"hypot)f?$")
_LIBC_SYMBOLS = {"memcpy", "memmove", "memset", "memcmp", "abort", "malloc", "free"}


def _symbol_groups(undefined: list[str]) -> list[tuple[list[str], str]]:
    math = [s for s in undefined if _LIBM_SYMBOL.match(s) or s in _LIBC_SYMBOLS]
    runtime = [s for s in undefined if s.startswith("__hexagon_")]
    tvm = [s for s in undefined if s.startswith(("TVM", "__TVM"))]
    linker = [s for s in undefined if s == "_GLOBAL_OFFSET_TABLE_"]
    other = [s for s in undefined if s not in {*math, *runtime, *tvm, *linker}]
    return [(math, "C library (the Hexagon SDK's libc/libm)"), (runtime, "compiler runtime"), (tvm, "TVM runtime"),
            (linker, "linker-defined"), (other, "other")]


class HexagonKind:
    """The DSP: built as its own host, exported as unlinked Hexagon objects."""

    name = "hexagon"
    elf_machines = ELF_MACHINES

    def build_target(self, target: dict[str, Any]):
        return device_target(target)

    def built_target(self, target: dict[str, Any]) -> dict[str, Any]:
        return {**without_host(target), "host": without_host(target)}

    def link_triple(self, target: dict[str, Any]) -> str | None:
        return None  # the Hexagon SDK's hexagon-link is not available: the objects stay a tar

    def expected_isa(self, target: dict[str, Any]) -> str:
        return "hexagon"  # all of a DSP part runs on the DSP

    def relax_pipeline(self, tgt):
        """The generic `default` build pipeline, as `tvm.compile` picks it for Hexagon (no fusion, no schedule)."""
        from tvm import relax

        return relax.get_pipeline("default")

    def unsupported_ops(self, tir_mod, target: dict[str, Any]) -> list[dict[str, str]]:
        return unsupported_math(tir_mod, target)

    def build_tir(self, tir_mod, target: dict[str, Any]):
        return build_tir(tir_mod, target)

    def compile_scheduled(self, scheduled, target: dict[str, Any]):
        return None, build_tir(scheduled, target)[1]

    def export(self, compiled: "Compiled", stem: Path) -> tuple[Path, dict[str, Any]]:
        """A tar of the objects target.build.hexagon would have linked (+ the Relax VM's bytecode listing)."""
        path = stem.with_suffix(".tar")
        with atomic.atomic_path(path) as tmp, tarfile.open(tmp, "w") as tar:
            files = list(compiled.objects)
            if compiled.vm_text is not None:
                files.append(("vm_bytecode.txt", compiled.vm_text.encode()))
            for name, data in files:
                info = tarfile.TarInfo(name)
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
        fmt = ("tar of unlinked Hexagon object files (target.build.hexagon's output before hexagon-link; the "
               "Hexagon SDK is not installed here)" + (" + the Relax VM bytecode listing" if compiled.vm_text else ""))
        undefined = sorted({sym for _, data in compiled.objects if elf.machine(data) is not None
                            for sym in elf.undefined_symbols(data)})
        return path, {"format": fmt, "linked": False, "undefined_symbols": undefined}

    def notes(self, target: dict[str, Any], artifact: dict[str, Any] | None) -> list[str]:
        notes = ["built with the Hexagon target as its own host (TVM's Hexagon flow: the whole part runs on the DSP, "
                 "the aarch64 host only launches it over FastRPC); with the aarch64 host TVM 0.27 would compile every "
                 "function for aarch64 (see compile/unit_kinds/hexagon.py)",
                 "exp, sqrt, floor, ceil, pow, tanh and sigmoid, where used, are lowered to C math library calls "
                 "(expf, sqrtf, floorf, ceilf, powf, tanhf; sigmoid as 1 / (1 + expf(-x))): TVM 0.27's Hexagon rules "
                 "emit LLVM intrinsics its codegen cannot declare (see compile/unit_kinds/hexagon.py)"]
        undefined = (artifact or {}).get("undefined_symbols")
        if undefined:
            notes.append("unresolved symbols the object needs when it is linked on the device (Hexagon SDK): " +
                         "; ".join(f"{label}: {', '.join(names)}" for names, label in _symbol_groups(undefined) if names))
        return notes


__all__ = ["ELF_MACHINES", "HexagonKind", "LIBM", "LOWERED", "build_tir", "capture_objects", "device_target",
           "probe_math", "register_math_lowering", "unsupported_math"]
