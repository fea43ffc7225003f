"""The report's pages: one module (or small package) per notebook, each on the core.

A page module imports only :mod:`crmlib.core` (and :mod:`crmlib.errors`), never another
page. What one page needs from another travels in artifacts and metrics.
"""
