"""Reading ELF object files: the processor an object is for (e_machine) and the symbols left to link.

Every artifact's objects are checked against the unit they were built for (the unit kinds name the
e_machine numbers of their ISAs), and unlinked objects list what the device's libraries must provide.
"""
from __future__ import annotations

import io
import struct


def machine(data: bytes) -> int | None:
    """The e_machine number of an ELF object (None if `data` is not ELF)."""
    if len(data) < 20 or data[:4] != b"\x7fELF":
        return None
    order = "little" if data[5] == 1 else "big"
    return int.from_bytes(data[18:20], order)


def undefined_symbols(obj: bytes) -> list[str]:
    """The undefined (to be linked) symbols of an ELF object, sorted; [] if it cannot be read."""
    try:
        from elftools.elf.elffile import ELFFile
        from elftools.elf.sections import SymbolTableSection
    except ImportError:
        return _undefined_symbols_raw(obj)
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


__all__ = ["machine", "undefined_symbols"]
