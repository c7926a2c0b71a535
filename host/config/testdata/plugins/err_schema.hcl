# What the parser refuses: unknown keys, wrong types, a block without its
# name.
plugin "tiered" {
  kind        = "pricing"
  path        = "pass.wasm"
  memory_mib  = 16
  methods     = "/example_service.Calculator/*"
  limits {
    memory_mib = "lots"
    cpu        = 1
  }
}

plugin {
  kind = "pricing"
}
