"""What a campaign found: the store, its directory layout, reports, merging, known issues."""
