"""Training and evaluation of the tagging models: labeled data sets (``datasets``), the shared
features (``features``), the model file format (``modelfile``), ``train`` and ``evaluate``."""
