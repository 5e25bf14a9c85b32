"""The treasury's bank: payee accounts, the payout transfer file and the bank's confirmation file.

Pure formats (decision 0023): nothing here opens a socket, a database or a clock.
"""
