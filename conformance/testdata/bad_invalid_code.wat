;; Hostile: a function body that does not type-check (tariff_price returns an
;; i64 where its type says i32). The exports look right, so only the
;; compiler finds it: static.valid.
;; wat2wasm: --no-check
(module
  (import "tariff_v1" "input" (func $input (param i32 i32 i32) (result i64)))
  (import "tariff_v1" "set_price" (func $set_price (param i64)))
  (memory (export "memory") 1)
  (func (export "tariff_abi_v1"))
  (data (i32.const 0) "{\"name\":\"bad\",\"version\":\"1.0.0\",\"abi_minor\":0,\"kinds\":[\"pricing\"]}")
  (func (export "tariff_info") (result i64) (i64.const 66)) ;; (0 << 32) | 66
  (func (export "tariff_price") (result i32)
    (i64.const 1))
)
