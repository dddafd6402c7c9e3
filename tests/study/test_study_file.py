"""Study files: grids expand to the right cells; every mistake names the file, line and field."""
import json
import math
import re

import pytest
import yaml
from conftest import write
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tradeoff.errors import BadInput
from tradeoff.cells import RUNNERS
from tradeoff.study import RESERVED, load_study_file, parse_study, prepare


def parse(path):
    data, where = load_study_file(path)
    return parse_study(data, where)


TOML = """\
name = "two encoders"
models = ["bert-base-uncased", "distilbert"]

[inspect]
seq_len = [128, 512]

[[bench]]
backend = ["pytorch", "onnx"]
batch = [1, 8]
seq_len = 128

[[bench]]
models = ["SmolLM2-135M"]
backend = "pytorch"
device = "cuda"
resources = { cpus = 2 }
"""


def test_grid_expands_in_order_with_resources(tmp_path):
    study = parse(write(tmp_path / "s.toml", TOML))
    assert study.name == "two encoders"
    assert len(study.cells) == 2 * 2 + 2 * 2 * 2 + 1
    first = study.cells[0]
    assert (first.kind, first.model, first.weights, first.cell) == ("inspect", "bert-base-uncased", "random", {"seq_len": 128})
    bench = [c for c in study.cells if c.kind == "bench"]
    assert bench[0].cell == {"backend": "pytorch", "batch": 1, "seq_len": 128}
    gpu = bench[-1]
    assert (gpu.model, gpu.cpus, gpu.gpus) == ("SmolLM2-135M", 2.0, 1.0)  # a cuda cell asks Ray for a GPU
    assert len({c.key for c in study.cells}) == len(study.cells)


def test_yaml_and_toml_describe_the_same_cells(tmp_path):
    as_yaml = yaml.safe_dump({"name": "two encoders", "models": ["bert-base-uncased", "distilbert"],
                              "inspect": {"seq_len": [128, 512]},
                              "bench": [{"backend": ["pytorch", "onnx"], "batch": [1, 8], "seq_len": 128},
                                        {"models": ["SmolLM2-135M"], "backend": "pytorch", "device": "cuda",
                                         "resources": {"cpus": 2}}]})
    a = parse(write(tmp_path / "s.toml", TOML))
    b = parse(write(tmp_path / "s.yaml", as_yaml))
    assert [c.key for c in a.cells] == [c.key for c in b.cells]


def test_shape_is_shorthand_for_batch_and_seq_len(tmp_path):
    study = parse(write(tmp_path / "s.toml", 'models = ["d"]\n[bench]\nbackend = "onnx"\nshape = ["1x128", "8X64"]\n'))
    assert [c.cell for c in study.cells] == [{"backend": "onnx", "batch": 1, "seq_len": 128},
                                             {"backend": "onnx", "batch": 8, "seq_len": 64}]


def test_prepare_resolves_canonical_names(tmp_path):
    study = prepare(write(tmp_path / "s.toml", 'models = ["distilbert"]\n[inspect]\nseq_len = 64\n'))
    assert study.cells[0].model == "distilbert" and study.cells[0].model_name == "distilbert-base-uncased"


BAD = [
    # (file name, text, the message must contain these, in this order)
    ("s.toml", 'models = ["bert-base-uncased"\n[inspect]\n', ["s.toml:2", "malformed TOML"]),
    ("s.toml", 'models = ["d"]\nmodels = ["e"]\n', ["s.toml:2", "malformed TOML", "column"]),
    ("s.toml", 'models = ["distilbert"]\nmodles = 1\n[inspect]\n', ["s.toml:2", "modles", "unknown field"]),
    ("s.toml", 'models = []\n[inspect]\n', ["s.toml:1", "models", "non-empty list"]),
    ("s.toml", 'models = ["distilbert", 3]\n[inspect]\n', ["s.toml:1", "models[1]", "non-empty string"]),
    ("s.toml", 'models = ["distilbert"]\n', ["s.toml", "no grid"]),
    ("s.toml", '[inspect]\nseq_len = 1\n', ["s.toml:1", "inspect", "no models"]),
    ("s.toml", 'models = ["d"]\n\n[bench]\nbackend = ["onnx"]\nbatch = []\n', ["s.toml:5", "bench.batch", "empty list"]),
    ("s.toml", 'models = ["d"]\n[bench]\nbatch = [1, {a = 1}]\n', ["s.toml:3", "bench.batch", "strings, numbers or booleans"]),
    ("s.toml", 'models = ["d"]\n[eval]\ntask = "sst2"\nweights = "trained"\n', ["s.toml:4", "eval.weights", "random, pretrained, estimate"]),
    ("s.toml", 'models = ["d"]\n[bench]\nresources = { tpus = 1 }\n', ["s.toml:3", "bench.resources.tpus", "unknown resource"]),
    ("s.toml", 'models = ["d"]\n[[bench]]\nbatch = 1\n[[bench]]\n# a comment\nbatch = [[1]]\n',
     ["s.toml:6", "bench[1].batch", "strings, numbers or booleans"]),
    ("s.toml", 'models = ["d"]\n[bench]\nshape = ["1x128", "0x5"]\n', ["s.toml:3", "bench.shape", "malformed shape '0x5'"]),
    ("s.toml", 'models = ["d"]\ninspect = 3\n', ["s.toml:2", "inspect", "table of grid axes"]),
    ("s.yaml", "models: [distilbert\ninspect: {}\n", ["s.yaml:2", "malformed YAML"]),
    ("s.yaml", "models: [distilbert]\ninspect:\n  seq_len:\n    - 128\n    - {a: 1}\n", ["s.yaml:3", "inspect.seq_len", "strings, numbers"]),
    ("s.yaml", "- a\n- b\n", ["s.yaml:1", "must be a mapping"]),
    ("s.json", "{}", ["unknown study file type"]),
]


