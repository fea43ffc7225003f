"""The report's pages: one module (or small package) per notebook, each on the core.

A page module imports only :mod:`crmlib.core`, :mod:`crmlib.errors` and the intake
modules (:mod:`crmlib.io`, :mod:`crmlib.schema`, :mod:`crmlib.cleaning`), never another
page. What one page needs from another travels in artifacts and metrics. Each page
declares itself once as ``PAGE = Page(...)`` (:class:`crmlib.core.pages.Page`).
"""

#: The built-in page modules: the one list :func:`crmlib.core.pages.load_pages` reads
#: (``workbook.yml``'s ``pages:`` adds more, loaded the same way).
BUILTIN_PAGES = (
    "crmlib.pages.summary",
    "crmlib.pages.data_cleaning",
    "crmlib.pages.segmentation",
    "crmlib.pages.clv",
    "crmlib.pages.churn",
    "crmlib.pages.basket",
    "crmlib.pages.campaigns",
    "crmlib.pages.units",
)
