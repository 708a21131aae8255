"""Evaluate the trained Rasa NLU model on the held-out test set in tests/nlu/.

Usage (bot virtualenv, Python 3.10):

    .venv-bot/bin/python scripts/eval_nlu.py --model models/ --out reports/nlu [--min-macro-f1 0.90]

Every utterance goes through backend.textnorm.normalise() before it is parsed,
because that is what every channel does at run time. The metric functions below
are pure (no Rasa, no I/O) so that tests/nlu/test_eval_metrics.py can check them
quickly; Rasa, the normaliser and matplotlib are imported only when needed.

Scoring choices (also in tests/nlu/README.md):
- Intent accuracy, macro-F1 and the per-intent table treat nlu_fallback as a wrong
  answer for every utterance, out_of_scope ones included (strict: the fallback is
  not an intent anyone asked for).
- Out-of-scope recall counts out_of_scope OR nlu_fallback as a correct rejection of
  an out-of-scope utterance: both make the assistant decline instead of acting.
- Macro-F1 averages over the intents present in the gold labels; a predicted label
  that no gold utterance carries (nlu_fallback) lowers recall but is not averaged.
- Entities are compared as sets of (entity, canonical value) pairs per utterance;
  spans do not matter because the text is normalised first.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import logging
import math
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]

FALLBACK_INTENT = "nlu_fallback"
OUT_OF_SCOPE_INTENT = "out_of_scope"
REJECTION_INTENTS = frozenset({OUT_OF_SCOPE_INTENT, FALLBACK_INTENT})

# Part name -> file name inside the held-out directory.
HELDOUT_PARTS: dict[str, str] = {
    "typed": "heldout.yml",
    "asr": "heldout_asr.yml",
    "oos": "heldout_oos.yml",
}

DIGIT_ENTITIES = frozenset({"account_no", "phone", "phone_last4", "ticket_no"})
LEGACY_ACCOUNT_LENGTH = 10
ACCOUNT_PREFIX = "410"

Normaliser = Callable[[str], str]
EntityPair = tuple[str, str]


@dataclass(frozen=True)
class HeldoutExample:
    text: str
    normalised_text: str
    intent: str
    entities: frozenset[EntityPair]
    part: str


@dataclass(frozen=True)
class ParseOutcome:
    intent: str
    confidence: float
    entities: frozenset[EntityPair]
    latency_ms: float


# ---------------------------------------------------------------------------
# Pure metric functions
# ---------------------------------------------------------------------------


def canonical_entity_value(entity: str, value: Any) -> str:
    """Bring an entity value to the form in which gold and prediction are compared.

    Number-like entities keep their digits only (spaces and dashes are how people
    type them, not part of the value); a legacy 10-digit account number names the
    same account as "410" + it, so both compare equal.
    """
    text = str(value).strip()
    if entity in DIGIT_ENTITIES:
        text = "".join(ch for ch in text if ch.isdigit())
        if entity == "account_no" and len(text) == LEGACY_ACCOUNT_LENGTH:
            text = ACCOUNT_PREFIX + text
        return text
    return "".join(text.split())


def gold_entity_pairs(
    text: str, entities: Iterable[Mapping[str, Any]], normalise: Normaliser
) -> frozenset[EntityPair]:
    """Expected (entity, canonical value) pairs of one annotated utterance.

    An annotation whose value is its own surface text (`[明天](date)`) is passed
    through the normaliser, because the model only ever sees normalised text; an
    explicit canonical value (`{"value": "峰谷电价"}`) is taken as written.
    """
    pairs = set()
    for annotation in entities:
        entity = str(annotation["entity"])
        value = str(annotation["value"])
        start, end = annotation.get("start"), annotation.get("end")
        if start is not None and end is not None and text[start:end] == value:
            value = normalise(value)
        pairs.add((entity, canonical_entity_value(entity, value)))
    return frozenset(pairs)


def predicted_entity_pairs(entities: Iterable[Mapping[str, Any]]) -> frozenset[EntityPair]:
    """(entity, canonical value) pairs from a parse result; duplicates from several extractors collapse."""
    return frozenset(
        (str(e["entity"]), canonical_entity_value(str(e["entity"]), e.get("value", ""))) for e in entities
    )


def precision_recall_f1(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
    """Precision, recall, F1; a ratio with an empty denominator is 0.0 (nothing to credit)."""
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def accuracy(gold: Sequence[str], predicted: Sequence[str]) -> float:
    """Share of exact matches; nlu_fallback never matches a gold label."""
    _require_same_length(gold, predicted)
    if not gold:
        return 0.0
    return sum(g == p for g, p in zip(gold, predicted, strict=False)) / len(gold)


def intent_report(gold: Sequence[str], predicted: Sequence[str]) -> dict[str, Any]:
    """Accuracy, macro-F1 over the gold intents, and per-label precision/recall/F1/support."""
    _require_same_length(gold, predicted)
    gold_labels = sorted(set(gold))
    all_labels = sorted(set(gold) | set(predicted))
    per_label: dict[str, dict[str, float | int]] = {}
    for label in all_labels:
        tp = sum(g == label and p == label for g, p in zip(gold, predicted, strict=False))
        fp = sum(g != label and p == label for g, p in zip(gold, predicted, strict=False))
        fn = sum(g == label and p != label for g, p in zip(gold, predicted, strict=False))
        precision, recall, f1 = precision_recall_f1(tp, fp, fn)
        per_label[label] = {
            "precision": precision,
            "recall": recall,
            "f1": f1,
            "support": tp + fn,
            "predicted": tp + fp,
        }
    macro_f1 = (
        sum(float(per_label[label]["f1"]) for label in gold_labels) / len(gold_labels) if gold_labels else 0.0
    )
    return {
        "accuracy": accuracy(gold, predicted),
        "macro_f1": macro_f1,
        "per_intent": per_label,
    }


def out_of_scope_recall(predicted_for_oos_items: Sequence[str]) -> float:
    """Share of out-of-scope utterances the model declined (out_of_scope or nlu_fallback)."""
    if not predicted_for_oos_items:
        return 0.0
    declined = sum(p in REJECTION_INTENTS for p in predicted_for_oos_items)
    return declined / len(predicted_for_oos_items)


def rejection_rate(predicted: Sequence[str]) -> float:
    """Share of utterances declined (out_of_scope or nlu_fallback); for in-scope items, lower is better."""
    if not predicted:
        return 0.0
    return sum(p in REJECTION_INTENTS for p in predicted) / len(predicted)


def entity_report(
    gold: Sequence[frozenset[EntityPair]], predicted: Sequence[frozenset[EntityPair]]
) -> dict[str, Any]:
    """Per-entity and micro-averaged precision/recall/F1 over per-utterance sets of pairs."""
    _require_same_length(gold, predicted)
    counts: dict[str, list[int]] = {}  # entity -> [tp, fp, fn]
    for gold_pairs, predicted_pairs in zip(gold, predicted, strict=False):
        for entity, _ in gold_pairs | predicted_pairs:
            counts.setdefault(entity, [0, 0, 0])
        for entity, _ in gold_pairs & predicted_pairs:
            counts[entity][0] += 1
        for entity, _ in predicted_pairs - gold_pairs:
            counts[entity][1] += 1
        for entity, _ in gold_pairs - predicted_pairs:
            counts[entity][2] += 1
    per_entity = {}
    for entity in sorted(counts):
        tp, fp, fn = counts[entity]
        precision, recall, f1 = precision_recall_f1(tp, fp, fn)
        per_entity[entity] = {
            "precision": precision,
            "recall": recall,
            "f1": f1,
            "support": tp + fn,
            "predicted": tp + fp,
        }
    total_tp = sum(c[0] for c in counts.values())
    total_fp = sum(c[1] for c in counts.values())
    total_fn = sum(c[2] for c in counts.values())
    micro_p, micro_r, micro_f1 = precision_recall_f1(total_tp, total_fp, total_fn)
    return {
        "micro": {
            "precision": micro_p,
            "recall": micro_r,
            "f1": micro_f1,
            "support": total_tp + total_fn,
        },
        "per_entity": per_entity,
    }


def percentile(values: Sequence[float], q: float) -> float:
    """q-th percentile (0..100) with linear interpolation between order statistics."""
    if not values:
        raise ValueError("percentile of an empty sequence")
    if not 0 <= q <= 100:
        raise ValueError(f"percentile must be within 0..100, got {q}")
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    lower = math.floor(position)
    upper = math.ceil(position)
    fraction = position - lower
    return ordered[lower] + (ordered[upper] - ordered[lower]) * fraction


def confusion_matrix(gold: Sequence[str], predicted: Sequence[str], labels: Sequence[str]) -> list[list[int]]:
    """Counts with rows = gold label, columns = predicted label, in the order of `labels`."""
    _require_same_length(gold, predicted)
    index = {label: i for i, label in enumerate(labels)}
    matrix = [[0] * len(labels) for _ in labels]
    for g, p in zip(gold, predicted, strict=False):
        matrix[index[g]][index[p]] += 1
    return matrix


def confusion_labels(gold: Sequence[str], predicted: Sequence[str]) -> list[str]:
    """Gold intents alphabetically, then predicted-only labels (nlu_fallback) at the end."""
    gold_labels = sorted(set(gold))
    extra = sorted(set(predicted) - set(gold_labels))
    return gold_labels + extra


def verbatim_overlap(heldout_texts: Iterable[str], training_texts: Iterable[str]) -> list[str]:
    """Held-out texts that also occur verbatim in the training data (a leak to watch)."""
    training = set(training_texts)
    return sorted({text for text in heldout_texts if text in training})


def floor_met(macro_f1: float, min_macro_f1: float | None) -> bool:
    return min_macro_f1 is None or macro_f1 >= min_macro_f1


def _require_same_length(a: Sequence[Any], b: Sequence[Any]) -> None:
    if len(a) != len(b):
        raise ValueError(f"gold and predicted differ in length: {len(a)} != {len(b)}")


# ---------------------------------------------------------------------------
# Evaluation: loading, parsing, reporting
# ---------------------------------------------------------------------------


def load_normaliser() -> Normaliser:
    """backend.textnorm.normalise, or a clear error: evaluating un-normalised text would lie."""
    if str(REPO_ROOT) not in sys.path:
        sys.path.insert(0, str(REPO_ROOT))
    try:
        from backend.textnorm import normalise
    except ImportError as error:
        raise SystemExit(
            "eval_nlu: cannot import backend.textnorm.normalise "
            f"({error}). Every channel normalises text before NLU, so the evaluation "
            "needs the same normaliser; make sure backend/textnorm.py exists and imports "
            "in the bot virtualenv."
        ) from error
    return normalise


def load_heldout(data_dir: Path, normalise: Normaliser) -> list[HeldoutExample]:
    from rasa.shared.nlu.training_data.loading import load_data

    examples: list[HeldoutExample] = []
    for part, file_name in HELDOUT_PARTS.items():
        path = data_dir / file_name
        if not path.is_file():
            raise SystemExit(f"eval_nlu: held-out file missing: {path}")
        for message in load_data(str(path)).training_examples:
            text = message.get("text")
            examples.append(
                HeldoutExample(
                    text=text,
                    normalised_text=normalise(text),
                    intent=message.get("intent"),
                    entities=gold_entity_pairs(text, message.get("entities") or [], normalise),
                    part=part,
                )
            )
    return examples


def load_training_texts(path: Path, normalise: Normaliser) -> list[str]:
    from rasa.shared.nlu.training_data.loading import load_data

    return [normalise(m.get("text")) for m in load_data(str(path)).training_examples]


def resolve_model(model: Path) -> Path:
    from rasa.model import get_latest_model

    if model.is_file():
        return model
    latest = get_latest_model(str(model))
    if latest is None:
        raise SystemExit(f"eval_nlu: no trained model (*.tar.gz) in {model}; run `rasa train` first")
    return Path(latest)


def quiet_rasa() -> None:
    """Keep Rasa's per-message debug lines and TensorFlow banners out of the report on stdout."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from rasa.utils.log_utils import configure_structlog

    configure_structlog(logging.WARNING)
    logging.getLogger().setLevel(logging.WARNING)
    # Rasa routes the root logger to stdout; jieba's banner and matplotlib's style-sheet
    # deprecation notes would otherwise interleave with the report.
    # jieba resets its own logger level on import, so import it first and then quieten it.
    import jieba

    jieba.setLogLevel(logging.WARNING)
    logging.getLogger("matplotlib").setLevel(logging.ERROR)


