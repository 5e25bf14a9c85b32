"""MSC against Rupiah: bank deposits, issuance, redemption, and the reserve coverage behind them."""
