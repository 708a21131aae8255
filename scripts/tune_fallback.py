"""Tune the FallbackClassifier thresholds of bot/config.yml by cross-validation on the training data.

Usage (bot virtualenv, Python 3.10, from the repository root):

    .venv-bot/bin/python scripts/tune_fallback.py [--folds 3] [--seed 20261126] [--c 0.3] [--c2 0.1]
    .venv-bot/bin/python scripts/tune_fallback.py --predictions reports/nlu/fallback_tuning.json --c 0.5

The second form re-sweeps the out-of-fold predictions saved by an earlier run (other costs, no
training, a second); the report keeps the provenance (commit, hashes) of the original run.

Only data/nlu/*.yml is used; the held-out set in tests/nlu/ is never read, so it stays an
independent check of whatever threshold this script recommends.

1. The intent examples are split into k stratified folds (by intent, fixed seed). Synonyms,
   regexes and lookup tables go into every fold's training file; only examples are split.
2. For each fold an NLU-only model is trained (`rasa train nlu` in a subprocess) with the
   pipeline of bot/config.yml minus the FallbackClassifier, so the raw DIET confidences and
   the intent ranking are seen. Every held-out-fold text goes through
   backend.textnorm.normalise, as every channel does at run time, and is parsed.
3. The out-of-fold predictions are swept over threshold t (0.20..0.90, step 0.05) and
   ambiguity_threshold a ({0, 0.05, 0.1, 0.15, 0.2}). Like Rasa's FallbackClassifier, a
   message falls back when top confidence < t or (top - second) < a. Each (t, a) gets

       cost = answered_wrong + c * fallback_on_correct + c2 * fallback_on_wrong

   (all rates over the examples). The (t, a) of least cost wins; ties go to the lower t,
   then the lower a (fewer clarifying questions for the same cost).

The cost alone is minimised by ever higher thresholds here, because the fold models (trained
on two thirds of the data) are far less sure than the full model, and wrong answers dominate
the sum. So the choice is capped: among the (t, a) where at most --max-needless (default 5%,
one in twenty) of the messages the model got right would get a needless clarifying question,
the least cost wins. A customer who was understood should rarely be asked again; the cap is a
service judgement, like the costs, and the report shows the uncapped optimum too.

Why c = 0.3 and c2 = 0.1 by default: a wrong answer starts the wrong flow (a wrong balance,
a repair ticket nobody asked for), and the customer has to notice it and get out; that is the
unit of cost. A clarifying question on an utterance the model had right costs one extra turn
and some trust, well below a wrong flow, hence 0.3. A clarifying question on an utterance the
model had wrong replaces that wrong flow; the two-stage fallback (actions/fallback.py) offers the
two likeliest intents as buttons, so when the right intent is among them the customer recovers
with one click, hence 0.1. Both are judgement calls: the report shows how the optimum moves
for other values, and --c / --c2 change them.

The sweep and cost functions are pure (no Rasa, no I/O) so that tests/nlu/test_tune_fallback.py
can check them; Rasa is imported only inside the functions that train and parse.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import hashlib
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT / "scripts") not in sys.path:
    sys.path.insert(0, str(REPO_ROOT / "scripts"))

from eval_nlu import OUT_OF_SCOPE_INTENT, load_normaliser, quiet_rasa  # noqa: E402  (scripts/ is no package)

FALLBACK_COMPONENT = "FallbackClassifier"
DEFAULT_SEED = 20261126
DEFAULT_FOLDS = 3
DEFAULT_C = 0.3
DEFAULT_C2 = 0.1
# At most this share of the messages the model understood may get a needless clarifying
# question (see the module docstring); --max-needless 1 lifts the cap.
DEFAULT_MAX_NEEDLESS = 0.05
CURRENT = (0.5, 0.1)  # bot/config.yml when this script was written; the live values are read too
THRESHOLDS = tuple(round(0.20 + 0.05 * i, 2) for i in range(15))  # 0.20 .. 0.90
AMBIGUITIES = (0.0, 0.05, 0.1, 0.15, 0.2)
# Cost pairs for the sensitivity table: how far the optimum moves if the costs are judged differently.
SENSITIVITY = ((0.2, 0.1), (0.3, 0.1), (0.5, 0.1), (0.3, 0.3), (0.5, 0.3), (0.5, 0.5))
# Costs are sums of a few hundred weighted counts; anything closer than this is a tie.
COST_TOLERANCE = 1e-9


@dataclass(frozen=True)
class Prediction:
    """One out-of-fold parse: what the model said about an example it was not trained on."""

    gold: str
    top: str
    confidence: float
    second_confidence: float
    gold_in_top2: bool
    # Whether the bot's stage-one buttons (actions.fallback.likeliest_intents: the two likeliest
    # intents it can offer, never affirm/deny/inform/out_of_scope) include the gold intent.
    gold_offered: bool | None = None
    fold: int = 0
    text: str = ""


# ---------------------------------------------------------------------------
# Pure functions: folds, fallback rule, sweep, choice, formatting
# ---------------------------------------------------------------------------


def stratified_folds(labels: Sequence[str], k: int, seed: int) -> list[list[int]]:
    """Indices of each test fold: every index exactly once, each label spread over the folds.

    The indices of each label are shuffled with a seeded RNG and dealt round-robin; each label
    starts dealing where the previous one stopped, so the folds differ in size by at most one.
    A label with at least k examples therefore appears in every fold.
    """
    if k < 2:
        raise ValueError(f"need at least 2 folds, got {k}")
    if k > len(labels):
        raise ValueError(f"{k} folds but only {len(labels)} examples")
    rng = random.Random(seed)
    by_label: dict[str, list[int]] = defaultdict(list)
    for index, label in enumerate(labels):
        by_label[label].append(index)
    folds: list[list[int]] = [[] for _ in range(k)]
    position = 0
    for label in sorted(by_label):
        indices = by_label[label]
        rng.shuffle(indices)
        for index in indices:
            folds[position % k].append(index)
            position += 1
    return [sorted(fold) for fold in folds]


def without_fallback(config: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of a Rasa config whose pipeline lacks the FallbackClassifier (and keeps all else)."""
    copy = dict(config)
    copy["pipeline"] = [
        dict(step) for step in config.get("pipeline", []) if step.get("name") != FALLBACK_COMPONENT
    ]
    return copy


