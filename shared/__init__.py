"""AKS kubelet CIS compliance scanner: the application package (pure core, adapters, CLI)."""
