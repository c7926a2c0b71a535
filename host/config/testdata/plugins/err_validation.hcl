# Every check of a plugin block that a parser cannot make.
plugin "missing-file" {
  kind = "pricing"
  path = "no-such.wasm"
}

plugin "wrong-hash" {
  kind   = "pricing"
  path   = "pass.wasm"
  sha256 = "0000000000000000000000000000000000000000000000000000000000000000"
}

plugin "bad-hash" {
  kind   = "pricing"
  path   = "pass.wasm"
  sha256 = "sha256:fdebfd3d"
}

plugin "bad-patterns" {
  kind    = "pricing"
  path    = "pass.wasm"
  methods = ["/example_service.Calculator/[add", "example_service.Calculator/*", "/a/b/c", "/*"]
}

plugin "no-methods" {
  kind    = "free_call"
  path    = "pass.wasm"
  methods = []
}

plugin "over-limits" {
  kind = "pricing"
  path = "pass.wasm"
  limits {
    memory_mib = 2048
    timeout    = "2s"
    instances  = 0
  }
}

plugin "slow-transform" {
  kind = "transform"
  path = "pass.wasm"
  limits {
    timeout = "6s"
  }
}

plugin "bad-timeout" {
  kind = "transform"
  path = "pass.wasm"
  limits {
    timeout = "soon"
  }
}

plugin "zero-timeout" {
  kind = "free_call"
  path = "pass.wasm"
  limits {
    timeout = "0s"
  }
}

plugin "bad-kind" {
  kind     = "pricer"
  path     = "pass.wasm"
  on_error = "ignore"
}

plugin "bad name!" {
}

plugin "directory" {
  kind = "pricing"
  path = "."
}
