"""Checkout: a sale priced in IDR, paid by legs, held in escrow until hand-over."""
