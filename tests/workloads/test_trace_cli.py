import io
import json

import pandas as pd
import pytest

from lutsim.cli import main


def test_trace_json(capsys):
    assert main(["trace", "--model", "llama-3-8b", "--quant", "w4a16-g128", "--phase", "decode",
                 "--kv-len", "512", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["meta"]["kv_len"] == 512 and any(op["name"] == "attn_qk" for op in d["ops"])


def test_trace_csv_and_table(capsys):
    assert main(["trace", "--model", "opt-6.7b", "--phase", "prefill", "--seq-len", "32", "--csv"]) == 0
    df = pd.read_csv(io.StringIO(capsys.readouterr().out))
    assert "fc1" in set(df.name)
    assert main(["trace", "--model", "llama-2-7b", "--phase", "prefill", "--seq-len", "8"]) == 0
    assert "total:" in capsys.readouterr().out


@pytest.mark.parametrize("argv", [
    ["--model", "llama-5", "--phase", "decode"],
    ["--model", "llama-2-7b", "--phase", "decoding"],
    ["--model", "llama-2-7b", "--phase", "prefill", "--seq-len", "0"],
    ["--model", "llama-2-7b", "--phase", "prefill", "--quant", "w9a9"],
    ["--model", "/nonexistent/config.json", "--phase", "prefill"],
])
def test_bad_input_exit_2(capsys, argv):
    assert main(["trace", *argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error:") and "Traceback" not in err
