"""Loading: the file registry and the staging writes, whole or nothing per file, with lineage;
`ingest` runs a night's files through receive, read, check and load, region by region."""
