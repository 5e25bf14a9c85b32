"""Adapters to every network: Pi/Stellar, EVM, QRIS, bank."""
