"""Incidents (layer 4): one alarm console for every source, and (to come) incidents run by
playbooks. Lower apps never import it; it hears them through the event catalogue."""
