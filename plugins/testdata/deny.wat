;; A pricing plugin that always denies (status 2). Metadata "x-mode":
;;   absent  fail(5 NOT_FOUND, "plan does not include this method")
;;   "q"     no fail: the host's default, PermissionDenied
;;   "l"     a 2000-byte message: the host cuts it at 1 KiB
;;   "i"     code 99, not a gRPC code: the host uses PermissionDenied
(module
  (import "tariff_v1" "meta" (func $meta (param i32 i32 i32 i32 i32) (result i64)))
  (import "tariff_v1" "fail" (func $fail (param i32 i32 i32)))
  (memory (export "memory") 1)
  (func (export "tariff_abi_v1"))
  (data (i32.const 0) "{\"name\":\"deny\",\"version\":\"1.0.0\",\"abi_minor\":0,\"kinds\":[\"pricing\"],\"needs_body\":false}")
  (func (export "tariff_info") (result i64) (i64.const 86)) ;; (0 << 32) | 86

  (data (i32.const 512) "x-mode")
  (func $mode (result i32)
    (if (i64.lt_s (call $meta (i32.const 512) (i32.const 6) (i32.const 0) (i32.const 600) (i32.const 1)) (i64.const 1))
      (then (return (i32.const 0))))
    (i32.load8_u (i32.const 600)))
  (data (i32.const 256) "plan does not include this method")
  (func (export "tariff_price") (result i32)
    (local $m i32)
    (local.set $m (call $mode))
    (if (i32.eq (local.get $m) (i32.const 113)) (then (return (i32.const 2)))) ;; q
    (if (i32.eq (local.get $m) (i32.const 108)) ;; l
      (then
        (memory.fill (i32.const 8192) (i32.const 120) (i32.const 2000))
        (call $fail (i32.const 5) (i32.const 8192) (i32.const 2000))
        (return (i32.const 2))))
    (if (i32.eq (local.get $m) (i32.const 105)) ;; i
      (then
        (call $fail (i32.const 99) (i32.const 256) (i32.const 33))
        (return (i32.const 2))))
    (call $fail (i32.const 5) (i32.const 256) (i32.const 33))
    (i32.const 2))
)
