/// Emits a plugin's exports, wired to your functions.
///
/// ```ignore
/// tariff::plugin! {
///     name: "rust-tiered",          // tariff_info "name": no quotes or backslashes
///     version: "0.1.0",             // tariff_info "version"
///     needs_body: false,            // optional, default false: may pricing/free_call read the body?
///     state: Tiered = Tiered::from_config, // optional: tariff_init, see below
///     pricing: Tiered::price,       // tariff_price
///     free_call: Tiered::free_call, // tariff_free_call
///     transform: Tiered::transform, // tariff_transform
/// }
/// ```
///
/// The keys come in this order; `name` and `version` are required, and at
/// least one of `pricing`, `free_call` and `transform`. `tariff_info`
/// declares exactly the kinds given, with `abi_minor` 0. The macro also
/// defines `pub const TARIFF_INFO: &str`, the JSON `tariff_info` points to,
/// for tests.
///
/// **With `state: T = init`**, `tariff_init` runs `init: fn() -> Result<T, E>`
/// (`E: AsRef<str>`, such as [`Error`](crate::Error), `&'static str` or
/// `String`) once per instance and keeps the `T`; the entry points are
/// `fn(&T) -> R`. An `Err` fails the instance with its message (the host
/// refuses to load the plugin, saying why). This is where the configuration
/// is read, once, instead of at every call.
///
/// **Without state**, `init: f` (optional) is `fn() -> R` and the entry
/// points are `fn() -> R`. An `Err` from `init` fails the instance with its
/// message, as above.
///
/// `R` is anything [`IntoStatus`](crate::IntoStatus): a
/// [`Status`](crate::Status), a `Result<Status, E>` (an `Err` is logged and
/// becomes ERROR, so `?` works), or a raw `i32`.
///
/// The macro defines, where it is invoked, `pub fn tariff_init() -> i32`,
/// `pub fn tariff_price() -> i32` and so on, and exports each under its
/// name through an `extern "C"` wrapper (Rust 1.63's `extern "C" fn`s are not
/// closures, so the plain functions are what tests pass to the
/// [`mock`](crate::mock) host): `mock::init(config, tariff_init)`,
/// `mock::Request::pricing().run(tariff_price)`.
#[macro_export]
macro_rules! plugin {
    (
        name: $name:literal,
        version: $version:literal
        $(, needs_body: $needs_body:tt)?
        , state: $state:ty = $init:expr
        $(, pricing: $pricing:expr)?
        $(, free_call: $free_call:expr)?
        $(, transform: $transform:expr)?
        $(,)?
    ) => {
        $crate::__tariff_info! {
            [$name] [$version] [$($needs_body)?]
            [$(pricing $pricing;)? $(free_call $free_call;)? $(transform $transform;)?]
        }

        static __TARIFF_STATE: $crate::__private::Slot<$state> = $crate::__private::Slot::new();

        /// `tariff_init`: runs the plugin's init function once per instance and keeps its state.
        pub fn tariff_init() -> i32 {
            $crate::__private::init_state(&__TARIFF_STATE, $init)
        }
        #[export_name = "tariff_init"]
        extern "C" fn __tariff_init_export() -> i32 {
            tariff_init()
        }
        $(
            /// The `tariff_price` entry point (kind pricing); exported under that name.
            pub fn tariff_price() -> i32 {
                $crate::__private::call_state(&__TARIFF_STATE, $pricing)
            }
            #[export_name = "tariff_price"]
            extern "C" fn __tariff_price_export() -> i32 {
                tariff_price()
            }
        )?
        $(
            /// The `tariff_free_call` entry point (kind free_call); exported under that name.
            pub fn tariff_free_call() -> i32 {
                $crate::__private::call_state(&__TARIFF_STATE, $free_call)
            }
            #[export_name = "tariff_free_call"]
            extern "C" fn __tariff_free_call_export() -> i32 {
                tariff_free_call()
            }
        )?
        $(
            /// The `tariff_transform` entry point (kind transform); exported under that name.
            pub fn tariff_transform() -> i32 {
                $crate::__private::call_state(&__TARIFF_STATE, $transform)
            }
            #[export_name = "tariff_transform"]
            extern "C" fn __tariff_transform_export() -> i32 {
                tariff_transform()
            }
        )?
    };

    (
        name: $name:literal,
        version: $version:literal
        $(, needs_body: $needs_body:tt)?
        $(, init: $init:expr)?
        $(, pricing: $pricing:expr)?
        $(, free_call: $free_call:expr)?
        $(, transform: $transform:expr)?
        $(,)?
    ) => {
        $crate::__tariff_info! {
            [$name] [$version] [$($needs_body)?]
            [$(pricing $pricing;)? $(free_call $free_call;)? $(transform $transform;)?]
        }
        $(
            /// `tariff_init`: runs the plugin's init function once per instance.
            pub fn tariff_init() -> i32 {
                $crate::__private::run_init($init)
            }
            #[export_name = "tariff_init"]
            extern "C" fn __tariff_init_export() -> i32 {
                tariff_init()
            }
        )?
        $(
            /// The `tariff_price` entry point (kind pricing); exported under that name.
            pub fn tariff_price() -> i32 {
                $crate::__private::run($pricing)
            }
            #[export_name = "tariff_price"]
            extern "C" fn __tariff_price_export() -> i32 {
                tariff_price()
            }
        )?
        $(
            /// The `tariff_free_call` entry point (kind free_call); exported under that name.
            pub fn tariff_free_call() -> i32 {
                $crate::__private::run($free_call)
            }
            #[export_name = "tariff_free_call"]
            extern "C" fn __tariff_free_call_export() -> i32 {
                tariff_free_call()
            }
        )?
        $(
            /// The `tariff_transform` entry point (kind transform); exported under that name.
            pub fn tariff_transform() -> i32 {
                $crate::__private::run($transform)
            }
            #[export_name = "tariff_transform"]
            extern "C" fn __tariff_transform_export() -> i32 {
                tariff_transform()
            }
        )?
    };

    ($($other:tt)*) => {
        ::core::compile_error!(
            "tariff::plugin!: expected `name: \"...\", version: \"...\"`, then in this order: \
             optional `needs_body: true|false`, optional `state: Type = init_fn` or `init: init_fn`, \
             and at least one of `pricing: f`, `free_call: f`, `transform: f`"
        );
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __tariff_info {
    ([$name:literal] [$version:literal] [$($needs_body:tt)?] [$($kinds:tt)*]) => {
        /// The `tariff_info` JSON of this plugin.
        pub const TARIFF_INFO: &str = ::core::concat!(
            "{\"name\":\"", $name,
            "\",\"version\":\"", $version,
            "\",\"abi_minor\":0,\"kinds\":[", $crate::__tariff_kinds!($($kinds)*),
            "],\"needs_body\":", $crate::__tariff_bool!($($needs_body)?),
            "}"
        );

        const _: () = ::core::assert!(
            $crate::__private::json_safe($name) && $crate::__private::json_safe($version),
            "tariff::plugin!: name and version must be non-empty, without quotes, backslashes or control characters"
        );

        /// Marks the module as a tariff ABI v1 plugin; never called.
        #[no_mangle]
        pub extern "C" fn tariff_abi_v1() {}

        /// `(ptr << 32) | len` of [`TARIFF_INFO`].
        #[no_mangle]
        pub extern "C" fn tariff_info() -> i64 {
            $crate::__private::info(TARIFF_INFO)
        }
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __tariff_kinds {
    () => {
        ::core::compile_error!("tariff::plugin!: give at least one entry point: pricing, free_call or transform")
    };
    ($kind:ident $f:expr; $($more:ident $g:expr;)*) => {
        ::core::concat!("\"", ::core::stringify!($kind), "\"" $(, ",\"", ::core::stringify!($more), "\"")*)
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __tariff_bool {
    () => {
        "false"
    };
    (false) => {
        "false"
    };
    (true) => {
        "true"
    };
}
