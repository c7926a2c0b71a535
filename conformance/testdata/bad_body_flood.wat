;; Hostile: a transform that writes 64 KiB chunks of body until body_write
;; refuses (-1), then returns OK anyway: resources.output.
(module
  (import "tariff_v1" "body_write" (func $body_write (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "tariff_abi_v1"))
  (data (i32.const 0) "{\"name\":\"bad-flood\",\"version\":\"1.0.0\",\"abi_minor\":0,\"kinds\":[\"transform\"]}")
  (func (export "tariff_info") (result i64) (i64.const 74)) ;; (0 << 32) | 74
  (func (export "tariff_transform") (result i32)
    (loop $more
      (br_if $more (i32.eqz (call $body_write (i32.const 0) (i32.const 65536)))))
    (i32.const 0))
)
