//! The instance list (creation order), its name index and its children
//! index: FreeBSD's `vnet_head` with `LIST_REMOVE`'s constant-time removal.
//!
//! * **Slots** — a `Vec` in publication order. Each listed instance knows
//!   its slot; removal leaves a tombstone (O(1)), trailing tombstones are
//!   popped, and once tombstones outnumber live entries the vector is
//!   compacted in order (amortized O(1) per removal). `vnet_foreach` walks
//!   the slots, each holding the instance and its block base beside the
//!   handle, so it makes each current without chasing pointers.
//! * **Names** — name → handle, for `lookup` in O(1). A name is *reserved*
//!   (no handle) from the start of creation until the instance is listed,
//!   and again from unlisting until its teardown is over.
//! * **Children** — `(parent id, child id)` → child handle, ordered, so the
//!   listed children of an instance are one range: `destroy` finds a subtree
//!   without looking at unrelated instances.
//!
//! **Architecture Invariant:** slots, the name index's handles and the
//! children index change together, under the list's write lock (names:
//! also under their own mutex, taken after the list lock). An instance is
//! in one iff it is in all three (with a parent, for children).

use std::collections::{BTreeMap, HashMap};
use std::ops::Bound::Included;
use std::sync::atomic::Ordering::Relaxed;

use parking_lot::{Mutex, RecursiveRwLock, RecursiveRwLockReadGuard, RecursiveRwLockWriteGuard};

use super::{Instance, Vnet};

/// One entry of the list: `vnet` is `None` for a tombstone.
pub(crate) struct Slot {
    pub(crate) instance: *const Instance,
    pub(crate) base: *mut u8,
    pub(crate) vnet: Option<Vnet>,
}

/// The listed instances.
pub(crate) struct List {
    slots: Vec<Slot>,
    live: usize,
    children: BTreeMap<(u64, u64), Vnet>,
}

// SAFETY: the raw pointers are the listed instances' (kept alive by the
// handle in the same slot) and their blocks; `Instance` is Send + Sync.
unsafe impl Send for List {}
// SAFETY: as above.
unsafe impl Sync for List {}

static LIST: RecursiveRwLock<List> = RecursiveRwLock::new(List {
    slots: Vec::new(),
    live: 0,
    children: BTreeMap::new(),
});

/// Names in use: `None` while reserved, the handle while listed.
static NAMES: Mutex<Option<HashMap<Box<str>, Option<Vnet>>>> = Mutex::new(None);

/// The list, shared (recursive: `vnet_foreach` bodies may list or look up).
pub(crate) fn read() -> RecursiveRwLockReadGuard<'static, List> {
    LIST.read()
}

/// The list, exclusive (create's publish, destroy's unpublish, boot).
pub(crate) fn write() -> RecursiveRwLockWriteGuard<'static, List> {
    LIST.write()
}

/// Reserves `name`; `false` when it is in use (listed or reserved).
pub(crate) fn reserve_name(name: &str) -> bool {
    let mut names = NAMES.lock();
    let names = names.get_or_insert_with(HashMap::new);
    if names.contains_key(name) {
        return false;
    }
    names.insert(name.into(), None);
    true
}

/// Gives `name` back.
pub(crate) fn release_name(name: &str) {
    if let Some(names) = NAMES.lock().as_mut() {
        names.remove(name);
    }
}

/// The listed instance named `name`.
pub(crate) fn lookup(name: &str) -> Option<Vnet> {
    NAMES.lock().as_ref()?.get(name)?.clone()
}

/// Every listed instance, in creation order.
pub(crate) fn snapshot() -> Vec<Vnet> {
    read().iter().cloned().collect()
}

impl List {
    /// Appends `vnet` (its name reserved) at the end of the list.
    pub(crate) fn push(&mut self, vnet: &Vnet) {
        let instance = vnet.instance();
        instance.slot.store(self.slots.len(), Relaxed);
        self.slots.push(Slot {
            instance,
            base: instance.base(),
            vnet: Some(vnet.clone()),
        });
        self.live += 1;
        if let Some(parent) = &instance.parent {
            self.children.insert((parent.id(), vnet.id()), vnet.clone());
        }
        if let Some(entry) = NAMES
            .lock()
            .as_mut()
            .and_then(|n| n.get_mut(instance.name()))
        {
            *entry = Some(vnet.clone());
        }
    }

