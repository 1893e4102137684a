"""Importing the service directory from national files (NHS England ODS, the NHS website
hospital list, Public Health Scotland, ONS postcodes) or from Carestory's own CSV format.

Entry point: ``carestory.services.importers.run.services_import`` (used by
``manage.py import_ods``). docs/data-import.md describes the files and the guarantees.
"""
