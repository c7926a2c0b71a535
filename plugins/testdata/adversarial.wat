;; A plugin that misbehaves on request, to test the host's defences.
;; Kinds pricing and transform. Metadata "x-mode" picks the behaviour of
;; tariff_price; without it the plugin prices every call at 1.
;;   "l" loops forever             "g" grows memory until refused, then traps
;;   "r" recurses without end      "u" executes unreachable
;;   "p" passes a bad pointer      "n" passes a bad length
;;   "f" floods the log            "e" returns -5 (ERROR)
;;   "m" returns OK without a price "x" returns 7, an unknown status
;; tariff_transform: "b" writes 64 KiB chunks until body_write returns -1,
;; then returns OK; otherwise it forwards unchanged.
(module
  (import "tariff_v1" "input" (func $input (param i32 i32 i32) (result i64)))
  (import "tariff_v1" "meta" (func $meta (param i32 i32 i32 i32 i32) (result i64)))
  (import "tariff_v1" "set_price" (func $set_price (param i64)))
  (import "tariff_v1" "body_write" (func $body_write (param i32 i32) (result i32)))
  (import "tariff_v1" "log" (func $log (param i32 i32 i32)))
  (memory (export "memory") 2)
  (func (export "tariff_abi_v1"))
  (data (i32.const 0) "{\"name\":\"adversarial\",\"version\":\"1.0.0\",\"abi_minor\":0,\"kinds\":[\"pricing\",\"transform\"],\"needs_body\":false}")
  (func (export "tariff_info") (result i64) (i64.const 105)) ;; (0 << 32) | 105

  (data (i32.const 512) "x-mode")
  (func $mode (result i32)
    (if (i64.lt_s (call $meta (i32.const 512) (i32.const 6) (i32.const 0) (i32.const 600) (i32.const 1)) (i64.const 1))
      (then (return (i32.const 0))))
    (i32.load8_u (i32.const 600)))
  (data (i32.const 256) "flood")
  (func $recurse (param $n i64) (result i64)
    (i64.add (call $recurse (i64.add (local.get $n) (i64.const 1))) (i64.const 1)))
  (func (export "tariff_price") (result i32)
    (local $m i32) (local $i i32)
    (local.set $m (call $mode))
    (if (i32.eq (local.get $m) (i32.const 108)) (then (loop $forever (br $forever)))) ;; l
    (if (i32.eq (local.get $m) (i32.const 103)) ;; g
      (then
        (loop $grow
          (br_if $grow (i32.ne (memory.grow (i32.const 1)) (i32.const -1))))
        (unreachable)))
    (if (i32.eq (local.get $m) (i32.const 114)) ;; r
      (then (drop (call $recurse (i64.const 0)))))
    (if (i32.eq (local.get $m) (i32.const 117)) (then (unreachable))) ;; u
    (if (i32.eq (local.get $m) (i32.const 112)) ;; p
      (then (drop (call $input (i32.const 1) (i32.const 0xfffff000) (i32.const 64)))))
    (if (i32.eq (local.get $m) (i32.const 110)) ;; n
      (then (call $log (i32.const 1) (i32.const 256) (i32.const -1))))
    (if (i32.eq (local.get $m) (i32.const 102)) ;; f
      (then
        (loop $more
          (call $log (i32.const 1) (i32.const 256) (i32.const 5))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br_if $more (i32.lt_u (local.get $i) (i32.const 1000))))))
    (if (i32.eq (local.get $m) (i32.const 101)) (then (return (i32.const -5)))) ;; e
    (if (i32.eq (local.get $m) (i32.const 109)) (then (return (i32.const 0)))) ;; m
    (if (i32.eq (local.get $m) (i32.const 120)) (then (return (i32.const 7)))) ;; x
    (call $set_price (i64.const 1))
    (i32.const 0))
  (func (export "tariff_transform") (result i32)
    (if (i32.eq (call $mode) (i32.const 98)) ;; b
      (then
        (loop $more
          (br_if $more (i32.eqz (call $body_write (i32.const 0) (i32.const 65536)))))))
    (i32.const 0))
)
