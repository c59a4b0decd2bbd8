"""Backup and restore: one archive holding a consistent snapshot of the installation.

``archive`` is the file format and its manifest, ``database`` snapshots and loads the database,
``secrets`` encrypts the configuration's secrets, ``targets`` is where archives are kept (a folder
or S3-compatible storage), ``create`` writes a backup, ``restore`` reads one back, and
``schedule`` is the daily job with its keep rules (docs/backup.md).
"""
