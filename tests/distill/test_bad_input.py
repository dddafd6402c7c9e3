"""Bad input to `tradeoff distill`: one clear line on stderr, exit 2, nothing written."""
import pytest

from tradeoff.cli import main
from tradeoff.paths import shared_data

AUSTEN = str(shared_data() / "austen/validation.txt")


@pytest.fixture
def small_text(tmp_path):
    path = tmp_path / "small.txt"
    path.write_text("It is a truth universally acknowledged.\n")
    return path


@pytest.mark.parametrize("extra, words", [
    (["--layer-map", "first", "--layers", "4"], "a student of 4 layers is not smaller than its 4-layer teacher"),
    (["--layer-map", "uniform", "--layers", "9"], "not smaller than its 4-layer teacher"),
    (["--layer-map", "0,7"], "layer index 7 is out of range: the teacher has layers 0..3"),
    (["--layer-map", "every-second"], "unknown layer map 'every-second'"),
    (["--student", "roberta-base"], "teacher and student vocabularies differ (30,522 vs 50,265"),
    (["--student", "llama-2-7b"], "is a decoder but the teacher is an encoder"),
    (["--student", "distilbert-base-uncased", "--layers", "2"], "--student and --layer-map/--layers both choose"),
    (["--loss", "kl=-1"], "loss weights must be non-negative"),
    (["--loss", "mse=1"], "unknown loss term 'mse'"),
    (["--loss", "kl=lots"], "is not a number"),
    (["--test", "x.jsonl"], "--test does not apply"),
    (["--block-size", "4"], "--block-size 4 is too small"),
])
def test_bad_options(tiny_teacher_dir, tmp_path, capsys, extra, words):
    out = tmp_path / "student"
    code = main(["distill", str(tiny_teacher_dir), "--corpus", AUSTEN, "--out", str(out), "-q", *extra])
    err = capsys.readouterr().err
    assert code == 2, err
    assert words in " ".join(err.split()), err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert not out.exists()


def test_corpus_too_small(tiny_teacher_dir, small_text, tmp_path, capsys):
    code = main(["distill", str(tiny_teacher_dir), "--corpus", str(small_text), "--out", str(tmp_path / "s"), "-q"])
    err = " ".join(capsys.readouterr().err.split())
    assert code == 2 and "is too small" in err and "fewer than the 40 needed" in err  # 8 per batch + 32 held out


@pytest.mark.parametrize("args, words", [
    ([], "give either --corpus (task-agnostic) or --data (task-specific)"),
    (["--corpus", AUSTEN, "--data", "fine-foods"], "give either --corpus"),
    (["--corpus", "/no/such/file.txt"], "does not exist"),
])
def test_bad_sources(tiny_teacher_dir, capsys, args, words):
    assert main(["distill", str(tiny_teacher_dir), "-q", *args]) == 2
    assert words in " ".join(capsys.readouterr().err.split())


def test_run_cell_rejects_bad_cells(tiny_teacher_dir):
    from tradeoff.distill import run_cell
    from tradeoff.errors import BadInput

    with pytest.raises(BadInput, match="mode"):
        run_cell(str(tiny_teacher_dir), {"data": AUSTEN})
    with pytest.raises(BadInput, match="unknown distillation option"):
        run_cell(str(tiny_teacher_dir), {"mode": "corpus", "data": AUSTEN, "layerz": 2})
    with pytest.raises(BadInput, match="pretrained teacher"):
        run_cell(str(tiny_teacher_dir), {"mode": "corpus", "data": AUSTEN}, weights="random")
