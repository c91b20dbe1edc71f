"""``coach parse-log "王建国 有兴趣 周五下午3点再打" --now … --tz … --json``."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime

__all__ = ["register"]


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser("parse-log", help="show how a /log line is understood")
    parser.add_argument("line")
    parser.add_argument("--now", help="ISO time the line was written (default: now)")
    parser.add_argument("--tz", default="Asia/Shanghai", help="the advisor's time zone")
    parser.add_argument("--json", action="store_true")
    parser.set_defaults(func=parse_log)


def parse_log(args: argparse.Namespace) -> int:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    from coach.clock import SystemClock
    from coach.logline import parse_log_line

    try:
        zone = ZoneInfo(args.tz)
    except (ZoneInfoNotFoundError, ValueError):
        print(f"coach parse-log: unknown time zone {args.tz!r}", file=sys.stderr)
        return 2
    if args.now:
        try:
            now = datetime.fromisoformat(args.now)
        except ValueError:
            print(f"coach parse-log: --now must be an ISO time, got {args.now!r}", file=sys.stderr)
            return 2
        now = now if now.tzinfo else now.replace(tzinfo=zone)
    else:
        now = SystemClock().now()
    result = parse_log_line(args.line, now=now, tz=args.tz).as_json()
    if args.json:
        print(json.dumps(result, ensure_ascii=False))
    else:
        for key, value in result.items():
            print(f"{key:9s} {value if value not in (None, '', []) else '-'}")
    return 0