@pytest.mark.parametrize("name, text, words", BAD, ids=[f"{i}-{b[2][-1]}" for i, b in enumerate(BAD)])
def test_bad_study_file_names_line_and_field(tmp_path, name, text, words):
    with pytest.raises(BadInput) as err:
        parse(write(tmp_path / name, text))
    message = err.value.one_line()
    assert "\n" not in message
    positions = [message.find(w) for w in words]
    assert -1 not in positions, message
    assert positions == sorted(positions), message


@pytest.mark.parametrize("text, words", [
    ('models = ["distilbert", "no-such-model-anywhere"]\n[inspect]\nseq_len = 64\n', ["s.toml:1", "no-such-model-anywhere"]),
    ('models = ["./missing-folder"]\n[inspect]\n', ["s.toml:1", "./missing-folder", "no such file"]),
    ('models = ["distilbert"]\n\n[inspect]\nbackend = "onnx"\n', ["s.toml:3", "inspect cell", "only seq_len", "backend"]),
    ('models = ["distilbert"]\n[inspect]\nseq_len = [64, -1]\n', ["s.toml:2", "seq_len=-1", "positive integer"]),
    ('models = ["distilbert"]\n[eval]\ntask = "classification"\ndata = "d.jsonl"\nbackend = "tensorrt"\n',
     ["s.toml:2", "eval cell", "backend=tensorrt", "unknown eval backend"]),
    ('models = ["distilbert"]\n[eval]\ntask = "classification"\ndata = "d.jsonl"\n', ["eval cell", "no pretrained weights"]),
    ('models = ["distilbert"]\n[distill]\nmode = "task"\ndata = "d.jsonl"\nepoch = 3\n',
     ["s.toml:2", "distill cell", "unknown distillation option", "epoch"]),
])
def test_whole_grid_is_validated_before_anything_runs(tmp_path, text, words):
    with pytest.raises(BadInput) as err:
        prepare(write(tmp_path / "s.toml", text))
    message = err.value.one_line()
    assert all(w in message for w in words), message


# ---- property-based: any grid we can write parses to its full product ----------------------------
axis_names = st.from_regex(r"[a-z][a-z0-9_]{0,8}", fullmatch=True).filter(lambda n: n not in RESERVED and n not in RUNNERS and n != "shape")
scalars = st.one_of(st.integers(-10**6, 10**6), st.booleans(),
                    st.floats(allow_nan=False, allow_infinity=False, width=32).filter(lambda f: not f.is_integer()),
                    st.text(st.characters(codec="utf-8", exclude_categories=["Cs", "Cc"]), max_size=12))


def _distinct(values):
    """Values that stay distinct as JSON (1 and True and 1.0 are equal in Python, not in a study)."""
    return len({json.dumps(v) for v in values}) == len(values)


grids = st.dictionaries(axis_names, st.lists(scalars, min_size=1, max_size=3, unique=True).filter(_distinct),
                        min_size=0, max_size=3)


def _toml_value(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return repr(v)
    if isinstance(v, list):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    return json.dumps(v, ensure_ascii=False)  # JSON strings (control characters escaped) and ints are valid TOML


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(grid=grids, models=st.lists(st.sampled_from(["a", "b/c", "d-e"]), min_size=1, max_size=3, unique=True))
def test_any_grid_expands_to_its_product_in_toml_and_yaml(tmp_path, grid, models):
    toml_text = f"models = {_toml_value(models)}\n[bench]\n" + "".join(f"{k} = {_toml_value(v)}\n" for k, v in grid.items())
    yaml_text = yaml.safe_dump({"models": models, "bench": grid}, allow_unicode=True, sort_keys=False)
    a = parse(write(tmp_path / "p.toml", toml_text))
    b = parse(write(tmp_path / "p.yaml", yaml_text))
    assert len(a.cells) == len(models) * math.prod(len(v) for v in grid.values())
    assert [(c.model, c.cell) for c in a.cells] == [(c.model, c.cell) for c in b.cells]
    assert all(list(c.cell) == list(grid) for c in a.cells)
    assert len({c.key for c in a.cells}) == len(a.cells)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(grid=grids.filter(bool), data=st.data())
def test_a_bad_value_anywhere_is_reported_at_its_line(tmp_path, grid, data):
    bad_axis = data.draw(st.sampled_from(sorted(grid)))
    lines = ['models = ["a"]', "[bench]"] + [f"{k} = {_toml_value(v) if k != bad_axis else '[{x = 1}]'}" for k, v in grid.items()]
    path = write(tmp_path / "p.toml", "\n".join(lines) + "\n")
    with pytest.raises(BadInput) as err:
        parse(path)
    line = 3 + list(grid).index(bad_axis)
    assert re.search(rf"p\.toml:{line}: bench\.{bad_axis}: ", err.value.message), err.value.message
