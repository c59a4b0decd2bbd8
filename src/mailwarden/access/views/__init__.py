"""Console pages of access control, one module per topic. Import the topic module itself:
``from mailwarden.access.views import board``.

Views read models and :mod:`mailwarden.access.queries`, and call :mod:`mailwarden.access.services`
for every change (docs/architecture.md rule 1). Pages are shown to the roles in the services' own
tuples, and the services check again, so a button shown by mistake still changes nothing. A refusal
is shown next to the field it names.
"""
