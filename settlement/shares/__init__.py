"""Revenue shares: allotments (the rounding rule), share rules as data, cashback."""
