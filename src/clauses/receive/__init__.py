"""Receiving files: the landing zone (receipt dates, what is refused unread) and the quarantine
folder (copies of refused and quarantined files, their reports, their retention)."""
