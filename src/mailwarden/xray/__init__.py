"""Dual-energy X-ray screening: physics, simulation, rendering and threat analysis.

A pure library (numpy, scipy, xraydb, Pillow; no Django). Its modules:

- ``materials``: attenuation (cm²/g) of mail materials from xraydb, 10-160 keV; effective Z.
- ``spectrum``: tungsten tube spectra (Kramers' law, K lines, filtration).
- ``detector``: the dual-layer detector and its channel weights.
- ``projection``: ``ScanConfig``; polychromatic projection of path lengths; detector readout.
- ``shapes`` and ``objects``: solids, and the things found in parcels (benign and threats).
- ``simulator``: ``Scene`` and ``simulate_parcel``: labelled dual-energy images.
- ``calibration``: the (high attenuation, R) to Zeff lookup; basis-material decomposition.
- ``imaging``: material maps, pseudo-colour, operator views, ``to_png``.
- ``shape_features`` and ``segmentation``: components of binned maps and what is measured on
  them (shape, own Zeff and mass thickness with the background stripped, edge sharpness).
- ``rules``: ``AnalysisParams`` and each threat class's score from its features.
- ``detectors``: metal shapes, organic masses, powder heaps and IED context, as candidates.
- ``scorer``: learned region scorers (gradient-boosted trees, ``data/xray_scorer.json``) that
  score explosive and IED candidates from their measured features.
- ``analysis``: ``analyze`` and ``analyze_colour``, returning ``Region`` objects; ``report``.
- ``evaluate``: detection probability, false alarms and ROC AUC on simulated parcels.
"""
