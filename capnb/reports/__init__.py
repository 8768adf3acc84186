"""What the analyst sees: plotly charts, the ipywidgets dashboard, the notebooks' helpers and
the HTML reports rendered from the notebooks shipped in ``capnb/reports/notebooks``. Imports the
core, ``capnb.api``, ``capnb.fetch``, ``capnb.analysis`` and (for the notebooks' data source)
``capnb.sandbox``."""
