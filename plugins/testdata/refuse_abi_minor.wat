;; Refused: abi_minor 7, newer than the host knows.
(module
  (memory (export "memory") 1)
  (func (export "tariff_abi_v1"))
  (data (i32.const 0) "{\"name\":\"future\",\"version\":\"1.0.0\",\"abi_minor\":7,\"kinds\":[\"pricing\"],\"needs_body\":false}")
  (func (export "tariff_info") (result i64) (i64.const 88)) ;; (0 << 32) | 88
  (func (export "tariff_price") (result i32) (i32.const 1))
)
