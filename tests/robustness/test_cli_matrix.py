"""The bad-input matrix through the CLI: every case is one line naming the problem, with a hint,
exit 2, no traceback, and no output file left behind."""
import json
import sqlite3

import pytest

from tradeoff.cli import main


@pytest.fixture
def files(tmp_path):
    f = {}
    f["good"] = tmp_path / "good.jsonl"
    f["good"].write_text("".join(json.dumps({"text": f"review {i}", "label": i % 2}) + "\n" for i in range(10)))
    f["nocol"] = tmp_path / "nocol.jsonl"
    f["nocol"].write_text(json.dumps({"review": "x", "label": 1}) + "\n")
    f["range"] = tmp_path / "range.jsonl"
    f["range"].write_text(json.dumps({"text": "x", "label": 7}) + "\n" + json.dumps({"text": "y", "label": -1}) + "\n")
    f["empty"] = tmp_path / "empty.jsonl"
    f["empty"].write_text("")
    f["latin1"] = tmp_path / "latin1.jsonl"
    f["latin1"].write_bytes('{"text": "caf\xe9", "label": 0}\n'.encode("latin-1"))
    f["typed"] = tmp_path / "typed.jsonl"
    f["typed"].write_text(json.dumps({"text": ["not", "a", "string"], "label": {"x": 1}}) + "\n")
    f["study"] = tmp_path / "study.toml"
    f["study"].write_text('name = "s"\nmodels = ["bert-base-uncased"]\n[bench]\nbatch = "one"\n')
    f["foreign"] = tmp_path / "foreign.db"
    con = sqlite3.connect(f["foreign"])
    con.execute("CREATE TABLE users (id INTEGER)")
    con.commit()
    con.close()
    f["empty_store"] = tmp_path / "empty.db"
    f["nodir"] = tmp_path / "missing" / "report.html"
    f["corpus"] = tmp_path / "tiny.txt"
    f["corpus"].write_text("too short")
    return f


CASES = {
    "bench unknown backend": (["bench", "distilbert", "--backend", "tensorrt"], "unknown backend"),
    "bench zero batch": (["bench", "distilbert", "--shape", "0x128"], "0x128"),
    "bench malformed shape": (["bench", "distilbert", "--shape", "big"], "shape"),
    "bench too long": (["bench", "distilbert", "--shape", "1x4096"], "exceeds"),
    "bench unknown model": (["bench", "no-such/model-xyz"], "not in the catalog"),
    "eval missing column": (["eval", "all-MiniLM-L6-v2", "--data", "{nocol}", "--mode", "probe"], "text"),
    "eval label out of range": (["eval", "all-MiniLM-L6-v2", "--data", "{range}", "--mode", "probe", "--label-names", "neg,pos"], "label"),
    "eval empty file": (["eval", "all-MiniLM-L6-v2", "--data", "{empty}", "--mode", "probe"], "empty"),
    "eval invalid utf-8": (["eval", "all-MiniLM-L6-v2", "--data", "{latin1}", "--mode", "probe"], "UTF-8"),
    "eval wrong types": (["eval", "all-MiniLM-L6-v2", "--data", "{typed}", "--mode", "probe"], ""),
    "eval random weights": (["eval", "bert-base-uncased", "--data", "{good}"], "weights"),
    "distill too many layers": (["distill", "all-MiniLM-L6-v2", "--data", "{good}", "--layers", "6"], "layer"),
    "distill layer out of range": (["distill", "all-MiniLM-L6-v2", "--data", "{good}", "--layer-map", "0,2,9"], "9"),
    "distill corpus too small": (["distill", "all-MiniLM-L6-v2", "--corpus", "{corpus}"], ""),
    "study wrong type": (["run", "{study}", "--store", "{empty_store}"], "batch"),
    "store from another program": (["results", "--store", "{foreign}"], "tradeoff"),
    "recommend on empty store": (["recommend", "distilbert", "--store", "{empty_store}"], "no speed or quality results"),
    "report into missing folder": (["report", "distilbert", "--html", "{nodir}", "--store", "{empty_store}"], ""),
    "compare bad budget": (["compare", "distilbert", "--max-latency-ms", "-5", "--store", "{empty_store}"], ""),
    "inspect garbled ref": (["inspect", "::::"], "not a model reference"),
}
# A path the file system cannot take is bad input in every command, caught before any work (not an OSError).
LONG = "a" * 5000
CASES.update({f"too long a path: {label}": (args, "too long") for label, args in {
    "eval --data": ["eval", "all-MiniLM-L6-v2", "--data", LONG, "--mode", "probe"],
    "eval --save": ["eval", "all-MiniLM-L6-v2", "--data", "{good}", "--mode", "finetune", "--save", LONG],
    "results --store": ["results", "--store", LONG],
    "run STUDY": ["run", LONG],
    "import SOURCE": ["import", LONG, "--store", "{empty_store}"],
    "export OUT": ["export", LONG + ".json", "--store", "{empty_store}"],
    "compare --html": ["compare", "distilbert", "--html", f"/tmp/{LONG}/x.html", "--store", "{empty_store}"],
    "report --png": ["report", "distilbert", "--png", LONG, "--store", "{empty_store}"],
    "distill --corpus": ["distill", "all-MiniLM-L6-v2", "--corpus", LONG],
    "demo --out": ["demo", "--out", LONG],
    "paper --plan": ["paper", "distilbert", "--plan", LONG + ".toml"],
}.items()})


@pytest.mark.parametrize("case", CASES)
def test_bad_input_matrix(case, files, capsys):
    args, expect = CASES[case]
    args = [a.format(**files) for a in args]
    code = main(args)
    err = capsys.readouterr().err.strip()
    assert code == 2, err
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    assert err.startswith("error:") and "hint:" in err
    assert expect.lower() in err.lower()
    assert not files["nodir"].parent.exists()
    if case == "store from another program":  # left untouched
        con = sqlite3.connect(files["foreign"])
        assert [r[0] for r in con.execute("SELECT name FROM sqlite_master")] == ["users"]
