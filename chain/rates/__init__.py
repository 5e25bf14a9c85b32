"""Price sources for converting between assets (Pi in Rupiah): HTTP JSON sources and the sandbox."""
