;; A plugin of every kind that always declines (status 1, PASS), for the
;; configuration tests. pass.wasm is built from it: wat2wasm pass.wat
(module
  (memory (export "memory") 1)
  (func (export "tariff_abi_v1"))
  (data (i32.const 0) "{\"name\":\"pass\",\"version\":\"1.0.0\",\"abi_minor\":0,\"kinds\":[\"pricing\",\"free_call\",\"transform\"],\"needs_body\":false}")
  (func (export "tariff_info") (result i64) (i64.const 110)) ;; (0 << 32) | 110
  (func (export "tariff_price") (result i32) (i32.const 1))
  (func (export "tariff_free_call") (result i32) (i32.const 1))
  (func (export "tariff_transform") (result i32) (i32.const 1))
)
