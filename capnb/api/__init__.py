"""The HTTP layer: authentication (``auth``), the transport with its one retry loop
(``transport``), the typed client (``client``), and pure parsers of the response bodies
(``envelope``; ``summary``, ``promotion``, ``lookup``, ``catalog``, ``promotion_data``, one per
endpoint family; values and frames through ``_coerce`` and ``_frames``). Imports only the core
modules (``errors``, ``models``, ``schema``, ``validation``, ``config``, ``restrictions``,
``_version``)."""
