;; wat2wasm: --enable-threads
;; Refused: shared memory (threads).
(module
  (memory (export "memory") 1 1 shared)
  (func (export "tariff_abi_v1"))
  (data (i32.const 0) "{\"name\":\"bad\",\"version\":\"1.0.0\",\"abi_minor\":0,\"kinds\":[\"pricing\"],\"needs_body\":false}")
  (func (export "tariff_info") (result i64) (i64.const 85)) ;; (0 << 32) | 85
  (func (export "tariff_price") (result i32) (i32.const 1))
)
