"""``motivecheck eval``: measure an engine on a labelled JSONL set."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .. import corpus
from ..errors import InputError
from ..evaluation import agreement, breakdown, evaluate, format_breakdown, format_report
from ..verdict import LABELS
from .common import add_common, decode, make_checker


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("eval", help="measure the checker on a labelled JSONL file or a corpus file",
                       description='Each line: {"text": ..., "label": ...}, or a corpus file (corpus/*.jsonl, '
                                   "text joined from the corpus text folder). Prints accuracy, per-label "
                                   "precision/recall/F1, macro-F1, a confusion matrix, macro-F1 by genre, "
                                   "calibration and, for Slack rows, how the channel gate does.")
    p.add_argument("file", metavar="FILE.jsonl")
    p.add_argument("--split", choices=("train", "dev", "test"), default=None,
                   help="only the rows of this corpus split")
    p.add_argument("--as", dest="mode", choices=("explicit", "channel"), default="explicit",
                   help="judge as an explicit check (default) or apply the watched-channel gate")
    p.add_argument("--json", action="store_true", help="print metrics as JSON")
    p.add_argument("--min-f1", type=float, default=None, metavar="X",
                   help="exit 1 when macro-F1 is below X (a regression gate for CI)")
    p.add_argument("--repeat", type=int, default=1, metavar="N",
                   help="run N times and report how often the runs agree (LLM answers vary)")
    p.add_argument("--errors", action="store_true", help="list the drafts the checker got wrong")
    add_common(p)
    p.set_defaults(func=run)


def load_labelled(path: str, split: str | None = None) -> list[dict]:
    p = Path(path)
    if not p.is_file():
        raise InputError(f"no such file: {path}")
    text, _ = decode(p.read_bytes(), path)
    first = next((json.loads(line) for line in text.splitlines() if line.strip()), {})
    if isinstance(first, dict) and "sha256" in first and "text" not in first:  # a corpus file: join its text
        rows = corpus.load(p.name, labels_dir=p.parent)
        if note := corpus.skipped_note(p.name, rows):
            print(f"motivecheck: {note}", file=sys.stderr)
        return [r for r in rows if split is None or r.get("split") == split]
    items = []
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputError(f"{path}:{lineno}: invalid JSON ({exc.msg})") from None
        if not isinstance(obj, dict) or not isinstance(obj.get("text"), str):
            raise InputError(f'{path}:{lineno}: expected an object with "text" and "label"')
        if obj.get("label") not in LABELS:
            raise InputError(f"{path}:{lineno}: label must be one of {', '.join(LABELS)}")
        if split is None or obj.get("split") == split:
            items.append(obj)
    if not items:
        raise InputError(f"{path} has no labelled drafts")
    return items


def run(args: argparse.Namespace) -> int:
    if args.repeat < 1:
        raise InputError("--repeat must be at least 1")
    items = load_labelled(args.file, args.split)
    checker = make_checker(args, with_store=False)
    runs: list[list[str]] = []
    fallbacks = 0
    confidences: list[float | None] = []
    for n in range(args.repeat):
        predicted = []
        for item in items:
            try:
                verdict, _usage = checker.assess(item["text"], engine=args.engine, mode=args.mode)
                predicted.append(verdict.label)
                fallbacks += verdict.fallback is not None
                if n == 0:
                    confidences.append(verdict.confidence)
            except InputError:
                predicted.append("not-a-proposal")  # an empty draft is nothing to coach
                if n == 0:
                    confidences.append(None)
        runs.append(predicted)
    metrics = evaluate(zip([i["label"] for i in items], runs[0], strict=True))
    metrics.update(breakdown(items, runs[0], confidences))
    metrics["engine"] = checker.resolve_engine(args.engine)
    metrics["fallbacks"] = fallbacks
    if args.repeat > 1:
        metrics["repeat"] = args.repeat
        metrics["agreement"] = agreement(runs)
    errors = [{"id": i.get("id"), "expected": i["label"], "predicted": p, "text": i["text"]}
              for i, p in zip(items, runs[0], strict=True) if i["label"] != p]
    if args.json:
        out = dict(metrics)
        if args.errors:
            out["errors"] = errors
        print(json.dumps(out, indent=2))
    else:
        print(f"engine: {metrics['engine']}" + (f" ({fallbacks} fallbacks to rules)" if fallbacks else ""))
        print(format_report(metrics))
        print(format_breakdown(metrics))
        if args.repeat > 1:
            print(f"\nagreement across {args.repeat} runs: {metrics['agreement']:.3f}")
        if args.errors:
            print("\nerrors:")
            for e in errors:
                print(f"  {e['id']}: expected {e['expected']}, got {e['predicted']}: {e['text'][:100]!r}")
    if args.min_f1 is not None and metrics["macro_f1"] < args.min_f1:
        print(f"macro-F1 {metrics['macro_f1']:.3f} is below --min-f1 {args.min_f1}", file=sys.stderr)
        return 1
    return 0
