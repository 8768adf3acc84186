"""The HTTP layer: authentication, the transport (one retry loop), the typed client and one
parser per endpoint. Imports only the core modules (``errors``, ``models``, ``schema``,
``validation``, ``config``, ``restrictions``)."""
