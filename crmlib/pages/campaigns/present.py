"""What the campaign page says and draws: one sentence per campaign, tables, charts.

Sentences are built from a campaign's ``metrics/06_campaigns.json`` entry, so the
summary page can print the same line from the metrics alone. Charts follow the house
style of :mod:`crmlib.plots` and return the matplotlib ``Axes``. Every word goes through
``_()`` (the report's language); the metrics keep their English values (the verdicts
"worked" | "no evidence" | "hurt"), translated where they are shown.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from crmlib.core.formatting import format_count, format_points
from crmlib.core.i18n import N_, _
from crmlib.core.text import md
from crmlib.pages.campaigns.inputs import campaign_label, shown_date, source_label
from crmlib.pages.campaigns.measure import (REVENUE_METHOD, RESPONSE_METHOD, VERDICT_RULE, CampaignResult,
                                            CampaignsReport)

#: The score a list was ranked by, in words (message ids, shown through ``_()``).
SCORE_WORDS = {"churn_probability": N_("churn probability"), "value_at_risk": N_("value at risk"),
               "value": N_("value"), "clv": N_("clv")}


def _score_words(score: str) -> str:
    return _(SCORE_WORDS[score]) if score in SCORE_WORDS else score.replace("_", " ")


def short_money(value: float, currency: str = "GBP") -> str:
    """Money for a sentence: the core formatter, compact (``£850``, ``£12k``, ``£1.2m``)."""
    from crmlib.core.formatting import format_money

    return format_money(value, currency, compact=True)


def campaign_sentence(entry: dict[str, Any], currency: str = "GBP", observed_days: int | None = None) -> str:
    """One line for a manager, e.g. "Win-back Sept: +4.1 pts response, £12.3k incremental,
    95 % CI £3k–£21k; worked", from a campaign's metrics entry (or a :class:`CampaignResult`)."""
    if isinstance(entry, CampaignResult):
        observed_days = entry.observed_days if observed_days is None else observed_days
        entry = entry.metrics()
    name, target = md(campaign_label(entry["name"])), entry["target"]
    window = ""
    if not entry["window_complete"]:
        window = " " + (_("(window still open: {observed} of {days} days observed so far)").format(
            observed=observed_days, days=entry["window_days"]) if observed_days is not None
            else _("(window still open: not all days observed so far)"))
    response = (entry.get("uplift") or {}).get("response_rate")
    if not response:
        return _("{campaign}: {customers} contacted, {rate} bought within {days} days{window}; no control group, so "
                 "no effect can be claimed").format(campaign=name, customers=format_count(target["customers"]),
                                                    rate=f"{target['response_rate']:.1%}", days=entry["window_days"],
                                                    window=window)
    parts = [_("{campaign}: {uplift} response").format(campaign=name, uplift=format_points(response["value"]))]
    revenue = (entry.get("uplift") or {}).get("revenue_per_customer")
    if revenue and entry.get("incremental_revenue") is not None:
        n = target["customers"]
        parts.append(_("{amount} incremental, 95 % CI {low}–{high}").format(
            amount=short_money(entry["incremental_revenue"], currency),
            low=short_money(revenue["ci_low"] * n, currency), high=short_money(revenue["ci_high"] * n, currency)))
    if entry.get("roi") is not None:
        parts.append(_("ROI {roi}").format(roi=f"{entry['roi']:+.0%}"))
    verdict = _(entry["verdict"])
    if entry["verdict"] == "no evidence" and entry.get("mde") is not None:
        verdict = _("no evidence (it could only have detected {mde} pts or more)").format(
            mde=f"{entry['mde'] * 100:.1f}")
    return _("{details}{window}; {verdict}").format(details=", ".join(parts), window=window, verdict=verdict)


