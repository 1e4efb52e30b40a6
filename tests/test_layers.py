"""The package's imports respect aicam_opt.layers.LAYERS (and the checker can tell when they do not)."""
from pathlib import Path

import pytest

import aicam_opt
from aicam_opt.layers import LAYERS, component_of, import_graph, violations

PACKAGE_DIR = Path(aicam_opt.__file__).parent


def test_the_package_has_no_back_edge_and_every_module_is_in_a_layer():
    graph = import_graph(PACKAGE_DIR)
    assert len(graph) > 50  # the whole package was read, not an empty folder
    found = violations(graph)
    assert not found, "layering broken:\n" + "\n".join(map(str, found))


def test_the_layers_stated_in_the_package_docstring_are_the_declared_ones():
    doc = aicam_opt.__doc__
    for i, layer in enumerate(LAYERS, start=1):
        listed = [c for c in layer if c != "layers"]
        assert f"{i:>2} {', '.join(listed)}" in doc, f"layer {i} ({', '.join(listed)}) is not in aicam_opt's docstring"


def test_components():
    assert component_of("aicam_opt.cost.formulas") == "cost"
    assert component_of("aicam_opt.evaluate") == "evaluate"
    assert component_of("aicam_opt.latency.cli") == "cli"
    assert component_of("aicam_opt.optimize_cli") == "cli"
    assert component_of("aicam_opt.cli") == "cli"
    assert component_of("aicam_opt") == "api"


def _fake_package(root: Path, files: dict[str, str]) -> Path:
    package = root / "aicam_opt"
    for name, text in {"__init__.py": "", **files}.items():
        path = package / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return package


@pytest.mark.parametrize("files, expected", [
    # a low layer importing a higher one, inside a function (lazy imports count)
    ({"errors.py": "", "images.py": "def f():\n    from .models import student\n",
      "models/__init__.py": "", "models/student.py": ""},
     "aicam_opt.images imports aicam_opt.models.student: images (layer 4) must not import models (layer 6)"),
    # peers
    ({"evaluate/__init__.py": "", "evaluate/report.py": "from ..train import student\n",
      "train/__init__.py": "", "train/student.py": ""},
     "aicam_opt.evaluate.report imports aicam_opt.train.student: evaluate and train are peers"),
    # a library module importing a CLI module, even from a higher layer
    ({"optimize.py": "from aicam_opt.latency.cli import cost_document\n",
      "latency/__init__.py": "", "latency/cli.py": ""},
     "aicam_opt.optimize imports aicam_opt.latency.cli: only aicam_opt.cli imports CLI modules"),
    # one CLI module importing another
    ({"train/__init__.py": "", "train/cli.py": "from ..evaluate import cli\n",
      "evaluate/__init__.py": "", "evaluate/cli.py": ""},
     "aicam_opt.train.cli imports aicam_opt.evaluate.cli: only aicam_opt.cli imports CLI modules"),
    # a module of no layer
    ({"helpers.py": "from .errors import AicamError\n", "errors.py": ""},
     "aicam_opt.helpers imports -: component 'helpers' is in no layer"),
])
def test_the_checker_fails_on_a_back_edge_or_a_module_in_no_layer(tmp_path, files, expected):
    found = [str(v) for v in violations(import_graph(_fake_package(tmp_path, files)))]
    assert any(v.startswith(expected) for v in found), found


def test_the_checker_accepts_downward_imports_and_the_cli_importing_cli_modules(tmp_path):
    files = {"errors.py": "", "config.py": "from .errors import AicamError\n",
             "models/__init__.py": "from ..config import load_yaml\nfrom . import student\n", "models/student.py": "",
             "cli.py": "import aicam_opt.gate.cli\n", "gate/__init__.py": "", "gate/cli.py": "from .. import config\n"}
    assert violations(import_graph(_fake_package(tmp_path, files))) == []


def test_a_back_edge_added_to_the_real_package_fails(tmp_path):
    """The real graph plus one deliberate back-edge: the checker names exactly that edge."""
    graph = {m: set(deps) for m, deps in import_graph(PACKAGE_DIR).items()}
    graph["aicam_opt.models.student"].add("aicam_opt.search.objective")
    assert [str(v) for v in violations(graph)] == [
        "aicam_opt.models.student imports aicam_opt.search.objective: models (layer 6) must not import "
        "search (layer 13), a higher layer"]
