"""Price sources for converting between assets (Pi in Rupiah); real ones come with conversion."""
