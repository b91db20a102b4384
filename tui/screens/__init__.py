"""The app's screens: overview, instances, instance detail, model, help, notices."""
