;; A reactor importing WASI, as Go, TinyGo and wasi-libc modules do.
;; _initialize writes "started" to stdout. tariff_price, by metadata "x-mode":
;;   absent  the first 8 bytes of random_get as the price (a fixed stream)
;;   "c"     monotonic clock (must be a non-zero constant)
;;   "t"     realtime clock
;;   "a"     args_sizes_get: argc * 1000 + buffer size, then environ the same
;;   "d"     fd_prestat_get(3) errno (EBADF: no preopens)
;;   "y"     sched_yield, then a 1 s poll_oneoff sleep: nevents * 100 + errno
;;   "o"     writes "hello\nwor" then "ld\n" to stdout and "oops" to stderr
;;   "e"     proc_exit(3)
(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "clock_time_get" (func $clock_time_get (param i32 i64 i32) (result i32)))
  (import "wasi_snapshot_preview1" "random_get" (func $random_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "args_sizes_get" (func $args_sizes_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "environ_sizes_get" (func $environ_sizes_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_prestat_get" (func $fd_prestat_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "sched_yield" (func $sched_yield (result i32)))
  (import "wasi_snapshot_preview1" "poll_oneoff" (func $poll_oneoff (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (import "tariff_v1" "meta" (func $meta (param i32 i32 i32 i32 i32) (result i64)))
  (import "tariff_v1" "set_price" (func $set_price (param i64)))
  (memory (export "memory") 1)
  (func (export "tariff_abi_v1"))
  (data (i32.const 0) "{\"name\":\"wasi\",\"version\":\"1.0.0\",\"abi_minor\":0,\"kinds\":[\"pricing\"],\"needs_body\":false}")
  (func (export "tariff_info") (result i64) (i64.const 86)) ;; (0 << 32) | 86

  (data (i32.const 512) "x-mode")
  (func $mode (result i32)
    (if (i64.lt_s (call $meta (i32.const 512) (i32.const 6) (i32.const 0) (i32.const 600) (i32.const 1)) (i64.const 1))
      (then (return (i32.const 0))))
    (i32.load8_u (i32.const 600)))
  (data (i32.const 256) "started\n")
  (data (i32.const 272) "hello\nwor")
  (data (i32.const 288) "ld\n")
  (data (i32.const 296) "oops")
  ;; $out writes n bytes at p to fd.
  (func $out (param $fd i32) (param $p i32) (param $n i32)
    (i32.store (i32.const 1024) (local.get $p))
    (i32.store (i32.const 1028) (local.get $n))
    (drop (call $fd_write (local.get $fd) (i32.const 1024) (i32.const 1) (i32.const 1040))))
  (func (export "_initialize")
    (call $out (i32.const 1) (i32.const 256) (i32.const 8)))
  (func (export "tariff_price") (result i32)
    (local $m i32)
    (local.set $m (call $mode))
    (if (i32.eq (local.get $m) (i32.const 99)) ;; c
      (then
        (drop (call $clock_time_get (i32.const 1) (i64.const 1) (i32.const 2048)))
        (call $set_price (i64.load (i32.const 2048)))
        (return (i32.const 0))))
    (if (i32.eq (local.get $m) (i32.const 116)) ;; t
      (then
        (drop (call $clock_time_get (i32.const 0) (i64.const 1) (i32.const 2048)))
        (call $set_price (i64.load (i32.const 2048)))
        (return (i32.const 0))))
    (if (i32.eq (local.get $m) (i32.const 97)) ;; a
      (then
        (i32.store (i32.const 2048) (i32.const 77))
        (i32.store (i32.const 2052) (i32.const 77))
        (drop (call $args_sizes_get (i32.const 2048) (i32.const 2052)))
        (drop (call $environ_sizes_get (i32.const 2056) (i32.const 2060)))
        (call $set_price (i64.extend_i32_u (i32.add
          (i32.add (i32.mul (i32.load (i32.const 2048)) (i32.const 1000)) (i32.load (i32.const 2052)))
          (i32.add (i32.mul (i32.load (i32.const 2056)) (i32.const 1000)) (i32.load (i32.const 2060))))))
        (return (i32.const 0))))
    (if (i32.eq (local.get $m) (i32.const 100)) ;; d
      (then
        (call $set_price (i64.extend_i32_u (call $fd_prestat_get (i32.const 3) (i32.const 2048))))
        (return (i32.const 0))))
    (if (i32.eq (local.get $m) (i32.const 121)) ;; y
      (then
        (drop (call $sched_yield))
        ;; one clock subscription at 3072: userdata 42, tag 0 (clock), id 1, timeout 1 s
        (memory.fill (i32.const 3072) (i32.const 0) (i32.const 48))
        (i64.store (i32.const 3072) (i64.const 42))
        (i32.store (i32.const 3088) (i32.const 1))
        (i64.store (i32.const 3096) (i64.const 1000000000))
        (call $set_price (i64.extend_i32_u (i32.add
          (call $poll_oneoff (i32.const 3072) (i32.const 3200) (i32.const 1) (i32.const 3300))
          (i32.mul (i32.load (i32.const 3300)) (i32.const 100)))))
        (return (i32.const 0))))
    (if (i32.eq (local.get $m) (i32.const 111)) ;; o
      (then
        (call $out (i32.const 1) (i32.const 272) (i32.const 9))
        (call $out (i32.const 1) (i32.const 288) (i32.const 3))
        (call $out (i32.const 2) (i32.const 296) (i32.const 4))
        (call $set_price (i64.const 0))
        (return (i32.const 0))))
    (if (i32.eq (local.get $m) (i32.const 101)) ;; e
      (then (call $proc_exit (i32.const 3))))
    (drop (call $random_get (i32.const 2048) (i32.const 8)))
    (call $set_price (i64.load (i32.const 2048)))
    (i32.const 0))
)
