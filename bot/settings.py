"""Typed settings loaded once from the environment and ``.env``."""

from __future__ import annotations

import re
from datetime import time
from decimal import Decimal
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from coach.calendar import validate_region
from coach.tiers import TierThresholds

__all__ = ["Settings", "DEFAULT_BASE_URL", "load_settings"]

DEFAULT_BASE_URL = "https://api.telegram.org/bot"


class Settings(BaseSettings):
    """Every knob of the bot; ``.env.example`` documents each one."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    telegram_bot_token: str = Field("", repr=False)  # never in a repr or a traceback
    telegram_base_url: str = DEFAULT_BASE_URL
    telegram_base_file_url: str = ""
    bot_username: str = "AdvisorCoachBot"
    database_url: str = "sqlite:///coach.db"
    # comma-separated in the environment ("111,222"), a list of ints here
    admin_telegram_ids: Annotated[list[int], NoDecode] = []
    developer_chat_id: int | None = None

    default_language: str = "zh-Hans"
    default_timezone: str = "Asia/Shanghai"
    holiday_region: str = "CN"
    digest_time: time = time(8, 30)
    wrapup_time: time = time(18, 0)
    digest_catch_up_until: time = time(12, 0)
    daily_call_target: int = 10

    invite_ttl_days: int = 7
    flow_timeout_minutes: int = 15
    tier_wealth_min: Decimal = Decimal("50000")
    tier_premier_min: Decimal = Decimal("500000")
    tier_private_min: Decimal = Decimal("6000000")

    vip_contact_days: int = 30
    vip_meeting_days: int = 90
    cadence_tiers: str = ""  # per-tier contact/meeting days, e.g. "private:14/60,wealth:90/-"
    new_account_callback_days: int = 3
    post_sale_callback_days: int = 7
    risk_assessment_valid_months: int = 6  # the suitability check (calendar months)
    top_risk_qualifications: str = "AFP,CFP,EFP"  # any one of these sells R5 by default
    elderly_client_age: int = 65
    risk_expiry_warning_days: int = 30
    question_reminder_days: int = 10
    escalate_advisor_days: int = 3
    escalate_lead_days: int = 5

    # the follow-up policy after each outcome (coach/policy.py), all intervals settable
    followup_thinking_days: int = 3
    followup_soft_decline_message_days: int = 7
    followup_soft_decline_call_after_days: int = 3
    followup_firm_decline_quiet_days: int = 90
    followup_call_time: time = time(10, 0)
    followup_meeting_reminder_time: time = time(8, 30)
    followup_meeting_lead_minutes: int = 60
    followup_retry_morning_time: time = time(10, 0)
    followup_retry_afternoon_time: time = time(15, 0)
    # an urgent referral's call reminder comes within two hours, but only between these
    # times on a working day (the advisor's own time zone); otherwise at the next start
    followup_day_start: time = time(9, 0)
    followup_day_end: time = time(18, 0)

    flood_limit_per_minute: int = 30
    # inline mode sends a query per keystroke: its own budget, never shared with messages
    inline_limit_per_minute: int = 120
    # Telegram keeps undelivered updates 24 h; dedup ids older than this are deleted
    processed_updates_keep_hours: int = 48
    # retention (coach.services.retention): script events, then audit rows (7 years),
    # archived as JSON lines to AUDIT_ARCHIVE_DIR before deletion when it is set
    script_events_keep_days: int = 400
    audit_keep_days: int = 2557
    audit_archive_dir: str = ""
    tick_seconds: float = 30.0
    # a hung database fails fast instead of freezing the bot (0: no limit)
    db_connect_timeout_seconds: float = Field(5.0, ge=0)  # PostgreSQL connect_timeout
    db_statement_timeout_seconds: float = Field(30.0, ge=0)  # PostgreSQL statement_timeout
    db_busy_timeout_seconds: float = Field(10.0, gt=0)  # SQLite: wait for another writer
    # PostgreSQL: a pooled connection idle this long is pinged before use (0: always)
    db_ping_idle_seconds: float = Field(5.0, ge=0)
    # updates of different chats handled at once (one chat's are always one at a time)
    concurrent_updates: int = Field(8, ge=1, le=256)
    lease_seconds: int = 120
    # the outbox worker (bot/jobs/outbox.py): rows claimed at once, tries before giving up,
    # and how long one send waits for Telegram's answer (longer than the usual read
    # timeout: a send whose answer is lost may have been delivered, and is sent again)
    outbox_batch: int = 20
    # messages per second this instance sends at most (PTB's AIORateLimiter): Telegram
    # allows a bot about 30 in all, so with N instances give each 30 / N
    telegram_max_rate: float = Field(30.0, gt=0, le=1000)
    # chats of a batch served at once (one chat's messages stay one after another)
    outbox_concurrency: int = Field(4, ge=1, le=64)
    # a message meeting passing failures (5xx, timeouts, 429) is given up only after
    # both OUTBOX_MAX_ATTEMPTS tries and OUTBOX_RETRY_MINUTES since it was queued
    # (retries come every 2–30 s: attempts alone would run out in a few minutes)
    outbox_max_attempts: int = Field(8, ge=1)
    outbox_retry_minutes: float = Field(60.0, ge=0)
    outbox_send_timeout: float = 20.0
    # after a pass, a run of the sender stays this long (polling every second) for a
    # retry that falls due before the next tick, instead of leaving it to that tick;
    # unset: TICK_SECONDS; 0: one pass per tick
    outbox_linger_seconds: float | None = Field(None, ge=0)
    privacy_mode: bool = True
    # the first start after the script library changed trains the search's category model
    # (about 2.5 s): true serves at once and adds the model when it is ready; false waits
    search_model_background: bool = True
    log_level: str = "INFO"
    log_format: Literal["text", "json"] = "text"  # json: one JSON object a line

    # coach run --webhook: Telegram POSTs updates to WEBHOOK_URL (its path is served)
    webhook_url: str = ""
    webhook_secret: str = Field("", repr=False)  # X-Telegram-Bot-Api-Secret-Token
    webhook_listen: str = "127.0.0.1"  # behind a reverse proxy that terminates TLS
    webhook_port: int = 8443
    # polling mode: /healthz and /metrics on this port (0: off); webhook mode serves both
    metrics_port: int = 0
    metrics_listen: str = "127.0.0.1"
    # /healthz fails when no scheduled job finished in this many TICK_SECONDS
    health_tick_factor: float = Field(3.0, gt=0)

    @field_validator("webhook_secret")
    @classmethod
    def _secret_telegram_accepts(cls, value: str) -> str:
        # Telegram's rule for secret_token: 1-256 of A-Z a-z 0-9 _ -
        if value and (len(value) > 256 or not re.fullmatch(r"[A-Za-z0-9_-]+", value)):
            raise ValueError("WEBHOOK_SECRET must be 1-256 characters of A-Z, a-z, 0-9, _ "
                             "and - (Telegram's rule)")
        return value

    @field_validator("admin_telegram_ids", mode="before")
    @classmethod
    def _ids_are_numbers(cls, value: object) -> object:
        if isinstance(value, int):
            return [value]
        if not isinstance(value, str):
            return value
        ids = []
        for part in value.replace(" ", "").split(","):
            if not part:
                continue
            digits = part.removeprefix("-")
            if not (digits.isascii() and digits.isdigit()) or len(digits) > 18:
                raise ValueError(
                    f"ADMIN_TELEGRAM_IDS must be comma-separated numbers, got {part!r}")
            ids.append(int(part))
        return ids

    @field_validator("default_timezone")
    @classmethod
    def _known_time_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"DEFAULT_TIMEZONE {value!r} is not an IANA time zone "
                             "(for example Asia/Shanghai, Asia/Hong_Kong)") from None
        return value

    @field_validator("followup_day_end")
    @classmethod
    def _day_ends_after_it_starts(cls, value: time, info: ValidationInfo) -> time:
        start = info.data.get("followup_day_start")
        if start is not None and value <= start:
            raise ValueError(f"FOLLOWUP_DAY_END ({value:%H:%M}) must be later than "
                             f"FOLLOWUP_DAY_START ({start:%H:%M})")
        return value

    @field_validator("holiday_region")
    @classmethod
    def _known_region(cls, value: str) -> str:
        return validate_region(value)

    @field_validator("cadence_tiers")
    @classmethod
    def _cadence_rules_parse(cls, value: str) -> str:
        from coach.cadence import parse_tier_cadence

        parse_tier_cadence(value, contact_days=30, meeting_days=90)  # raises on bad input
        return value

    @property
    def tier_thresholds(self) -> TierThresholds:
        return TierThresholds(wealth=self.tier_wealth_min, premier=self.tier_premier_min,
                              private=self.tier_private_min)

    @property
    def admin_ids(self) -> frozenset[int]:
        return frozenset(self.admin_telegram_ids)


def load_settings(**overrides: object) -> Settings:
    """Read settings from the environment and ``.env``; keyword overrides win."""
    return Settings(**overrides)  # type: ignore[arg-type]

