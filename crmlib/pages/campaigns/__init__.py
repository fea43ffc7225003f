"""Campaign measurement (page 06_campaigns): did the customers we contacted do better than the control group?

Three parts, re-exported here:

* :mod:`.inputs` reads campaign lists (the user's files and earlier periods' retention
  lists), matches ids to the clean customer ids, quarantines bad rows and checks groups;
* :mod:`.measure` measures each campaign over a response window: group figures, uplift
  with 95 % intervals and p-values, incremental revenue, ROI, minimum detectable effect,
  verdict, targeting quality (uplift by score decile, Qini curve);
* :mod:`.present` writes the manager's sentences and tables and draws the charts.
"""
#: The clean-log columns this page reads (``RunContext.load_transactions(columns=..., customers_only=True)``):
#: a campaign is measured on its customers' invoices, matched by id (and by each unit's own id).
COLUMNS = ("customer_id", "source_customer_id", "invoice_id", "invoice_date", "amount", "source")

from crmlib.pages.campaigns.inputs import (CAMPAIGN_COLUMNS, GROUP_WORDS, SCORE_COLUMNS, CampaignInputs, IdMatch,
                                           Validation, collect_campaigns, known_customer_ids, match_ids,
                                           normalise_ids, parse_group, published_retention_lists,
                                           read_campaign_file, unify_member_ids, validate_campaigns)
from crmlib.pages.campaigns.measure import (DEFAULT_RESPONSE_WINDOW_DAYS, REVENUE_METHOD, RESPONSE_METHOD,
                                            VERDICT_RULE, VERDICTS, CampaignResult, CampaignsReport, Uplift,
                                            customer_outcomes, mean_uplift, measure_campaign, measure_campaigns,
                                            minimum_detectable_uplift, qini_curve, response_by_day,
                                            response_rate_uplift, uplift_by_decile, verdict)
from crmlib.pages.campaigns.present import (campaign_sentence, campaign_table, headline_text, methods_text,
                                            no_campaigns_text, notes_text,
                                            plot_qini, plot_response_curve, plot_uplift_by_decile,
                                            plot_uplift_summary, short_money, targeting_text)

__all__ = [
    "COLUMNS", "CAMPAIGN_COLUMNS", "GROUP_WORDS", "SCORE_COLUMNS", "CampaignInputs", "IdMatch", "Validation",
    "collect_campaigns", "known_customer_ids", "match_ids", "normalise_ids", "parse_group",
    "published_retention_lists", "read_campaign_file", "unify_member_ids", "validate_campaigns",
    "DEFAULT_RESPONSE_WINDOW_DAYS", "REVENUE_METHOD", "RESPONSE_METHOD", "VERDICT_RULE", "VERDICTS",
    "CampaignResult", "CampaignsReport", "Uplift", "customer_outcomes", "mean_uplift", "measure_campaign",
    "measure_campaigns", "minimum_detectable_uplift", "qini_curve", "response_by_day", "response_rate_uplift",
    "uplift_by_decile", "verdict",
    "campaign_sentence", "campaign_table", "headline_text", "methods_text", "no_campaigns_text", "notes_text", "plot_qini",
    "plot_response_curve", "plot_uplift_by_decile", "plot_uplift_summary", "short_money", "targeting_text",
]

from crmlib.pages.campaigns.page import PAGE  # noqa: E402  (the page's declaration)
