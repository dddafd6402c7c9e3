"""compare's default backends (eager-bf16 where bf16 is native, issue 15) and quality scored through
every timed backend that can score, so each candidate's accuracy is its own backend's (issue 13)."""
import pytest

from tradeoff import compare_plan, planner
from tradeoff.bench import hardware
from tradeoff.bench.suite import GroupWork
from tradeoff.report.table import recommendation_lines

MINI = "all-MiniLM-L6-v2"


@pytest.fixture
def calls(monkeypatch):
    seen = {"bench": [], "eval": []}

    def planned(works, store, **kw):  # what compare hands the planner, run by nobody
        seen["bench"].append([w.group.backend for w in works if isinstance(w, GroupWork)])
        seen["eval"].append([w.cell["backend"] for w in works if w.kind == "eval"])

    monkeypatch.setattr(planner, "run", planned)
    return seen


def native(bf16: bool):
    return lambda: {"bf16": (bf16, "AMX-BF16" if bf16 else "no AVX512-BF16 or AMX"), "int8": (False, "no VNNI")}


def run(tmp_path, **kw):
    from tradeoff.store import Store

    with Store.open(tmp_path / "results.db") as store:
        return compare_plan.measured_comparison([MINI], eval_cell={"data": "fine-foods:test"}, eval_refs=[MINI], store=store, **kw)


def test_default_backends_add_bf16_where_native_and_say_why_not_elsewhere(tmp_path, calls, monkeypatch):
    monkeypatch.setattr(hardware, "native_dtypes", native(True), raising=False)
    c = run(tmp_path)
    assert calls["bench"] == [["eager", "eager-bf16"]] and calls["eval"][0] == ["eager", "eager-bf16"]
    assert recommendation_lines(c)[-1] == "note: eager-bf16 included: bf16 is native on this CPU (AMX-BF16)"
    monkeypatch.setattr(hardware, "native_dtypes", native(False), raising=False)
    c = run(tmp_path)
    assert calls["bench"][-1] == ["eager"]
    assert recommendation_lines(c)[-1] == "note: eager-bf16 left out: bf16 is not native on this CPU (no AVX512-BF16 or AMX)"


def test_named_backends_are_kept_and_quality_is_scored_through_those_that_can(tmp_path, calls, monkeypatch):
    monkeypatch.setattr(hardware, "native_dtypes", native(True), raising=False)
    c = run(tmp_path, backends=("eager", "compile", "onnx-int8"))
    assert calls["bench"] == [["eager", "compile", "onnx-int8"]]
    assert calls["eval"][0] == ["eager", "onnx-int8"]  # torch.compile has no eval path
    assert not any(line.startswith("note:") for line in recommendation_lines(c))


def test_without_native_dtypes_the_defaults_are_eager_only(monkeypatch):
    monkeypatch.delattr(hardware, "native_dtypes", raising=False)
    assert compare_plan.default_backends() == (("eager",), [])
    assert compare_plan.default_backends(("eager", "onnx-int8")) == (("eager", "onnx-int8"), [])
