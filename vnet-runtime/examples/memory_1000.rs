//! Bytes allocated per instance with 1,000 `#[vnet]` statics (8,000 bytes of
//! values), to compare with `scale_probe`'s few statics: the difference is
//! the block, the rest is the runtime's constant per-instance overhead.
//!
//! `cargo run --release -p vnet-runtime --example memory_1000`

use std::sync::atomic::AtomicU64;

#[path = "common/memory.rs"]
mod memory;

#[global_allocator]
static ALLOC: memory::Counting = memory::Counting;

macro_rules! ten {
    ($($m:ident)*) => {$(
        #[allow(dead_code)]
        mod $m {
            use super::*;
            #[vnet_runtime::vnet] pub static A: AtomicU64 = AtomicU64::new(0);
            #[vnet_runtime::vnet] pub static B: AtomicU64 = AtomicU64::new(0);
            #[vnet_runtime::vnet] pub static C: AtomicU64 = AtomicU64::new(0);
            #[vnet_runtime::vnet] pub static D: AtomicU64 = AtomicU64::new(0);
            #[vnet_runtime::vnet] pub static E: AtomicU64 = AtomicU64::new(0);
            #[vnet_runtime::vnet] pub static F: AtomicU64 = AtomicU64::new(0);
            #[vnet_runtime::vnet] pub static G: AtomicU64 = AtomicU64::new(0);
            #[vnet_runtime::vnet] pub static H: AtomicU64 = AtomicU64::new(0);
            #[vnet_runtime::vnet] pub static I: AtomicU64 = AtomicU64::new(0);
            #[vnet_runtime::vnet] pub static J: AtomicU64 = AtomicU64::new(0);
        }
    )*};
}

ten!(m00 m01 m02 m03 m04 m05 m06 m07 m08 m09 m10 m11 m12 m13 m14 m15 m16 m17 m18 m19
     m20 m21 m22 m23 m24 m25 m26 m27 m28 m29 m30 m31 m32 m33 m34 m35 m36 m37 m38 m39
     m40 m41 m42 m43 m44 m45 m46 m47 m48 m49 m50 m51 m52 m53 m54 m55 m56 m57 m58 m59
     m60 m61 m62 m63 m64 m65 m66 m67 m68 m69 m70 m71 m72 m73 m74 m75 m76 m77 m78 m79
     m80 m81 m82 m83 m84 m85 m86 m87 m88 m89 m90 m91 m92 m93 m94 m95 m96 m97 m98 m99);

fn main() {
    {
        let (bytes, block) = memory::per_instance(10_000);
        println!(
            "memory: {bytes:.0} bytes per instance ({} statics, {block} bytes of values; names of 9-10 bytes)",
            vnet_runtime::registry::statics().count()
        );
    }
}
