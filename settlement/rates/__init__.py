"""The Pi rate and quotes: stored readings of the sources, their median, rate quotes and SEP-38
firm quotes (decision 0022)."""
