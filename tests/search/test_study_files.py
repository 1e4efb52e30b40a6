"""`aicam-opt report DIR` on a study.db that is not a study: a clear error naming the file and the fix,
exit 2, and the file left exactly as it was (never given a fresh schema, never "repaired")."""
import os
import sqlite3

import pytest

from aicam_opt.cli import main

NOT_A_DATABASE = b"this is not a SQLite database, only text where study.db should be\n" * 64


def _unchanged(path, before: tuple[bytes, int]) -> bool:
    return (path.read_bytes(), path.stat().st_mtime_ns) == before


@pytest.mark.parametrize("content, says", [
    (b"", "is empty (0 bytes)"),
    (NOT_A_DATABASE, "is not a readable SQLite database"),
])
def test_a_broken_study_file_is_refused_untouched(tmp_path, capsys, content, says):
    study_db = tmp_path / "study.db"
    study_db.write_bytes(content)
    os.utime(study_db, ns=(1_000_000_000, 1_000_000_000))
    before = (study_db.read_bytes(), study_db.stat().st_mtime_ns)
    assert main(["report", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert says in err and str(study_db) in err, err
    assert "Traceback" not in err and "sqlalchemy" not in err.lower()
    assert f"--out {tmp_path}" in err and "delete it" in err  # the fix
    assert _unchanged(study_db, before)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["study.db"]  # no journal, no report written


def test_a_sqlite_file_without_a_study_is_refused_untouched(tmp_path, capsys):
    study_db = tmp_path / "study.db"
    with sqlite3.connect(study_db) as con:
        con.execute("CREATE TABLE photos (name TEXT)")
    con.close()
    before = (study_db.read_bytes(), study_db.stat().st_mtime_ns)
    assert main(["report", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "without an Optuna study" in err and str(study_db) in err, err
    assert _unchanged(study_db, before)
