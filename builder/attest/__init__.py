"""Attestations: SBOM and provenance statements, and how they are attached to images in BuildKit's layout."""
