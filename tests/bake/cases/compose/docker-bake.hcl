target "api" {
  args = {
    FROM_HCL = "1"
  }
  tags = ["override:1"]
}
