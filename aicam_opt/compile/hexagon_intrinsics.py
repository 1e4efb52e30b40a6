"""Hexagon lowering rules for the math functions TVM 0.27's Hexagon codegen cannot emit.

The wheel's `hexagon.FLowerIntrinsic` rules (src/target/llvm/intrin_rule_hexagon.cc) map exp, sqrt,
floor, ceil and pow to LLVM intrinsics (`llvm.exp`, ...) that its LLVM cannot declare for Hexagon
("Cannot find intrinsic declaration, possible type mismatch: llvm.exp"); tanh and sigmoid have no
Hexagon rule and fall back to the default legalization, which expands them into exp. `register()`
overrides these rules (at a higher priority level than the built-in 10) with calls to the C math
library, which the Hexagon SDK's libc provides when the object is linked on the device:

    exp -> expf    sqrt -> sqrtf    floor -> floorf    ceil -> ceilf    pow -> powf    tanh -> tanhf
    sigmoid -> 1 / (1 + expf(-x))

float16 arguments are computed in float32 (widened, the float function, narrowed back: v66 has no
half-precision scalar arithmetic), float64 with the double functions. A vector operand (a loop
TVM vectorized, e.g. the fused kernel's column blocks) is lowered lane by lane: one scalar call per
lane, the results gathered back into a vector (HVX has no vector libm). Other types are left alone.

The rules are process-wide (TVM's op attribute registry) but only consulted for `kind: hexagon`
targets; `register()` is idempotent (a TVM global function marks that they are in place, so a
reloaded module does not register twice, which TVM would reject at the same level).
"""
from __future__ import annotations

from typing import Any, Callable

LEVEL = 100  # above TVM's own Hexagon/default rules (10; the example rules of tvm.target.intrin use 99)
_MARK = "aicam_opt.compile.hexagon_intrinsics.registered"

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


def register() -> None:
    """Install the rules (once per process)."""
    import tvm_ffi
    from tvm.tirx import register_intrin_lowering

    if tvm_ffi.get_global_func(_MARK, allow_missing=True) is not None:
        return
    for name, libm in LIBM.items():
        register_intrin_lowering(op_name(name), target="hexagon", f=_libm_rule(libm), level=LEVEL)
    register_intrin_lowering(op_name("sigmoid"), target="hexagon", f=_sigmoid_rule, level=LEVEL)
    tvm_ffi.register_global_func(_MARK, lambda: list(LOWERED), override=True)


def undefined_symbols(obj: bytes) -> list[str]:
    """The undefined (to be linked) symbols of an ELF object, sorted; [] if it cannot be read."""
    try:
        from elftools.elf.elffile import ELFFile
        from elftools.elf.sections import SymbolTableSection
    except ImportError:
        return _undefined_symbols_raw(obj)
    import io

    try:
        elf = ELFFile(io.BytesIO(obj))
        names = set()
        for section in elf.iter_sections():
            if isinstance(section, SymbolTableSection):
                for sym in section.iter_symbols():
                    if sym.name and sym["st_shndx"] == "SHN_UNDEF":
                        names.add(sym.name)
        return sorted(names)
    except Exception:  # noqa: BLE001 - a diagnostic, never a failure
        return []


def _undefined_symbols_raw(obj: bytes) -> list[str]:
    """ELF32/64 little-endian .symtab reader (no pyelftools): names of symbols with st_shndx 0."""
    import struct

    try:
        if obj[:4] != b"\x7fELF" or obj[5] != 1:
            return []
        is64 = obj[4] == 2
        if is64:
            shoff, = struct.unpack_from("<Q", obj, 0x28)
            shentsize, shnum = struct.unpack_from("<HH", obj, 0x3A)
        else:
            shoff, = struct.unpack_from("<I", obj, 0x20)
            shentsize, shnum = struct.unpack_from("<HH", obj, 0x2E)
        sections = []
        for i in range(shnum):
            base = shoff + i * shentsize
            if is64:
                _, sh_type, _, _, off, size, link, _, _, entsize = struct.unpack_from("<IIQQQQIIQQ", obj, base)
            else:
                _, sh_type, _, _, off, size, link, _, _, entsize = struct.unpack_from("<IIIIIIIIII", obj, base)
            sections.append((sh_type, off, size, link, entsize))
        names = set()
        for sh_type, off, size, link, entsize in sections:
            if sh_type != 2 or not entsize:  # SHT_SYMTAB
                continue
            str_off = sections[link][1]
            for k in range(size // entsize):
                base = off + k * entsize
                if is64:
                    st_name, _, _, st_shndx = struct.unpack_from("<IBBH", obj, base)
                else:
                    st_name, _, _, _, _, st_shndx = struct.unpack_from("<IIIBBH", obj, base)
                if st_shndx == 0 and st_name:
                    end = obj.index(b"\0", str_off + st_name)
                    names.add(obj[str_off + st_name:end].decode(errors="replace"))
        return sorted(names)
    except (struct.error, IndexError, ValueError):
        return []


__all__ = ["LEVEL", "LIBM", "LOWERED", "register", "undefined_symbols"]
