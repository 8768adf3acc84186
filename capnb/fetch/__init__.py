"""Fetching many things at the platform's speed; imports only the core and ``capnb.api``.

``inputs`` reads ids and identifiers, ``pool`` fans work out over threads, ``ratelimit`` and
``progress`` pace and show it, ``store`` keeps what was fetched, ``batches`` writes it as it
comes. Built on them: ``summaries`` (``fetch_cohort``, giving a ``cohort.Cohort``),
``identifiers`` (lookup of mobiles, emails...), ``exact_usage`` (``promotionData``),
``program`` (every promotion of a program, with a cohort in each), ``sampling`` (seeded random
samples of a population) and ``sequential`` (``fetch_sample``: a sample fetched until its
estimates are precise enough)."""
