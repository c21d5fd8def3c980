"""Checking what was read: typed values (`normalize`), the Great Expectations suites
(`expectations`), each file's examination (`examine`) and its French report (`reports`)."""
