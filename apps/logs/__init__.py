"""Log lines of apps and of the platform: parsing, merging, formatting and safe rendering.

Pure Python over the standard library: no models, no database, no network."""
