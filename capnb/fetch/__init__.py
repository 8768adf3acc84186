"""Fetching many things at the platform's speed: input readers, the fan-out pool, the rate
limiter, progress bars, the Parquet store, and the cohort, identifier and promotionData
fetchers built on them. Imports the core and ``capnb.api``."""
