"""The basket page's words and its metrics: every number in them comes from the data.

Every product or segment name put into a sentence goes through :func:`crmlib.core.text.md`
(a product described as ``<script>…`` stays text); tables go through
:func:`crmlib.core.tables.manager_table`. Every sentence and header goes through ``_()``
(the report's language) with named placeholders; segment names are shown through ``_()``
too, as the segments page shows them (a segment configured in Korean stays as it is).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from crmlib.core.formatting import format_count, format_percent
from crmlib.core.i18n import N_, _
from crmlib.core.tables import ManagerTable, manager_table
from crmlib.core.text import md
from crmlib.pages.basket.baskets import Baskets, _min_count, pair_affinity
from crmlib.pages.basket.itemsets import best_rule_per_bundle
from crmlib.pages.basket.ranges import MAX_VARYING_WORDS
from crmlib.pages.basket.recommendations import most_suggested_share

#: Why there is no offline check when the evaluation gives no reason (a message id).
NO_CUSTOMERS_TO_CHECK = N_("no customers to check")


def _names(names) -> str:
    return " + ".join(md(n) for n in names)

def describe_baskets(baskets: Baskets, min_support: float) -> str:
    """Markdown paragraph on what the baskets hold (or why there are none)."""
    if not baskets.available:
        why = md(baskets.problem or _("there are no baskets in the data"))
        return _("**No basket analysis for this data:** {why}. The rest of this page stays empty; the other "
                 "analyses are not affected.").format(why=why)
    sizes = np.asarray(baskets.matrix.getnnz(axis=1))
    frequent = int((baskets.item_counts() >= _min_count(min_support, baskets.n_baskets)).sum())
    text = (_("{baskets} baskets (invoices) from {customers} customers hold {items} different items; a basket holds "
              "{median} items at the median ({mean} on average). {frequent} items are in at least {support} % of "
              "baskets and take part in the pairs and bundles below; rarer items are too rare to say anything "
              "reliable about.") if baskets.basket == "invoice" else
            _("{baskets} baskets (customer-days) from {customers} customers hold {items} different items; a basket "
              "holds {median} items at the median ({mean} on average). {frequent} items are in at least {support} % "
              "of baskets and take part in the pairs and bundles below; rarer items are too rare to say anything "
              "reliable about."))
    return text.format(baskets=format_count(baskets.n_baskets),
                       customers=format_count(baskets.info["customer_id"].nunique()),
                       items=format_count(baskets.n_items), median=f"{np.median(sizes):.0f}",
                       mean=f"{sizes.mean():.1f}", frequent=format_count(frequent), support=f"{100 * min_support:g}")


def describe_rules(rules: pd.DataFrame, itemsets: pd.DataFrame, min_confidence: float) -> str:
    """Markdown paragraph on the bundles found, the strongest one named."""
    if rules.empty:
        return (_("No bundle is frequent and reliable enough to show; the analysts' section at the end of the page "
                  "says which settings to relax.") if not itemsets.empty
                else _("No product combinations are frequent enough (see the baskets above), so no bundles."))
    best = best_rule_per_bundle(rules).iloc[0]
    strong = int((rules["confidence"] >= min_confidence).sum())
    return _("{itemsets} frequent combinations give {rules} \"if this, then that\" rules; {strong} of them hold in at "
             "least {confidence} % of baskets. Strongest bundle: customers who buy **{first}** also buy **{second}** "
             "in {share} of cases, {lift} times more often than average shoppers ({baskets} baskets).").format(
        itemsets=format_count(len(itemsets)), rules=format_count(len(rules)), strong=format_count(strong),
        confidence=f"{100 * min_confidence:g}", first=_names(best["antecedent_names"]),
        second=_names(best["consequent_names"]), share=format_percent(best["confidence"], 0),
        lift=f"{best['lift']:.1f}", baskets=format_count(best["count"]))


def describe_ranges(ranges: pd.DataFrame) -> str:
    """Markdown: how many products were grouped into ranges, with the rule in one sentence."""
    grouped = ranges[ranges["variants"] > 1]
    if grouped.empty:
        return _("No product has variants under another name, so every product counts on its own.")
    biggest = grouped.groupby("range_name")["item_id"].size().sort_values(ascending=False).head(3)
    examples = "; ".join(_("{range} ({count} products)").format(range=md(name), count=format_count(n))
                         for name, n in biggest.items())
    return _("Variants of one product (colours, patterns, rooms) are bought together all the time, so they would "
             "crowd the strongest pairs. They are counted as one product range here: {products} products form "
             "{ranges} ranges (largest: {examples}). Two products are variants when their names differ only in one "
             "run of up to {words} words and share at least two words that say more than a pack size; \"…\" marks "
             "where the variants differ.").format(
        products=format_count(len(grouped)), ranges=format_count(grouped["range_id"].nunique()), examples=examples,
        words=MAX_VARYING_WORDS)


def compare_segment(
    baskets: Baskets, segments: pd.DataFrame | None, segment: str = "Champions",
    min_support: float = 0.01, n: int = 10,
) -> tuple[pd.DataFrame | None, str]:
    """Strongest pairs within one customer segment beside their lift for everyone.

    ``segments`` is ``customers_segments.parquet`` (``customer_id``, ``segment``) or
    ``None``. Returns (table or None, markdown sentence saying what was done); show the
    table with :func:`segment_pairs_table`.
    """
    if not baskets.available:
        return None, _("No baskets, so no segment comparison.")
    if segments is None or "segment" not in segments.columns:
        return None, _("Customer segments are not available for this report, so the pairs are shown for all "
                       "customers only.")
    members = segments.loc[segments["segment"] == segment, "customer_id"].astype(str)
    customers = baskets.info["customer_id"]
    if isinstance(customers.dtype, pd.CategoricalDtype):   # one test per customer, not per basket
        codes = customers.cat.codes.to_numpy()
        rows = pd.Index(customers.cat.categories).astype(str).isin(set(members))[codes] & (codes >= 0)
    else:
        rows = customers.astype(str).isin(set(members)).to_numpy()
    if not rows.any():
        found = ", ".join(md(_(s)) for s in sorted(segments["segment"].dropna().astype(str).unique())[:8])
        return None, _("No baskets from the RFM segment {segment} (segments present: {found}).").format(
            segment=md(_(segment)), found=found)
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
        f"lift ({segment})": seg["lift"], "lift (everyone)": lift_all,
    }).reset_index(drop=True)
    text = _("{segment_baskets} of {baskets} baskets ({share}) come from {customers} customers in the RFM segment "
             "**{segment}**. Their strongest pairs, with the same pair's strength among all customers beside "
             "it:").format(
        segment_baskets=format_count(int(rows.sum())), baskets=format_count(baskets.n_baskets),
        share=format_percent(rows.mean(), 0), customers=format_count(members.nunique()), segment=md(_(segment)))
    return table, text


def segment_pairs_table(table: pd.DataFrame | None, segment: str = "Champions") -> ManagerTable | None:
    """:func:`compare_segment`'s table for a manager (``None`` stays ``None``)."""
    if table is None:
        return None
    return manager_table(table, {
        "product": (_("Product"), "text"), "bought with": (_("Bought with"), "text"),
        f"baskets ({segment})": (_("Baskets ({segment})").format(segment=_(segment)), "count"),
        f"lift ({segment})": (_("Times chance ({segment})").format(segment=_(segment)), "ratio"),
        "lift (everyone)": (_("Times chance (everyone)"), "ratio"),
    })


