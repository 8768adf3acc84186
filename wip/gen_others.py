"""Draft: new customer_benefits, portfolio and explore cells (answer first)."""
import sys
import nbformat

md = nbformat.v4.new_markdown_cell
code = nbformat.v4.new_code_cell
folder = sys.argv[1]


def load(name):
    nb = nbformat.read(f"{folder}/{name}.ipynb", as_version=4)
    params = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
    return nb, params


nb, params = load("customer_benefits")
nb.cells = [
    md("# Customer benefits\n\n"
       "What has this customer earned in this promotion, and how close are they to its limits? "
       "*How to read this report* is at the end."),
    params,
    code("from IPython.display import display\n\n"
         "from capnb import analysis\n"
         "from capnb.reports import charts, headline, notebook, tables\n\n"
         "notebook.setup_notebook()  # plotly figures as JSON (offline reports), short capnb errors\n"
         "as_of = notebook.resolve_as_of(as_of)\n"
         "timezone = notebook.check_timezone(timezone)\n"
         "src = notebook.open_source(source, customers, store=None)\n"
         "promotion = src.promotion(program_id, promotion_id)\n"
         "cohort = src.cohort(program_id, promotion_id, activity_id, customer_ids=[customer_id])\n"
         "per_limit = analysis.customer_utilisation(promotion, cohort, as_of=as_of)\n"
         "notes = analysis.utilisation(promotion, cohort, as_of=as_of)"),
    code("display(notebook.header(\"Customer benefits\", promotion=promotion, source=src, as_of=as_of))\n"
         "headline.block(analysis.customer_headline(promotion, cohort, per_limit, as_of=as_of))"),
    md("## How close the customer is to each limit\n\n"
       "Each bar is the share of the limit this customer has used (colour = how exact the figure "
       "is); the dashed line is 80%, the solid line 100%. Unlimited and not-measurable "
       "restrictions are listed without a bar."),
    code("own_limits = notes[notes[\"scope\"].isin([\"customer\", \"event\", \"earn\"])]\n"
         "charts.utilisation_chart(own_limits, promotion=promotion, single_customer=True)"),
    md("Per limit: the customer's usage, the limit, the share used and whether the customer is at "
       "(100%) or near (80%) the cap; numbered notes say how each figure was measured."),
    code("tables.customer_limits(per_limit.merge(notes[[\"restriction\", \"note\"]], on=\"restriction\"))"),
    md("## What the customer earned\n\n"
       "Incentives (coupons, badges, rewards, enrolment, tier upgrades...) by the activity that "
       "triggered them: how many times each was issued, when it was last issued and how long ago."),
    code("tables.benefits(cohort.incentives, as_of=as_of, timezone=timezone)"),
    md("Points by category: the total issued, how many times, and the last time."),
    code("tables.benefits(cohort.points, as_of=as_of, timezone=timezone)"),
    md("Alternate currencies (such as STARS or COINS): the total issued, how many times, and the "
       "last time."),
    code("tables.benefits(cohort.alternate_currencies, as_of=as_of, timezone=timezone)"),
    md("## The platform's own count\n\n"
       "The action summary keeps lifetime totals and the last issuance only, so some limits "
       "(period-based caps, events) are lower bounds above. The *promotionData* endpoint reports "
       "this customer's usage of each restriction as the platform counts it, side by side with "
       "the figures derived from the action summary."),
    code("exact = src.exact_usage(cohort)\n"
         "comparison = analysis.derived_vs_exact(notes, analysis.utilisation(promotion, cohort, as_of=as_of,\n"
         "                                                               usage=\"exact\", exact=exact))\n"
         "tables.comparison(comparison)"),
    md("## How to read this report\n\n"
       "- **Where the figures come from.** Capillary's *Get Customer Promotion Details* (action "
       "summary) for the customer, *Get Loyalty Promotion by ID* for the promotion's limits, and "
       "*promotionData* for the platform's own count.\n"
       "- **The customer's answer**: benefits found, none issued yet in this promotion, unknown to "
       "the program, or failed (with the API's message).\n"
       "- **How exact each figure is.** *exact*: counted from what the platform reports; *lower "
       "bound*: the true usage is at least this (a period cap seen through lifetime counts); "
       "*proxy*: a related count stands in for the limit's own; *not measurable*: the action "
       "summary does not carry it.\n"
       "- **Run it again** for another customer: "
       "`capnb report customer_benefits -p customer_id 388000085 -p promotion_id 1133601204`."),
    code("display(tables.status_counts(cohort))\n"
         "notebook.run_details(parameters={\"program_id\": program_id, \"promotion_id\": promotion_id,\n"
         "                                 \"customer_id\": customer_id, \"activity_id\": activity_id,\n"
         "                                 \"timezone\": timezone, \"as_of\": as_of.isoformat(),\n"
         "                                 \"source\": source},\n"
         "                     source=src, as_of=as_of)"),
]
nbformat.write(nb, f"{folder}/customer_benefits.ipynb")

