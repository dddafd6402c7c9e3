"""The standard set of records for the report tests."""
import pytest

from report_records import bench, evaluation, speedup


@pytest.fixture
def records():
    return [
        bench("bert-base-uncased", "eager", 250.0, 900.0),
        bench("bert-base-uncased", "onnx-int8", 110.0, 500.0),
        bench("distilbert-base-uncased", "eager", 130.0, 600.0),
        bench("distilbert-base-uncased", "onnx-int8", 60.0, 350.0),
        speedup("distilbert-base-uncased", "bert-base-uncased", 1.92, 1.85, 1.99),
        bench("all-mpnet-base-v2", "eager", 240.0, 950.0, weights="random"),
        bench("all-MiniLM-L6-v2", "eager", 30.0, 300.0, weights="random"),
        evaluation("all-mpnet-base-v2", 0.84),
        evaluation("all-MiniLM-L6-v2", 0.80),
    ]
