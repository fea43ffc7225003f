"""crmlib: the helper library behind the CRM Workbook notebooks.

Three layers (see ``docs/architecture.md``): intake (``io``, ``io_text``, ``io_customers``,
``io_dates``, ``schema``, the cleaning engine ``cleaning``, ``errors``), the shared core (``crmlib.core``: periods, the run,
configuration, context, summaries, BTYD fitting, features, formatting, writing, plots,
the page registry) and the pages (``crmlib.pages``: one module or small package per
notebook, each declaring itself as ``PAGE``); plus the runner (``report``), the site
(``site``), the command line (``cli``) and test data (``datasets``, ``synthetic``).
"""
from crmlib.errors import ConfigError, CrmError, DataError, ModelError, NotApplicableError

__version__ = "0.1.0"
__all__ = ["ConfigError", "CrmError", "DataError", "ModelError", "NotApplicableError", "__version__"]