def fallback_settings(config: Mapping[str, Any]) -> tuple[float, float] | None:
    """(threshold, ambiguity_threshold) of the config's FallbackClassifier, Rasa's defaults filled in."""
    for step in config.get("pipeline", []):
        if step.get("name") == FALLBACK_COMPONENT:
            return float(step.get("threshold", 0.3)), float(step.get("ambiguity_threshold", 0.1))
    return None


def falls_back(prediction: Prediction, threshold: float, ambiguity: float) -> bool:
    """Rasa 3.6 FallbackClassifier: confidence < threshold, or top - second < ambiguity_threshold."""
    return (
        prediction.confidence < threshold or prediction.confidence - prediction.second_confidence < ambiguity
    )


def _rates(predictions: Sequence[Prediction], threshold: float, ambiguity: float) -> dict[str, Any]:
    counts = {
        "answered_correct": 0,
        "answered_wrong": 0,
        "fallback_on_correct": 0,
        "fallback_on_wrong": 0,
        "fallback_on_wrong_top2": 0,
        "fallback_on_wrong_offered": 0,
        "fallback_on_correct_offered": 0,
    }
    for p in predictions:
        correct = p.top == p.gold
        if falls_back(p, threshold, ambiguity):
            counts["fallback_on_correct" if correct else "fallback_on_wrong"] += 1
            if not correct and p.gold_in_top2:
                counts["fallback_on_wrong_top2"] += 1
            if p.gold_offered:
                counts["fallback_on_correct_offered" if correct else "fallback_on_wrong_offered"] += 1
        else:
            counts["answered_correct" if correct else "answered_wrong"] += 1
    n = len(predictions)
    fallback = counts["fallback_on_correct"] + counts["fallback_on_wrong"]

    def rate(count: int) -> float:
        return count / n if n else 0.0

    return {
        "n": n,
        "counts": {**counts, "fallback": fallback},
        "answered_correct": rate(counts["answered_correct"]),
        "answered_wrong": rate(counts["answered_wrong"]),
        "fallback": rate(fallback),
        "fallback_on_correct": rate(counts["fallback_on_correct"]),
        "fallback_on_wrong": rate(counts["fallback_on_wrong"]),
    }


