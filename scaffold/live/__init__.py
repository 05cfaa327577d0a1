"""`scaffold try`: the generated service against a real Prometheus and Alertmanager."""
