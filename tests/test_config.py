import pytest
from pydantic import Field

from aicam_opt.config import Config, load_yaml, save_yaml
from aicam_opt.errors import AicamError
from aicam_opt.models.student import StudentConfig


class Example(Config):
    cores: int = Field(4, ge=1)
    name: str = "x"


def test_round_trip(tmp_path):
    path = tmp_path / "c.yaml"
    save_yaml(StudentConfig(num_branches=2), path)
    assert load_yaml(path, StudentConfig).num_branches == 2


def test_wrong_field_names_file_field_and_allowed(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("cores: 0\n")
    with pytest.raises(AicamError) as err:
        load_yaml(path, Example)
    assert "bad.yaml" in str(err.value) and "'cores'" in str(err.value) and "greater than or equal to 1" in str(err.value)


def test_unknown_field_is_an_error(tmp_path):
    path = tmp_path / "typo.yaml"
    path.write_text("corse: 2\n")
    with pytest.raises(AicamError, match="'corse'.*Extra inputs are not permitted"):
        load_yaml(path, Example)


def test_malformed_yaml_and_missing_file(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text("cores: [1, 2\n")
    with pytest.raises(AicamError, match="broken.yaml: malformed YAML"):
        load_yaml(path, Example)
    with pytest.raises(AicamError, match="file not found"):
        load_yaml(tmp_path / "nope.yaml", Example)


def test_yaml_is_loaded_safely(tmp_path):
    path = tmp_path / "evil.yaml"
    path.write_text("cores: !!python/object/apply:os.system ['true']\n")
    with pytest.raises(AicamError, match="malformed YAML"):
        load_yaml(path, Example)
