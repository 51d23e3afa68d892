"""Strategy lab (§14): simulate distribution strategies with the real engine on a virtual clock."""
