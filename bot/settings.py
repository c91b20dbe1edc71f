"""Typed settings loaded once from the environment and ``.env``."""

from __future__ import annotations

from datetime import time
from decimal import Decimal
from functools import cached_property

from pydantic import field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from coach.tiers import TierThresholds

__all__ = ["Settings", "DEFAULT_BASE_URL", "load_settings"]

DEFAULT_BASE_URL = "https://api.telegram.org/bot"


class Settings(BaseSettings):
    """Every knob of the bot; ``.env.example`` documents each one."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    telegram_bot_token: str = ""
    telegram_base_url: str = DEFAULT_BASE_URL
    telegram_base_file_url: str = ""
    bot_username: str = "AdvisorCoachBot"
    database_url: str = "sqlite:///coach.db"
    admin_telegram_ids: str = ""
    developer_chat_id: int | None = None

    default_language: str = "zh-Hans"
    default_timezone: str = "Asia/Shanghai"
    holiday_region: str = "CN"
    digest_time: time = time(8, 30)
    wrapup_time: time = time(18, 0)
    digest_catch_up_until: time = time(12, 0)
    daily_call_target: int = 10

    invite_ttl_days: int = 7
    tier_wealth_min: Decimal = Decimal("50000")
    tier_premier_min: Decimal = Decimal("500000")
    tier_private_min: Decimal = Decimal("6000000")

    vip_contact_days: int = 30
    vip_meeting_days: int = 90
    cadence_tiers: str = ""  # per-tier contact/meeting days, e.g. "private:14/60,wealth:90/-"
    new_account_callback_days: int = 3
    post_sale_callback_days: int = 7
    risk_assessment_valid_days: int = 180
    risk_expiry_warning_days: int = 30
    question_reminder_days: int = 10
    escalate_advisor_days: int = 3
    escalate_lead_days: int = 5

    flood_limit_per_minute: int = 30
    tick_seconds: float = 30.0
    lease_seconds: int = 120
    privacy_mode: bool = True
    log_level: str = "INFO"

    @field_validator("admin_telegram_ids")
    @classmethod
    def _ids_are_numbers(cls, value: str) -> str:
        for part in value.replace(" ", "").split(","):
            if part and not part.lstrip("-").isdigit():
                raise ValueError(
                    f"ADMIN_TELEGRAM_IDS must be comma-separated numbers, got {part!r}")
        return value

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

    @cached_property
    def admin_ids(self) -> frozenset[int]:
        parts = self.admin_telegram_ids.replace(" ", "").split(",")
        return frozenset(int(p) for p in parts if p)


def load_settings(**overrides: object) -> Settings:
    """Read settings from the environment and ``.env``; keyword overrides win."""
    return Settings(**overrides)  # type: ignore[arg-type]

