"""crmlib: the helper library behind the CRM Workbook notebooks.

One module per notebook (cleaning, segmentation, clv, churn, basket, kpi) plus the
shared plumbing (schema, io, config, context, plots, datasets, report, cli).
"""
from crmlib.errors import ConfigError, CrmError, DataError, ModelError, NotApplicableError

__version__ = "0.1.0"
__all__ = ["ConfigError", "CrmError", "DataError", "ModelError", "NotApplicableError", "__version__"]
