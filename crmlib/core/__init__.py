"""The shared core: what every page may use and no page owns.

Periods, configuration, the run context, intake, customer summaries, BTYD fitting,
formatting, validation, writing, plots' house style and the page registry. A module in
``crmlib.core`` never imports from ``crmlib.pages``. See ``docs/architecture.md``.
"""
