;; Refused: imports its memory instead of defining it.
(module
  (import "env" "memory" (memory 1))
  (func (export "tariff_abi_v1"))
  (func (export "tariff_info") (result i64) (i64.const 0))
  (func (export "tariff_price") (result i32) (i32.const 1))
)