def campaign_table(report: CampaignsReport, currency: str = "GBP") -> pd.DataFrame:
    """The campaigns side by side, for display (rates in %, money in the currency; headers and
    words in the report's language)."""
    rows = []
    for r in report.results:
        u, v = r.response_uplift, r.revenue_uplift
        rows.append({
            _("campaign"): campaign_label(r.name), _("source"): source_label(r.source),
            _("contacted"): shown_date(r.contact_date),
            _("days observed"): _("{observed} of {days}").format(observed=r.observed_days, days=r.window_days),
            _("target customers"): r.target["customers"], _("control customers"): r.control["customers"],
            _("target response"): f"{r.target['response_rate']:.1%}",
            _("control response"): f"{r.control['response_rate']:.1%}" if r.control["customers"] else "–",
            _("response uplift (95 % CI)"): _("{uplift} pts ({low} to {high}), p = {p}").format(
                uplift=f"{u.value * 100:+.1f}", low=f"{u.ci_low * 100:+.1f}", high=f"{u.ci_high * 100:+.1f}",
                p=f"{u.p_value:.2f}") if u else "–",
            _("revenue per customer uplift ({currency}, 95 % CI)").format(currency=currency): _(
                "{uplift} ({low} to {high}), p = {p}").format(
                uplift=f"{v.value:+,.2f}", low=f"{v.ci_low:+,.2f}", high=f"{v.ci_high:+,.2f}",
                p=f"{v.p_value:.2f}") if v else "–",
            _("smallest detectable uplift"): (_("{mde} pts").format(mde=f"{r.mde * 100:.1f}")
                                              if r.mde is not None else "–"),
            _("verdict"): _(r.verdict),
        })
    return pd.DataFrame(rows)


def methods_text(window_days: int) -> str:
    """How the numbers are obtained, in plain words (the page's method note)."""
    return (_("Each contacted customer (**target**) is compared with the customers deliberately *not* contacted "
              "(**control**). We look at the {days} days after the contact date (from the day after). A customer "
              "**responded** when they bought at least once in that window; revenue and orders per customer count "
              "everyone, buyers or not. The **uplift** is target minus control. Intervals: response rate by "
              "{response_method}; revenue per customer by {revenue_method}. Incremental revenue is the "
              "revenue-per-customer uplift times the number of target customers.").format(
        days=window_days, response_method=_(RESPONSE_METHOD), revenue_method=_(REVENUE_METHOD))
            + "\n\n" + _("**The rule.** {rule}").format(rule=_(VERDICT_RULE)))


def no_campaigns_text(inputs_sources: list[str]) -> str:
    """The one line a period without campaigns shows."""
    where = "; ".join(inputs_sources) if inputs_sources else _("no campaign files configured and no report folder")
    return _("No campaigns to measure this period ({where}).").format(where=where)


def targeting_text(result: CampaignResult) -> str:
    """Whether the list's score put the customers whom contact helped first (plain words)."""
    name = campaign_label(result.name)
    if result.deciles is None or result.deciles.empty:
        return _("{campaign}: the list came without scores, so targeting cannot be assessed.").format(campaign=name)
    d = result.deciles.dropna(subset=["uplift"])
    if len(d) < 2:
        return _("{campaign}: too few customers with a control in each score band to compare bands.").format(
            campaign=name)
    top, bottom = d.iloc[0], d.iloc[-1]
    return _("{campaign}: ranked by {score}, the highest band shows a response uplift of {top} ({top_target} target, "
             "{top_control} control), the lowest {bottom} ({bottom_target} and {bottom_control}). Small bands give "
             "wide margins: read the shape, not single bars.").format(
        campaign=name, score=_score_words(result.score), top=format_points(top["uplift"]),
        top_target=format_count(int(top["target_customers"])), top_control=format_count(int(top["control_customers"])),
        bottom=format_points(bottom["uplift"]), bottom_target=format_count(int(bottom["target_customers"])),
        bottom_control=format_count(int(bottom["control_customers"])))


# ============================================================================ charts
def _plots():
    import matplotlib.pyplot as plt

    from crmlib.core import plots

    return plt, plots


def plot_response_curve(result: CampaignResult):
    """Cumulative response rate by day since contact, target vs control."""
    plt, plots = _plots()
    fig, ax = plt.subplots()
    names = {"target": _("target (contacted), {count} customers"),
             "control": _("control (not contacted), {count} customers")}
    for group in ("target", "control"):
        part = result.daily[result.daily["group"] == group]
        if len(part):
            ax.plot(part["day"], part["response_rate"], marker="o" if len(part) < 15 else None,
                    label=names[group].format(count=format_count((result.target if group == "target"
                                                                  else result.control)["customers"])))
    ax.set_xlim(0, max(result.window_days, 1))
    ax.set_ylim(bottom=0)
    plots.percent_axis(ax, decimals=1)
    ax.legend()
    return plots.label(ax, _("{campaign}: share who bought, by days since contact").format(
        campaign=campaign_label(result.name)), _("Days since contact"), _("Share who bought at least once"))


