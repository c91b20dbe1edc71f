"""Search quality figures: top-1/top-3, confident-wrong, off-topic confident, services.

    python -m tools.search_eval                 # tuning sets (search_eval + search_tuning*)
    python -m tools.search_eval --dev           # the dev split, figures only
    python -m tools.search_eval --dev-v3        # the third-round dev split, figures only
    python -m tools.search_eval --dev-en4       # the English dev split (round en4), figures only
    python -m tools.search_eval --dev-v4        # the fourth-round dev split, figures only
    python -m tools.search_eval --only search_tuning_v4.yaml   # one tuning file alone
    python -m tools.search_eval --only search_eval.yaml,search_tuning.yaml   # several
    python -m tools.search_eval --heldout       # the held-out set v1, figures only
    python -m tools.search_eval --heldout-v2    # the fresh held-out sets v2, figures only
    python -m tools.search_eval --heldout-v3    # the fresh held-out sets v3, figures only
    python -m tools.search_eval --heldout-v4    # the fresh held-out sets v4, figures only
    python -m tools.search_eval --misses        # tuning misses, to work on (never held-out)

Prints one JSON object per set. The held-out file is written before tuning and is never
used to choose a rule; ``--misses`` refuses to list its failures on purpose. The dev split
(``search_dev.yaml``) was written with ``search_tuning_more.yaml`` and split off by a hash:
its figures show whether a rule chosen on the tuning lines carries over, so its misses are
not listed either.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import yaml

from scripts_library.loader import load_library
from scripts_library.search import ScriptIndex

DATA = Path(__file__).resolve().parents[1] / "tests" / "data"
TUNING = (DATA / "search_eval.yaml", DATA / "search_tuning.yaml", DATA / "search_tuning_more.yaml",
          DATA / "search_tuning_v3.yaml", DATA / "search_tuning_en4.yaml",
          DATA / "search_tuning_v4.yaml")
DEV = (DATA / "search_dev.yaml",)
# third round (indirect, English, Hong Kong Cantonese): split off search_tuning_v3.yaml by hash
DEV_V3 = (DATA / "search_dev_v3.yaml",)
# English round (private-bank clients in HK, SG, London, New York): split off
# search_tuning_en4.yaml by hash
DEV_EN4 = (DATA / "search_dev_en4.yaml",)
# fourth round (indirect, English, dialect, two concerns in one line): split off
# search_tuning_v4.yaml by hash; never used to choose a rule nor to train the category model
DEV_V4 = (DATA / "search_dev_v4.yaml",)
HELDOUT = (DATA / "search_heldout.yaml",)
# v2, written before the second round of tuning; its off-topic file replaces v1's offtopic
# part, retired because one of its lines was used in design
HELDOUT_V2 = (DATA / "search_heldout_v2.yaml", DATA / "offtopic_heldout_v2.yaml")
# v3, written before the third round of tuning (objections + off-topic, apart from v1 and v2)
HELDOUT_V3 = (DATA / "search_heldout_v3.yaml", DATA / "offtopic_heldout_v3.yaml")
# v4, written before the fourth round of tuning (apart from v1-v3, tuning and dev sets)
HELDOUT_V4 = (DATA / "search_heldout_v4.yaml", DATA / "offtopic_heldout_v4.yaml")


def load(files: tuple[Path, ...]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(objection-or-library queries, off-topic lines) from the given files."""
    queries: list[dict[str, Any]] = []
    offtopic: list[dict[str, Any]] = []
    for path in files:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for q in data.get("queries") or []:
            if q.get("expect") is None:
                offtopic.append({"q": q["q"], "kind": "nonsense"})
            else:
                queries.append(q)
        offtopic += data.get("offtopic") or []
    return queries, offtopic


