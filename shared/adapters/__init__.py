"""Adapters: the Azure, Kubernetes and sink edges. Only here do SDK types appear."""
