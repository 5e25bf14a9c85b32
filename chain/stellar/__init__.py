"""Stellar-family testnets: audit digest anchoring."""
