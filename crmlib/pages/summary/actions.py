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

Words: an action's ``headline`` is an English msgid (kept so in ``metrics/00_summary.json``)
shown through ``_()``; its ``text`` and ``link`` are written in the current language.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from crmlib.core.formatting import format_count, format_money, format_percent
from crmlib.core.i18n import N_, _
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

    headline: str        # a msgid (English in the metrics), shown through ``_()``
    text: str            # markdown in the current language; data values escaped
    page: str            # the page whose list it is (a declared page name)
    customers: int | None = None
    value: float | None = None
    link: str = ""       # markdown link to the download or the page

    def markdown(self) -> str:
        return f"**{_(self.headline)}** {self.text} {self.link}".strip()


def _ran(m: Metrics | None) -> bool:
    return bool(m) and not m.get("not_applicable")


def _where(m: Metrics, page: str, title: str, hint: str) -> str:
    """A link to the page's download whose name holds ``hint`` (recorded by the page), else to the page."""
    downloads = m.get("downloads") or {}
    name = next((n for n in downloads if hint in n), None)
    details = md_link(_(title), f"{page}.html")
    if name is not None:
        return _("(list: {download}; details: {page})").format(download=md_link(_("download"), downloads[name]),
                                                                page=details)
    return _("(list and details: {page})").format(page=details)


def retention_action(m: Metrics, page: str, title: str, currency: str) -> Action | None:
    """Contact the retention list; keep the control group aside."""
    high, listed = m["high_risk_customers"], m["targets"] + m["control"]
    if not listed:
        return None
    value = m["high_risk_value_at_risk"]
    text = _("{listed} customers are on the retention list; {high} of them are at high churn risk, with {value} of "
             "value at risk. Contact the {targets} in the target group and leave the {control} in the control group "
             "alone, so the effect can be measured next month.").format(
        listed=format_count(listed), high=format_count(high), value=format_money(value, currency, compact=True),
        targets=format_count(m["targets"]), control=format_count(m["control"]))
    return Action(N_("Keep customers who are about to leave."), text, page, listed, value,
                  _where(m, page, title, "retention"))


def _segments_action(m: Metrics, page: str, title: str, currency: str, names: tuple[str, ...],
                     headline: str, advice: str) -> Action | None:
    sizes = {n: m["segments"][n] for n in names if n in m["segments"] and m["segments"][n]["customers"] > 0}
    if not sizes:
        return None
    customers = sum(s["customers"] for s in sizes.values())
    share = sum(s["revenue_share"] for s in sizes.values())
    value = share * m["revenue"]
    quoted = [f"“{md(_(n))}”" for n in sizes]       # default segment names are msgids; configured ones pass through
    numbers = {"customers": format_count(customers), "value": format_money(value, currency, compact=True),
               "share": format_percent(share), "advice": _(advice)}
    if len(quoted) == 1:
        text = _("{customers} customers in the {segment} segment brought {value} ({share} of customer revenue). "
                 "{advice}").format(segment=quoted[0], **numbers)
    else:
        text = _("{customers} customers in the {segments} segments brought {value} ({share} of customer revenue). "
                 "{advice}").format(segments=_("{first} and {second}").format(first=", ".join(quoted[:-1]),
                                                                               second=quoted[-1]), **numbers)
    return Action(headline, text, page, customers, value, _where(m, page, title, "segment"))


def win_back_action(m: Metrics, page: str, title: str, currency: str) -> Action | None:
    """Win back the good customers who have gone quiet (RFM segments, by past behaviour)."""
    return _segments_action(m, page, title, currency, WIN_BACK_SEGMENTS, N_("Win back good customers gone quiet."),
                            N_("They bought often and spent well but have not bought for a long time: a personal "
                               "offer or call is worth more here than a general mailing."))


def protect_action(m: Metrics, page: str, title: str, currency: str) -> Action | None:
    """Protect the best customers (RFM segment "Champions")."""
    return _segments_action(m, page, title, currency, PROTECT_SEGMENTS, N_("Look after the best customers."),
                            N_("They buy most often and most recently: thank them, give early access, and do not "
                               "send them discounts they do not need."))


def bundle_action(m: Metrics, page: str, title: str, currency: str) -> Action | None:
    """Try the strongest bundle; next-best-product suggestions are ready."""
    rule = m["top_rule"]
    if not m["basket_analysis_available"] or rule is None:
        return None
    left = " & ".join(md(n) for n in rule["antecedent_names"])
    right = " & ".join(md(n) for n in rule["consequent_names"])
    text = _("{first} and {second} were bought together in {baskets} baskets: {confidence} of baskets with the "
             "first also hold the second. Show them together; next-best-product suggestions are ready for "
             "{customers} customers.").format(
        first=left, second=right, baskets=format_count(rule["baskets"]),
        confidence=format_percent(rule["confidence"], 0), customers=format_count(m["customers_with_recommendations"]))
    return Action(N_("Try a bundle."), text, page, m["customers_with_recommendations"], None,
                  _where(m, page, title, "recommend"))


#: What to do after each campaign verdict (msgids, shown through ``_()``).
VERDICT_ADVICE = {"worked": N_("it worked, repeat it"),
                  "no evidence": N_("no effect found yet, so change the offer or the list before repeating it"),
                  "hurt": N_("it did harm, stop it")}


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
        advice = _(VERDICT_ADVICE[c["verdict"]]) if c["verdict"] in VERDICT_ADVICE else md(c["verdict"])
        if extra is None:
            parts.append(_("{campaign} ({contacted} contacted): {advice}").format(
                campaign=md(c["name"]), contacted=format_count(n), advice=advice))
        else:
            parts.append(_("{campaign} ({contacted} contacted, {extra} extra revenue): {advice}").format(
                campaign=md(c["name"]), contacted=format_count(n), extra=format_money(extra, currency, compact=True),
                advice=advice))
    measured = (_("1 campaign measured against a control group: {campaigns}.") if len(campaigns) == 1 else
                _("{count} campaigns measured against a control group: {campaigns}."))
    text = measured.format(count=len(campaigns), campaigns="; ".join(parts))
    return Action(N_("Learn from the campaigns."), text, page, contacted, incremental,
                  _where(m, page, title, "campaign"))


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
        return (_("No action can be derived this period: the analyses found nobody to act on.") if ran else
                _("No action can be derived this period: no analysis ran for this period."))
    return "\n".join(f"{i}. {a.markdown()}" for i, a in enumerate(items, 1))