def cost(row: Mapping[str, Any], c: float, c2: float) -> float:
    """Expected cost per message: a wrong flow costs 1, a clarifying question c (needless) or c2 (rescue)."""
    return row["answered_wrong"] + c * row["fallback_on_correct"] + c2 * row["fallback_on_wrong"]


def sweep_row(
    predictions: Sequence[Prediction], threshold: float, ambiguity: float, c: float, c2: float
) -> dict[str, Any]:
    row = {"threshold": threshold, "ambiguity": ambiguity, **_rates(predictions, threshold, ambiguity)}
    row["cost"] = cost(row, c, c2)
    oos = [p for p in predictions if p.gold == OUT_OF_SCOPE_INTENT]
    oos_row = _rates(oos, threshold, ambiguity)
    oos_row["cost"] = cost(oos_row, c, c2)
    row["out_of_scope"] = oos_row
    return row


def sweep(
    predictions: Sequence[Prediction],
    thresholds: Sequence[float] = THRESHOLDS,
    ambiguities: Sequence[float] = AMBIGUITIES,
    c: float = DEFAULT_C,
    c2: float = DEFAULT_C2,
) -> list[dict[str, Any]]:
    """One row per (threshold, ambiguity), threshold-major."""
    return [sweep_row(predictions, t, a, c, c2) for t in thresholds for a in ambiguities]


def needless_share(row: Mapping[str, Any]) -> float:
    """Share of the messages the model got right that would get a clarifying question anyway."""
    right = row["answered_correct"] + row["fallback_on_correct"]
    return row["fallback_on_correct"] / right if right else 0.0


def best_row(rows: Sequence[Mapping[str, Any]], max_needless: float | None = None) -> Mapping[str, Any]:
    """Least cost among the rows within the needless-question cap (all rows when None); a tie
    (within COST_TOLERANCE) goes to the lower threshold, then the lower ambiguity."""
    if not rows:
        raise ValueError("no rows to choose from")
    allowed = [row for row in rows if max_needless is None or needless_share(row) <= max_needless + 1e-12]
    if not allowed:
        raise ValueError(f"no (t, a) keeps needless clarifying questions within {max_needless:.0%}")
    lowest = min(row["cost"] for row in allowed)
    tied = [row for row in allowed if row["cost"] - lowest <= COST_TOLERANCE]
    return min(tied, key=lambda row: (row["threshold"], row["ambiguity"]))


def find_row(
    rows: Sequence[Mapping[str, Any]], threshold: float, ambiguity: float
) -> Mapping[str, Any] | None:
    for row in rows:
        if abs(row["threshold"] - threshold) < 1e-9 and abs(row["ambiguity"] - ambiguity) < 1e-9:
            return row
    return None


def sensitivity(
    predictions: Sequence[Prediction],
    pairs: Sequence[tuple[float, float]] = SENSITIVITY,
    thresholds: Sequence[float] = THRESHOLDS,
    ambiguities: Sequence[float] = AMBIGUITIES,
    max_needless: float | None = None,
) -> list[dict[str, Any]]:
    """The optimum (t, a) for other cost judgements (c, c2), under the same cap."""
    result = []
    for c, c2 in pairs:
        best = best_row(sweep(predictions, thresholds, ambiguities, c, c2), max_needless)
        result.append(
            {
                "c": c,
                "c2": c2,
                "threshold": best["threshold"],
                "ambiguity": best["ambiguity"],
                "cost": best["cost"],
            }
        )
    return result


