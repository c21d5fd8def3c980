"""Loading: `ingest` runs a night's files through receive, read and check, all regions together;
`commit` writes each examined file whole or not at all, with its registry entry (`registry`),
staging rows and lineage (`writes`); `outcomes` keeps each region's account."""
