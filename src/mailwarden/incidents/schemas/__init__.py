"""One module per topic. Import the topic module itself:
``from mailwarden.incidents.services import alarms``."""
