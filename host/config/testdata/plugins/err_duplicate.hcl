# Two blocks with one name in one file: a mistake (across files, the later
# block replaces the earlier one).
plugin "tiered" {
  kind = "pricing"
  path = "pass.wasm"
}

plugin "daily" {
  kind = "free_call"
  path = "pass.wasm"
}

plugin "tiered" {
  kind = "free_call"
  path = "pass.wasm"
}
