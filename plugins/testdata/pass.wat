;; A pricing plugin that always declines: status 1, PASS.
(module
  (memory (export "memory") 1)
  (func (export "tariff_abi_v1"))
  (data (i32.const 0) "{\"name\":\"pass\",\"version\":\"1.0.0\",\"abi_minor\":0,\"kinds\":[\"pricing\"],\"needs_body\":false}")
  (func (export "tariff_info") (result i64) (i64.const 86)) ;; (0 << 32) | 86
  (func (export "tariff_price") (result i32) (i32.const 1))
)
