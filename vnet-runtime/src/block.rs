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

/// Registration record of one `#[vnet]` static (built by the macro): its
/// key, with the type erased, and where it is declared.
#[doc(hidden)]
// Without `std` nothing lists the statics (no `statics()`): the descriptors are only linked.
#[cfg_attr(not(feature = "std"), allow(dead_code))]
pub struct StaticDesc {
    /// The key (a `&'static VnetKey<T>`, which implements [`ErasedKey`]).
    pub key: &'static dyn ErasedKey,
    /// `module_path!()` at the declaration.
    pub module_path: &'static str,
    /// `file!()` at the declaration.
    pub file: &'static str,
    /// `line!()` at the declaration.
    pub line: u32,
}

impl StaticDesc {
    /// Describes `key`, declared in `module_path`, where this is called
    /// (the `#[vnet]` attribute: the same file and line as `file!()` and
    /// `line!()` there, without expanding two macros per static).
    #[doc(hidden)]
    #[track_caller]
    pub const fn new<K: ErasedKey>(key: &'static K, module_path: &'static str) -> Self {
        let site = std::panic::Location::caller();
        StaticDesc {
            key,
            module_path,
            file: site.file(),
            line: site.line(),
        }
    }

    #[cfg_attr(not(feature = "std"), allow(dead_code))]
    fn name(&self) -> &'static str {
        self.key.name()
    }
}

/// What the registry needs of a key, whatever its type: one implementation
/// per value type, shared by every static of that type.
#[doc(hidden)]
pub trait ErasedKey: Sync {
    fn name(&self) -> &'static str;
    /// Size and alignment of the value.
    fn layout(&self) -> Layout;
    /// The offset cell inside the key, assigned at boot.
    #[cfg(feature = "vimage")]
    fn offset(&self) -> &AtomicUsize;
    /// Whether the static's crate declared `fallback_to_vnet0!`, set at boot.
    #[cfg(feature = "vimage")]
    fn fallback(&self) -> &std::sync::atomic::AtomicBool;
    /// Writes a copy of the declared initial value at `at`.
    ///
    /// # Safety
    /// `at` is valid for writes of the value's layout and holds no live value.
    #[cfg(feature = "vimage")]
    unsafe fn init(&self, at: *mut u8);
    /// How to drop a value at an address (`None` when the type needs no drop).
    #[cfg(feature = "vimage")]
    fn dropper(&self) -> Option<DropFn>;
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
#[cfg(feature = "std")]
pub fn statics() -> impl Iterator<Item = StaticInfo> {
    let mut all: Vec<&'static StaticDesc> = STATICS.iter().collect();
    all.sort_by_key(|d| (d.module_path, d.name()));
    all.into_iter().map(|d| StaticInfo {
        name: d.name(),
        module_path: d.module_path,
        file: d.file,
        line: d.line,
        size: d.key.layout().size(),
        align: d.key.layout().align(),
        #[cfg(feature = "vimage")]
        offset: match d.key.offset().load(Ordering::Relaxed) {
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
        let align = std::cmp::Reverse(d.key.layout().align());
        (align, d.module_path, d.name(), d.file, d.line)
    });
    let mut size = 0usize;
    let mut align = 1usize;
    let mut placed = Vec::with_capacity(all.len());
    for desc in &all {
        let layout = desc.key.layout();
        let a = layout.align();
        let offset = size.next_multiple_of(a);
        size = offset + layout.size();
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
        unsafe { desc.key.init(template.add(offset)) };
        if let Some(drop) = desc.key.dropper() {
            droppers.push((offset, drop));
        }
        desc.key.offset().store(offset, Ordering::Relaxed);
        let fallback = crate::fallback::declared_for(desc.module_path);
        desc.key.fallback().store(fallback, Ordering::Relaxed);
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
