"""Attestations: in-toto statements (`intoto`), SLSA provenance of a build (`provenance`, from a
`record.BuildRecord`), an SPDX SBOM of an image's root filesystem (`sbom`, read through `files.ImageFiles`),
and how they are attached to images in BuildKit's layout (`manifests`, `outputs`, `localfiles`), asked for
by `request`.

A build uses the documents so::

    record = BuildRecord(...)                                  # what the build resolved and ran
    provenance = provenance_statement(record, ProvenanceOptions(mode="max"))
    sbom = sbom_statement(LayeredFiles(layer_dirs_top_first), name="app:1", created=created)
    subjects = image_subjects(["registry:5000/app:1"], "linux/amd64", manifest_digest)
    layer_bytes = provenance.with_subjects(subjects).to_bytes()   # application/vnd.in-toto+json
    local_file = sbom.with_subjects(directory_subjects(dest)).to_indented_bytes()   # sbom.spdx.json
"""
