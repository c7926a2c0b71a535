;; A transform plugin that writes what it can read as the new body, so tests
;; can check how the host filled the input. For each field id 1..13 (13 is
;; unknown to ABI v1.0) it writes one record: a tag byte, a little-endian u32
;; length and the bytes:
;;   's' a string field, its bytes      'u' a numeric field, 8 bytes (LE u64)
;;   '-' absent (length 0)              'x' not available to transform (0)
;; then 'b' and the request body. It copies metadata "x-in" (value 0) to
;; "x-out" and sets "x-echoed" to "yes".
(module
  (import "tariff_v1" "input" (func $input (param i32 i32 i32) (result i64)))
  (import "tariff_v1" "input_u64" (func $input_u64 (param i32) (result i64)))
  (import "tariff_v1" "meta" (func $meta (param i32 i32 i32 i32 i32) (result i64)))
  (import "tariff_v1" "body" (func $body (param i32 i32 i32) (result i64)))
  (import "tariff_v1" "body_write" (func $body_write (param i32 i32) (result i32)))
  (import "tariff_v1" "meta_set" (func $meta_set (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 2)
  (func (export "tariff_abi_v1"))
  (data (i32.const 0) "{\"name\":\"echo\",\"version\":\"1.0.0\",\"abi_minor\":0,\"kinds\":[\"transform\"],\"needs_body\":false}")
  (func (export "tariff_info") (result i64) (i64.const 88)) ;; (0 << 32) | 88
  (data (i32.const 256) "x-echoed")
  (data (i32.const 272) "yes")
  (data (i32.const 288) "x-in")
  (data (i32.const 296) "x-out")

  ;; $emit writes the record header at 1024, then len bytes at ptr. A failed
  ;; body_write fails the call whatever it returns, so results are dropped.
  (func $emit (param $tag i32) (param $len i32) (param $ptr i32)
    (i32.store8 (i32.const 1024) (local.get $tag))
    (i32.store (i32.const 1025) (local.get $len))
    (drop (call $body_write (i32.const 1024) (i32.const 5)))
    (drop (call $body_write (local.get $ptr) (local.get $len))))

  (func (export "tariff_transform") (result i32)
    (local $f i32) (local $n i64)
    (local.set $f (i32.const 1))
    (block $done
      (loop $next
        (br_if $done (i32.gt_u (local.get $f) (i32.const 13)))
        (local.set $n (call $input (local.get $f) (i32.const 4096) (i32.const 4096)))
        (if (i64.gt_s (local.get $n) (i64.const 4096)) (then (return (i32.const -1))))
        (if (i64.ge_s (local.get $n) (i64.const 0))
          (then (call $emit (i32.const 115) (i32.wrap_i64 (local.get $n)) (i32.const 4096)))
          (else
            (if (i64.eq (local.get $n) (i64.const -2))
              (then (call $emit (i32.const 120) (i32.const 0) (i32.const 0)))
              (else
                (local.set $n (call $input_u64 (local.get $f)))
                (if (i64.ge_s (local.get $n) (i64.const 0))
                  (then
                    (i64.store (i32.const 4096) (local.get $n))
                    (call $emit (i32.const 117) (i32.const 8) (i32.const 4096)))
                  (else
                    (if (i64.eq (local.get $n) (i64.const -2))
                      (then (call $emit (i32.const 120) (i32.const 0) (i32.const 0)))
                      (else (call $emit (i32.const 45) (i32.const 0) (i32.const 0))))))))))
        (local.set $f (i32.add (local.get $f) (i32.const 1)))
        (br $next)))
    (local.set $n (call $body (i32.const 0) (i32.const 65536) (i32.const 65536)))
    (if (i64.gt_s (local.get $n) (i64.const 65536)) (then (return (i32.const -1))))
    (call $emit (i32.const 98) (i32.wrap_i64 (local.get $n)) (i32.const 65536))
    (local.set $n (call $meta (i32.const 288) (i32.const 4) (i32.const 0) (i32.const 4096) (i32.const 4096)))
    (if (i32.and (i64.ge_s (local.get $n) (i64.const 0)) (i64.le_s (local.get $n) (i64.const 4096)))
      (then (drop (call $meta_set (i32.const 296) (i32.const 5) (i32.const 4096) (i32.wrap_i64 (local.get $n))))))
    (drop (call $meta_set (i32.const 256) (i32.const 8) (i32.const 272) (i32.const 3)))
    (i32.const 0))
)