nb, params = load("portfolio")
nb.cells = [
    md("# Promotion portfolio\n\n"
       "Which promotions of this program may run out of budget before they end? *How to read "
       "this report* is at the end."),
    params,
    code("from IPython.display import display\n\n"
         "from capnb import analysis\n"
         "from capnb.reports import charts, headline, notebook, tables\n\n"
         "notebook.setup_notebook()  # plotly figures as JSON (offline reports), short capnb errors\n"
         "as_of = notebook.resolve_as_of(as_of)\n"
         "src = notebook.open_source(source, customers, store=store)\n"
         "program = src.program(program_id)\n"
         "budgets = src.portfolio(program_id, as_of=as_of, status=status)"),
    code("display(notebook.header(\"Promotion portfolio\", program=program, source=src, as_of=as_of))\n"
         "headline.block(analysis.portfolio_headline(budgets, as_of=as_of, program_name=program[\"name\"]))"),
    md("## Budget burn\n\n"
       "Per promotion, the share of its most used budget (red-orange) next to the share of its "
       "time elapsed (light blue). A budget bar longer than the time bar burns faster than time "
       "passes. Hover a bar for the figures and the note."),
    code("charts.budget_burn_chart(budgets, program=f\"{program['name']} ({program_id})\")"),
    md("## Promotions at risk\n\n"
       "Those whose budget runs out before their end at the current pace (risk above 1), with the "
       "day it does."),
    code("tables.portfolio(budgets[budgets[\"risk\"].gt(1).fillna(False)])"),
    md("## Every promotion\n\n"
       "One row per promotion, riskiest first: days left, each promotion-wide budget used of its "
       "cap, the most used budget's share, the share of time elapsed and their ratio (risk)."),
    code("tables.portfolio(budgets)"),
    md("## How to read this report\n\n"
       "- **Where the figures come from.** Capillary's programs and paginated promotions list, "
       "and the action summary of every customer in every promotion.\n"
       "- **Budgets** are the promotion-wide caps (points, times, earns): what the customers' "
       "action summaries add up to, of the cap. Measured on part of a promotion's customers they "
       "are lower bounds.\n"
       "- **Days left** count from the report's date to the end (0 once ended); **risk** is the "
       "most used budget's share divided by the share of time elapsed: above 1, the budget runs "
       "out before the end at the current pace.\n"
       "- **Run it again** for another program: "
       "`capnb report portfolio -p program_id 3334 -p customers customers.csv --source env` "
       "(credentials come from `CAPILLARY_*` environment variables, never from parameters)."),
    code("notebook.run_details(parameters={\"program_id\": program_id, \"customers\": customers,\n"
         "                                 \"status\": status, \"as_of\": as_of.isoformat(),\n"
         "                                 \"source\": source},\n"
         "                     source=src, as_of=as_of)"),
]
nbformat.write(nb, f"{folder}/portfolio.ipynb")

nb, params = load("explore")
for cell in nb.cells:
    if cell.cell_type == "code" and cell.source.startswith("notebook.header("):
        cell.source = ("notebook.header(\"Explore\", promotion=promotion, source=src, as_of=as_of)")
    if cell.cell_type == "markdown" and cell.source.startswith("The header records"):
        cell.source = ("The header records what the dashboard was opened on: the promotion as "
                       "configured, the data source and the `as_of` time ages and trailing "
                       "windows are measured from.")
nb.cells.append(code("notebook.run_details(parameters={\"program_id\": program_id, \"promotion_id\": promotion_id,\n"
                     "                                 \"customers\": customers, \"activity_id\": activity_id,\n"
                     "                                 \"timezone\": timezone, \"as_of\": as_of.isoformat(),\n"
                     "                                 \"source\": source},\n"
                     "                     source=src, as_of=as_of)"))
nbformat.write(nb, f"{folder}/explore.ipynb")
