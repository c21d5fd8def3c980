"""Reading contract files (CSV, XLSX) into text batches, one table per kind, within named
limits; a file that cannot be read safely is refused with a French reason (`FileRefused`)."""
