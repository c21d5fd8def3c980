"""The sample national dataset: a world of structures and conventions, a year of activity,
written as the files real tools export (styles, formats, defects)."""
