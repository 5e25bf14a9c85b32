"""The daily payout batch (issue 12, item 8; decision 0023): payout obligations, the batch cut at
the WIB cut-off with its money held, the bank transfer file, and the bank's confirmation that
posts or voids each hold."""
