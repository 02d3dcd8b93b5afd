variable "TAG" {
  default = "latest"
}
variable "REGISTRY" {
  default = "example.com"
}
variable "DEBUG" {
  default = false
}
function "tag" {
  params = [name]
  result = ["${REGISTRY}/${name}:${TAG}"]
}
group "default" {
  targets = ["api", "web"]
}
target "_common" {
  context = "."
  args = {
    BASE = "busybox"
    DEBUG = DEBUG ? "1" : "0"
  }
  labels = {
    "org.opencontainers.image.source" = "https://example.com/repo"
  }
  cache-from = ["type=local,src=/tmp/cache"]
}
target "api" {
  inherits = ["_common"]
  dockerfile = "api.Dockerfile"
  tags = tag("api")
  target = "final"
  platforms = ["linux/amd64"]
  secret = ["id=token,env=TOKEN"]
  contexts = {
    shared = "target:base"
  }
}
target "web" {
  inherits = ["_common"]
  dockerfile-inline = <<EOT
FROM busybox
RUN echo "${upper(TAG)}" && echo <done>
EOT
  tags = concat(tag("web"), ["web:${join("-", [for v in ["a", "b"] : lower(v)])}"])
  args = {
    EXTRA = "${strlen(TAG)}"
  }
  no-cache = true
  pull = false
}
target "base" {
  dockerfile = "base.Dockerfile"
}
target "matrix" {
  name = "m-${tgt}-${replace(ver, ".", "_")}"
  matrix = {
    tgt = ["x", "y"]
    ver = ["1.0", "2.0"]
  }
  args = {
    VER = ver
  }
  tags = ["m:${tgt}-${ver}"]
}
