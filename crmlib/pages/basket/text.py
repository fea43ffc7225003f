"""The basket page's words and its metrics: every number in them comes from the data."""
from __future__ import annotations

import numpy as np
import pandas as pd

from crmlib.pages.basket.baskets import Baskets, _min_count, best_rule_per_bundle, pair_affinity

def describe_baskets(baskets: Baskets, min_support: float) -> str:
    """Markdown paragraph on what the baskets hold (or why there are none)."""
    if not baskets.available:
        why = baskets.problem or "there are no baskets in the data"
        return (f"**No basket analysis for this data:** {why}. The rest of this page stays "
                "empty; the other analyses are not affected.")
    sizes = np.asarray(baskets.matrix.getnnz(axis=1))
    frequent = int((baskets.item_counts() >= _min_count(min_support, baskets.n_baskets)).sum())
    kind = "invoices" if baskets.basket == "invoice" else "customer-days"
    return (f"{baskets.n_baskets:,} baskets ({kind}) from {baskets.info['customer_id'].nunique():,} customers "
            f"hold {baskets.n_items:,} different items; a basket holds {np.median(sizes):.0f} items at the "
            f"median ({sizes.mean():.1f} on average). {frequent:,} items are in at least "
            f"{100 * min_support:g}% of baskets (the minimum support) and take part in the rules below.")


def describe_rules(rules: pd.DataFrame, itemsets: pd.DataFrame, min_confidence: float) -> str:
    """Markdown paragraph on the rules found."""
    if rules.empty:
        return ("No rules reach the thresholds: lower `min_support` or `min_confidence` to see weaker "
                "patterns." if not itemsets.empty else "No frequent itemsets (see the baskets above), so no rules.")
    best = best_rule_per_bundle(rules).iloc[0]
    strong = int((rules["confidence"] >= min_confidence).sum())
    return (f"{len(itemsets):,} frequent itemsets give {len(rules):,} rules; {strong:,} of them have at least "
            f"{100 * min_confidence:g}% confidence. Strongest bundle: customers who buy "
            f"**{' + '.join(best['antecedent_names'])}** also buy **{' + '.join(best['consequent_names'])}** "
            f"in {100 * best['confidence']:.0f}% of cases, {best['lift']:.1f} times more often than "
            f"average shoppers ({best['count']:,} baskets).")


def compare_segment(
    baskets: Baskets, segments: pd.DataFrame | None, segment: str = "Champions",
    min_support: float = 0.01, n: int = 10,
) -> tuple[pd.DataFrame | None, str]:
    """Strongest pairs within one customer segment beside their lift for everyone.

    ``segments`` is ``customers_segments.parquet`` (``customer_id``, ``segment``) or
    ``None``. Returns (table or None, markdown sentence saying what was done).
    """
    if not baskets.available:
        return None, "No baskets, so no segment comparison."
    if segments is None or "segment" not in segments.columns:
        return None, ("Segments are not available (the segmentation page 02 has not run), so the "
                      "rules are shown for all customers only.")
    members = segments.loc[segments["segment"] == segment, "customer_id"].astype(str)
    rows = baskets.info["customer_id"].astype(str).isin(set(members)).to_numpy()
    if not rows.any():
        found = ", ".join(sorted(segments["segment"].dropna().astype(str).unique())[:8])
        return None, f"No baskets from segment '{segment}' (segments present: {found})."
    seg = pair_affinity(baskets.subset(rows), min_support=min_support).head(n)
    position = pd.Index(baskets.item_ids.astype(str))
    a = position.get_indexer(seg["item_a"].astype(str))
    b = position.get_indexer(seg["item_b"].astype(str))
    x = baskets.matrix.tocsc()
    n_ab = np.asarray(x[:, a].multiply(x[:, b]).sum(axis=0)).ravel()
    counts = baskets.item_counts()
    lift_all = n_ab * baskets.n_baskets / (counts[a] * counts[b]) if len(seg) else np.array([])
    table = pd.DataFrame({
        "product": seg["name_a"].astype(str), "bought with": seg["name_b"].astype(str),
        f"baskets ({segment})": seg["count"],
        f"lift ({segment})": seg["lift"].round(1), "lift (everyone)": np.round(lift_all, 1),
    }).reset_index(drop=True)
    text = (f"{int(rows.sum()):,} of {baskets.n_baskets:,} baskets ({100 * rows.mean():.0f}%) come from "
            f"{members.nunique():,} '{segment}' customers. Their strongest pairs, with the same pair's "
            "lift among all customers beside it:")
    return table, text


def describe_evaluation(evaluation: dict) -> str:
    """Markdown sentence on the offline check."""
    if not evaluation["customers_evaluated"]:
        return f"No offline check of the suggestions: {evaluation.get('reason', 'no customers to check')}."
    e = evaluation
    verdict = ("better than" if e["hit_rate_model"] > e["hit_rate_baseline"] else "no better than")
    return (f"Hiding each customer's last basket and recommending {e['n']} products from their earlier "
            f"purchases, at least one recommended product was in that basket for "
            f"{100 * e['hit_rate_model']:.1f}% of {e['customers_evaluated']:,} customers, against "
            f"{100 * e['hit_rate_baseline']:.1f}% when simply offering the best sellers they had not "
            f"bought: the cross-sell list is {verdict} the best-seller list.")


def headline_metrics(baskets: Baskets, rules: pd.DataFrame, evaluation: dict,
                     recommendations: pd.DataFrame) -> dict:
    """Headline numbers for ``metrics/05_basket.json``."""
    top = None
    if not rules.empty:
        best = best_rule_per_bundle(rules).iloc[0]
        top = {"antecedents": list(best["antecedents"]), "consequents": list(best["consequents"]),
               "antecedent_names": list(best["antecedent_names"]), "consequent_names": list(best["consequent_names"]),
               "lift": float(best["lift"]), "confidence": float(best["confidence"]), "baskets": int(best["count"])}
    return {
        "basket_analysis_available": baskets.available,
        "unavailable_reason": baskets.problem,
        "baskets": baskets.n_baskets, "items": baskets.n_items, "rules": len(rules),
        "top_rule": top,
        "customers_with_recommendations": int(recommendations["customer_id"].nunique()),
        "hit_at_n": evaluation["n"], "hit_rate_model": evaluation["hit_rate_model"],
        "hit_rate_baseline": evaluation["hit_rate_baseline"],
        "customers_evaluated": evaluation["customers_evaluated"],
    }
