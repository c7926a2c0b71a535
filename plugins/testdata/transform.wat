;; A transform plugin. It reads the body in 3-byte chunks, upper-cases ASCII
;; letters and writes the result as the new body; it sets metadata
;; "x-transformed" twice ("yes", then "again") and checks that the host
;; refuses "snet-payment-type" and ":authority" (status -1 if not). It returns
;; -3 if the bytes read do not add up to BODY_LEN.
(module
  (import "tariff_v1" "input_u64" (func $input_u64 (param i32) (result i64)))
  (import "tariff_v1" "body" (func $body (param i32 i32 i32) (result i64)))
  (import "tariff_v1" "body_write" (func $body_write (param i32 i32) (result i32)))
  (import "tariff_v1" "meta_set" (func $meta_set (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 2)
  (func (export "tariff_abi_v1"))
  (data (i32.const 0) "{\"name\":\"upper\",\"version\":\"1.0.0\",\"abi_minor\":0,\"kinds\":[\"transform\"],\"needs_body\":false}")
  (func (export "tariff_info") (result i64) (i64.const 89)) ;; (0 << 32) | 89
  (data (i32.const 256) "x-transformed")
  (data (i32.const 272) "yes")
  (data (i32.const 280) "again")
  (data (i32.const 288) "snet-payment-type")
  (data (i32.const 320) ":authority")
  (func (export "tariff_transform") (result i32)
    (local $off i32) (local $rest i64) (local $n i32) (local $i i32) (local $c i32)
    (block $done
      (loop $chunk
        (local.set $rest (call $body (local.get $off) (i32.const 4096) (i32.const 3)))
        (br_if $done (i64.le_s (local.get $rest) (i64.const 0)))
        (local.set $n (i32.wrap_i64 (local.get $rest)))
        (if (i32.gt_u (local.get $n) (i32.const 3)) (then (local.set $n (i32.const 3))))
        (local.set $i (i32.const 0))
        (loop $byte
          (local.set $c (i32.load8_u (i32.add (i32.const 4096) (local.get $i))))
          (if (i32.and (i32.ge_u (local.get $c) (i32.const 97)) (i32.le_u (local.get $c) (i32.const 122)))
            (then (local.set $c (i32.sub (local.get $c) (i32.const 32)))))
          (i32.store8 (i32.add (i32.const 8192) (i32.add (local.get $off) (local.get $i))) (local.get $c))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br_if $byte (i32.lt_u (local.get $i) (local.get $n))))
        (local.set $off (i32.add (local.get $off) (local.get $n)))
        (br $chunk)))
    (if (i64.ne (call $input_u64 (i32.const 8)) (i64.extend_i32_u (local.get $off)))
      (then (return (i32.const -3))))
    (if (call $body_write (i32.const 8192) (local.get $off)) (then (return (i32.const -4))))
    (drop (call $meta_set (i32.const 256) (i32.const 13) (i32.const 272) (i32.const 3)))
    (drop (call $meta_set (i32.const 256) (i32.const 13) (i32.const 280) (i32.const 5)))
    (if (i32.ne (call $meta_set (i32.const 288) (i32.const 17) (i32.const 272) (i32.const 3)) (i32.const -1))
      (then (return (i32.const -1))))
    (if (i32.ne (call $meta_set (i32.const 320) (i32.const 10) (i32.const 272) (i32.const 3)) (i32.const -1))
      (then (return (i32.const -1))))
    (i32.const 0))
)
