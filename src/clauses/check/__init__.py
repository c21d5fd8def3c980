"""Checking what was read: text to typed values (`values`), typed batches (`normalize`), the
Great Expectations suites (`expectations`), each file's examination (`examine`) and its French
report (`reports`)."""
