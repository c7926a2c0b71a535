;; Hostile: gets the buffer-too-small retry path wrong. It reads METHOD into
;; 16 bytes at 60000, and when the method is longer asks again with the full
;; length at the same place, past the end of its 64 KiB memory for methods
;; over 5536 bytes: the host refuses the pointer (adversarial).
(module
  (import "tariff_v1" "input" (func $input (param i32 i32 i32) (result i64)))
  (import "tariff_v1" "set_price" (func $set_price (param i64)))
  (memory (export "memory") 1)
  (func (export "tariff_abi_v1"))
  (data (i32.const 0) "{\"name\":\"bad\",\"version\":\"1.0.0\",\"abi_minor\":0,\"kinds\":[\"pricing\"]}")
  (func (export "tariff_info") (result i64) (i64.const 66)) ;; (0 << 32) | 66
  (func (export "tariff_price") (result i32)
    (local $n i64)
    (local.set $n (call $input (i32.const 1) (i32.const 60000) (i32.const 16)))
    (if (i64.lt_s (local.get $n) (i64.const 0)) (then (return (i32.const 1))))
    (if (i64.gt_s (local.get $n) (i64.const 16))
      (then (local.set $n (call $input (i32.const 1) (i32.const 60000) (i32.wrap_i64 (local.get $n))))))
    (call $set_price (local.get $n))
    (i32.const 0))
)
