;; Hostile: leaks: every 50th call of an instance grows its memory by a
;; page, so memory never stops growing: resources.memory.
(module
  (import "tariff_v1" "input" (func $input (param i32 i32 i32) (result i64)))
  (import "tariff_v1" "set_price" (func $set_price (param i64)))
  (memory (export "memory") 1)
  (global $calls (mut i32) (i32.const 0))
  (func (export "tariff_abi_v1"))
  (data (i32.const 0) "{\"name\":\"bad\",\"version\":\"1.0.0\",\"abi_minor\":0,\"kinds\":[\"pricing\"]}")
  (func (export "tariff_info") (result i64) (i64.const 66)) ;; (0 << 32) | 66
  (func (export "tariff_price") (result i32)
    (local $n i64)
    (global.set $calls (i32.add (global.get $calls) (i32.const 1)))
    (if (i32.eqz (i32.rem_u (global.get $calls) (i32.const 50)))
      (then (drop (memory.grow (i32.const 1)))))
    (local.set $n (call $input (i32.const 1) (i32.const 0) (i32.const 0)))
    (if (i64.lt_s (local.get $n) (i64.const 0)) (then (return (i32.const 1))))
    (call $set_price (local.get $n))
    (i32.const 0))
)
