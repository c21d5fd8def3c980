"""Checking what was read: text to typed values (`values`), typed batches (`normalize`), the
Great Expectations suites (`expectations`), each file's examination (`examine`), a night's small
files read and examined by worker processes (`read_ahead`) and each file's French report
(`reports`)."""
