"""A seeded fault simulator (issue 15, decision 0036): random histories of the checkout's pure
rules, conversions, MSC withdrawals, locks and treasury proposals on the in-memory ledger and fake
rails, with faults injected at every I/O boundary, the
invariants of ``msc check`` after every step and exactly-once effects at the end. One seed, one
history: a failure replays from ``msc-sim --seed N --steps K``."""
