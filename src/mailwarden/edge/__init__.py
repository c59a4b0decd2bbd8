"""Access-control edge library: OSDP readers, Wiegand, local decisions, doors and a durable outbox.

Pure library (docs/architecture.md rule 4): no Django and no mailwarden apps. Modules:

``wiegand``          card formats with parity checks, OSDP card-read payloads
``channels``         non-blocking byte channels for OSDP: socket, TCP, serial (pyserial)
``osdp``             the OSDP control panel: Secure Channel readers, provisioning, feedback
``simulated_reader`` a libosdp peripheral device that plays a card reader
``reader_events``    what the panel reports: card reads, keys, tamper, power, online state
``rules``            the signed rule snapshot and delta models
``signing``          the signed-document envelope (HMAC-SHA256 over canonical JSON)
``decisions``        the decision engine
``doors``            the door state machine and its I/O backend protocol
``keypad``           PIN entry from keypad presses
``outbox``           the durable SQLite outbox
``edge_events``      the outbox event payloads
``controller``       glue: reader events to decisions, doors, feedback and outbox
``clock``            clocks and the clock-skew check
"""
