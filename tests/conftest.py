"""Test-wide settings: never reach for the network; an empty Hugging Face home, so models a developer happens to
have cached (bert-base-uncased, ...) do not change what the tests see."""
import os
import tempfile

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ["HF_HOME"] = tempfile.mkdtemp(prefix="tradeoff-test-hf-")
os.environ.pop("HF_HUB_CACHE", None)
