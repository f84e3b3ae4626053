//! Every `#[vnet]` static linked into the binary, and the per-instance block
//! layout computed from them at boot (the plumbing behind the public
//! [`registry`](crate::registry), reachable by expansions through
//! `__private0` only).
//!
//! Each `#[vnet]` static contributes one [`StaticDesc`] to the linker-collected
//! slice `STATICS` (through linkme). `layout()` sorts them once, assigns each
//! an offset inside the per-instance block (stored in the static's own `V_`
//! key, so an access finds it without a pointer chase), and builds the
//! *template*: one block holding a fresh evaluation of every initializer.
//! A new instance starts as a byte copy of the template, exactly as FreeBSD
//! copies the master `set_vnet` section; the template itself is never handed
//! out, so it stays equal to the declared initial values.

use std::alloc::Layout;
#[cfg(feature = "vimage")]
use std::sync::atomic::{AtomicUsize, Ordering};
#[cfg(feature = "vimage")]
use std::sync::OnceLock;

use linkme::distributed_slice;

/// Registration record of one `#[vnet]` static (built by the macro).
#[doc(hidden)]
pub struct StaticDesc {
    /// The name as written in the source (`FOO` for `V_FOO`).
    name: &'static str,
    /// `module_path!()` at the declaration.
    module_path: &'static str,
    /// `file!()` at the declaration.
    file: &'static str,
    /// `line!()` at the declaration.
    line: u32,
    /// Size and alignment of the value.
    layout: Layout,
    /// Writes a fresh copy of the initializer to the given address.
    #[cfg(feature = "vimage")]
    init: unsafe fn(*mut u8),
    /// Drops the value at the given address (`None` when the type needs no drop).
    #[cfg(feature = "vimage")]
    drop: Option<unsafe fn(*mut u8)>,
    /// The offset cell inside the static's `V_` key, assigned at boot.
    #[cfg(feature = "vimage")]
    offset: &'static AtomicUsize,
}

impl StaticDesc {
    /// # Safety
    /// Only for `define_static!`: `init` writes a `T` with `layout`, `drop`
    /// drops one, and `offset` is the cell of a `VnetKey<T>` of the same `T`.
    #[cfg(feature = "vimage")]
    #[doc(hidden)]
    pub const unsafe fn new(
        (name, module_path, file, line): (&'static str, &'static str, &'static str, u32),
        layout: Layout,
        init: unsafe fn(*mut u8),
        drop: Option<unsafe fn(*mut u8)>,
        offset: &'static AtomicUsize,
    ) -> Self {
        StaticDesc {
            name,
            module_path,
            file,
            line,
            layout,
            init,
            drop,
            offset,
        }
    }

    /// Describes a plain global (`vimage` off): listed, never laid out.
    #[cfg(not(feature = "vimage"))]
    #[doc(hidden)]
    pub const fn new(
        (name, module_path, file, line): (&'static str, &'static str, &'static str, u32),
        layout: Layout,
    ) -> Self {
        StaticDesc {
            name,
            module_path,
            file,
            line,
            layout,
        }
    }
}

/// The linker-collected slice of every `#[vnet]` static in the binary.
#[doc(hidden)]
#[distributed_slice]
pub static STATICS: [StaticDesc];

/// What the registry knows about one `#[vnet]` static.
///
/// ```
/// #[vnet_runtime::vnet]
/// static HITS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
///
/// let info = vnet_runtime::registry::statics().find(|s| s.name == "HITS").unwrap();
/// assert_eq!(info.size, 8);
/// assert!(info.module_path.ends_with("rust_out") || !info.module_path.is_empty());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StaticInfo {
    /// The static's name as declared (`HITS` for the accessor `V_HITS`).
    pub name: &'static str,
    /// The module that declares it.
    pub module_path: &'static str,
    /// The source file that declares it.
    pub file: &'static str,
    /// The line of the declaration.
    pub line: u32,
    /// `size_of` the value.
    pub size: usize,
    /// `align_of` the value.
    pub align: usize,
    /// Offset inside the per-instance block (`None` before boot, and always
    /// `None` with `vimage` off).
    pub offset: Option<usize>,
}

/// Every `#[vnet]` static linked into this binary, sorted by module path and name.
///
/// Compare this with what the source declares (`cargo vnet-lint list`) to
/// catch a crate the linker dropped: a crate the binary never names is not
/// linked, and its statics are silently missing. The remedy is one line in the
/// binary, `use that_crate as _;` (or [`link!`](crate::link)).
///
/// ```
/// #[vnet_runtime::vnet]
/// static COUNTER: u32 = 0;
/// assert!(vnet_runtime::registry::statics().any(|s| s.name == "COUNTER"));
/// ```
pub fn statics() -> impl Iterator<Item = StaticInfo> {
    let mut all: Vec<&'static StaticDesc> = STATICS.iter().collect();
    all.sort_by_key(|d| (d.module_path, d.name));
    all.into_iter().map(|d| StaticInfo {
        name: d.name,
        module_path: d.module_path,
        file: d.file,
        line: d.line,
        size: d.layout.size(),
        align: d.layout.align(),
        #[cfg(feature = "vimage")]
        offset: match d.offset.load(Ordering::Relaxed) {
            UNASSIGNED => None,
            off => Some(off),
        },
        #[cfg(not(feature = "vimage"))]
        offset: None,
    })
}

/// Offset value of a key whose static was not laid out yet.
#[cfg(feature = "vimage")]
pub(crate) const UNASSIGNED: usize = usize::MAX;

/// Drops the value at an address in a block.
#[cfg(feature = "vimage")]
type DropFn = unsafe fn(*mut u8);

/// The per-instance block: its layout, the template, and what to drop.
#[cfg(feature = "vimage")]
pub(crate) struct BlockLayout {
    pub(crate) layout: Layout,
    template: *mut u8,
    /// `(offset, drop)` of every static whose type needs dropping.
    droppers: Vec<(usize, DropFn)>,
}

// SAFETY: the template is written once in `compute` and only read afterwards
// (byte copies into new blocks); the raw pointer is what makes it !Send/!Sync.
#[cfg(feature = "vimage")]
unsafe impl Send for BlockLayout {}
// SAFETY: as above, shared access is read-only.
#[cfg(feature = "vimage")]
unsafe impl Sync for BlockLayout {}

/// The layout, computed on first use (by `boot`).
#[cfg(feature = "vimage")]
pub(crate) fn layout() -> &'static BlockLayout {
    static LAYOUT: OnceLock<BlockLayout> = OnceLock::new();
    LAYOUT.get_or_init(compute)
}

