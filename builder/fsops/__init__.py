"""The filesystem engines the effects use: COPY's copy with ownership, modes and links (`copy`,
`copystream`, `dirtimes`), ADD's archive extraction and downloads (`add`, `remote`), and resolving paths
inside an image root or the build context without leaving it (`rootpath`, `contextpath`).

They know no Buildfile and no cache: they are told where to read, where to write and how, and do it.
"""
