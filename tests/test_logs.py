"""Library output goes into the command's log file; the console keeps aicam_opt's own lines (aicam_opt.logs)."""
from __future__ import annotations

import logging
import os
import warnings

import pytest

from aicam_opt.cost.uncounted import warn_if_uncounted
from aicam_opt.cost.records import OpCost
from aicam_opt.logs import LOG_FILE, hide, log_path, native_stderr_to_log, routed_logs


def test_nncf_logs_and_progress_bars_go_to_the_file_not_the_console(tmp_path, capfd):
    from nncf.common.logging import nncf_logger
    from nncf.common.logging.track_progress import track

    handlers = list(nncf_logger.handlers)
    with routed_logs(tmp_path) as path:
        assert path == tmp_path / LOG_FILE == log_path()
        nncf_logger.info("Compiling and loading torch extension: quantized_functions_cpu...")
        for _ in track(range(3), description="Statistics collection"):
            pass
    console = capfd.readouterr()
    assert "quantized_functions_cpu" not in console.out + console.err
    assert "Statistics collection" not in console.out + console.err
    log = path.read_text()
    assert "INFO nncf: Compiling and loading torch extension" in log and "Statistics collection" in log
    assert nncf_logger.handlers == handlers and log_path() is None  # all undone afterwards


def test_library_warnings_go_to_the_file_and_ours_to_the_console_too(tmp_path, capfd):
    with routed_logs(tmp_path) as path:
        warnings.warn("torch.onnx: a TorchScript-based exporter warning", DeprecationWarning, stacklevel=1)
        logging.getLogger("optuna").warning("Trial 3 failed with value None")
        logging.getLogger("tvm").warning("a TVM python-side warning")
        warn_if_uncounted([OpCost(name="x", op="mystery", op_class="elementwise", counted=False)], "test graph")
    console = capfd.readouterr().err
    assert "TorchScript-based exporter" not in console and "Trial 3 failed" not in console
    assert "1 op(s) not counted" in console  # aicam_opt's own warning stays visible
    log = path.read_text()
    for line in ("py.warnings", "TorchScript-based exporter", "WARNING optuna: Trial 3 failed",
                 "WARNING tvm: a TVM python-side warning", "aicam_opt.warnings", "1 op(s) not counted"):
        assert line in log, line


def test_verbose_shows_library_logs_on_the_console(tmp_path, capfd):
    with routed_logs(tmp_path, verbose=True) as path:
        logging.getLogger("optuna").warning("Trial 3 failed with value None")
    assert "Trial 3 failed" in capfd.readouterr().err and "Trial 3 failed" in path.read_text()


def test_native_writes_to_fd_2_land_in_the_file_and_fd_2_comes_back(tmp_path, capfd):
    with routed_logs(tmp_path) as path:
        with native_stderr_to_log():
            os.write(2, b"[12:00:00] /tvm/src/target/llvm.cc:123: Warning: a C++ warning\n")
        with pytest.raises(RuntimeError), native_stderr_to_log():
            os.write(2, b"written just before a failure\n")
            raise RuntimeError("build failed")
        os.write(2, b"after the native call\n")
    os.write(2, b"after the command\n")
    console = capfd.readouterr().err
    assert "C++ warning" not in console and "just before a failure" not in console
    assert "after the native call" in console and "after the command" in console
    log = path.read_text()
    assert "Warning: a C++ warning" in log and "written just before a failure" in log


def test_native_capture_outside_a_command_changes_nothing(capfd):
    with native_stderr_to_log():
        os.write(2, b"no log file: stays on stderr\n")
    assert "stays on stderr" in capfd.readouterr().err


def test_passwords_never_reach_the_log(tmp_path):
    with routed_logs(tmp_path) as path:
        hide("s3cret-pw")
        logging.getLogger("sqlalchemy.engine").warning("connect to postgresql+psycopg://aicam:hunter2@db:5432/studies")
        logging.getLogger("optuna").error("authentication with %s failed", "s3cret-pw")
        try:
            raise ValueError("postgresql://aicam:hunter2@db/studies refused")
        except ValueError:
            logging.getLogger("optuna").exception("storage error")
    log = path.read_text()
    assert "hunter2" not in log and "s3cret-pw" not in log
    assert "postgresql+psycopg://aicam:***@db:5432/studies" in log and "authentication with *** failed" in log


