"""Pi to MSC conversions (issue 12, item 3; decision 0027): a Pioneer's firm quote, a Pi payment
expected for it, and on the verified receipt either MSC credited through the treasury's exchange
accounts or the Pi refunded by A2U, once."""
