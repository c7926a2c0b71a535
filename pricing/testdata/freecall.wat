;; A free_call plugin that doubles the configured allowance.
;;   FREE_CALL_USER_ID absent or empty          PASS (the built-in rule)
;;   FREE_CALL_USER_ID "blocked"                DENY 7, "free calls are closed for this user"
;;   FREE_CALLS_USED or _ALLOWED absent          PASS (unlimited: nothing to double)
;;   used < 2*allowed                           allow, 2*allowed-used-1 remaining
;;   otherwise                                  refuse, 0 remaining
(module
  (import "tariff_v1" "input" (func $input (param i32 i32 i32) (result i64)))
  (import "tariff_v1" "input_u64" (func $input_u64 (param i32) (result i64)))
  (import "tariff_v1" "set_free_call" (func $set_free_call (param i32 i64)))
  (import "tariff_v1" "fail" (func $fail (param i32 i32 i32)))
  (memory (export "memory") 1)
  (func (export "tariff_abi_v1"))
  (data (i32.const 0) "{\"name\":\"doubler\",\"version\":\"1.0.0\",\"abi_minor\":0,\"kinds\":[\"free_call\"],\"needs_body\":false}")
  (func (export "tariff_info") (result i64) (i64.const 91)) ;; (0 << 32) | 91
  (data (i32.const 256) "blocked")
  (data (i32.const 272) "free calls are closed for this user")

  (func $eq (param $a i32) (param $b i32) (param $n i32) (result i32)
    (block $no
      (loop $next
        (if (i32.eqz (local.get $n)) (then (return (i32.const 1))))
        (br_if $no (i32.ne (i32.load8_u (local.get $a)) (i32.load8_u (local.get $b))))
        (local.set $a (i32.add (local.get $a) (i32.const 1)))
        (local.set $b (i32.add (local.get $b) (i32.const 1)))
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (br $next)))
    (i32.const 0))

  (func (export "tariff_free_call") (result i32)
    (local $n i64) (local $used i64) (local $limit i64)
    (local.set $n (call $input (i32.const 12) (i32.const 4096) (i32.const 256)))
    (if (i64.le_s (local.get $n) (i64.const 0)) (then (return (i32.const 1))))
    (if (i32.and (i64.eq (local.get $n) (i64.const 7))
                 (call $eq (i32.const 4096) (i32.const 256) (i32.const 7)))
      (then
        (call $fail (i32.const 7) (i32.const 272) (i32.const 35))
        (return (i32.const 2))))
    (local.set $used (call $input_u64 (i32.const 9)))
    (local.set $limit (call $input_u64 (i32.const 10)))
    (if (i32.or (i64.lt_s (local.get $used) (i64.const 0)) (i64.lt_s (local.get $limit) (i64.const 0)))
      (then (return (i32.const 1))))
    (local.set $limit (i64.mul (local.get $limit) (i64.const 2)))
    (if (i64.lt_u (local.get $used) (local.get $limit))
      (then (call $set_free_call (i32.const 1)
              (i64.sub (i64.sub (local.get $limit) (local.get $used)) (i64.const 1))))
      (else (call $set_free_call (i32.const 0) (i64.const 0))))
    (i32.const 0))
)
