"""AKS kubelet CIS compliance scanner: the application package (pure core, adapters, CLI)."""

#: The scanner's version: ``--version``, the SARIF driver, the JUnit and HTML reports.
__version__ = "0.16.0"
TOOL_NAME = "aks-kubelet-cis-scanner"