def rows_to_show(
    rows: Sequence[Mapping[str, Any]], marks: Sequence[tuple[float, float]], span: float = 0.1
) -> list[Mapping[str, Any]]:
    """Rows within `span` of a marked threshold, with the marked ambiguity or the best a per t."""
    shown = []
    for row in rows:
        for t, a in marks:
            if abs(row["threshold"] - t) <= span + 1e-9 and abs(row["ambiguity"] - a) < 1e-9:
                shown.append(row)
                break
    return shown


def format_table(rows: Sequence[Mapping[str, Any]], marks: Mapping[tuple[float, float], str]) -> str:
    header = (
        "     t     a   correct  wrong  fallback  fb_on_correct  fb_on_wrong   cost   oos_wrong  oos_fb  note"
    )
    lines = [header, "-" * len(header)]
    for row in rows:
        key = (round(row["threshold"], 2), round(row["ambiguity"], 2))
        lines.append(
            f"  {row['threshold']:4.2f}  {row['ambiguity']:4.2f}"
            f"   {row['answered_correct']:7.3f}  {row['answered_wrong']:5.3f}"
            f"  {row['fallback']:8.3f}  {row['fallback_on_correct']:13.3f}  {row['fallback_on_wrong']:11.3f}"
            f"  {row['cost']:5.4f}  {row['out_of_scope']['answered_wrong']:9.3f}"
            f"  {row['out_of_scope']['fallback']:6.3f}  {marks.get(key, '')}"
        )
    return "\n".join(lines)


