"""The words a manager reads everywhere, marked for translation: KPI names, segment names, page words.

Each text is an English message id marked with :func:`crmlib.core.i18n.N_`, so
``pybabel extract`` puts it in the catalogue and ``tests/test_i18n.py`` fails while its
Korean translation is missing. Show a term with the report's translator::

    _ = translator(language)
    _(KPI_NAMES["revenue"])          # '매출(전체 판매)' in a Korean report

The KPI names are :data:`crmlib.core.kpis.KPI_LABELS` and the segment names the keys of
the default RFM segment map, so those tables translate by passing their values through
``_``. The glossary (every term, its definition and window) is
:mod:`crmlib.core.vocabulary`, the one source the summary and ``glossary.html`` show.
"""
from __future__ import annotations

from crmlib.core.i18n import N_
from crmlib.core.kpis import KPI_LABELS

#: KPI key -> English name (the msgid): the KPI vocabulary's labels, defined once in
#: :data:`crmlib.core.kpis.KPI_LABELS`.
KPI_NAMES: dict[str, str] = KPI_LABELS

#: The default RFM segments' English names (msgids), in the order reports list them.
SEGMENT_NAMES: tuple[str, ...] = (
    N_("Champions"),
    N_("Loyal"),
    N_("Potential Loyalist"),
    N_("New"),
    N_("Promising"),
    N_("Need Attention"),
    N_("About to Sleep"),
    N_("At Risk"),
    N_("Cannot Lose Them"),
    N_("Hibernating"),
    N_("Lost"),
)

#: RFM and basket words a report uses besides the glossary's terms (the glossary itself,
#: terms and definitions, is :mod:`crmlib.core.vocabulary`).
RFM_WORDS: tuple[str, ...] = (
    N_("Recency"),
    N_("Frequency"),
    N_("Monetary value"),
    N_("RFM segment"),
    N_("Cross-selling"),
)

#: Words shown around every page (navigation, column headers), as msgids.
PAGE_WORDS: tuple[str, ...] = (
    N_("Summary"),
    N_("Customers"),
    N_("Revenue"),
    N_("Segment"),
    N_("Share"),
    N_("Month"),
    N_("Country"),
    N_("Product"),
    N_("Glossary"),
    N_("Caveats"),
)
