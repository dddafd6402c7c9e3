"""Bad input is caught before any work: one line, exit 2."""
import pytest

from tradeoff.bench import spec, validate_cell
from tradeoff.cli import main
from tradeoff.errors import BadInput


@pytest.mark.parametrize("text,shape", [("1x128", (1, 128)), ("32X64", (32, 64)), (" 4 x 8 ", (4, 8))])
def test_parse_shape(text, shape):
    assert spec.parse_shape(text) == shape


@pytest.mark.parametrize("text,message", [("0x128", "positive"), ("4x0", "positive"), ("-1x5", "positive"),
                                          ("128", "malformed"), ("1x", "malformed"), ("axb", "malformed"), ("1x2x3", "malformed")])
def test_bad_shapes(text, message):
    with pytest.raises(BadInput, match=message):
        spec.parse_shape(text)


def test_lists_dedupe_and_reject_unknown():
    assert spec.parse_list("eager, onnx,eager", spec.BACKENDS, "backend") == ["eager", "onnx"]
    with pytest.raises(BadInput, match="unknown backend 'tensorrt'"):
        spec.parse_list("eager,tensorrt", spec.BACKENDS, "backend")
    with pytest.raises(BadInput, match="no shape"):
        spec.parse_shapes(" , ")


def test_settings_checked():
    for bad in (dict(budget_s=0), dict(target=1.5), dict(new_tokens=1), dict(threads=0), dict(padding="left")):
        with pytest.raises(BadInput):
            spec.Settings(**bad).check()


def test_contract_cell_validation(tiny):
    cell = validate_cell(tiny["tiny-bert"], {"backend": "onnx", "batch": 2, "seq_len": 16})
    assert (cell.backend, cell.device, cell.workload) == ("onnx", "cpu", "fixed")
    with pytest.raises(BadInput, match="threads must be a positive integer"):
        validate_cell(tiny["tiny-bert"], {"backend": "eager", "threads": 0})
    with pytest.raises(BadInput, match="unknown bench cell keys: colour"):
        validate_cell(tiny["tiny-bert"], {"backend": "eager", "colour": "red"})
    with pytest.raises(BadInput, match="exceeds tiny-bert@[0-9a-f]{8}'s 64 positions"):
        validate_cell(tiny["tiny-bert"], {"backend": "eager", "batch": 1, "seq_len": 65})
    with pytest.raises(BadInput, match="16 new tokens exceeds"):  # prompt + generated tokens must fit
        validate_cell(tiny["tiny-llama"], {"workload": "generate", "batch": 1, "seq_len": 60, "new_tokens": 16})


@pytest.mark.parametrize("args,message", [
    (["--backend", "eager,tensorrt"], "unknown backend 'tensorrt'"),
    (["--shape", "0x128"], "positive batch"),
    (["--shape", "32by128"], "malformed shape"),
    (["--shape", "1x600"], "exceeds bert-base-uncased's 512 positions"),
    (["--device", "tpu"], "unknown device 'tpu'"),
    (["--workload", "train"], "unknown workload 'train'"),
    (["--budget", "-1"], "--budget must be positive"),
    (["--workload", "real", "--data", "/no/such/texts.jsonl"], "no such data file"),
    (["--threads", "0"], "--threads must be positive"),
    (["--threads", "4096"], "--threads 4096 is more than the"),
    (["--backend", "eager,torch-int8"], "torch-int8 was removed"),
    pytest.param(["--device", "cuda"], "cuda: not available on this machine",
                 marks=pytest.mark.skipif(__import__("torch").cuda.is_available(), reason="this machine has a GPU")),
])
def test_cli_bad_input_is_one_line_exit_2(args, message, capsys, monkeypatch):
    import tradeoff.bench.suite as suite

    monkeypatch.setattr(suite, "run_group", lambda *a, **k: pytest.fail("work started despite bad input"))
    monkeypatch.setattr("tradeoff.bench.isolate.run_isolated", lambda *a, **k: pytest.fail("work started despite bad input"))
    assert main(["bench", "bert-base-uncased", "distilbert-base-uncased", *args]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1 and "Traceback" not in err


def test_cli_backend_this_machine_cannot_run_is_bad_input(capsys, monkeypatch):
    from tradeoff.bench.backends.onnx import Onnx

    monkeypatch.setattr(Onnx, "unavailable", lambda self, device: f"{self.name}: onnxruntime is not installed")
    monkeypatch.setattr("tradeoff.bench.isolate.run_isolated", lambda *a, **k: pytest.fail("work started despite bad input"))
    assert main(["bench", "bert-base-uncased", "--backend", "eager,onnx-int8"]) == 2
    err = capsys.readouterr().err.strip()
    assert "onnx-int8: onnxruntime is not installed" in err and len(err.splitlines()) == 1


def test_retired_eval_backend_names_the_reason():
    from tradeoff.evaluate.backend import check

    with pytest.raises(BadInput) as e:
        check("torch-int8")
    assert "torch-int8 was removed" in e.value.hint


def test_cli_unknown_model_is_bad_input(capsys):
    assert main(["bench", "no-such-model-anywhere/xyz-123"]) == 2
    assert "error:" in capsys.readouterr().err


def test_the_default_thread_count_ignores_the_moments_load(monkeypatch):
    """threads is in every bench key: picked from idle cores, a rerun under other load re-timed everything."""
    import psutil

    from tradeoff.bench import suite
    from tradeoff.bench.spec import default_threads, usable_cpus

    quiet = default_threads()
    keys = [w.keys() for w in map(suite.GroupWork, suite.plan(["bert-base-uncased"]).groups)]
    monkeypatch.setattr(psutil, "cpu_percent", lambda *a, **k: 100.0)  # every core busy with someone else
    assert default_threads() == quiet == min(psutil.cpu_count(logical=False) or 1, usable_cpus())
    assert [w.keys() for w in map(suite.GroupWork, suite.plan(["bert-base-uncased"]).groups)] == keys