def markdown_report(result: Mapping[str, Any], shown: Sequence[Mapping[str, Any]]) -> str:
    best, current = result["recommended"], result["current_row"]
    counts = best["counts"]
    lines = [
        "# FallbackClassifier tuning (cross-validation on data/nlu)",
        "",
        f"Generated {result['date']} by `scripts/tune_fallback.py` from a {result['folds']}-fold stratified",
        f"cross-validation (seed {result['seed']}, run {result['cross_validated_at']},"
        f" {result['cross_validation_s']} s) over {result['n_examples']} intent examples of"
        f" {result['n_intents']} intents: git HEAD `{str(result['git_head'])[:7]}`"
        f" ({len(result['uncommitted_data_changes'] or [])} uncommitted data/nlu changes),"
        f" config sha256 `{result['config_sha256'][:12]}`, data/nlu sha256 `{result['data_sha256'][:12]}`"
        + (f"; re-swept from `{result['resweep_of']}`." if result.get("resweep_of") else "."),
        f"Cost per message = answered_wrong + {result['c']} x fallback_on_correct"
        f" + {result['c2']} x fallback_on_wrong, minimised where at most {result['max_needless']:.0%} of the"
        " messages the model got right get a needless clarifying question"
        f" (without that cap: t={result['uncapped_optimum']['threshold']:.2f},"
        f" a={result['uncapped_optimum']['ambiguity']:.2f}, needless"
        f" {result['uncapped_optimum']['needless_share']:.1%}). The held-out set in tests/nlu/ was not used.",
        "",
        f"**Recommended:** threshold {best['threshold']:.2f}, ambiguity_threshold {best['ambiguity']:.2f}"
        f" (cost {best['cost']:.4f}; the current {result['current'][0]:.2f}/{result['current'][1]:.2f}"
        + (f" costs {current['cost']:.4f})." if current else " is not on the grid).")
        + (
            " The optimum lies at the edge of the swept grid, so the cost may fall further beyond it."
            if result["optimum_at_grid_edge"]
            else ""
        ),
        "",
        f"Out-of-fold accuracy of the top intent (no fallback): {result['top1_accuracy']:.3f};"
        f" gold intent in the top 2: {result['top2_accuracy']:.3f}.",
        "",
        "| t | a | correct | wrong | fallback | fb on correct | fb on wrong | cost |"
        " oos wrong | oos fallback | |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    marks = result["marks"]
    for row in shown:
        key = f"{row['threshold']:.2f}/{row['ambiguity']:.2f}"
        lines.append(
            f"| {row['threshold']:.2f} | {row['ambiguity']:.2f} | {row['answered_correct']:.3f}"
            f" | {row['answered_wrong']:.3f} | {row['fallback']:.3f} | {row['fallback_on_correct']:.3f}"
            f" | {row['fallback_on_wrong']:.3f} | {row['cost']:.4f}"
            f" | {row['out_of_scope']['answered_wrong']:.3f} | {row['out_of_scope']['fallback']:.3f}"
            f" | {marks.get(key, '')} |"
        )
    lines += [
        "",
        "Rates are over all out-of-fold examples; `oos` columns are over the out_of_scope examples only"
        f" (n={best['out_of_scope']['n']}).",
        "",
        f"At the recommendation {counts['fallback']} of {result['n_examples']} messages get a clarifying"
        f" question; of the {counts['fallback_on_wrong']} that would otherwise have been answered wrongly,"
        f" {counts['fallback_on_wrong_top2']} have the right intent in the top 2 of the ranking and"
        f" {counts['fallback_on_wrong_offered']} among the bot's buttons (actions/fallback.py offers only"
        " intents it has a label for, never affirm, deny, inform or out_of_scope).",
        "",
        "Caveats: each fold's model is trained on (k-1)/k of the data, so its confidences on unseen"
        " text are somewhat lower than the full model's; the left-out texts are training examples, which"
        " need not look like real traffic. Check the choice on the held-out set (`make eval-nlu`) after"
        " applying it.",
        "",
        "## Sensitivity to the costs",
        "",
        "| c (needless question) | c2 (rescue) | best t | best a | cost |",
        "|---|---|---|---|---|",
    ]
    for s in result["sensitivity"]:
        lines.append(
            f"| {s['c']} | {s['c2']} | {s['threshold']:.2f} | {s['ambiguity']:.2f} | {s['cost']:.4f} |"
        )
    lines.append("")
    return "\n".join(lines)


# ---------------------------------------------------------------------------
# Training and parsing (Rasa imported inside the functions)
# ---------------------------------------------------------------------------


def sha256_of_files(paths: Sequence[Path]) -> str:
    digest = hashlib.sha256()
    for path in sorted(paths):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def git_output(*arguments: str) -> str:
    """Output of a git command in the repository, or "" when git is unavailable."""
    try:
        finished = subprocess.run(
            ["git", *arguments], cwd=REPO_ROOT, capture_output=True, text=True, timeout=30, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return ""
    return finished.stdout.strip()


def load_training_data(nlu_dir: Path) -> Any:
    from rasa.shared.nlu.training_data.loading import load_data

    return load_data(str(nlu_dir))


def fold_training_data(data: Any, test_indices: set[int]) -> Any:
    """All of `data` except the examples whose index is in test_indices (synonyms etc. kept whole)."""
    from rasa.shared.nlu.training_data.training_data import TrainingData

    examples = [m for i, m in enumerate(data.intent_examples) if i not in test_indices]
    return TrainingData(
        training_examples=examples,
        entity_synonyms=dict(data.entity_synonyms),
        regex_features=list(data.regex_features),
        lookup_tables=list(data.lookup_tables),
    )


def write_fold_data(data: Any, directory: Path) -> Path:
    """Write the fold's training file and check it reads back with the same parts."""
    from rasa.shared.nlu.training_data.loading import load_data

    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "nlu.yml"
    path.write_text(data.nlu_as_yaml(), encoding="utf-8")
    reloaded = load_data(str(path))
    for part in ("intent_examples", "regex_features", "lookup_tables"):
        if len(getattr(reloaded, part)) != len(getattr(data, part)):
            raise SystemExit(f"tune_fallback: {part} lost writing {path}")
    if reloaded.entity_synonyms != data.entity_synonyms:
        raise SystemExit(f"tune_fallback: synonyms changed writing {path}")
    return path


def train_fold(config_path: Path, nlu_dir: Path, out_dir: Path, name: str, log_path: Path) -> Path:
    env = dict(os.environ)
    env["RASA_TELEMETRY_ENABLED"] = "false"
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO_ROOT), env.get("PYTHONPATH", "")) if p)
    # A private, disabled training cache: no clash with a `rasa train` running beside this one.
    env["RASA_CACHE_DIRECTORY"] = str(out_dir / "cache")
    env["RASA_MAX_CACHE_SIZE"] = "0"
    rasa = Path(sys.executable).with_name("rasa")
    command = [
        str(rasa), "train", "nlu",
        "--config", str(config_path),
        "--nlu", str(nlu_dir),
        "--out", str(out_dir),
        "--fixed-model-name", name,
    ]  # fmt: skip
    with log_path.open("w", encoding="utf-8") as log:
        finished = subprocess.run(command, cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    model = out_dir / f"{name}.tar.gz"
    if finished.returncode != 0 or not model.is_file():
        tail = log_path.read_text(encoding="utf-8", errors="replace").splitlines()[-30:]
        raise SystemExit(
            f"tune_fallback: training {name} failed (exit {finished.returncode}); log {log_path}:\n"
            + "\n".join(tail)
        )
    return model


def button_chooser() -> Callable[[Mapping[str, Any]], list[str]] | None:
    """actions.fallback.likeliest_intents (what the bot offers as buttons), or None if it cannot load."""
    if str(REPO_ROOT) not in sys.path:
        sys.path.insert(0, str(REPO_ROOT))
    try:
        from actions.fallback import likeliest_intents
    except ImportError as error:
        print(f"tune_fallback: cannot import actions.fallback ({error}); no button figures", file=sys.stderr)
        return None
    return likeliest_intents


async def parse_fold(
    model_path: Path, texts: Sequence[str], golds: Sequence[str], fold: int
) -> list[Prediction]:
    from rasa.core.agent import Agent

    agent = Agent.load(str(model_path))
    offered = button_chooser()
    predictions = []
    for text, gold in zip(texts, golds, strict=True):
        result = await agent.parse_message(text)
        intent = result.get("intent") or {}
        ranking = result.get("intent_ranking") or [intent]
        second = float(ranking[1].get("confidence") or 0.0) if len(ranking) > 1 else 0.0
        predictions.append(
            Prediction(
                gold=gold,
                top=str(intent.get("name")),
                confidence=float(intent.get("confidence") or 0.0),
                second_confidence=second,
                gold_in_top2=gold in [r.get("name") for r in ranking[:2]],
                gold_offered=gold in offered(result) if offered else None,
                fold=fold,
                text=text,
            )
        )
    return predictions


def cross_validate(
    data: Any,
    config: Mapping[str, Any],
    folds: Sequence[Sequence[int]],
    normalise: Callable[[str], str],
    work_dir: Path,
) -> list[Prediction]:
    import yaml

    config_path = work_dir / "config.yml"
    config_path.write_text(
        yaml.safe_dump(dict(config), allow_unicode=True, sort_keys=False), encoding="utf-8"
    )
    examples = data.intent_examples
    predictions: list[Prediction] = []
    for number, test_indices in enumerate(folds, start=1):
        started = time.monotonic()
        name = f"fold{number}"
        train = fold_training_data(data, set(test_indices))
        nlu_dir = write_fold_data(train, work_dir / name / "data")
        print(
            f"{name}/{len(folds)}: training on {len(train.intent_examples)} examples,"
            f" testing on {len(test_indices)} ...",
            file=sys.stderr,
            flush=True,
        )
        model = train_fold(config_path, nlu_dir, work_dir / name, name, work_dir / name / "train.log")
        texts = [normalise(examples[i].get("text")) for i in test_indices]
        golds = [examples[i].get("intent") for i in test_indices]
        predictions += asyncio.run(parse_fold(model, texts, golds, number))
        print(f"{name}: done in {time.monotonic() - started:.0f} s", file=sys.stderr, flush=True)
    return predictions


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Tune the FallbackClassifier thresholds by k-fold cross-validation on data/nlu"
    )
    parser.add_argument("--folds", type=int, default=DEFAULT_FOLDS, help="number of folds (default 3)")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="seed of the fold split")
    parser.add_argument(
        "--c", type=float, default=DEFAULT_C, help="cost of a needless clarifying question (wrong flow = 1)"
    )
    parser.add_argument(
        "--c2",
        type=float,
        default=DEFAULT_C2,
        help="cost of a clarifying question that replaces a wrong flow",
    )
    parser.add_argument(
        "--max-needless",
        type=float,
        default=DEFAULT_MAX_NEEDLESS,
        help="cap on needless clarifying questions, as a share of the messages the model got right",
    )
    parser.add_argument("--config", type=Path, default=REPO_ROOT / "bot" / "config.yml")
    parser.add_argument(
        "--nlu", type=Path, default=REPO_ROOT / "data" / "nlu", help="training data directory"
    )
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "reports" / "nlu", help="report directory")
    parser.add_argument(
        "--work-dir", type=Path, default=None, help="keep fold data, models and logs here (default: temp dir)"
    )
    parser.add_argument(
        "--predictions",
        type=Path,
        default=None,
        help="re-sweep the out-of-fold predictions of an earlier fallback_tuning.json (other --c/--c2)"
        " instead of training",
    )
    return parser.parse_args(argv)


