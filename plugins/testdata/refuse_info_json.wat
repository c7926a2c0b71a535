;; Refused: tariff_info is not JSON.
(module
  (memory (export "memory") 1)
  (func (export "tariff_abi_v1"))
  (data (i32.const 0) "name=bad")
  (func (export "tariff_info") (result i64) (i64.const 8))
  (func (export "tariff_price") (result i32) (i32.const 1))
)
