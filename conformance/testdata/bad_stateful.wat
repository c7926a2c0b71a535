;; Hostile: the price is the number of calls this instance has served, so
;; the same request costs more each time: determinism.instances.
(module
  (import "tariff_v1" "input" (func $input (param i32 i32 i32) (result i64)))
  (import "tariff_v1" "set_price" (func $set_price (param i64)))
  (memory (export "memory") 1)
  (global $calls (mut i64) (i64.const 0))
  (func (export "tariff_abi_v1"))
  (data (i32.const 0) "{\"name\":\"bad\",\"version\":\"1.0.0\",\"abi_minor\":0,\"kinds\":[\"pricing\"]}")
  (func (export "tariff_info") (result i64) (i64.const 66)) ;; (0 << 32) | 66
  (func (export "tariff_price") (result i32)
    (global.set $calls (i64.add (global.get $calls) (i64.const 1)))
    (call $set_price (global.get $calls))
    (i32.const 0))
)
