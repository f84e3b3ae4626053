//! What the linker collected: every `#[vnet]` static linked into this
//! binary ([`statics`]), to compare with what the source declares.

#[cfg(feature = "std")]
pub use crate::block::statics;
pub use crate::block::StaticInfo;
