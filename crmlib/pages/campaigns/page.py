"""The campaign page's declaration: its metrics shape and its line in the summary."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from crmlib.core.i18n import N_, _
from crmlib.core.parameters import Parameter
from crmlib.core.pages import Page, PageMetrics
from crmlib.pages.campaigns.present import campaign_sentence


class CampaignsMetrics(PageMetrics):
    """``metrics/06_campaigns.json``: one entry per measured campaign (issue 14's shape)."""

    campaigns: list[dict[str, Any]]


def finding(m: Mapping[str, Any], currency: str) -> str | None:
    """The summary's line: every campaign measured this period, in one sentence each."""
    campaigns = m["campaigns"]
    if not campaigns:
        return _("no campaign to measure this period.")
    return " ".join(campaign_sentence(entry, currency) for entry in campaigns)


PAGE = Page(
    name="06_campaigns",
    title=N_("Campaign results"),
    description=N_("Did the customers we contacted do better than the control group? Uplift, incremental revenue, verdict."),
    reads=("01_data_cleaning", "04_churn"),
    metrics=CampaignsMetrics,
    finding=finding,
    parameters={"reports_dir": Parameter(kind="text"), "response_window_days": Parameter(low=1)},
)
