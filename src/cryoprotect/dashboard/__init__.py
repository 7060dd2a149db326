"""Review dashboards served by Voila: model quality, errors, uncertainty, predictions, health."""
