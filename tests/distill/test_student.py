"""Layer maps pick the right teacher layers, and the student carries exactly those weights."""
import pytest
import torch

from tradeoff.distill.student import layer_map, make_student, save_model, stack_name
from tradeoff.errors import BadInput


def test_named_maps():
    assert layer_map("alternate", 12) == [0, 2, 4, 6, 8, 10]
    assert layer_map("alternate", 6) == [0, 2, 4]
    assert layer_map("uniform", 12, 6) == [0, 2, 4, 7, 9, 11]  # the released DistilBERT extraction
    assert layer_map("uniform", 6, 3) == [0, 2, 5]
    assert layer_map("uniform", 6, 1) == [0]
    assert layer_map("first", 12, 3) == [0, 1, 2]
    assert layer_map("0,2,4,7,9,11", 12) == [0, 2, 4, 7, 9, 11]
    assert layer_map([1, 3], 4) == [1, 3]


@pytest.mark.parametrize("spec, n, k, words", [
    ("first", 6, 6, "not smaller"), ("uniform", 6, 7, "not smaller"), ("first", 6, 0, "at least one"),
    ("0,1,2,3,4,5", 6, None, "not smaller"), ("0,2,6", 6, None, "out of range"), ("0,-1", 6, None, "out of range"),
    ("2,1", 6, None, "strictly increasing"), ("0,0", 6, None, "strictly increasing"), ("every-other", 6, None, "unknown layer map"),
    ("alternate", 6, 2, "keeps 3 of 6"), ("0,2", 6, 3, "has 2 layers"),
])
def test_bad_maps(spec, n, k, words):
    with pytest.raises(BadInput, match=words):
        layer_map(spec, n, k)


@pytest.mark.parametrize("family, prefix", [("bert", "bert.encoder.layer"), ("roberta", "roberta.encoder.layer"),
                                            ("mpnet", "mpnet.encoder.layer"), ("distilbert", "distilbert.transformer.layer"),
                                            ("llama", "model.layers")])
@pytest.mark.parametrize("task", ["lm", "classify"])
def test_student_copies_kept_layers(tiny, family, prefix, task):
    teacher = tiny(family, task)
    layers = [1, 3]
    student = make_student(teacher, layers)
    assert stack_name(teacher) == prefix
    assert student.config.num_hidden_layers == 2 and teacher.config.num_hidden_layers == 4
    t, s = teacher.state_dict(), student.state_dict()
    in_stack = [k for k in s if k.startswith(prefix + ".")]
    assert in_stack and set(s) - set(in_stack)  # layers and everything else (embeddings, norms, heads)
    for key, value in s.items():
        if key.startswith(prefix + "."):
            j, rest = key[len(prefix) + 1:].split(".", 1)
            assert torch.equal(value, t[f"{prefix}.{layers[int(j)]}.{rest}"]), key
        else:
            assert torch.equal(value, t[key]), key


def test_student_matches_teacher_prefix(tiny):
    """A `first`-map student of a BERT computes exactly the teacher's first k layers."""
    teacher = tiny("bert", "lm")
    student = make_student(teacher, layer_map("first", 4, 2))
    ids = torch.randint(1000, 2000, (2, 9))
    with torch.no_grad():
        t = teacher.bert(ids, output_hidden_states=True).hidden_states[2]
        s = student.bert(ids).last_hidden_state
    torch.testing.assert_close(s, t)


def test_saved_student_loads(tiny, tmp_path, tokenizer):
    from transformers import AutoModelForMaskedLM, AutoTokenizer

    student = make_student(tiny("bert"), [0, 2])
    folder = save_model(student, tokenizer, tmp_path / "student", {"teacher": "tiny", "layers": [0, 2]})
    assert {"config.json", "model.safetensors", "tokenizer.json", "distill.json"} <= {p.name for p in folder.iterdir()}
    again = AutoModelForMaskedLM.from_pretrained(folder).eval()
    assert again.config.num_hidden_layers == 2
    ids = torch.tensor([AutoTokenizer.from_pretrained(folder)("a short sentence")["input_ids"]])
    with torch.no_grad():
        torch.testing.assert_close(again(ids).logits, student.eval()(ids).logits)
    assert [p.name for p in tmp_path.iterdir()] == ["student"]  # no temp folders left behind
    save_model(student, tokenizer, folder)  # overwriting replaces the folder whole
    assert not (folder / "distill.json").exists()