def table_rows(
    rows: Sequence[Mapping[str, Any]], best: Mapping[str, Any], current: tuple[float, float]
) -> list[Mapping[str, Any]]:
    """Rows for the printed table: +-0.1 around the current (t, a) and the best (t, a), and the
    cheapest a of every threshold from 0.1 below the lower of the two to 0.1 above the higher."""
    low = min(best["threshold"], current[0]) - 0.1 - 1e-9
    high = max(best["threshold"], current[0]) + 0.1 + 1e-9
    thresholds = sorted({row["threshold"] for row in rows if low <= row["threshold"] <= high})
    cheapest = [best_row([r for r in rows if r["threshold"] == t]) for t in thresholds]
    chosen = {
        (r["threshold"], r["ambiguity"]): r
        for r in [*rows_to_show(rows, [(best["threshold"], best["ambiguity"]), current]), *cheapest]
    }
    return [chosen[key] for key in sorted(chosen)]


def run_cross_validation(
    args: argparse.Namespace, config_bytes: bytes
) -> tuple[list[Prediction], dict[str, Any]]:
    import yaml

    normalise = load_normaliser()
    config = yaml.safe_load(config_bytes)
    # Fingerprint the inputs before training: someone may be editing them while this runs.
    provenance: dict[str, Any] = {
        "cross_validated_at": now_iso(),
        "folds": args.folds,
        "seed": args.seed,
        "config": str(args.config),
        "config_sha256": hashlib.sha256(config_bytes).hexdigest(),
        "data_sha256": sha256_of_files(sorted(args.nlu.glob("*.yml"))),
        "git_head": git_output("rev-parse", "HEAD"),
        "uncommitted_data_changes": git_output("status", "--porcelain", "--", str(args.nlu)).splitlines(),
    }
    data = load_training_data(args.nlu)
    labels = [m.get("intent") for m in data.intent_examples]
    folds = stratified_folds(labels, args.folds, args.seed)
    provenance["fold_sizes"] = [len(f) for f in folds]
    provenance["n_intents"] = len(set(labels))

    temp = None
    if args.work_dir is None:
        temp = tempfile.mkdtemp(prefix="tune_fallback_")
        work_dir = Path(temp)
    else:
        work_dir = args.work_dir
        work_dir.mkdir(parents=True, exist_ok=True)
    try:
        predictions = cross_validate(data, without_fallback(config), folds, normalise, work_dir)
    finally:
        if temp is not None:
            shutil.rmtree(temp, ignore_errors=True)
    return predictions, provenance


