# A later file: "tiered" replaces the block of plugins.hcl whole (what it
# does not set is the default again, not plugins.hcl's value), and "extra"
# is added after the others.
plugin "tiered" {
  kind    = "pricing"
  path    = "pass.wasm"
  methods = ["/example_service.Calculator/mul"]
  limits {
    memory_mib = 64
    instances  = 8
  }
}

plugin "extra" {
  kind   = "pricing"
  path   = "pass.wasm"
  config = [1, 2.5, true, null]
}
