"""`aicam-opt --version` prints the installed package's version."""
from importlib.metadata import version

import pytest

from aicam_opt.cli import main


def test_version(capsys):
    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0
    assert capsys.readouterr().out.strip() == f"aicam-opt {version('aicam-opt')}"