def plot_uplift_summary(report: CampaignsReport):
    """Response-rate uplift with its 95 % interval, one row per campaign (the forest chart)."""
    plt, plots = _plots()
    measured = [r for r in report.results if r.response_uplift is not None]
    fig, ax = plt.subplots(figsize=(8, 0.55 * max(len(measured), 1) + 1.4))
    colours = {"worked": "#4c9a2a", "hurt": "#b3261e", "no evidence": "#7f7f7f"}
    for i, r in enumerate(measured):
        u = r.response_uplift
        ax.errorbar(u.value * 100, i, xerr=[[(u.value - u.ci_low) * 100], [(u.ci_high - u.value) * 100]],
                    fmt="o", color=colours[r.verdict], capsize=4)
    ax.axvline(0, color="grey", linestyle="--")
    ax.set_yticks(range(len(measured)), [f"{campaign_label(r.name)} ({_(r.verdict)})" for r in measured])
    ax.invert_yaxis()
    return plots.label(ax, _("Response uplift with 95 % confidence interval"),
                       _("Target minus control response rate (percentage points)"), "")


def plot_uplift_by_decile(result: CampaignResult):
    """Response-rate uplift in each score band (band 1 = highest scores)."""
    plt, plots = _plots()
    d = result.deciles
    fig, ax = plt.subplots()
    ax.bar(d["decile"].astype(str), d["uplift"].fillna(0) * 100,
           color=np.where(d["uplift"].fillna(0) >= 0, "#1f4e79", "#b3261e"))
    ax.axhline(0, color="grey")
    score = _score_words(result.score)
    return plots.label(ax, _("{campaign}: response uplift by {score} band").format(
        campaign=campaign_label(result.name), score=score), _("Band of {score} (1 = highest)").format(score=score),
        _("Uplift (percentage points)"))


def plot_qini(result: CampaignResult):
    """Qini curve: incremental responders as more of the list is contacted, by score vs random."""
    plt, plots = _plots()
    q = result.qini
    fig, ax = plt.subplots()
    ax.plot(q["share_contacted"], q["incremental_responders"],
            label=_("contact by {score}").format(score=_score_words(result.score)))
    ax.plot(q["share_contacted"], q["random"], linestyle="--", color="grey", label=_("contact in random order"))
    plots.percent_axis(ax, axis="x")
    ax.legend()
    return plots.label(ax, _("{campaign}: Qini curve").format(campaign=campaign_label(result.name)),
                       _("Share of the list contacted (highest score first)"), _("Incremental responders"))


def headline_text(report: CampaignsReport, inputs: Any, currency: str = "GBP") -> str:
    """The page's opening: one line per campaign measured, then what could not be measured.

    ``inputs`` is the :class:`~crmlib.pages.campaigns.inputs.CampaignInputs` the report was
    measured from (its ``errors`` and ``sources`` are shown). A period without campaigns
    gets the one line of :func:`no_campaigns_text`.
    """
    if not report.results:
        lines = [no_campaigns_text(inputs.sources)]
    else:
        lines = [f"- {campaign_sentence(r, currency)}" for r in report.results]
    lines += ["- " + _("**Not measured.** {reason}").format(reason=s)
              for s in list(inputs.errors) + list(report.not_measured)]
    return "\n".join(lines)


def notes_text(report: CampaignsReport, inputs: Any) -> str:
    """Caveats in plain words: set-aside rows, unmatched ids, group problems, open windows, thin data."""
    lines = [f"- {w}" for w in inputs.warnings]
    lines += [f"- {campaign_label(r.name)}: {n}" for r in report.results for n in r.notes]
    if lines:
        return "\n".join(lines)
    return (_("Nothing was set aside: every listed customer was matched and measured.") if report.results
            else _("No caveats: there was nothing to measure."))
