;; Hostile: a WASI reactor whose price is a byte of random_get. tariffd's
;; stream is fixed and restarts at every call, so the price never changes
;; there, but it would on a host with other bytes: determinism.environment.
(module
  (import "tariff_v1" "input" (func $input (param i32 i32 i32) (result i64)))
  (import "tariff_v1" "set_price" (func $set_price (param i64)))
  (import "wasi_snapshot_preview1" "random_get" (func $random_get (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "_initialize"))
  (func (export "tariff_abi_v1"))
  (data (i32.const 0) "{\"name\":\"bad\",\"version\":\"1.0.0\",\"abi_minor\":0,\"kinds\":[\"pricing\"]}")
  (func (export "tariff_info") (result i64) (i64.const 66)) ;; (0 << 32) | 66
  (func (export "tariff_price") (result i32)
    (drop (call $random_get (i32.const 1024) (i32.const 1)))
    (call $set_price (i64.add (i64.load8_u (i32.const 1024)) (i64.const 1)))
    (i32.const 0))
)
