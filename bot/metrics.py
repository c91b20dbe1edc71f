"""Every Prometheus metric of the bot, defined once (``GET /metrics`` exposes the registry).

Counters and histograms are updated where things happen (the update loop, the error
handler, the notifier, the digest job, script search, the scheduler). Queue gauges
(follow-up reminders due, their age) are read from the database on each scrape by
:class:`QueueCollector`, so every instance reports the same shared truth.

Labels stay few and bounded: handler names come from ``handler_list()``, outcomes and
kinds are fixed words; never a user id, a chat id or any text.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from storage.db import SessionOnLoopError

__all__ = ["UPDATES", "UPDATE_LATENCY", "ERRORS", "DELIVERIES", "DIGESTS_SENT",
           "SEARCH_LATENCY", "TICKS", "TICK_LATENCY", "LAST_TICK", "OUTBOX_AMBIGUOUS",
           "OUTBOX_LEASE_LOST", "OUTBOX_UNRECORDED", "QueueCollector", "register_queues"]

log = logging.getLogger(__name__)

UPDATES = Counter(
    "coach_updates", "Updates handled, by handler and outcome (ok, error, refused)",
    ["handler", "outcome"])
UPDATE_LATENCY = Histogram(
    "coach_handler_latency_seconds", "Time from receiving an update to its last reply",
    ["handler"], buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30))
ERRORS = Counter(
    "coach_errors", "Failures logged by the error handler, by exception class", ["kind"])
DELIVERIES = Counter(
    "coach_deliveries",
    "Messages the bot sent on its own, by outcome (sent, blocked, retry, failed)",
    ["outcome"])
DIGESTS_SENT = Counter(
    "coach_digests_sent", "Morning checklists and work logs delivered, by kind", ["kind"])
SEARCH_LATENCY = Histogram(
    "coach_search_latency_seconds", "Script search time (questions and inline queries)",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1))
TICKS = Counter("coach_job_runs", "Scheduled job runs, by job and outcome (ok, error)",
                ["job", "outcome"])
TICK_LATENCY = Histogram(
    "coach_job_seconds", "Time one scheduled job run took", ["job"],
    buckets=(0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300))
LAST_TICK = Gauge("coach_last_tick_timestamp_seconds",
                  "Unix time the scheduler last finished running a job")
# the outbox worker (bot/jobs/outbox.py); its depth and age are the "outbox" queue
OUTBOX_AMBIGUOUS = Counter(
    "coach_outbox_ambiguous",
    "Sends that timed out after the request went out: Telegram may have delivered them, "
    "and they are sent again (the documented duplicate window)")
OUTBOX_LEASE_LOST = Counter(
    "coach_outbox_lease_lost", "Claimed messages skipped because another worker took them")
OUTBOX_UNRECORDED = Counter(
    "coach_outbox_unrecorded",
    "Sends whose outcome could not be saved (database error); their lease is kept")

Reader = Callable[[], dict[str, tuple[int, float | None]]]


class QueueCollector(Collector):
    """Depth and oldest age of the bot's own send queues, read on each scrape.

    ``reader`` returns ``{queue: (depth, oldest_age_seconds or None)}``; a failing
    read (database down) yields nothing rather than failing the whole scrape.
    """

    def __init__(self, reader: Reader) -> None:
        self._reader = reader

    def collect(self) -> Iterator[GaugeMetricFamily]:
        depth = GaugeMetricFamily("coach_queue_depth",
                                  "Messages due and not yet sent, by queue", labels=["queue"])
        age = GaugeMetricFamily("coach_queue_oldest_age_seconds",
                                "How long the oldest due message has waited, by queue",
                                labels=["queue"])
        try:
            queues = self._reader()
        except SessionOnLoopError:
            raise  # the test suite's loop check: a bug in the caller, not a database outage
        except Exception as err:  # noqa: BLE001 - a scrape must not fail with the database
            log.warning("metrics: could not read the queues (%s)", type(err).__name__)
            return
        for name, (count, oldest) in sorted(queues.items()):
            depth.add_metric([name], count)
            age.add_metric([name], oldest or 0.0)
        yield depth
        yield age

    def describe(self) -> Iterator[GaugeMetricFamily]:
        return iter(())  # read lazily: never touch the database at registration


_registered: dict[int, QueueCollector] = {}


def register_queues(reader: Reader, registry: CollectorRegistry = REGISTRY) -> QueueCollector:
    """Expose ``reader``'s queues on ``registry`` (replacing an earlier reader)."""
    old = _registered.pop(id(registry), None)
    if old is not None:
        registry.unregister(old)
    collector = QueueCollector(reader)
    registry.register(collector)
    _registered[id(registry)] = collector
    return collector


def observe_update(handler: str, outcome: str, seconds: float) -> None:
    UPDATES.labels(handler=handler, outcome=outcome).inc()
    UPDATE_LATENCY.labels(handler=handler).observe(seconds)


def age_seconds(now: datetime, oldest: Any) -> float | None:
    """Seconds from ``oldest`` (a datetime or None) to ``now``."""
    if oldest is None:
        return None
    if oldest.tzinfo is None and now.tzinfo is not None:
        oldest = oldest.replace(tzinfo=now.tzinfo)
    return max(0.0, float((now - oldest).total_seconds()))
