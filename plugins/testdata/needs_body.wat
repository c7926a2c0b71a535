;; A pricing plugin that declares needs_body: the price is the number of
;; body bytes body(0, ...) reports.
(module
  (import "tariff_v1" "body" (func $body (param i32 i32 i32) (result i64)))
  (import "tariff_v1" "set_price" (func $set_price (param i64)))
  (memory (export "memory") 1)
  (func (export "tariff_abi_v1"))
  (data (i32.const 0) "{\"name\":\"sized\",\"version\":\"0.1.0\",\"abi_minor\":0,\"kinds\":[\"pricing\"],\"needs_body\":true}")
  (func (export "tariff_info") (result i64) (i64.const 86)) ;; (0 << 32) | 86
  (func (export "tariff_price") (result i32)
    (call $set_price (call $body (i32.const 0) (i32.const 4096) (i32.const 0)))
    (i32.const 0))
)
