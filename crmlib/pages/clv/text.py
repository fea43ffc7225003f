"""The CLV page's words: every number in them comes from the result."""
from __future__ import annotations

import pandas as pd

from crmlib.core.btyd import MODEL_LABELS
from crmlib.core.formatting import format_money
from crmlib.pages.clv.analysis import NO_DROPOUT_P_ALIVE, RETENTION_ASSUMPTIONS, SELECTION_RULE, ClvResult

def models_text(result: ClvResult) -> str:
    """Which purchase model the page uses, why, and how each fit went (Markdown)."""
    chosen = result.chosen
    lines = [f"**{MODEL_LABELS[result.chosen_model]}** is used for lifetime values. {SELECTION_RULE}"]
    rung = chosen.fallback or "the plain fit"
    lines.append(f"Its final fit on all {len(result.summary):,} customers up to {result.as_of.date()} used "
                 f"**{rung}**" + (f"; parameters at their bounds: {', '.join(chosen.at_bounds)}." if chosen.at_bounds
                                  else "; no parameter is at a bound."))
    failed = [MODEL_LABELS[m] for m, f in result.fits.items() if not f.usable]
    if failed:
        lines.append(f"Not usable on this data even after the fallback ladder: {', '.join(failed)}.")
    return "\n\n".join(lines)


def validation_text(result: ClvResult) -> str:
    """Holdout check in words (Markdown)."""
    if not result.validations:
        return "No holdout check was possible (too little history before the analysis date)."
    v = result.validations.get(result.chosen_model)
    if v is None or v.mae is None:
        return (f"{MODEL_LABELS[result.chosen_model]} could not be fitted on the months before "
                f"{result.calibration_end.date()}, so its predictions could not be checked on held-back months.")
    diff = v.predicted_total / v.actual_total - 1 if v.actual_total else float("nan")
    return (f"The models were fitted on purchases up to {result.calibration_end.date()} and asked to predict the "
            f"{len(v.frame):,} customers' purchases from then to {result.holdout_end.date()}. "
            f"{MODEL_LABELS[result.chosen_model]} predicted **{v.predicted_total:,.0f}** repeat purchases against "
            f"**{v.actual_total:,.0f}** actual ({diff:+.0%}); per customer it is off by {v.mae:.2f} purchases on "
            "average (MAE)." + (" A forecast this much too low usually means the held-back months were busier than "
                                "usual (for example the run-up to Christmas), which models built on steady buying "
                                "cannot know: read the values below as conservative for such a season."
                                if diff < -0.1 else "")
            + (" The models expected more purchases than customers made: read the values below with care."
               if diff > 0.1 else ""))


def spend_text(result: ClvResult, currency: str = "GBP") -> str:
    """Gamma-Gamma fit and its independence check (Markdown)."""
    sp, ind = result.spend, result.independence
    if not sp.converged:
        head = f"The spend model could not be fitted ({sp.message}); customers' own average spend is used."
    else:
        head = (f"The spend model (Gamma-Gamma) was fitted on {sp.n_customers:,} repeat buyers; it expects an average "
                f"purchase of {format_money(sp.population_mean, currency, compact=True)} for a customer we know nothing about, and "
                "moves towards each customer's own average the more purchases we have seen from them.")
    return head + "\n\n" + ind["message"]


def values_text(result: ClvResult, currency: str = "GBP") -> str:
    """Customer equity and its concentration (Markdown)."""
    v = result.customers
    equity = result.customer_equity
    top = v.groupby("clv_tier", observed=False)["clv"].agg(["size", "sum"])
    first = top.index[0]
    share = top.loc[first, "sum"] / equity if equity else 0.0
    return (f"Over the next {result.horizon_months} months, discounted at {result.discount_rate:.1%} a month, our "
            f"{len(v):,} customers are expected to be worth **{format_money(equity, currency, compact=True)}** (customer equity). "
            f"The median customer is worth {format_money(v['clv'].median(), currency, compact=True)}; the {first} "
            f"({int(top.loc[first, 'size']):,} customers) hold {share:.0%} of the equity. "
            "Values are expected revenue, not profit: multiply by the gross margin to compare with costs.")


def segment_text(by_segment: pd.DataFrame, currency: str = "GBP") -> str:
    """The largest segments' share of equity vs their share of customers (Markdown)."""
    total_customers = by_segment["customers"].sum()
    parts = [f"**{name}** hold {row['share_of_equity']:.0%} of customer equity "
             f"({format_money(row['equity'], currency, compact=True)}) with {row['customers'] / total_customers:.0%} of customers"
             for name, row in by_segment.head(2).iterrows()]
    return "; ".join(parts) + "."


def what_if_text(result: ClvResult, table: pd.DataFrame, currency: str = "GBP") -> str:
    """The retention what-if in words, with its assumptions (Markdown)."""
    assumptions = "\n".join(f"{i}. {a}" for i, a in enumerate(RETENTION_ASSUMPTIONS, 1))
    mean_alive = float(result.customers["p_alive"].mean())
    if mean_alive >= NO_DROPOUT_P_ALIVE:
        lead = (f"The model counts {mean_alive:.1%} of customers as still active on average, so there is almost no "
                "survival left to improve and the table shows (nearly) no gain. That is a limit of this data's short "
                "window (see the caveat above), not evidence that retention is worthless.")
    else:
        row = table.iloc[min(1, len(table) - 1)]
        lead = (f"If every customer's survival rose by {row['survival_uplift_points']:g} points, customer equity "
                f"would grow by {format_money(row['gain'], currency, compact=True)} ({row['gain_pct']:+.1%}).")
    return lead + "\n\nAssumptions:\n\n" + assumptions