PROVENANCE_KEYS = (
    "cross_validated_at",
    "folds",
    "seed",
    "config",
    "config_sha256",
    "data_sha256",
    "git_head",
    "uncommitted_data_changes",
    "fold_sizes",
    "n_intents",
    "cross_validation_s",
)


def load_saved_predictions(path: Path) -> tuple[list[Prediction], dict[str, Any]]:
    saved = json.loads(path.read_text(encoding="utf-8"))
    provenance = {key: saved.get(key) for key in PROVENANCE_KEYS}
    provenance["resweep_of"] = str(path)
    return [Prediction(**p) for p in saved["predictions"]], provenance


def now_iso() -> str:
    # datetime.UTC would need Python 3.11; this script runs in the 3.10 bot virtualenv.
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")  # noqa: UP017


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.monotonic()
    # TensorFlow, jax and matplotlib deprecation notes say nothing about the thresholds.
    warnings.simplefilter("ignore", DeprecationWarning)
    import yaml

    config_bytes = args.config.read_bytes()
    live = fallback_settings(yaml.safe_load(config_bytes)) or CURRENT
    if args.predictions is not None:
        predictions, provenance = load_saved_predictions(args.predictions)
    else:
        quiet_rasa()
        predictions, provenance = run_cross_validation(args, config_bytes)
        provenance["cross_validation_s"] = round(time.monotonic() - started, 1)

    rows = sweep(predictions, c=args.c, c2=args.c2)
    for row in rows:
        row["needless_share"] = needless_share(row)
    best = best_row(rows, args.max_needless)
    uncapped = best_row(rows)
    current = find_row(rows, *live)
    marks: dict[tuple[float, float], str] = {}
    marks[(round(live[0], 2), round(live[1], 2))] = "current"
    key = (round(best["threshold"], 2), round(best["ambiguity"], 2))
    marks[key] = "best" if key not in marks else "current, best"
    ukey = (round(uncapped["threshold"], 2), round(uncapped["ambiguity"], 2))
    marks.setdefault(ukey, "least cost, no cap")
    shown = table_rows(rows, best, live)
    n = len(predictions)
    result: dict[str, Any] = {
        "date": now_iso(),
        **provenance,
        "c": args.c,
        "c2": args.c2,
        "max_needless": args.max_needless,
        "uncapped_optimum": {k: uncapped[k] for k in ("threshold", "ambiguity", "cost", "needless_share")},
        "n_examples": n,
        "current": list(live),
        "current_row": current,
        "recommended": best,
        "optimum_at_grid_edge": best["threshold"] in (THRESHOLDS[0], THRESHOLDS[-1]),
        "top1_accuracy": sum(p.top == p.gold for p in predictions) / n if n else 0.0,
        "top2_accuracy": sum(p.gold_in_top2 for p in predictions) / n if n else 0.0,
        "sensitivity": sensitivity(predictions, max_needless=args.max_needless),
        "marks": {f"{t:.2f}/{a:.2f}": label for (t, a), label in marks.items()},
        "rows": rows,
        "predictions": [asdict(p) for p in predictions],
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "fallback_tuning.json").write_text(
        json.dumps(result, ensure_ascii=False, indent=2), encoding="utf-8"
    )
    (args.out / "fallback_tuning.md").write_text(markdown_report(result, shown), encoding="utf-8")

    print(
        f"{result['folds']}-fold CV over {n} examples, {result['n_intents']} intents"
        f" (seed {result['seed']}, c={args.c}, c2={args.c2})"
    )
    print(f"top-1 accuracy {result['top1_accuracy']:.3f}, gold in top 2 {result['top2_accuracy']:.3f}\n")
    print(format_table(shown, marks))
    print("\ncost optimum for other cost judgements:")
    for s in result["sensitivity"]:
        print(f"  c={s['c']:<4} c2={s['c2']:<4} -> t={s['threshold']:.2f} a={s['ambiguity']:.2f}")
    print(
        f"\nrecommended (needless questions <= {args.max_needless:.0%} of understood messages):"
        f" threshold {best['threshold']:.2f}, ambiguity_threshold {best['ambiguity']:.2f}"
        f" (cost {best['cost']:.4f}"
        + (f" vs {current['cost']:.4f} at the current {live[0]:.2f}/{live[1]:.2f})" if current else ")")
    )
    counts = best["counts"]
    print(
        f"at the recommendation: {counts['fallback']} clarifying questions out of {n};"
        f" of the {counts['fallback_on_wrong']} on wrong answers, {counts['fallback_on_wrong_top2']}"
        f" had the gold intent in the top 2 and {counts['fallback_on_wrong_offered']} among the bot's buttons"
    )
    if result["optimum_at_grid_edge"]:
        print(f"note: the optimum is at the edge of the grid (t={best['threshold']:.2f})")
    print(f"reports written to {args.out} ({time.monotonic() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
