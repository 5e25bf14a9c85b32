"""Lock-and-earn: Pi locked for a term earns MSC Points reserved from the points budget."""
