"""Performance tiers that follow performance: periodic reviews, previews, pins."""
