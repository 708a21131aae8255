"""Unit tests of the pure parts of scripts/tune_fallback.py (folds, fallback rule, sweep, choice).

Run in the bot virtualenv (see tests/nlu/README.md for why --confcutdir):
    .venv-bot/bin/python -m pytest tests/nlu/test_tune_fallback.py -q -p no:cacheprovider \
        --confcutdir=tests/nlu
"""

from __future__ import annotations

import ast
import importlib.util
import sys
from collections import Counter
from pathlib import Path
from types import ModuleType

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]


def _load_module() -> ModuleType:
    # scripts/ is not a package; load the script by path, registered so dataclasses can resolve it.
    spec = importlib.util.spec_from_file_location("tune_fallback", REPO_ROOT / "scripts" / "tune_fallback.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["tune_fallback"] = module
    spec.loader.exec_module(module)
    return module


tf = _load_module()
P = tf.Prediction


def _module_level_imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    roots = set()
    for node in tree.body:
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            roots.add(node.module.split(".")[0])
    return roots


@pytest.mark.parametrize("script", ["tune_fallback.py", "eval_nlu.py"])
def test_scripts_import_no_rasa_at_module_level(script: str) -> None:
    # The pure functions must stay importable without Rasa (slow import, TensorFlow).
    roots = _module_level_imports(REPO_ROOT / "scripts" / script)
    assert not roots & {"rasa", "tensorflow", "jieba", "actions", "backend"}


# --- folds -------------------------------------------------------------------

LABELS = ["a"] * 7 + ["b"] * 3 + ["c"] * 2 + ["d"] * 1 + ["e"] * 5 + ["a", "e", "b"]


@pytest.mark.parametrize("k", [2, 3, 5])
def test_folds_cover_every_example_exactly_once(k: int) -> None:
    folds = tf.stratified_folds(LABELS, k, seed=7)
    assert len(folds) == k
    flat = [i for fold in folds for i in fold]
    assert sorted(flat) == list(range(len(LABELS)))


@pytest.mark.parametrize("k", [2, 3, 5])
def test_every_label_with_at_least_k_examples_is_in_every_test_fold(k: int) -> None:
    folds = tf.stratified_folds(LABELS, k, seed=7)
    counts = Counter(LABELS)
    for label, count in counts.items():
        folds_with_label = sum(any(LABELS[i] == label for i in fold) for fold in folds)
        if count >= k:
            assert folds_with_label == k, label
        else:
            # A rare label cannot be everywhere; each of its examples sits in a different fold.
            assert folds_with_label == count, label


def test_folds_are_balanced_per_label_and_in_size() -> None:
    k = 3
    folds = tf.stratified_folds(LABELS, k, seed=7)
    sizes = [len(fold) for fold in folds]
    assert max(sizes) - min(sizes) <= 1
    for label, count in Counter(LABELS).items():
        per_fold = [sum(LABELS[i] == label for i in fold) for fold in folds]
        assert max(per_fold) - min(per_fold) <= 1, label
        assert sum(per_fold) == count


def test_folds_are_deterministic_for_a_seed() -> None:
    assert tf.stratified_folds(LABELS, 3, seed=11) == tf.stratified_folds(LABELS, 3, seed=11)
    # The seed does shuffle: over many seeds the folds are not always the same.
    assert len({str(tf.stratified_folds(LABELS, 3, seed=s)) for s in range(20)}) > 1


def test_folds_reject_impossible_k() -> None:
    with pytest.raises(ValueError):
        tf.stratified_folds(LABELS, 1, seed=0)
    with pytest.raises(ValueError):
        tf.stratified_folds(["a", "b"], 3, seed=0)


# --- config ------------------------------------------------------------------

CONFIG = {
    "language": "zh",
    "pipeline": [
        {"name": "JiebaTokenizer", "dictionary_path": "bot/jieba_dict"},
        {"name": "DIETClassifier", "epochs": 80},
        {"name": "FallbackClassifier", "threshold": 0.5, "ambiguity_threshold": 0.1},
    ],
    "policies": [{"name": "RulePolicy"}],
}


def test_without_fallback_drops_only_the_fallback_classifier() -> None:
    stripped = tf.without_fallback(CONFIG)
    assert [step["name"] for step in stripped["pipeline"]] == ["JiebaTokenizer", "DIETClassifier"]
    assert stripped["pipeline"][1] == {"name": "DIETClassifier", "epochs": 80}
    assert stripped["policies"] == CONFIG["policies"]
    assert len(CONFIG["pipeline"]) == 3  # the original is not modified


def test_fallback_settings_reads_the_config_and_fills_rasa_defaults() -> None:
    assert tf.fallback_settings(CONFIG) == (0.5, 0.1)
    assert tf.fallback_settings({"pipeline": [{"name": "FallbackClassifier"}]}) == (0.3, 0.1)
    assert tf.fallback_settings({"pipeline": [{"name": "DIETClassifier"}]}) is None


# --- fallback rule and sweep ---------------------------------------------------

# Six hand-made out-of-fold predictions. At t=0.5, a=0.1 (worked out by hand):
#   1 correct, confident              -> answered correct
#   2 correct, 0.45 < 0.5             -> fallback on correct
#   3 wrong, confident                -> answered wrong
#   4 wrong, 0.40 < 0.5, gold in top 2 -> fallback on wrong
#   5 correct, 0.60-0.55 = 0.05 < 0.1 -> fallback on correct (ambiguous)
#   6 out_of_scope taken for "a"      -> answered wrong
# gold_offered: whether the bot's buttons would include the gold intent (True, False or unknown).
PREDICTIONS = [
    P(gold="a", top="a", confidence=0.90, second_confidence=0.05, gold_in_top2=True),
    P(gold="a", top="a", confidence=0.45, second_confidence=0.30, gold_in_top2=True, gold_offered=True),
    P(gold="b", top="a", confidence=0.80, second_confidence=0.10, gold_in_top2=True, gold_offered=True),
    P(gold="b", top="c", confidence=0.40, second_confidence=0.35, gold_in_top2=True, gold_offered=False),
    P(gold="c", top="c", confidence=0.60, second_confidence=0.55, gold_in_top2=True),
    P(gold="out_of_scope", top="a", confidence=0.55, second_confidence=0.20, gold_in_top2=False),
]


def test_falls_back_uses_strict_inequalities_like_rasa() -> None:
    p = P(gold="a", top="a", confidence=0.5, second_confidence=0.25, gold_in_top2=True)
    assert not tf.falls_back(p, threshold=0.5, ambiguity=0.25)  # 0.5 is not < 0.5; 0.25 is not < 0.25
    assert tf.falls_back(p, threshold=0.625, ambiguity=0.0)
    assert tf.falls_back(p, threshold=0.5, ambiguity=0.375)


def test_sweep_row_at_the_current_setting() -> None:
    row = tf.sweep_row(PREDICTIONS, 0.5, 0.1, c=0.3, c2=0.1)
    assert row["n"] == 6
    assert row["counts"] == {
        "answered_correct": 1,
        "answered_wrong": 2,
        "fallback_on_correct": 2,
        "fallback_on_wrong": 1,
        "fallback_on_wrong_top2": 1,
        "fallback_on_wrong_offered": 0,  # prediction 4 is not offered
        "fallback_on_correct_offered": 1,  # prediction 2
        "fallback": 3,
    }
    assert row["answered_correct"] == pytest.approx(1 / 6)
    assert row["answered_wrong"] == pytest.approx(2 / 6)
    assert row["fallback"] == pytest.approx(3 / 6)
    assert row["fallback_on_correct"] == pytest.approx(2 / 6)
    assert row["fallback_on_wrong"] == pytest.approx(1 / 6)
    # cost = 2/6 + 0.3 * 2/6 + 0.1 * 1/6 = 2.7/6
    assert row["cost"] == pytest.approx(0.45)
    oos = row["out_of_scope"]
    assert oos["n"] == 1
    assert oos["answered_wrong"] == 1.0
    assert oos["fallback"] == 0.0


def test_sweep_rows_at_the_ends_of_the_grid() -> None:
    rows = tf.sweep(PREDICTIONS, thresholds=[0.2, 0.9], ambiguities=[0.0], c=0.3, c2=0.1)
    low, high = rows
    # t=0.2: nothing falls back; 3 right, 3 wrong.
    assert (low["threshold"], low["ambiguity"]) == (0.2, 0.0)
    assert low["counts"]["fallback"] == 0
    assert low["cost"] == pytest.approx(0.5)
    # t=0.9: everything but the 0.90 one falls back: 2 on correct, 3 on wrong.
    assert high["counts"]["answered_correct"] == 1
    assert high["counts"]["fallback_on_correct"] == 2
    assert high["counts"]["fallback_on_wrong"] == 3
    assert high["counts"]["fallback_on_wrong_top2"] == 2  # 3 and 4; out_of_scope was not in the top 2
    assert high["counts"]["fallback_on_wrong_offered"] == 1  # 3
    assert high["counts"]["fallback_on_correct_offered"] == 1  # 2
    assert high["cost"] == pytest.approx((0.3 * 2 + 0.1 * 3) / 6)
    assert high["out_of_scope"]["fallback"] == 1.0


def test_cost_weights_are_applied_as_given() -> None:
    row = tf.sweep_row(PREDICTIONS, 0.5, 0.1, c=1.0, c2=0.0)
    assert row["cost"] == pytest.approx((2 + 2) / 6)


def test_sweep_grid_is_threshold_major_and_complete() -> None:
    rows = tf.sweep(PREDICTIONS)
    assert len(rows) == len(tf.THRESHOLDS) * len(tf.AMBIGUITIES) == 15 * 5
    assert tf.THRESHOLDS[0] == 0.2 and tf.THRESHOLDS[-1] == 0.9
    assert 0.5 in tf.THRESHOLDS and 0.1 in tf.AMBIGUITIES
    assert [(r["threshold"], r["ambiguity"]) for r in rows[:2]] == [(0.2, 0.0), (0.2, 0.05)]


def test_empty_predictions_give_zero_rates() -> None:
    row = tf.sweep_row([], 0.5, 0.1, c=0.3, c2=0.1)
    assert row["n"] == 0 and row["cost"] == 0.0


# --- choosing the optimum ---------------------------------------------------------


def _row(t: float, a: float, cost: float) -> dict[str, float]:
    return {"threshold": t, "ambiguity": a, "cost": cost}


def test_best_row_takes_the_least_cost() -> None:
    rows = [_row(0.3, 0.1, 0.2), _row(0.5, 0.1, 0.1), _row(0.7, 0.0, 0.15)]
    assert tf.best_row(rows) == _row(0.5, 0.1, 0.1)


def test_best_row_breaks_ties_by_lower_threshold_then_lower_ambiguity() -> None:
    rows = [_row(0.6, 0.0, 0.3), _row(0.4, 0.1, 0.1 + 0.2), _row(0.4, 0.05, 0.3), _row(0.5, 0.0, 0.4)]
    # 0.1 + 0.2 != 0.3 in floating point, yet it is the same cost.
    assert tf.best_row(rows) == _row(0.4, 0.05, 0.3)


def test_sweep_tie_goes_to_the_lowest_threshold() -> None:
    # One confident correct prediction: every t <= 0.9 with a = 0 costs nothing.
    confident = [P(gold="a", top="a", confidence=0.95, second_confidence=0.01, gold_in_top2=True)]
    best = tf.best_row(tf.sweep(confident))
    assert (best["threshold"], best["ambiguity"]) == (0.2, 0.0)


def test_sweep_optimum_on_the_hand_made_set() -> None:
    # With c=0.3, c2=0.1 falling back on everything below 0.9 is cheapest here (cost 0.15, see above);
    # t=0.85 lets the 0.90 one through as well and costs the same, but t=0.80 answers the wrong 0.80.
    best = tf.best_row(tf.sweep(PREDICTIONS, thresholds=[0.5, 0.8, 0.85, 0.9], ambiguities=[0.0, 0.1]))
    assert (best["threshold"], best["ambiguity"]) == (0.85, 0.0)
    assert best["cost"] == pytest.approx(0.15)


def test_best_row_needs_rows() -> None:
    with pytest.raises(ValueError):
        tf.best_row([])


def test_find_row_and_rows_to_show() -> None:
    rows = tf.sweep(PREDICTIONS)
    assert tf.find_row(rows, 0.5, 0.1)["cost"] == pytest.approx(0.45)
    assert tf.find_row(rows, 0.51, 0.1) is None
    shown = tf.rows_to_show(rows, [(0.5, 0.1)])
    assert [(r["threshold"], r["ambiguity"]) for r in shown] == [
        (0.4, 0.1),
        (0.45, 0.1),
        (0.5, 0.1),
        (0.55, 0.1),
        (0.6, 0.1),
    ]


def test_sensitivity_reports_one_optimum_per_cost_pair() -> None:
    result = tf.sensitivity(PREDICTIONS, pairs=[(0.3, 0.1), (5.0, 5.0)])
    assert [(s["c"], s["c2"]) for s in result] == [(0.3, 0.1), (5.0, 5.0)]
    # Clarifying questions dearer than wrong answers: never fall back (t=0.2, a=0 answers everything).
    assert (result[1]["threshold"], result[1]["ambiguity"]) == (0.2, 0.0)
    assert result[1]["cost"] == pytest.approx(0.5)


def test_table_rows_span_the_current_and_the_best_setting() -> None:
    rows = tf.sweep(PREDICTIONS)
    best = tf.find_row(rows, 0.85, 0.0)
    shown = [(r["threshold"], r["ambiguity"]) for r in tf.table_rows(rows, best, (0.5, 0.1))]
    assert shown == sorted(set(shown))
    # The current a around the current t, the best a around the best t ...
    assert {(0.4, 0.1), (0.5, 0.1), (0.6, 0.1), (0.75, 0.0), (0.85, 0.0), (0.9, 0.0)} <= set(shown)
    # ... and one cheapest row for every threshold in between, nothing outside 0.4..0.9.
    assert {t for t, _ in shown} == {round(0.4 + 0.05 * i, 2) for i in range(11)}


def _rated(t: float, cost: float, correct: float, needless: float) -> dict[str, float]:
    return {
        "threshold": t,
        "ambiguity": 0.0,
        "cost": cost,
        "answered_correct": correct,
        "fallback_on_correct": needless,
    }


def test_needless_share_is_over_the_messages_the_model_got_right() -> None:
    assert tf.needless_share(_rated(0.5, 0.1, correct=0.75, needless=0.05)) == pytest.approx(0.0625)
    assert tf.needless_share(_rated(0.5, 0.1, correct=0.0, needless=0.0)) == 0.0


def test_the_cap_excludes_thresholds_that_ask_too_many_understood_customers_again() -> None:
    rows = [
        _rated(0.5, 0.16, correct=0.77, needless=0.03),  # 3.8 % needless
        _rated(0.6, 0.15, correct=0.76, needless=0.04),  # 5.0 %: exactly at the cap, allowed
        _rated(0.9, 0.12, correct=0.66, needless=0.14),  # 17.5 %: cheapest, over the cap
    ]
    assert tf.best_row(rows)["threshold"] == 0.9
    assert tf.best_row(rows, max_needless=0.05)["threshold"] == 0.6
    assert tf.best_row(rows, max_needless=0.04)["threshold"] == 0.5
    with pytest.raises(ValueError, match="within 1%"):
        tf.best_row(rows, max_needless=0.01)
