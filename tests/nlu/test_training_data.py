"""The training data loads cleanly and every annotation lines up with the tokenizer.

`rasa data validate --fail-on-warnings` does not fail on either problem: Rasa skips a
block-scalar line that is not an example (a comment inside `examples: |`) with only a
UserWarning, and an entity whose edges fall inside a jieba token is silently cut at
training time. Both have happened here, so they are checked.
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
DATA_DIR = REPO_ROOT / "data" / "nlu"
DICT_DIR = REPO_ROOT / "bot" / "jieba_dict"


@pytest.fixture(scope="module")
def training_data():
    from rasa.shared.nlu.training_data.loading import load_data

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        data = load_data(str(DATA_DIR))
    return data, [str(w.message) for w in caught if issubclass(w.category, UserWarning)]


@pytest.fixture(scope="module")
def tokenizer():
    import jieba

    jieba.setLogLevel(logging.ERROR)
    local = jieba.Tokenizer()
    for path in sorted(DICT_DIR.glob("*")):
        local.load_userdict(str(path))
    return local


def test_every_line_of_every_examples_block_is_an_example(training_data) -> None:
    _, messages = training_data
    assert [m for m in messages if "Issue found while processing" in m] == []


def test_entity_annotations_start_and_end_on_token_boundaries(training_data, tokenizer) -> None:
    data, _ = training_data
    misaligned = []
    for example in data.training_examples:
        text = example.get("text")
        entities = example.get("entities") or []
        if not entities:
            continue
        bounds = {0, len(text)}
        for _, start, end in tokenizer.tokenize(text):
            bounds.update((start, end))
        misaligned += [
            f"{e['entity']} {text[e['start'] : e['end']]!r} in {text!r}"
            for e in entities
            if e["start"] not in bounds or e["end"] not in bounds
        ]
    assert misaligned == []


def test_the_user_dictionary_has_no_comment_lines() -> None:
    # Rasa's JiebaTokenizer loads every file in the folder; jieba would read "# …" as a word.
    for path in DICT_DIR.glob("*"):
        assert not [line for line in path.read_text(encoding="utf-8").splitlines() if line.startswith("#")], (
            path
        )
