"""Publishing: the tables of each extract (`tables`), written as files (`extract`: the CSVs and
manifest, `workbook`: the XLSX, `cells`: how a value becomes a cell), published atomically and
delivered to outboxes (`atomic`), and the visual summary page (`page`: its shell, the template
templates/summary.html; `charts`: its four SVG charts, drawn with `svg`)."""
