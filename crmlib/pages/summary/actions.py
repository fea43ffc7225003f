"""What to act on: 3–5 concrete actions from this period's results, built from the pages' metrics.

Each action says who, how many, the value at stake and where the list is (the page's
download when it recorded one, else the page). It is built only from the declared keys
of another page's ``metrics/<page>.json`` (never by importing that page), in this order:

1. **Retention list** (churn page: ``targets``, ``control``, ``high_risk_customers``,
   ``high_risk_value_at_risk``);
2. **Win back** the RFM segments "At Risk" and "Cannot Lose Them" (segments page:
   ``segments``, ``revenue``);
3. **Protect** the "Champions" segment (segments page);
4. **Bundle to try** (basket page: ``top_rule``, ``customers_with_recommendations``);
5. **Campaigns measured** this period (campaign page: ``campaigns``).

An action is left out when its page did not run or was not applicable for the period,
or when there is nobody to act on (no one at high churn risk, a segment map without the
segment, no rule, no campaign). A page whose metrics lack a declared key raises
``KeyError``: a producer and the summary must not drift apart silently.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from crmlib.core.formatting import format_count, format_money, format_percent
from crmlib.core.text import md, md_link

Metrics = Mapping[str, Any]

#: The most actions the summary shows.
MAX_ACTIONS = 5
#: RFM segments (default segment map) a win-back or a protect action is about.
WIN_BACK_SEGMENTS = ("At Risk", "Cannot Lose Them")
PROTECT_SEGMENTS = ("Champions",)


@dataclass(frozen=True)
class Action:
    """One thing to do: a bold headline, one sentence with the numbers, the page it comes from."""

    headline: str
    text: str            # markdown; data values escaped
    page: str            # the page whose list it is (a declared page name)
    customers: int | None = None
    value: float | None = None
    link: str = ""       # markdown link to the download or the page

    def markdown(self) -> str:
        return f"**{self.headline}** {self.text} {self.link}".strip()


def _ran(m: Metrics | None) -> bool:
    return bool(m) and not m.get("not_applicable")


def _where(m: Metrics, page: str, title: str, hint: str) -> str:
    """A link to the page's download whose name holds ``hint`` (recorded by the page), else to the page."""
    downloads = m.get("downloads") or {}
    name = next((n for n in downloads if hint in n), None)
    if name is not None:
        return f"(list: {md_link('download', downloads[name])}; details: {md_link(title, f'{page}.html')})"
    return f"(list and details: {md_link(title, f'{page}.html')})"


def retention_action(m: Metrics, page: str, title: str, currency: str) -> Action | None:
    """Contact the retention list; keep the control group aside."""
    high, listed = m["high_risk_customers"], m["targets"] + m["control"]
    if not listed:
        return None
    value = m["high_risk_value_at_risk"]
    text = (f"{format_count(listed)} customers are on the retention list; {format_count(high)} of them are at high "
            f"churn risk, with {format_money(value, currency, compact=True)} of value at risk. Contact the "
            f"{format_count(m['targets'])} in the target group and leave the {format_count(m['control'])} in the "
            "control group alone, so the effect can be measured next month.")
    return Action("Keep customers who are about to leave.", text, page, listed, value,
                  _where(m, page, title, "retention"))


def _segments_action(m: Metrics, page: str, title: str, currency: str, names: tuple[str, ...],
                     headline: str, advice: str) -> Action | None:
    sizes = {n: m["segments"][n] for n in names if n in m["segments"] and m["segments"][n]["customers"] > 0}
    if not sizes:
        return None
    customers = sum(s["customers"] for s in sizes.values())
    share = sum(s["revenue_share"] for s in sizes.values())
    value = share * m["revenue"]
    which = " and ".join(f"“{md(n)}”" for n in sizes)
    text = (f"{format_count(customers)} customers in the {which} segment{'s' if len(sizes) > 1 else ''} brought "
            f"{format_money(value, currency, compact=True)} ({format_percent(share)} of customer revenue). {advice}")
    return Action(headline, text, page, customers, value, _where(m, page, title, "segment"))


