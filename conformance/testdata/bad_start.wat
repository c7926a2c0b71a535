;; Hostile: a command module, with _start: static.start.
(module
  (import "tariff_v1" "input" (func $input (param i32 i32 i32) (result i64)))
  (import "tariff_v1" "set_price" (func $set_price (param i64)))
  (memory (export "memory") 1)
  (func (export "_start"))
  (func (export "tariff_abi_v1"))
  (data (i32.const 0) "{\"name\":\"bad\",\"version\":\"1.0.0\",\"abi_minor\":0,\"kinds\":[\"pricing\"]}")
  (func (export "tariff_info") (result i64) (i64.const 66)) ;; (0 << 32) | 66
  ;; The price is the length of METHOD, asked with an empty buffer; PASS without one.
  (func (export "tariff_price") (result i32)
    (local $n i64)
    (local.set $n (call $input (i32.const 1) (i32.const 0) (i32.const 0)))
    (if (i64.lt_s (local.get $n) (i64.const 0)) (then (return (i32.const 1))))
    (call $set_price (local.get $n))
    (i32.const 0))
)
