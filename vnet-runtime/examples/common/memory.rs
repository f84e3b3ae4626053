//! Bytes allocated per instance, counted by a global allocator.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering::Relaxed};

/// Counts the bytes currently allocated through it.
pub struct Counting;

static LIVE_BYTES: AtomicIsize = AtomicIsize::new(0);

// SAFETY: forwards to the system allocator, only counting.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE_BYTES.fetch_add(layout.size() as isize, Relaxed);
        // SAFETY: the caller's contract, forwarded.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE_BYTES.fetch_sub(layout.size() as isize, Relaxed);
        // SAFETY: the caller's contract, forwarded.
        unsafe { System.dealloc(ptr, layout) }
    }
}

/// Creates `n` instances (names `mem-0`…) and returns the bytes allocated
/// per instance, and the block's share (the statics' sizes).
pub fn per_instance(n: usize) -> (f64, usize) {
    vnet_runtime::boot();
    let names: Vec<String> = (0..n).map(|i| format!("mem-{i}")).collect();
    let name_bytes: usize = names.iter().map(String::len).sum();
    let before = LIVE_BYTES.load(Relaxed);
    let live: Vec<vnet_runtime::Vnet> = names
        .iter()
        .map(|name| vnet_runtime::Vnet::create(name).unwrap())
        .collect();
    let after = LIVE_BYTES.load(Relaxed);
    // The caller's own `Vec` of handles and the names it made are not the
    // runtime's: leave them out.
    let own = (live.capacity() * std::mem::size_of::<vnet_runtime::Vnet>()) as isize;
    let per = (after - before - own) as f64 / n as f64;
    let _ = name_bytes;
    let block: usize = vnet_runtime::registry::statics().map(|s| s.size).sum();
    for v in live {
        v.destroy().unwrap();
    }
    (per, block)
}
