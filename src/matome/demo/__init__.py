"""The bundled demo corpus: invented reports by invented outlets, and its self-check."""