def win_back_action(m: Metrics, page: str, title: str, currency: str) -> Action | None:
    """Win back the good customers who have gone quiet (RFM segments, by past behaviour)."""
    return _segments_action(m, page, title, currency, WIN_BACK_SEGMENTS, "Win back good customers gone quiet.",
                            "They bought often and spent well but have not bought for a long time: a personal "
                            "offer or call is worth more here than a general mailing.")


def protect_action(m: Metrics, page: str, title: str, currency: str) -> Action | None:
    """Protect the best customers (RFM segment "Champions")."""
    return _segments_action(m, page, title, currency, PROTECT_SEGMENTS, "Look after the best customers.",
                            "They buy most often and most recently: thank them, give early access, and do not "
                            "send them discounts they do not need.")


def bundle_action(m: Metrics, page: str, title: str, currency: str) -> Action | None:
    """Try the strongest bundle; next-best-product suggestions are ready."""
    rule = m["top_rule"]
    if not m["basket_analysis_available"] or rule is None:
        return None
    left = " & ".join(md(n) for n in rule["antecedent_names"])
    right = " & ".join(md(n) for n in rule["consequent_names"])
    text = (f"{left} and {right} were bought together in {format_count(rule['baskets'])} baskets: "
            f"{format_percent(rule['confidence'], 0)} of baskets with the first also hold the second. Show them "
            f"together; next-best-product suggestions are ready for "
            f"{format_count(m['customers_with_recommendations'])} customers.")
    return Action("Try a bundle.", text, page, m["customers_with_recommendations"], None,
                  _where(m, page, title, "recommend"))


VERDICT_ADVICE = {"worked": "it worked, repeat it", "no evidence": "no effect found yet, so change the offer or "
                  "the list before repeating it", "hurt": "it did harm, stop it"}


def campaigns_action(m: Metrics, page: str, title: str, currency: str) -> Action | None:
    """Decide on the campaigns measured this period (worked / no evidence / hurt)."""
    campaigns = m["campaigns"]
    if not campaigns:
        return None
    parts, contacted, incremental = [], 0, 0.0
    for c in campaigns:
        n = c["target"]["customers"]
        contacted += n
        extra = c.get("incremental_revenue")
        incremental += extra or 0.0
        money = "" if extra is None else f", {format_money(extra, currency, compact=True)} extra revenue"
        parts.append(f"{md(c['name'])} ({format_count(n)} contacted{money}): "
                     f"{VERDICT_ADVICE.get(c['verdict'], md(c['verdict']))}")
    text = f"{len(campaigns)} campaign{'s' if len(campaigns) > 1 else ''} measured against a control group: " + \
        "; ".join(parts) + "."
    return Action("Learn from the campaigns.", text, page, contacted, incremental, _where(m, page, title, "campaign"))


#: Which builder reads which page's metrics: the metrics key that identifies the page's kind.
BUILDERS: tuple[tuple[str, Callable[..., Action | None]], ...] = (
    ("high_risk_customers", retention_action),
    ("segments", win_back_action),
    ("segments", protect_action),
    ("top_rule", bundle_action),
    ("campaigns", campaigns_action),
)


def actions(metrics: Mapping[str, Metrics | None], titles: Mapping[str, str], currency: str = "GBP",
            limit: int = MAX_ACTIONS) -> list[Action]:
    """The actions for this period, at most ``limit``, in :data:`BUILDERS` order.

    ``metrics`` maps page names to their metrics (``None`` = not run), ``titles`` page
    names to titles. A builder applies to the page whose declared metrics have its key
    (the churn page has ``high_risk_customers``, ...).
    """
    out: list[Action] = []
    for key, build in BUILDERS:
        for page, m in metrics.items():
            if _ran(m) and key in m:
                action = build(m, page, titles.get(page, page), currency)
                if action is not None:
                    out.append(action)
    return out[:limit]


def actions_markdown(items: list[Action], ran: int) -> str:
    """The actions as a numbered list, or a sentence saying why there is none."""
    if not items:
        return ("No action can be derived this period: " + ("the analyses found nobody to act on."
                if ran else "no analysis ran for this period."))
    return "\n".join(f"{i}. {a.markdown()}" for i, a in enumerate(items, 1))