#[cfg(feature = "vimage")]
fn compute() -> BlockLayout {
    // Largest alignment first keeps padding small; the rest of the key makes
    // the layout identical from run to run.
    let mut all: Vec<&'static StaticDesc> = STATICS.iter().collect();
    all.sort_by_key(|d| {
        let align = std::cmp::Reverse(d.layout.align());
        (align, d.module_path, d.name, d.file, d.line)
    });
    let mut size = 0usize;
    let mut align = 1usize;
    let mut placed = Vec::with_capacity(all.len());
    for desc in &all {
        let a = desc.layout.align();
        let offset = size.next_multiple_of(a);
        size = offset + desc.layout.size();
        align = align.max(a);
        placed.push((*desc, offset));
    }
    let layout = Layout::from_size_align(size.max(1), align)
        .expect("the #[vnet] statics of this binary do not fit in one block");
    let template = alloc_block(layout);
    let mut droppers = Vec::new();
    for (desc, offset) in placed {
        // SAFETY: `offset` lies inside the fresh block, is aligned for the
        // static's type (it is a multiple of its alignment and the block is
        // aligned to the largest one), and nothing else was written there.
        unsafe { (desc.init)(template.add(offset)) };
        if let Some(drop) = desc.drop {
            droppers.push((offset, drop));
        }
        desc.offset.store(offset, Ordering::Relaxed);
    }
    BlockLayout {
        layout,
        template,
        droppers,
    }
}

#[cfg(feature = "vimage")]
fn alloc_block(layout: Layout) -> *mut u8 {
    // SAFETY: `layout` has a non-zero size (at least 1, see `compute`).
    let ptr = unsafe { std::alloc::alloc(layout) };
    if ptr.is_null() {
        std::alloc::handle_alloc_error(layout);
    }
    ptr
}

#[cfg(feature = "vimage")]
impl BlockLayout {
    /// A new block holding the declared initial value of every static.
    pub(crate) fn new_block(&self) -> *mut u8 {
        // Tunables: the tuned statics' values, made before the block exists
        // (a panicking factory leaves nothing to free).
        let tuned = crate::tunable::prepare();
        let block = alloc_block(self.layout);
        // SAFETY: both blocks are `layout.size()` bytes long and distinct. A
        // byte copy of the never-used template is a fresh evaluation of each
        // constant initializer (const values are plain bytes; const evaluation
        // cannot leave heap pointers in them, and the template's interior
        // mutability is never exercised).
        unsafe { std::ptr::copy_nonoverlapping(self.template, block, self.layout.size()) };
        // SAFETY: `block` is a fresh copy of the template, not shared yet.
        unsafe { tuned.apply(block) };
        block
    }

    /// Drops every value in `block`, then frees it. Keeps going if a `Drop`
    /// panics, so every other value is still dropped exactly once and the
    /// block is freed; the first panic is then resumed.
    ///
    /// # Safety
    /// `block` came from [`new_block`](Self::new_block), holds live values, and
    /// nothing can reach it any more.
    pub(crate) unsafe fn free_block(&self, block: *mut u8) {
        let mut first_panic = None;
        for &(offset, drop) in &self.droppers {
            // SAFETY: each live value is dropped once, at its own offset.
            let dropped = std::panic::catch_unwind(|| unsafe { drop(block.add(offset)) });
            if let Err(panic) = dropped {
                first_panic.get_or_insert(panic);
            }
        }
        // SAFETY: allocated by `alloc_block` with this layout.
        unsafe { std::alloc::dealloc(block, self.layout) };
        if let Some(panic) = first_panic {
            std::panic::resume_unwind(panic);
        }
    }
}
