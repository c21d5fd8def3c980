"""Publishing: the tables of each extract (`tables`), written atomically as files (`files`),
and the visual summary page (`page`)."""
