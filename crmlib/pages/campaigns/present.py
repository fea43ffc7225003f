"""What the campaign page says and draws: one sentence per campaign, tables, charts.

Sentences are built from a campaign's ``metrics/06_campaigns.json`` entry, so the
summary page can print the same line from the metrics alone. Charts follow the house
style of :mod:`crmlib.plots` and return the matplotlib ``Axes``.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from crmlib.core.text import md
from crmlib.pages.campaigns.measure import (REVENUE_METHOD, RESPONSE_METHOD, VERDICT_RULE, CampaignResult,
                                            CampaignsReport)


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
    name, target = md(entry["name"]), entry["target"]
    window = ""
    if not entry["window_complete"]:
        seen = f"{observed_days} of {entry['window_days']}" if observed_days is not None else "not all"
        window = f" (window still open: {seen} days observed so far)"
    response = (entry.get("uplift") or {}).get("response_rate")
    if not response:
        return (f"{name}: {target['customers']:,} contacted, {target['response_rate']:.1%} bought within "
                f"{entry['window_days']} days{window}; no control group, so no effect can be claimed")
    parts = [f"{name}: {response['value'] * 100:+.1f} pts response"]
    revenue = (entry.get("uplift") or {}).get("revenue_per_customer")
    if revenue and entry.get("incremental_revenue") is not None:
        n = target["customers"]
        parts.append(f"{short_money(entry['incremental_revenue'], currency)} incremental, 95 % CI "
                     f"{short_money(revenue['ci_low'] * n, currency)}–{short_money(revenue['ci_high'] * n, currency)}")
    if entry.get("roi") is not None:
        parts.append(f"ROI {entry['roi']:+.0%}")
    verdict = entry["verdict"]
    if verdict == "no evidence" and entry.get("mde") is not None:
        verdict += f" (it could only have detected {entry['mde'] * 100:.1f} pts or more)"
    return ", ".join(parts) + f"{window}; {verdict}"


def campaign_table(report: CampaignsReport, currency: str = "GBP") -> pd.DataFrame:
    """The campaigns side by side, for display (rates in %, money in the currency)."""
    rows = []
    for r in report.results:
        u, v = r.response_uplift, r.revenue_uplift
        rows.append({
            "campaign": r.name, "source": r.source, "contacted": f"{r.contact_date:%d %b %Y}",
            "days observed": f"{r.observed_days} of {r.window_days}",
            "target customers": r.target["customers"], "control customers": r.control["customers"],
            "target response": f"{r.target['response_rate']:.1%}",
            "control response": f"{r.control['response_rate']:.1%}" if r.control["customers"] else "–",
            "response uplift (95 % CI)": (f"{u.value * 100:+.1f} pts ({u.ci_low * 100:+.1f} to {u.ci_high * 100:+.1f}), "
                                          f"p = {u.p_value:.2f}") if u else "–",
            f"revenue per customer uplift ({currency}, 95 % CI)": (f"{v.value:+,.2f} ({v.ci_low:+,.2f} to {v.ci_high:+,.2f}), "
                                                                  f"p = {v.p_value:.2f}") if v else "–",
            "smallest detectable uplift": f"{r.mde * 100:.1f} pts" if r.mde is not None else "–",
            "verdict": r.verdict,
        })
    return pd.DataFrame(rows)


def methods_text(window_days: int) -> str:
    """How the numbers are obtained, in plain words (the page's method note)."""
    return (f"Each contacted customer (**target**) is compared with the customers deliberately *not* contacted "
            f"(**control**). We look at the {window_days} days after the contact date (from the day after). A customer "
            f"**responded** when they bought at least once in that window; revenue and orders per customer count "
            f"everyone, buyers or not. The **uplift** is target minus control. Intervals: response rate by "
            f"{RESPONSE_METHOD}; revenue per customer by {REVENUE_METHOD}. "
            f"Incremental revenue is the revenue-per-customer uplift times the number of target customers.\n\n"
            f"**The rule.** {VERDICT_RULE}")


def no_campaigns_text(inputs_sources: list[str]) -> str:
    """The one line a period without campaigns shows."""
    where = "; ".join(inputs_sources) if inputs_sources else "no campaign files configured and no report folder"
    return f"No campaigns to measure this period ({where})."


def targeting_text(result: CampaignResult) -> str:
    """Whether the list's score put the customers whom contact helped first (plain words)."""
    if result.deciles is None or result.deciles.empty:
        return f"{result.name}: the list came without scores, so targeting cannot be assessed."
    d = result.deciles.dropna(subset=["uplift"])
    if len(d) < 2:
        return f"{result.name}: too few customers with a control in each score band to compare bands."
    top, bottom = d.iloc[0], d.iloc[-1]
    label = result.score.replace("_", " ")
    return (f"{result.name}: ranked by {label}, the highest band shows a response uplift of {top['uplift'] * 100:+.1f} pts "
            f"({int(top['target_customers']):,} target, {int(top['control_customers']):,} control), the lowest "
            f"{bottom['uplift'] * 100:+.1f} pts ({int(bottom['target_customers']):,} and "
            f"{int(bottom['control_customers']):,}). "
            f"Small bands give wide margins: read the shape, not single bars.")


# ============================================================================ charts
def _plots():
    import matplotlib.pyplot as plt

    from crmlib.core import plots

    return plt, plots


def plot_response_curve(result: CampaignResult):
    """Cumulative response rate by day since contact, target vs control."""
    plt, plots = _plots()
    fig, ax = plt.subplots()
    names = {"target": "target (contacted)", "control": "control (not contacted)"}
    for group in ("target", "control"):
        part = result.daily[result.daily["group"] == group]
        if len(part):
            ax.plot(part["day"], part["response_rate"], marker="o" if len(part) < 15 else None,
                    label=f"{names[group]}, {result.target['customers'] if group == 'target' else result.control['customers']:,} customers")
    ax.set_xlim(0, max(result.window_days, 1))
    ax.set_ylim(bottom=0)
    plots.percent_axis(ax, decimals=1)
    ax.legend()
    return plots.label(ax, f"{result.name}: share who bought, by days since contact",
                       "Days since contact", "Share who bought at least once")


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
    ax.set_yticks(range(len(measured)), [f"{r.name} ({r.verdict})" for r in measured])
    ax.invert_yaxis()
    return plots.label(ax, "Response uplift with 95 % confidence interval",
                       "Target minus control response rate (percentage points)", "")


def plot_uplift_by_decile(result: CampaignResult):
    """Response-rate uplift in each score band (band 1 = highest scores)."""
    plt, plots = _plots()
    d = result.deciles
    fig, ax = plt.subplots()
    ax.bar(d["decile"].astype(str), d["uplift"].fillna(0) * 100,
           color=np.where(d["uplift"].fillna(0) >= 0, "#1f4e79", "#b3261e"))
    ax.axhline(0, color="grey")
    label = result.score.replace("_", " ")
    return plots.label(ax, f"{result.name}: response uplift by {label} band",
                       f"Band of {label} (1 = highest)", "Uplift (percentage points)")


def plot_qini(result: CampaignResult):
    """Qini curve: incremental responders as more of the list is contacted, by score vs random."""
    plt, plots = _plots()
    q = result.qini
    fig, ax = plt.subplots()
    ax.plot(q["share_contacted"], q["incremental_responders"], label=f"contact by {result.score.replace('_', ' ')}")
    ax.plot(q["share_contacted"], q["random"], linestyle="--", color="grey", label="contact in random order")
    plots.percent_axis(ax, axis="x")
    ax.legend()
    return plots.label(ax, f"{result.name}: Qini curve", "Share of the list contacted (highest score first)",
                       "Incremental responders")


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
    lines += [f"- **Not measured.** {s}" for s in list(inputs.errors) + list(report.not_measured)]
    return "\n".join(lines)


def notes_text(report: CampaignsReport, inputs: Any) -> str:
    """Caveats in plain words: set-aside rows, unmatched ids, group problems, open windows, thin data."""
    lines = [f"- {w}" for w in inputs.warnings]
    lines += [f"- {r.name}: {n}" for r in report.results for n in r.notes]
    if lines:
        return "\n".join(lines)
    return ("Nothing was set aside: every listed customer was matched and measured." if report.results
            else "No caveats: there was nothing to measure.")
