"""The risk app (top layer): assessments, scoring, the risk register and its treatments,
automatic vulnerability findings and live evidence for controls (docs/risk.md)."""
