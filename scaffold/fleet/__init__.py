"""Many generated packages: lifecycle (update, drift), fleet roll-out, trust, keep-on-removal."""
