"""The package's layers, and the check that its imports respect them (run by tests/test_layers.py).

A module belongs to a component: its top-level module or subpackage under aicam_opt (`cost` for
aicam_opt.cost.formulas), except CLI modules (aicam_opt.cli, every */cli.py, optimize_cli), which form
the component "cli", and the package root (aicam_opt/__init__.py, which re-exports the API), which is
"api". Two rules:
- a module imports only its own component and components of lower layers; components sharing a
  layer are peers and never import each other;
- nothing imports a CLI module except aicam_opt.cli.
Imports inside functions count as much as those at the top of a module. Standard library only, so
the check needs nothing the package does not already have.
"""
from __future__ import annotations

import ast
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

PACKAGE = "aicam_opt"

# Low -> high. Each entry is one layer: the components in it.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("errors", "layers", "logs", "terminal"),  # logs: library output into a file; terminal: the console
    ("atomic", "photo_metadata", "png_writer"),  # png_writer: the parallel PNG encoder images uses
    ("config",),                        # saves JSON through atomic
    ("images", "motion", "timing", "yuv"),
    ("data", "degrade"),
    ("models",),
    ("kernels",),                       # the fused full-res TensorIR kernel and its compiled wrapper
    ("cost",),
    ("latency",),
    ("evaluate", "train"),              # peers: neither imports the other
    ("compress",),
    ("runtime",),
    ("search",),
    ("compile",),
    ("device",),                        # measuring compiled parts on a device over TVM RPC
    ("report",),
    ("gate",),
    ("optimize",),
    ("api",),                           # the public Python facade, re-exported from aicam_opt
    ("cli",),
)
CLI = "cli"
ROOT_COMPONENT = "api"


def is_cli_module(module: str) -> bool:
    last = module.rsplit(".", 1)[-1]
    return last == CLI or last.endswith("_" + CLI)


def component_of(module: str) -> str:
    """aicam_opt.cost.formulas -> cost; any CLI module -> cli; the package root -> api."""
    if is_cli_module(module):
        return CLI
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ROOT_COMPONENT


def layer_index(layers: tuple[tuple[str, ...], ...] = LAYERS) -> dict[str, int]:
    return {component: i for i, layer in enumerate(layers) for component in layer}


def package_modules(package_dir: Path) -> dict[str, Path]:
    """Dotted module name -> file, for every .py file of the package (a package is its __init__.py)."""
    modules = {}
    for path in sorted(package_dir.rglob("*.py")):
        parts = list(path.relative_to(package_dir.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        modules[".".join(parts)] = path
    return modules


def imports_of(module: str, path: Path, known: Iterable[str]) -> set[str]:
    """The package modules `module` (at `path`) imports, wherever the import statement stands.
    `from pkg import name` counts as importing pkg.name when that is a module, else pkg."""
    known = set(known)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            for alias in node.names:
                found.add(f"{source}.{alias.name}" if f"{source}.{alias.name}" in known else source)
    return {name for name in found if name == PACKAGE or name.startswith(PACKAGE + ".")}


def import_graph(package_dir: Path) -> dict[str, set[str]]:
    """Module -> the package modules it imports, for every module of the package at `package_dir`."""
    modules = package_modules(package_dir)
    return {name: imports_of(name, path, modules) for name, path in modules.items()}


@dataclass(frozen=True)
class Violation:
    importer: str
    imported: str
    reason: str

    def __str__(self) -> str:
        return f"{self.importer} imports {self.imported}: {self.reason}"


def violations(graph: Mapping[str, Iterable[str]], layers: tuple[tuple[str, ...], ...] = LAYERS) -> list[Violation]:
    """Every import that breaks the layering (module doc), and every module in no layer."""
    index = layer_index(layers)
    found = []
    for module in sorted(graph):
        if component_of(module) not in index:
            found.append(Violation(module, "-", f"component '{component_of(module)}' is in no layer; add it to "
                                                "aicam_opt.layers.LAYERS"))
    for importer in sorted(graph):
        here = component_of(importer)
        for imported in sorted(graph[importer]):
            there = component_of(imported)
            if here not in index or there not in index:
                continue  # reported above (or an import of a module that does not exist: Python's to report)
            if there == CLI and importer != f"{PACKAGE}.cli":
                found.append(Violation(importer, imported, "only aicam_opt.cli imports CLI modules; move what "
                                                           "is shared into a library module"))
            elif here != there and index[there] > index[here]:
                found.append(Violation(importer, imported, f"{here} (layer {index[here] + 1}) must not import "
                                                           f"{there} (layer {index[there] + 1}), a higher layer"))
            elif here != there and index[there] == index[here]:
                found.append(Violation(importer, imported, f"{here} and {there} are peers (layer "
                                                           f"{index[here] + 1}); neither imports the other"))
    return found