async def parse_all(model_path: Path, texts: Sequence[str]) -> list[ParseOutcome]:
    from rasa.core.agent import Agent

    agent = Agent.load(str(model_path))
    if texts:
        # The first parse builds lazy state; keep it out of the latency figures.
        await agent.parse_message(texts[0])
    outcomes = []
    for text in texts:
        started = time.perf_counter()
        result = await agent.parse_message(text)
        latency_ms = (time.perf_counter() - started) * 1000
        intent = result.get("intent") or {}
        outcomes.append(
            ParseOutcome(
                intent=str(intent.get("name")),
                confidence=float(intent.get("confidence") or 0.0),
                entities=predicted_entity_pairs(result.get("entities") or []),
                latency_ms=latency_ms,
            )
        )
    return outcomes


def compute_metrics(examples: Sequence[HeldoutExample], outcomes: Sequence[ParseOutcome]) -> dict[str, Any]:
    _require_same_length(examples, outcomes)
    gold = [e.intent for e in examples]
    predicted = [o.intent for o in outcomes]
    report = intent_report(gold, predicted)

    def for_part(part: str) -> tuple[list[str], list[str]]:
        pairs = [(e.intent, o.intent) for e, o in zip(examples, outcomes, strict=False) if e.part == part]
        return [g for g, _ in pairs], [p for _, p in pairs]

    accuracy_by_part = {part: accuracy(*for_part(part)) for part in HELDOUT_PARTS}
    oos_predicted = [
        o.intent for e, o in zip(examples, outcomes, strict=False) if e.intent == OUT_OF_SCOPE_INTENT
    ]
    in_scope_predicted = [
        o.intent for e, o in zip(examples, outcomes, strict=False) if e.intent != OUT_OF_SCOPE_INTENT
    ]
    latencies = [o.latency_ms for o in outcomes]
    return {
        "n_examples": len(examples),
        "n_by_part": {part: len(for_part(part)[0]) for part in HELDOUT_PARTS},
        "intent": {
            "accuracy": report["accuracy"],
            "macro_f1": report["macro_f1"],
            "accuracy_by_part": accuracy_by_part,
            "asr_accuracy": accuracy_by_part["asr"],
            "fallback_rate": sum(p == FALLBACK_INTENT for p in predicted) / len(predicted)
            if predicted
            else 0.0,
            "per_intent": report["per_intent"],
        },
        "out_of_scope": {
            "recall": out_of_scope_recall(oos_predicted),
            "support": len(oos_predicted),
            "in_scope_rejection_rate": rejection_rate(in_scope_predicted),
        },
        "entities": entity_report([e.entities for e in examples], [o.entities for o in outcomes]),
        "latency_ms": {
            "median": percentile(latencies, 50) if latencies else None,
            "p95": percentile(latencies, 95) if latencies else None,
            "max": max(latencies) if latencies else None,
        },
    }


