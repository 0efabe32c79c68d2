"""The web UI: the built single-page app (frontend/ → web/dist/) served at ``/``."""
