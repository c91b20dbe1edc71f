"""Guess a complaint's category from its words: fees, service, product, staff or other.

The advisor types the complaint in their own words; a keyword count is enough to
file it for the monthly numbers (the lead can still read the text). Traditional
Chinese is folded to Simplified first, so one keyword list serves both.
"""

from __future__ import annotations

from scripts_library.normalize import to_simplified

__all__ = ["CATEGORIES", "guess_category"]

CATEGORIES = ("fees", "service", "product", "staff", "other")

# Ties go to the category listed first: a complaint about a rude advisor's fee
# explanation is mostly about fees.
_KEYWORDS: dict[str, tuple[str, ...]] = {
    "fees": ("手续费", "费用", "管理费", "申购费", "赎回费", "收费", "扣费", "年费", "费率",
             "扣钱", "乱收", "fee", "charge", "cost"),
    "staff": ("态度", "不耐烦", "骂", "推销", "误导", "理财经理", "柜员", "大堂经理", "员工",
              "经理", "没说清楚", "rude", "staff", "advisor", "misled", "pushy"),
    "service": ("排队", "等了", "等太久", "服务", "办理", "效率", "预约", "电话打不通", "没人接",
                "网点", "app", "手机银行", "queue", "wait", "service", "slow"),
    "product": ("产品", "亏", "收益", "净值", "回撤", "基金", "理财", "保险", "到期", "利率",
                "loss", "return", "product", "fund", "yield"),
}


def guess_category(text: str | None) -> str:
    """The category whose keywords occur most often; ``"other"`` when none does."""
    folded = to_simplified((text or "").lower())
    best, best_hits = "other", 0
    for category, words in _KEYWORDS.items():
        hits = sum(folded.count(word) for word in words)
        if hits > best_hits:
            best, best_hits = category, hits
    return best
