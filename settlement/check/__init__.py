"""`msc check`: every invariant the books promise, checked against the database and the rails.

One check, one line: it holds, or it names what differs. The operator runs it, the alert rules
watch it, and the reliability tests use it as their oracle.
"""
