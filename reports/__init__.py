"""Reports leaders and reviewers carry into a meeting: the incident 专报 / 复盘 (``incident``), the 台账 of
cases with their deadlines (``ledger``) and the 舆情日报 / 周报 (``periodic``), rendered as PDF (WeasyPrint,
CJK fonts embedded, A4 with page numbers), Word (python-docx), HTML, XLSX (openpyxl) and CSV."""
