"""The reproducible pipeline's steps, called by the notebooks that DVC runs with Papermill.

export -> validate -> features@target -> tune@target -> train@target -> explain@target
-> report -> gate; see ``dvc.yaml`` and :mod:`cryoprotect.pipeline.layout` for the files.
"""
