"""Models of Tg, IRI and viability: estimators, validation, uncertainty, domain and registry.

Pure: arrays and data frames in and out, no database, web or CLI.
"""
