"""distill.run.paired_speedup times teacher and student on one device (the issue: a teacher left on CUDA
after training was timed there while its student ran on the CPU)."""
import torch

from tradeoff.distill.run import paired_speedup


class Net(torch.nn.Module):
    """A tiny model that records where it is moved and refuses inputs on another device."""

    def __init__(self, width: int):
        super().__init__()
        self.layer = torch.nn.Linear(8, width)
        self.moved_to = []

    def to(self, *args, **kwargs):
        self.moved_to.append(torch.device(args[0]) if args else kwargs.get("device"))
        return super().to(*args, **kwargs)

    def forward(self, x):
        assert x.device == self.layer.weight.device, "inputs and model on different devices"
        return self.layer(x)


def test_teacher_is_timed_on_the_students_device():
    teacher, student = Net(64), Net(8)
    metrics, info = paired_speedup(teacher, student, {"x": torch.ones(2, 8)}, budget_s=0.2)
    assert teacher.moved_to == [torch.device("cpu")]  # moved to the student's device before any timing
    assert info["device"] == "cpu" and metrics["speedup"].value > 0 and info["rounds"] >= 1
