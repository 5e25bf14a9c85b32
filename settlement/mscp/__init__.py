"""MSC Points issued by rule from the points budget, spent FIFO, expired as breakage (issue 13)."""