def intent_errors(
    examples: Sequence[HeldoutExample], outcomes: Sequence[ParseOutcome]
) -> list[dict[str, Any]]:
    return [
        {
            "text": e.text,
            "normalised_text": e.normalised_text,
            "part": e.part,
            "expected": e.intent,
            "predicted": o.intent,
            "confidence": round(o.confidence, 4),
        }
        for e, o in zip(examples, outcomes, strict=False)
        if e.intent != o.intent
    ]


def entity_errors(
    examples: Sequence[HeldoutExample], outcomes: Sequence[ParseOutcome]
) -> list[dict[str, Any]]:
    """Utterances whose entity pairs differ: what the model missed and what it added."""
    return [
        {
            "text": e.text,
            "normalised_text": e.normalised_text,
            "part": e.part,
            "missing": sorted(e.entities - o.entities),
            "spurious": sorted(o.entities - e.entities),
        }
        for e, o in zip(examples, outcomes, strict=True)
        if e.entities != o.entities
    ]


def format_table(metrics: Mapping[str, Any]) -> str:
    intent = metrics["intent"]
    lines = [
        f"held-out utterances: {metrics['n_examples']}  "
        + "  ".join(f"{part}={n}" for part, n in metrics["n_by_part"].items()),
        f"intent accuracy      {intent['accuracy']:.3f}",
        f"intent macro-F1      {intent['macro_f1']:.3f}",
        f"ASR intent accuracy  {intent['asr_accuracy']:.3f}",
        "accuracy by part     "
        + "  ".join(f"{part}={acc:.3f}" for part, acc in intent["accuracy_by_part"].items()),
        f"nlu_fallback rate    {intent['fallback_rate']:.3f}",
        f"out-of-scope recall  {metrics['out_of_scope']['recall']:.3f}"
        f"  (n={metrics['out_of_scope']['support']};"
        f" in-scope rejected {metrics['out_of_scope']['in_scope_rejection_rate']:.3f})",
        f"entity micro-F1      {metrics['entities']['micro']['f1']:.3f}",
    ]
    latency = metrics["latency_ms"]
    if latency["median"] is not None:
        lines.append(f"parse latency ms     median {latency['median']:.1f}  p95 {latency['p95']:.1f}")
    lines.append("")
    lines.append(_rows_table("intent", intent["per_intent"]))
    lines.append("")
    lines.append(_rows_table("entity", metrics["entities"]["per_entity"]))
    return "\n".join(lines)


