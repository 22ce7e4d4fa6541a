"""ollamon notifier: alerts delivered to people (webhooks, Alertmanager, Slack, ntfy, email)."""
