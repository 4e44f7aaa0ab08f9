"""The example studio's Django project: settings and URLs."""
