# Only plugin blocks: loaded after an unchanged snetd.config.json
# (--config snetd.config.json --config plugins.hcl). Paths are relative to
# this file's directory.
plugin "tiered" {
  kind     = "pricing"
  path     = "pass.wasm"
  sha256   = "FDEBFD3DA0F0EAF6BBE2EE185CBBF669AB29E8257571CA27E0B511AEF4A9C9BB"
  methods  = ["/example_service.Calculator/*", "/example_service.Admin/[gs]et?"]
  on_error = "deny"

  limits {
    memory_mib = 16
    timeout    = "20ms"
    instances  = 4
  }

  config = {
    multiplier = 2
    tiers      = [{ over_bytes = 1024, price = 25 }]
    header     = "x-priority"
  }
}

# The same module may serve several kinds, one block each; defaults for the
# rest.
plugin "daily" {
  kind     = "free_call"
  path     = "./pass.wasm"
  on_error = "fallback"
}

plugin "tier-header" {
  kind    = "transform"
  path    = "pass.wasm"
  methods = ["/example_service.Calculator/add"]
  limits {
    timeout = "2s"
  }
  config = "plain string"
}
