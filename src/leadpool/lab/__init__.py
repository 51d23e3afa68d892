"""Strategy lab (product rules, Choosing a method): simulate distribution strategies with the real
engine on a virtual clock."""
