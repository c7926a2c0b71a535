;; Refused: tariff_init fails with a message.
(module
  (import "tariff_v1" "fail" (func $fail (param i32 i32 i32)))
  (memory (export "memory") 1)
  (func (export "tariff_abi_v1"))
  (data (i32.const 0) "{\"name\":\"bad\",\"version\":\"1.0.0\",\"abi_minor\":0,\"kinds\":[\"pricing\"],\"needs_body\":false}")
  (func (export "tariff_info") (result i64) (i64.const 85)) ;; (0 << 32) | 85
  (data (i32.const 512) "config needs a multiplier")
  (func (export "tariff_init") (result i32)
    (call $fail (i32.const 0) (i32.const 512) (i32.const 25))
    (i32.const 3))
  (func (export "tariff_price") (result i32) (i32.const 1))
)
