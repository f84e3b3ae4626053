//! What a ported module needs, in one `use`: the attributes (with
//! [`#[vnet_test]`](crate::vnet_test)), [`Vnet`],
//! [`curvnet_set`], [`vnet_foreach`], [`ModEvent`]/[`ModError`] and the
//! `SI_SUB_*`/`SI_ORDER_*` constants.
//!
//! FreeBSD's porting guide's sample module compiles with this one line instead of three:
//!
//! ```
//! use std::sync::atomic::{AtomicU32, Ordering::Relaxed};
//! use vnet_runtime::prelude::*;
//!
//! #[vnet]
//! static MYMOD_COUNTER: AtomicU32 = AtomicU32::new(0);
//!
//! #[vnet_module(prelude_mymod, SI_SUB_PROTO_BEGIN, SI_ORDER_ANY + 64, version = 1)]
//! fn mymod_modevent(event: ModEvent) -> Result<(), ModError> {
//!     match event {
//!         ModEvent::Load | ModEvent::Unload => Ok(()),
//!         _ => Err(ModError::unsupported()),
//!     }
//! }
//!
//! #[sysinit(SI_SUB_PROTO_BEGIN, SI_ORDER_ANY + 65)]
//! fn mymod_init() {}
//!
//! #[sysuninit(SI_SUB_PROTO_BEGIN, SI_ORDER_ANY + 65)]
//! fn mymod_uninit() {}
//!
//! #[vnet_sysinit(SI_SUB_PROTO_BEGIN, SI_ORDER_ANY + 66)]
//! fn vnet_mymod_init() {
//!     V_MYMOD_COUNTER.with(|c| c.store(1, Relaxed));
//! }
//!
//! #[vnet_sysuninit(SI_SUB_PROTO_BEGIN, SI_ORDER_ANY + 66)]
//! fn vnet_mymod_uninit() {}
//!
//! let v: Vnet = vnet_runtime::vnet0();
//! {
//!     let _guard = curvnet_set(&v);
//!     assert_eq!(V_MYMOD_COUNTER.with(|c| c.load(Relaxed)), 1);
//! }
//! let mut seen = 0;
//! vnet_foreach(|_| seen += 1);
//! assert!(seen >= 1);
//! ```

pub use crate::module::{ModError, ModEvent};
pub use crate::subsystem::*;
pub use crate::{
    curvnet_set, global, sysinit, sysuninit, vnet, vnet_foreach, vnet_module, vnet_sysinit,
    vnet_sysuninit, vnet_test, Vnet,
};
