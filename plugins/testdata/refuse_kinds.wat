;; Refused: declares kind transform but exports no tariff_transform.
(module
  (memory (export "memory") 1)
  (func (export "tariff_abi_v1"))
  (data (i32.const 0) "{\"name\":\"bad\",\"version\":\"1.0.0\",\"abi_minor\":0,\"kinds\":[\"pricing\",\"transform\"],\"needs_body\":false}")
  (func (export "tariff_info") (result i64) (i64.const 97)) ;; (0 << 32) | 97
  (func (export "tariff_price") (result i32) (i32.const 1))
)
