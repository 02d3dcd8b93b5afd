"""Attestation documents: in-toto statements (`intoto`), SLSA provenance of a build (`provenance`, from a
`record.BuildRecord`), and an SPDX SBOM of an image's root filesystem (`sbom`, read through `files.ImageFiles`).

These modules make documents only; attaching them to images (attestation manifests, index, outputs) is done
elsewhere. Everything here is pure: no I/O but reading the `ImageFiles` it is given.
"""
