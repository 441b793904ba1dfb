"""The incident: clustering posts into incidents (``clustering``), the incidents stage (``stage``), its
clustering state (``state``), the incident tables (``models``) and the reads the API and console use
(``read``, ``effect_review``)."""
