TAG = "overridden"
target "default" {
  args = {
    B = "3"
    C = "${TAG}"
  }
  annotations = ["manifest:org.opencontainers.image.vendor=acme"]
  labels = {
    from = "override"
  }
}
