"""`reifier demo`: the whole descriptive-to-prescriptive cycle in a sandbox."""
