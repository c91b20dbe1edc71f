"""``coach scripts regions``: each mainland-only fact in the library, per region.

For Hong Kong and Taiwan readers a fact such as deposit insurance of 500,000 yuan is
localised (HK$800,000, NT$3,000,000) or its sentence dropped; a script about a
mainland-only product is hidden. This lists every occurrence and what the reader sees,
so a content writer can check it (``--json`` for tools). Exit 1 if any fact would still
reach a Hong Kong or Taiwan reader unchanged.
"""

from __future__ import annotations

import argparse
import json

from bot.commands.scripts import add_subcommand

__all__: list[str] = []


def _configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dir", default=None, help="content folder (default: the library)")
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.add_argument("--region", choices=("hk", "tw"), default=None,
                        help="one region only (default: both)")
    parser.set_defaults(func=_regions)


def _regions(args: argparse.Namespace) -> int:
    from scripts_library import regions
    from scripts_library.convert import to_traditional
    from scripts_library.loader import load_library

    library = load_library(args.dir)
    report = regions.fact_report(library)
    if args.region:
        report = {args.region: report[args.region]}
    leaks = _leaks(library, list(report))
    if args.json:
        print(json.dumps({"regions": report, "unhandled": leaks}, ensure_ascii=False))
        return 1 if leaks else 0
    for region, entries in report.items():
        print(f"{region}: {len(entries)} mainland-only fact(s)")
        for e in entries:
            # what the reader sees: localised, converted, with the regional vocabulary
            seen = to_traditional(e["shown"], region) if e["shown"] else ""  # type: ignore[arg-type]
            shown = f" -> {seen[:60]}…" if len(seen) > 60 else f" -> {seen}" if seen else ""
            print(f"  {e['where']}: {e['fact']} [{e['action']}] {e['script']} {e['field']}{shown}")
    for leak in leaks:
        print(f"UNHANDLED {leak}")
    return 1 if leaks else 0


def _leaks(library, region_names: list[str]) -> list[str]:  # type: ignore[no-untyped-def]
    from scripts_library import regions

    out = []
    for region in region_names:
        hidden = regions.hidden_scripts(region)
        for script in library.scripts:
            if script.id in hidden:
                continue
            for path, text in script.text_fields():
                if path.startswith(("en.", "triggers")):
                    continue
                for fact in regions.residual_facts(text, region):
                    out.append(f"{region} {script.source_file} {script.id} {path}: {fact}")
    return out


add_subcommand("regions", "mainland-only facts per region (HK, TW) and what readers see",
               _configure)
