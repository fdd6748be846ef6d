"""The README's Python example must keep running as written."""

import re
from pathlib import Path


def test_readme_python_example_runs(capsys):
    text = (Path(__file__).parents[1] / "README.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    assert blocks, "the README lost its Python example"
    exec(compile(blocks[0], "README.md", "exec"), {})
    assert "4.25" in capsys.readouterr().out