def _rows_table(title: str, rows: Mapping[str, Mapping[str, Any]]) -> str:
    width = max([len(title)] + [len(name) for name in rows])
    header = f"{title:<{width}}  precision  recall     f1  support"
    body = [
        f"{name:<{width}}  {row['precision']:9.3f}  {row['recall']:6.3f}"
        f"  {row['f1']:5.3f}  {row['support']:7d}"
        for name, row in rows.items()
    ]
    return "\n".join([header, "-" * len(header), *body])


def cjk_font_family() -> str | None:
    """A CJK-capable font family known to fontconfig, if any is installed."""
    try:
        listing = subprocess.run(
            ["fc-list", ":lang=zh", "family"], capture_output=True, text=True, timeout=10
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    families = [line.split(",")[0].strip() for line in listing.splitlines() if line.strip()]
    return families[0] if families else None


def plot_confusion(matrix: list[list[int]], labels: Sequence[str], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    family = cjk_font_family()
    if family:
        plt.rcParams["font.sans-serif"] = [family, *plt.rcParams["font.sans-serif"]]
        plt.rcParams["axes.unicode_minus"] = False
    title = "意图混淆矩阵（留出测试集）" if family else "Intent confusion matrix (held-out set)"
    size = max(8.0, 0.42 * len(labels) + 3)
    figure, axes = plt.subplots(figsize=(size, size))
    image = axes.imshow(matrix, cmap="Blues")
    axes.set_xticks(range(len(labels)), labels=labels, rotation=90, fontsize=8)
    axes.set_yticks(range(len(labels)), labels=labels, fontsize=8)
    axes.set_xlabel("predicted")
    axes.set_ylabel("expected")
    axes.set_title(title)
    peak = max((max(row) for row in matrix), default=0)
    for i, row in enumerate(matrix):
        for j, count in enumerate(row):
            if count:
                colour = "white" if count > peak / 2 else "black"
                axes.text(j, i, str(count), ha="center", va="center", fontsize=7, color=colour)
    figure.colorbar(image, ax=axes, fraction=0.046, pad=0.04)
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Evaluate the Rasa NLU model on tests/nlu/heldout*.yml")
    parser.add_argument(
        "--model", type=Path, default=REPO_ROOT / "models", help="model file or directory (newest *.tar.gz)"
    )
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "reports" / "nlu", help="report directory")
    parser.add_argument(
        "--data-dir", type=Path, default=REPO_ROOT / "tests" / "nlu", help="directory with the held-out files"
    )
    parser.add_argument(
        "--min-macro-f1", type=float, default=None, help="exit 1 when intent macro-F1 is below this floor"
    )
    parser.add_argument(
        "--train-data",
        type=Path,
        default=None,
        help="training data (file or directory): report held-out texts found in it verbatim",
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    quiet_rasa()
    normalise = load_normaliser()
    model_path = resolve_model(args.model)
    examples = load_heldout(args.data_dir, normalise)
    outcomes = asyncio.run(parse_all(model_path, [e.normalised_text for e in examples]))

    metrics = compute_metrics(examples, outcomes)
    metrics["model"] = str(model_path)
    # datetime.UTC would need Python 3.11; this script runs in the 3.10 bot virtualenv.
    metrics["evaluated_at"] = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")  # noqa: UP017
    metrics["min_macro_f1"] = args.min_macro_f1
    if args.train_data is not None:
        leaked = verbatim_overlap(
            [e.normalised_text for e in examples], load_training_texts(args.train_data, normalise)
        )
        metrics["verbatim_overlap_with_training"] = {"count": len(leaked), "texts": leaked}

    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "metrics.json").write_text(
        json.dumps(metrics, ensure_ascii=False, indent=2), encoding="utf-8"
    )
    (args.out / "intent_errors.json").write_text(
        json.dumps(intent_errors(examples, outcomes), ensure_ascii=False, indent=2), encoding="utf-8"
    )
    (args.out / "entity_errors.json").write_text(
        json.dumps(entity_errors(examples, outcomes), ensure_ascii=False, indent=2), encoding="utf-8"
    )
    gold = [e.intent for e in examples]
    predicted = [o.intent for o in outcomes]
    labels = confusion_labels(gold, predicted)
    plot_confusion(confusion_matrix(gold, predicted, labels), labels, args.out / "confusion_matrix.png")

    print(format_table(metrics))
    if "verbatim_overlap_with_training" in metrics:
        leaked = metrics["verbatim_overlap_with_training"]["count"]
        print(f"\nheld-out texts found verbatim in training data: {leaked}")
    print(f"\nreports written to {args.out}")
    if not floor_met(metrics["intent"]["macro_f1"], args.min_macro_f1):
        print(
            f"FAIL: intent macro-F1 {metrics['intent']['macro_f1']:.3f}"
            f" is below the floor {args.min_macro_f1:.3f}",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
