"""`aicam-opt --version` and `--help` answer without loading the heavy libraries; each command's own
parser is complete when that command runs."""
import subprocess
import sys
from importlib.metadata import version

import pytest

from aicam_opt.cli import COMMANDS, build_parser, declared_commands, main


def test_version(capsys):
    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0
    assert capsys.readouterr().out.strip() == f"aicam-opt {version('aicam-opt')}"


@pytest.mark.parametrize("argv", [["--version"], ["--help"], []])
def test_help_and_version_load_no_heavy_library(argv):
    code = ("import sys\nfrom aicam_opt.cli import main\ntry:\n    main(%r)\nexcept SystemExit:\n    pass\n"
            "heavy = sorted(m for m in ('torch', 'tvm', 'optuna', 'onnx', 'nncf') if m in sys.modules)\n"
            "print('HEAVY', heavy)" % argv)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert "HEAVY []" in done.stdout, done.stdout + done.stderr


def test_every_command_is_listed_and_gets_its_full_parser():
    names = {name for module in COMMANDS for name in declared_commands(module)}
    assert names == {"train", "evaluate", "optimize", "cost", "calibrate", "enhance", "compress", "compile", "gate",
                     "report", "measure"}
    for name in names:  # the chosen command's parser has its own options (the stubs have none)
        subparsers = build_parser(name)._subparsers._group_actions[0]
        assert any(a.option_strings for a in subparsers.choices[name]._actions if a.dest != "help"), name