def evaluate(index: ScriptIndex, queries: list[dict[str, Any]],
             offtopic: list[dict[str, Any]], *, misses: bool = False) -> dict[str, Any]:
    n = len(queries)
    top1 = top3 = confident = wrong = 0
    by_tag: Counter[str] = Counter()
    by_tag_ok: Counter[str] = Counter()
    notes: list[str] = []
    for q in queries:
        result = index.search(q["q"], limit=3)
        cats = [h.script.category for h in result.hits]
        ok = cats[:1] == [q["expect"]]
        top1 += ok
        top3 += q["expect"] in cats
        confident += result.confident
        wrong += result.confident and not ok
        for tag in q.get("tags") or ["plain"]:
            by_tag[tag] += 1
            by_tag_ok[tag] += ok
        if misses and (not ok or not result.confident):
            notes.append(f"{'WRONG' if not ok else 'unsure'} [{result.reason}] {q['q']} "
                         f"-> {cats[:2]} (want {q['expect']})"
                         + (" CONFIDENT" if result.confident and not ok else ""))
    off_conf: list[str] = []
    svc_n = svc_found = svc_right = non_svc_flagged = 0
    by_kind: Counter[str] = Counter()
    by_kind_conf: Counter[str] = Counter()
    for o in offtopic:
        result = index.search(o["q"])
        by_kind[o["kind"]] += 1
        if result.confident:
            by_kind_conf[o["kind"]] += 1
            off_conf.append(o["q"])
        if o["kind"] == "service":
            svc_n += 1
            svc_found += result.service is not None
            svc_right += result.service is not None and result.service.key == o.get("intent")
            if misses and (result.service is None or result.service.key != o.get("intent")):
                notes.append(f"SERVICE {o['q']} -> {result.service and result.service.key} "
                             f"(want {o.get('intent')})")
        elif result.service is not None:
            non_svc_flagged += 1
            if misses:
                notes.append(f"NOT SERVICE {o['q']} -> {result.service.key}")
    if misses:
        notes += [f"OFFTOPIC CONFIDENT {q}" for q in off_conf]
    out: dict[str, Any] = {
        "objection_queries": n,
        "top1": round(top1 / n, 3) if n else None,
        "top3": round(top3 / n, 3) if n else None,
        "confident_rate": round(confident / n, 3) if n else None,
        "confident_wrong": wrong,
        "confident_wrong_rate": round(wrong / n, 3) if n else None,
        "top1_by_tag": {t: f"{by_tag_ok[t]}/{by_tag[t]}" for t in sorted(by_tag)},
        "offtopic": len(offtopic),
        "offtopic_confident": len(off_conf),
        "offtopic_confident_rate": round(len(off_conf) / len(offtopic), 3) if offtopic else None,
        "offtopic_confident_by_kind": {k: f"{by_kind_conf[k]}/{by_kind[k]}"
                                       for k in sorted(by_kind)},
        "service_lines": svc_n,
        "service_recognised": svc_found,
        "service_intent_right": svc_right,
        "non_service_flagged_as_service": non_svc_flagged,
    }
    if misses:
        out["notes"] = notes
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--dev", action="store_true", help="score the dev split (figures only)")
    which.add_argument("--dev-v3", action="store_true",
                       help="score the third-round dev split (figures only)")
    which.add_argument("--dev-en4", action="store_true",
                       help="score the English dev split (figures only)")
    which.add_argument("--dev-v4", action="store_true",
                       help="score the fourth-round dev split (figures only)")
    which.add_argument("--heldout", action="store_true", help="score the held-out set v1")
    which.add_argument("--heldout-v2", action="store_true",
                       help="score the fresh held-out sets v2 (objections + off-topic)")
    which.add_argument("--heldout-v3", action="store_true",
                       help="score the fresh held-out sets v3 (objections + off-topic)")
    which.add_argument("--heldout-v4", action="store_true",
                       help="score the fresh held-out sets v4 (objections + off-topic)")
    parser.add_argument("--misses", action="store_true", help="list tuning misses")
    parser.add_argument("--only", metavar="FILE",
                        help="score some tuning files alone (comma-separated names from the "
                        "tuning sets)")
    args = parser.parse_args(argv)
    if (args.heldout or args.heldout_v2 or args.heldout_v3 or args.heldout_v4 or args.dev
            or args.dev_v3 or args.dev_en4 or args.dev_v4) and (args.misses or args.only):
        print("held-out and dev misses are not listed: they must not steer tuning",
              file=sys.stderr)
        return 2
    index = ScriptIndex.build(load_library().scripts)
    name, files = (("heldout", HELDOUT) if args.heldout
                   else ("heldout-v2", HELDOUT_V2) if args.heldout_v2
                   else ("heldout-v3", HELDOUT_V3) if args.heldout_v3
                   else ("heldout-v4", HELDOUT_V4) if args.heldout_v4
                   else ("dev", DEV) if args.dev else ("dev-v3", DEV_V3) if args.dev_v3
                   else ("dev-en4", DEV_EN4) if args.dev_en4
                   else ("dev-v4", DEV_V4) if args.dev_v4
                   else ("tuning", TUNING))
    if args.only:
        wanted = {n.strip() for n in args.only.split(",") if n.strip()}
        chosen = tuple(f for f in TUNING if f.name in wanted)
        if not chosen or len(chosen) != len(wanted):
            print(f"--only takes one of: {', '.join(f.name for f in TUNING)}", file=sys.stderr)
            return 2
        name, files = f"tuning:{args.only}", chosen
    queries, offtopic = load(files)
    result = evaluate(index, queries, offtopic, misses=args.misses)
    notes = result.pop("notes", [])
    print(json.dumps({"set": name, **result},
                     ensure_ascii=False, indent=1))
    for line in notes:
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
