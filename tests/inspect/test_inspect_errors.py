"""Bad input to `inspect` gives one line naming the problem, with a hint, and exit code 2."""
import json

import pytest

from tradeoff.cli import main


def run(capsys, *args):
    code = main(["inspect", *args])
    captured = capsys.readouterr()
    return code, captured.err.strip()


def write_config(tmp_path, content):
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "config.json").write_text(content if isinstance(content, str) else json.dumps(content))
    return str(folder)


BERT = {"model_type": "bert", "hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 4,
        "intermediate_size": 64, "vocab_size": 100}


@pytest.mark.parametrize("case,expect", [
    ("unknown", "not in the catalog"),
    ("no-config", "has no config.json"),
    ("malformed", "not valid JSON"),
    ("negative", "must be a positive integer"),
    ("missing", "missing num_hidden_layers"),
    ("zero-heads", "must be a positive integer"),
    ("indivisible", "not divisible"),
    ("unknown-type", "unknown model_type"),
    ("remote-code", "--trust-remote-code"),
    ("encoder-decoder", "not supported"),
    ("not-a-path", "no such file"),
    ("bad-seq", "must be positive"),
    ("long-seq", "exceeds"),
    ("long-reference", "too long for a name or a path"),  # the file system's "File name too long" is never reached
    ("long-folder-name", "too long for a name or a path"),
    ("control-character", "control characters"),
])
def test_bad_input_is_one_line_exit_2(tmp_path, capsys, case, expect):
    args = {
        "unknown": lambda: ["no-such-org/no-such-model"],
        "no-config": lambda: [str(tmp_path)],
        "malformed": lambda: [write_config(tmp_path, '{"model_type": "bert",')],
        "negative": lambda: [write_config(tmp_path, {**BERT, "hidden_size": -32})],
        "missing": lambda: [write_config(tmp_path, {k: v for k, v in BERT.items() if k != "num_hidden_layers"})],
        "zero-heads": lambda: [write_config(tmp_path, {**BERT, "num_attention_heads": 0})],
        "indivisible": lambda: [write_config(tmp_path, {**BERT, "num_attention_heads": 5})],
        "unknown-type": lambda: [write_config(tmp_path, {**BERT, "model_type": "not-a-model"})],
        "remote-code": lambda: [write_config(tmp_path, {**BERT, "model_type": "custom-thing", "auto_map": {"AutoModel": "x.Y"}})],
        "encoder-decoder": lambda: [write_config(tmp_path, {"model_type": "t5", "d_model": 32, "num_layers": 2, "num_heads": 4, "vocab_size": 100})],
        "not-a-path": lambda: ["./missing/folder"],
        "bad-seq": lambda: ["bert-base-uncased", "--seq-len", "0"],
        "long-seq": lambda: ["bert-base-uncased", "--seq-len", "4096"],
        "long-reference": lambda: ["a" * 5000],
        "long-folder-name": lambda: [str(tmp_path / ("b" * 256) / "config.json")],
        "control-character": lambda: ["bert-base\x00uncased"],
    }[case]()
    code, err = run(capsys, *args)
    assert code == 2
    assert expect in err
    assert "Traceback" not in err and len(err.splitlines()) == 1
    assert "hint:" in err


def test_missing_argument_is_usage_error(capsys):
    code, err = run(capsys)
    assert code == 2 and "Traceback" not in err
