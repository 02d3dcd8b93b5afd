variable "TAG" {
  default = "base"
}
target "default" {
  context = "."
  tags = ["one:${TAG}"]
  args = {
    A = "1"
    B = "2"
  }
  annotations = ["index:org.opencontainers.image.title=one"]
}