def test_an_error_inside_is_logged_and_raised_and_everything_restored(tmp_path):
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    show = warnings.showwarning
    with pytest.raises(ValueError), routed_logs(tmp_path) as path:
        logging.getLogger("tvm").warning("work had started")
        raise ValueError("the command failed")
    assert root.handlers == handlers and root.level == level and warnings.showwarning is show
    assert "ValueError: the command failed" in path.read_text()


def test_a_command_refused_before_any_work_leaves_no_log_and_no_folder(tmp_path):
    out = tmp_path / "never"
    with pytest.raises(ValueError), routed_logs(out):
        raise ValueError("refused: a typo in the candidate")
    assert not out.exists()


def test_a_library_imported_during_the_command_is_routed_too(tmp_path, capfd, monkeypatch):
    """NNCF is imported on the first int8 candidate and installs its stdout handler as it loads."""
    import sys

    from aicam_opt import logs

    package = tmp_path / "lib" / "chatty_lib"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(
        "import logging, sys\n"
        "logger = logging.getLogger('chatty_lib')\n"
        "logger.addHandler(logging.StreamHandler(sys.stdout))\n"
        "logger.setLevel(logging.INFO)\n"
        "logger.propagate = False\n"
        "logger.info('loading the chatty extension')\n")
    monkeypatch.syspath_prepend(str(tmp_path / "lib"))
    monkeypatch.setattr(logs, "LIBRARIES", (*logs.LIBRARIES, "chatty_lib"))
    monkeypatch.delitem(sys.modules, "chatty_lib", raising=False)
    with routed_logs(tmp_path) as path:
        import chatty_lib

        chatty_lib.logger.info("used mid-command")
    console = capfd.readouterr()
    assert "used mid-command" not in console.out + console.err
    assert "INFO chatty_lib: used mid-command" in path.read_text()
    assert len(chatty_lib.logger.handlers) == 1 and chatty_lib.logger.propagate is False  # as it made itself
    assert not any(isinstance(f, logs._AdoptOnImport) for f in sys.meta_path)


def test_a_library_sub_logger_with_its_own_handler_goes_to_the_file(tmp_path, capfd):
    """torch gives sub-loggers (torch.onnx's exporter, torch.distributed, ...) console handlers of their own
    that do not propagate: the ONNX exporter's 'torchvision is not installed' warnings reached the console."""
    import sys

    sub = logging.getLogger("torch.onnx._test_exporter_registration")
    own = logging.StreamHandler(sys.stderr)
    sub.addHandler(own)
    sub.propagate = False
    try:
        with routed_logs(tmp_path) as path:
            sub.warning("torchvision is not installed. Skipping torchvision::nms")
        assert "torchvision is not installed" not in capfd.readouterr().err
        assert "WARNING torch.onnx._test_exporter_registration: torchvision is not installed" in path.read_text()
        assert sub.handlers == [own] and sub.propagate is False  # put back afterwards
    finally:
        sub.removeHandler(own)
        sub.propagate = True


def test_evaluate_and_calibrate_write_their_library_logs_beside_their_outputs(tmp_path, monkeypatch):
    """Each command that writes a report routes library logs beside it: evaluate next to --out, calibrate next
    to its refit (--out) or, without one, next to the validation reports."""
    from aicam_opt.cli import main
    from aicam_opt.evaluate import cli as evaluate_cli
    from aicam_opt.latency import calibrate

    def fake_evaluate(*args, **kwargs):
        logging.getLogger("torch").warning("a torch warning while evaluating")
        raise SystemExit(7)  # the routing is what is checked, not an evaluation

    monkeypatch.setattr(evaluate_cli, "evaluate_models", fake_evaluate)
    with pytest.raises(SystemExit):
        main(["evaluate", "--out", str(tmp_path / "eval" / "report.json")])
    assert "a torch warning while evaluating" in (tmp_path / "eval" / LOG_FILE).read_text()

    def fake_calibrate(*args, **kwargs):
        logging.getLogger("onnxruntime").warning("an onnxruntime warning while calibrating")
        raise SystemExit(7)

    monkeypatch.setattr(calibrate, "calibrate", fake_calibrate)
    with pytest.raises(SystemExit):
        main(["calibrate", "--target", "host", "--out", str(tmp_path / "cal" / "host.json")])
    assert "an onnxruntime warning while calibrating" in (tmp_path / "cal" / LOG_FILE).read_text()
