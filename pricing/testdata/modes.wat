;; Every kind, behaviour chosen by the first byte of metadata "x-mode":
;;   absent, "p"  PASS
;;   "o"          OK: pricing price 77, free_call allow with 5 remaining,
;;                transform nothing changed
;;   "d"          DENY with fail(9 FAILED_PRECONDITION, "quota exhausted")
;;   "s"          DENY without fail (the host's default code, no message)
;;   "t"          trap (unreachable)
;;   "l"          loop forever (the host's timeout ends it)
;;   "n"          status -7
;;   "m"          OK without outputs (pricing, free_call: missing output)
(module
  (import "tariff_v1" "meta" (func $meta (param i32 i32 i32 i32 i32) (result i64)))
  (import "tariff_v1" "fail" (func $fail (param i32 i32 i32)))
  (import "tariff_v1" "set_price" (func $set_price (param i64)))
  (import "tariff_v1" "set_free_call" (func $set_free_call (param i32 i64)))
  (memory (export "memory") 1)
  (func (export "tariff_abi_v1"))
  (data (i32.const 0) "{\"name\":\"modes\",\"version\":\"1.0.0\",\"abi_minor\":0,\"kinds\":[\"pricing\",\"free_call\",\"transform\"],\"needs_body\":false}")
  (func (export "tariff_info") (result i64) (i64.const 111)) ;; (0 << 32) | 111
  (data (i32.const 256) "quota exhausted")
  (data (i32.const 512) "x-mode")

  (func $mode (result i32)
    (if (i64.lt_s (call $meta (i32.const 512) (i32.const 6) (i32.const 0) (i32.const 600) (i32.const 1)) (i64.const 1))
      (then (return (i32.const 112)))) ;; p
    (i32.load8_u (i32.const 600)))

  (func $run (param $kind i32) (result i32)
    (local $m i32)
    (local.set $m (call $mode))
    (if (i32.eq (local.get $m) (i32.const 100)) ;; d
      (then
        (call $fail (i32.const 9) (i32.const 256) (i32.const 15))
        (return (i32.const 2))))
    (if (i32.eq (local.get $m) (i32.const 115)) (then (return (i32.const 2)))) ;; s
    (if (i32.eq (local.get $m) (i32.const 116)) (then (unreachable))) ;; t
    (if (i32.eq (local.get $m) (i32.const 108)) (then (loop $forever (br $forever)))) ;; l
    (if (i32.eq (local.get $m) (i32.const 110)) (then (return (i32.const -7)))) ;; n
    (if (i32.eq (local.get $m) (i32.const 109)) (then (return (i32.const 0)))) ;; m
    (if (i32.eq (local.get $m) (i32.const 111)) ;; o
      (then
        (if (i32.eq (local.get $kind) (i32.const 1)) (then (call $set_price (i64.const 77))))
        (if (i32.eq (local.get $kind) (i32.const 2)) (then (call $set_free_call (i32.const 1) (i64.const 5))))
        (return (i32.const 0))))
    (i32.const 1))

  (func (export "tariff_price") (result i32) (call $run (i32.const 1)))
  (func (export "tariff_free_call") (result i32) (call $run (i32.const 2)))
  (func (export "tariff_transform") (result i32) (call $run (i32.const 3)))
)
