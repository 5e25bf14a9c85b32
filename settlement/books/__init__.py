"""The treasury's books of a closed month (issue 12 item 10, decision 0026): the balance sheet
(neraca) and the income statement (laba rugi), per asset, in Bahasa Indonesia.

Both are computed from the month-end balances the month's audit bundle publishes
(``settlement.audit.store.balances_at``), posted totals only, grouped by the chart's account
kinds and patterns: ``figures`` computes (pure), ``month`` reads a closed month, ``render``
writes CSV and the printable page. An asset is never added to another.
"""
