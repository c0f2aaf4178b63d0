"""Behaviour: what each API call does, between the thin API layer and storage."""
