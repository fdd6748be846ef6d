import pytest

from sim.errors import InputError
from sim.userfile import read_user_file


def test_reads_yaml_and_json(tmp_path):
    (tmp_path / "a.yaml").write_text("x: 1\n")
    (tmp_path / "b.json").write_text('{"x": 2}')
    assert read_user_file(tmp_path / "a.yaml", "f") == {"x": 1}
    assert read_user_file(tmp_path / "b.json", "f") == {"x": 2}


@pytest.mark.parametrize("name,text,match", [
    ("missing.yaml", None, "does not exist"),
    ("bad.yaml", "x: [1, 2\n", "not valid YAML"),
    ("bad.json", "{not json", "not valid JSON"),
])
def test_every_failure_names_the_field(tmp_path, name, text, match):
    if text is not None:
        (tmp_path / name).write_text(text)
    with pytest.raises(InputError, match=f"^--thing: .*{match}"):
        read_user_file(tmp_path / name, "--thing")
