"""The sweep report: the paper's tables and figures from the finished runs under ``results/``.

Reads only ``results/`` (each run's ``results.json``) and imports nothing of the training side, so
a report can be rebuilt anywhere the results tree is. One module per concern: the paper's numbers
(:mod:`.paper`), finished runs as one table (:mod:`.collect`), seed statistics and paired tests
(:mod:`.stats`), Markdown tables (:mod:`.tables`), figures (:mod:`.figures`), ``REPORT.md``
(:mod:`.markdown`) and the ``deepthin-report`` command (:mod:`.cli`).
"""
