variable "VERSION" {
  default = "1.4"
}
target "base" {
  dockerfile = "base.Dockerfile"
  args = {
    VERSION = VERSION
    MAJOR   = split(".", VERSION)[0]
  }
  tags = ["base:${VERSION}"]
}
target "app" {
  args = {
    FROM_BASE = target.base.args.VERSION
    COUNT     = length(target.base.tags)
  }
  tags = [for t in target.base.tags : replace(t, "base", "app")]
  labels = {
    "org.opencontainers.image.version" = format("%s.%d", VERSION, 7)
    "built-for" = join(",", sort(["b", "a"]))
  }
}
group "default" {
  targets = ["app", "base"]
}
target "directives" {
  tags = ["d:%{ if VERSION == "1.4" }old%{ else }new%{ endif }", "l:%{ for v in ["a", "b"] ~} ${v} %{~ endfor }"]
}