def most_suggested(recommendations: pd.DataFrame, n: int = 15) -> ManagerTable:
    """The products suggested to the most customers, with the share of customers."""
    customers = max(recommendations["customer_id"].nunique(), 1)
    # a customer's list never holds a product twice: customers offered a product = its rows
    counts = (recommendations.groupby(["product_id", "product_name"]).size().rename("customer_id").reset_index()
              .sort_values(["customer_id", "product_id"], ascending=[False, True]).head(n))
    counts["share"] = counts["customer_id"] / customers
    return manager_table(counts, {"product_name": (_("Product"), "text"), "product_id": (_("Product code"), "id"),
                                  "customer_id": (_("Customers offered it"), "count"),
                                  "share": (_("Share of customers"), "percent")})


def recommendations_download(recommendations: pd.DataFrame) -> pd.DataFrame:
    """The next-best products as a campaign list: one row per customer and suggestion."""
    return recommendations.assign(score=recommendations["score"].round(4)).rename(columns={
        "customer_id": "Customer id", "rank": "Rank", "product_id": "Product code", "product_name": "Product",
        "score": "Score (higher = closer to what the customer buys)",
    })[["Customer id", "Rank", "Product code", "Product", "Score (higher = closer to what the customer buys)"]]


def describe_evaluation(evaluation: dict, recommendations: pd.DataFrame | None = None) -> str:
    """Markdown sentences on the offline check (and, given the suggestions, how varied they are)."""
    if not evaluation["customers_evaluated"]:
        return _("No offline check of the suggestions: {reason}.").format(
            reason=md(_(evaluation.get("reason", NO_CUSTOMERS_TO_CHECK))))
    e = evaluation
    text = (_("Hiding each customer's last basket and suggesting {n} products from their earlier purchases, at least "
              "one suggested product was in that basket for {model} of {customers} customers, against {baseline} "
              "when simply offering the best sellers they had not bought: the cross-sell list is better than the "
              "best-seller list.") if e["hit_rate_model"] > e["hit_rate_baseline"] else
            _("Hiding each customer's last basket and suggesting {n} products from their earlier purchases, at least "
              "one suggested product was in that basket for {model} of {customers} customers, against {baseline} "
              "when simply offering the best sellers they had not bought: the cross-sell list is no better than the "
              "best-seller list.")).format(
        n=e["n"], model=format_percent(e["hit_rate_model"]), customers=format_count(e["customers_evaluated"]),
        baseline=format_percent(e["hit_rate_baseline"]))
    if e.get("sampled"):
        customers = None if recommendations is None else recommendations["customer_id"].nunique()
        text += " " + (_("The check scored a random sample of {sample} of the {repeat} repeat customers (the same "
                         "sample for the same data); the suggestions above cover all {customers} customers.")
                       if customers else
                       _("The check scored a random sample of {sample} of the {repeat} repeat customers (the same "
                         "sample for the same data); the suggestions cover every customer.")).format(
            sample=format_count(e["sample_size"]), repeat=format_count(e["repeat_customers"]),
            customers=format_count(customers or 0))
    share = None if recommendations is None else most_suggested_share(recommendations)
    if share is not None:
        text += " " + _("The lists differ from customer to customer: the most suggested product is on {share} of "
                        "them.").format(share=format_percent(share, 0))
    return text


