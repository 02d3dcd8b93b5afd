"""OCI images: media types, config/manifest/index documents, images in the store, import and export.

The pieces other packages use:

* `builder.oci.image`: `Image`, `load_image(store, name)`, `resolve`, `commit_image`, `layer_descriptors`;
* `builder.oci.config`: `Platform`, `new_config`, `with_container_config`, `add_layer`, `add_empty_history`;
* `builder.oci.media`: media type constants and `layer_media_type(compression)`;
* `builder.oci.export`: `write_oci`, `write_docker_archive`; `builder.oci.load`: `load_archive`;
* `builder.oci.importer`: `import_rootfs`.

Importing this package imports none of them.
"""
