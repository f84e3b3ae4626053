// Every form #[vnet] accepts: visibility, docs, cfg, other attributes,
// paths to the attribute, constant expressions and references to consts.
#![deny(warnings)]

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, RwLock};

const DEFAULT_MTU: u32 = 1500;

mod stack {
    use super::*;

    /// Interfaces of this instance.
    #[vnet_runtime::vnet]
    pub(crate) static IFNET: RwLock<Vec<String>> = RwLock::new(Vec::new());

    #[vnet_runtime::vnet]
    pub static MTU: u32 = DEFAULT_MTU + 0;

    #[cfg(all(unix, not(unix)))]
    #[vnet_runtime::vnet]
    static NEVER: u32 = 0;

    #[allow(dead_code)]
    #[vnet_runtime::vnet]
    static UNUSED: Mutex<Option<&'static str>> = Mutex::new(None);
}

use vnet_runtime::vnet;

#[vnet]
static COUNTER: AtomicU64 = AtomicU64::new(3);

#[vnet(crate = vnet_runtime)]
static RENAMED_CRATE: u8 = 1;

// From a declarative macro that names the runtime through `$crate`.
pub use vnet_runtime as rt;
macro_rules! declare {
    ($name:ident) => {
        #[vnet_runtime::vnet(crate = $crate::rt)]
        static $name: u32 = 7;
    };
}
declare!(FROM_A_MACRO);

/// A function-local per-instance static.
fn next_ticket() -> u64 {
    #[vnet]
    static TICKETS: AtomicU64 = AtomicU64::new(0);
    V_TICKETS.with(|t| t.fetch_add(1, Ordering::Relaxed))
}

fn main() {
    let v = vnet_runtime::vnet0();
    v.enter(|| {
        assert_eq!(next_ticket(), 0);
        assert_eq!(next_ticket(), 1);
    });
    v.enter(|| {
        stack::V_IFNET.with(|i| i.write().unwrap().push("lo0".into()));
        assert_eq!(stack::V_MTU.get(), 1500);
        assert_eq!(V_COUNTER.with(|c| c.load(Ordering::Relaxed)), 3);
        assert_eq!(V_RENAMED_CRATE.get(), 1);
        assert_eq!(V_FROM_A_MACRO.get(), 7);
    });
}
