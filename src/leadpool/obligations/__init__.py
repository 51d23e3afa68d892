"""What reps owe over time (anti-cherry-picking): measured, shown as it builds up, enforced, named."""