def analyst_notes(min_support: float, min_confidence: float, max_len: int | None, n_recommendations: int) -> str:
    """Markdown for the page's "For analysts" section: methods, settings, files."""
    return "\n".join("- " + line for line in [
        _("Bundles: frequent itemsets counted exactly on the basket matrix with `min_support = {min_support}` and "
          "`max_len = {max_len}`, association rules kept at `min_confidence = {min_confidence}`; lift = "
          "confidence / support of the consequent. With too few rules, lower `min_support` or `min_confidence` "
          "(settings file, this page's section under `notebooks:`).").format(
            min_support=f"{min_support:g}", max_len=max_len, min_confidence=f"{min_confidence:g}"),
        _("Product ranges: pairs, the affinity map, the bundles and the segment comparison count a range as "
          "one item; `collapse_variants: false` in the same section ranks single products."),
        _("Next-best products: item-to-item collaborative filtering, score = mean cosine similarity "
          "n_ab / sqrt(n_a n_b) to the customer's products (pairs seen together in fewer than 2 baskets "
          "ignored), ties broken by popularity; hit@{n} on each repeat customer's last basket "
          "against the most-popular baseline.").format(n=n_recommendations),
        _("Every rule (item ids and names) and every suggestion (customer, product, rank, score) are kept with "
          "the run's analyst files (`rules`, `recommendations`)."),
    ])


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
        "most_suggested_share": most_suggested_share(recommendations),
    }
