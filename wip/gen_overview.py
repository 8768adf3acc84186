"""Draft: new promotion_overview cells (answer first)."""
import json, sys
import nbformat

path = sys.argv[1]
nb = nbformat.read(path, as_version=4)
params = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
md = nbformat.v4.new_markdown_cell
code = nbformat.v4.new_code_cell

cells = [
    md("# Promotion overview\n\n"
       "How is this promotion doing across a cohort of customers: who got what, how much of each "
       "limit is used, who is at or near a cap. *How to read this report* is at the end."),
    params,
    code("from IPython.display import display\n\n"
         "from capnb import analysis\n"
         "from capnb.reports import charts, downloads, headline, notebook, tables\n\n"
         "notebook.setup_notebook()  # plotly figures as JSON (offline reports), short capnb errors\n"
         "as_of = notebook.resolve_as_of(as_of)\n"
         "timezone = notebook.check_timezone(timezone)\n"
         "src = notebook.open_source(source, customers, store=store)\n"
         "promotion = src.promotion(program_id, promotion_id)\n"
         "cohort = src.cohort(program_id, promotion_id, activity_id, identifier=identifier)\n"
         "utilisation = analysis.utilisation(promotion, cohort, as_of=as_of)"),
    code("display(notebook.header(\"Promotion overview\", promotion=promotion, source=src, as_of=as_of))\n"
         "headline.block(analysis.overview_headline(promotion, cohort, utilisation, as_of=as_of))"),
    md("## Limits: how much is used\n\n"
       "Every restriction on one scale: bars are the share of the limit used (colour = how exact "
       "the figure is), diamonds the median customer, dashed and solid lines 80% and 100%. Hover a "
       "bar for its note."),
    code("charts.utilisation_chart(utilisation, promotion=promotion)"),
    md("Per restriction: the limit, the cohort's usage, the share of the limit used (the cohort's "
       "total for promotion-wide limits, the 90th-percentile customer for per-customer limits) and "
       "the customers at (100%) or near (80%) the cap. Numbered notes say how each figure was "
       "measured."),
    code("tables.utilisation(utilisation)"),
    md("## Customers at or near a cap\n\n"
       "For every measurable per-customer limit, customers per usage level; the dashed line marks "
       "80% of the limit, the solid line the limit."),
    code("per_customer = analysis.customer_utilisation(promotion, cohort, as_of=as_of)\n"
         "capped = utilisation[(utilisation[\"scope\"] == \"customer\") & ~utilisation[\"unlimited\"]\n"
         "                     & (utilisation[\"measurability\"] != \"not_measurable\")]\n"
         "for row in capped.itertuples():\n"
         "    charts.customer_utilisation_histogram(per_customer, row.restriction,\n"
         "                                          promotion=promotion).show()"),
    md("The customers at or near a cap, most used first. The table shows the first rows; the "
       "download below it has every one."),
    code("near_cap = tables.near_cap(per_customer)\n"
         "display(near_cap)\n"
         "downloads.download(near_cap.data, \"customers_near_cap\",\n"
         "                   \"Download every customer at or near a cap\")"),
    md("## What was issued\n\n"
       "Incentives by action: issuances, the customers who got at least one, and their share of "
       "the fetched customers. Hover a bar for the customers reached."),
    code("by_action = analysis.issuance_counts(cohort, by=(\"action\",))\n"
         "display(charts.issuance_chart(by_action, promotion=promotion))\n"
         "tables.issuance(by_action)"),
    md("The same incentives by the activity that triggered them (an enrolment without an "
       "activity is its own group), as customers reached."),
    code("by_activity = analysis.issuance_counts(cohort, by=(\"activity_id\",))\n"
         "display(charts.issuance_chart(by_activity, promotion=promotion, value=\"customers\"))\n"
         "tables.issuance(by_activity)"),
    md("Points by category and alternate currencies: the total issued, the customers issued any, "
       "and how the amount is spread across them (median, 90th percentile, maximum)."),
    code("points = analysis.points_summary(cohort)\n"
         "display(charts.points_chart(points, promotion=promotion))\n"
         "tables.points(points)"),
    md("## When benefits were last issued\n\n"
       "Each customer is counted once per benefit, in the week of their latest issuance of it "
       "(the action summary keeps only the last one: this is not a history of every event). Bars "
       "are customers per week, lines the cumulative share of the cohort."),
    code("weekly = analysis.timeline(cohort, freq=\"W\", tz=timezone)  # every kind of benefit\n"
         "charts.timeline_chart(weekly, promotion=promotion)"),
    md("Recency at the report's date: customers by the age of their latest issuance of any "
       "benefit. A large \"90 days or more\" bar means a promotion that has stopped engaging."),
    code("recency = analysis.recency(cohort, as_of=as_of)\n"
         "display(charts.recency_chart(recency, promotion=promotion))\n"
         "tables.recency(recency)"),
    md("## The platform's own count for a sample\n\n"
       "The action summary can only bound some limits (period-based caps, events per customer). "
       "The platform's *promotionData* endpoint reports each customer's usage as the platform "
       "counts it, one request per customer, so it is fetched for a random sample of "
       "`exact_sample` customers and compared with the summaries of the same customers. A derived "
       "lower bound below the exact figure is usage the summary cannot see."),
    code("if exact_sample:\n"
         "    sample = cohort.sample(exact_sample, seed=0)\n"
         "    exact = src.exact_usage(sample)\n"
         "    comparison = analysis.derived_vs_exact(\n"
         "        analysis.utilisation(promotion, sample, as_of=as_of),\n"
         "        analysis.utilisation(promotion, sample, as_of=as_of, usage=\"exact\", exact=exact))\n"
         "    display(tables.comparison(comparison))\n"
         "    display(tables.status_counts(exact))"),
    md("## The promotion as configured\n\n"
       "Its restrictions, one row per limit, and what its rules do when they fire."),
    code("display(tables.restrictions(promotion))\n"
         "tables.actions(promotion)"),
    md("## Customers fetched\n\n"
       "Every customer's answer: benefits found, none yet, unknown to the program, failed after "
       "retries, or not a valid id. Shares in this report are of the customers answered (benefits "
       "found or none yet)."),
    code("tables.status_counts(cohort)"),
    md("Customers that could not be analysed, with the reason (an empty table means every "
       "customer was answered); the download has every one."),
    code("unanswered = tables.unanswered(cohort)\n"
         "display(unanswered)\n"
         "downloads.download(unanswered.data, \"customers_unanswered\",\n"
         "                   \"Download every customer not answered\")"),
    md("## How to read this report\n\n"
       "- **Where the figures come from.** Capillary's *Get Customer Promotion Details* (action "
       "summary) for every customer of the cohort, and *Get Loyalty Promotion by ID* once for the "
       "promotion's configuration. The summary keeps lifetime counts and each benefit's *last* "
       "issuance only.\n"
       "- **How exact each figure is.** *exact*: counted from what the platform reports; *lower "
       "bound*: the true usage is at least this (a promotion-wide cap measured on part of its "
       "customers, or a period cap seen through lifetime counts); *proxy*: a related count stands "
       "in for the limit's own; *not measurable*: the action summary does not carry it.\n"
       "- **Shares** are of the customers answered; per-customer limits are judged by the "
       "90th-percentile customer; \"near\" a cap is 80% of it or more.\n"
       "- **Run it again** for another promotion or cohort: "
       "`capnb report promotion_overview -p promotion_id 1133601204 -p customers customers.csv "
       "--source env` (a file of mobile numbers works with `-p identifier mobile`); add "
       "`--data-dir DIR` for every table as CSV and Parquet, `--pdf` for a PDF. Credentials come "
       "from `CAPILLARY_*` environment variables, never from parameters."),
    code("notebook.run_details(parameters={\"program_id\": program_id, \"promotion_id\": promotion_id,\n"
         "                                 \"customers\": customers, \"identifier\": identifier,\n"
         "                                 \"activity_id\": activity_id, \"timezone\": timezone,\n"
         "                                 \"as_of\": as_of.isoformat(), \"exact_sample\": exact_sample,\n"
         "                                 \"source\": source},\n"
         "                     source=src, as_of=as_of)"),
]
nb.cells = cells
nbformat.write(nb, path)
