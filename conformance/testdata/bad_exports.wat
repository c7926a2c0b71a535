;; Hostile: tariff_price has the wrong type, () -> i64: static.exports.
(module
  (import "tariff_v1" "input" (func $input (param i32 i32 i32) (result i64)))
  (import "tariff_v1" "set_price" (func $set_price (param i64)))
  (memory (export "memory") 1)
  (func (export "tariff_abi_v1"))
  (data (i32.const 0) "{\"name\":\"bad\",\"version\":\"1.0.0\",\"abi_minor\":0,\"kinds\":[\"pricing\"]}")
  (func (export "tariff_info") (result i64) (i64.const 66)) ;; (0 << 32) | 66
  (func (export "tariff_price") (result i64)
    (i64.const 1))
)