    /// Takes `vnet` (listed) out of the list; its name stays reserved.
    pub(crate) fn remove(&mut self, vnet: &Vnet) {
        let instance = vnet.instance();
        let slot = instance.slot.load(Relaxed);
        debug_assert!(
            self.slots[slot].vnet.as_ref() == Some(vnet),
            "slot index follows the list"
        );
        self.slots[slot].vnet = None;
        self.slots[slot].instance = std::ptr::null();
        self.live -= 1;
        if let Some(parent) = &instance.parent {
            self.children.remove(&(parent.id(), vnet.id()));
        }
        if let Some(entry) = NAMES
            .lock()
            .as_mut()
            .and_then(|n| n.get_mut(instance.name()))
        {
            *entry = None;
        }
        while self.slots.last().is_some_and(|s| s.vnet.is_none()) {
            self.slots.pop();
        }
        if self.slots.len() > 2 * self.live + 16 {
            self.compact();
        }
    }

    /// Drops the tombstones, keeping the order, and renumbers the slots.
    #[cold]
    fn compact(&mut self) {
        self.slots.retain(|s| s.vnet.is_some());
        for (i, s) in self.slots.iter().enumerate() {
            // SAFETY: a live slot's instance is kept alive by its handle.
            unsafe { &*s.instance }.slot.store(i, Relaxed);
        }
        if self.slots.capacity() > 4 * self.slots.len() + 64 {
            self.slots.shrink_to(2 * self.slots.len());
        }
    }

    /// The listed instances, in creation order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &Vnet> {
        self.slots.iter().filter_map(|s| s.vnet.as_ref())
    }

    /// The live slots, in creation order (`vnet_foreach`).
    pub(crate) fn slots(&self) -> impl Iterator<Item = &Slot> {
        self.slots.iter().filter(|s| s.vnet.is_some())
    }

    /// How many instances are listed.
    pub(crate) fn len(&self) -> usize {
        self.live
    }

    /// Where `vnet` (listed) is in creation order (larger is newer).
    pub(crate) fn position(&self, vnet: &Vnet) -> usize {
        vnet.instance().slot.load(Relaxed)
    }

    /// The listed children of `parent`, oldest first.
    pub(crate) fn children(&self, parent: &Vnet) -> impl Iterator<Item = &Vnet> {
        let id = parent.id();
        self.children
            .range((Included((id, 0)), Included((id, u64::MAX))))
            .map(|(_, v)| v)
    }

    /// Every listed (parent, child) pair, for consistency checks.
    pub(crate) fn child_links(&self) -> usize {
        self.children.len()
    }
}

/// What a test checks after many creates and destroys: the list, the name
/// index and the children index agree with each other and with each
/// instance's children count. Returns the number of listed instances.
#[doc(hidden)]
pub fn check_consistency() -> Result<usize, String> {
    let list = read();
    let names = NAMES.lock();
    let names = names.as_ref();
    let listed_names = names.map_or(0, |n| n.values().filter(|v| v.is_some()).count());
    if listed_names != list.len() {
        return Err(format!(
            "{} listed, {listed_names} names point at a listed instance",
            list.len()
        ));
    }
    let mut with_parent = 0;
    for v in list.iter() {
        let named = names.and_then(|n| n.get(v.name())).and_then(Option::as_ref);
        if named != Some(v) {
            return Err(format!(
                "`{}` is listed but its name does not find it",
                v.name()
            ));
        }
        if list.slots[list.position(v)].vnet.as_ref() != Some(v) {
            return Err(format!("`{}`'s slot index is stale", v.name()));
        }
        let listed_children = list.children(v).count();
        let counted = v.instance().children.load(Relaxed);
        if counted != listed_children {
            return Err(format!(
                "`{}` counts {counted} children, {listed_children} are listed",
                v.name()
            ));
        }
        if let Some(p) = v.parent() {
            with_parent += 1;
            if !list.children(&p).any(|c| c == v) {
                return Err(format!("`{}` is not among its parent's children", v.name()));
            }
        }
    }
    if with_parent != list.child_links() {
        return Err(format!(
            "{} child links, {with_parent} listed instances have a parent",
            list.child_links()
        ));
    }
    Ok(list.len())
}
