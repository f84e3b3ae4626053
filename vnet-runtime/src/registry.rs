//! What the linker collected: every `#[vnet]` static linked into this
//! binary ([`statics`]), to compare with what the source declares.

pub use crate::block::{statics, StaticInfo};
