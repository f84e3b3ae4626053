//! Creating instances: [`VnetBuilder`], [`Vnet::create`]. A new instance
//! runs every loaded VNET_SYSINIT before it is published in the list.

use super::destroy::release_reservations;
use super::{list, Vnet, VnetState};
use crate::boot::booted;
use crate::context;
use crate::lifecycle;
use crate::Error;

/// Options for a new instance: parent and limit on children (jail's
/// `children.max`).
///
/// ```
/// use vnet_runtime::Vnet;
/// let parent = Vnet::builder("parent").children_max(1).create().unwrap();
/// let child = Vnet::builder("child").parent(&parent).create().unwrap();
/// assert!(Vnet::builder("second").parent(&parent).create().is_err());
/// assert_eq!(child.parent().unwrap(), parent);
/// parent.destroy().unwrap(); // destroys `child` first
/// # drop(child);
/// ```
#[derive(Debug, Clone)]
#[must_use = "a builder does nothing until `create` is called"]
pub struct VnetBuilder {
    name: String,
    parent: Option<Vnet>,
    children_max: Option<usize>,
}

impl VnetBuilder {
    /// Makes the new instance a child of `parent`.
    pub fn parent(mut self, parent: &Vnet) -> Self {
        self.parent = Some(parent.clone());
        self
    }

    /// Limits how many children the new instance may have (default: no limit).
    pub fn children_max(mut self, max: usize) -> Self {
        self.children_max = Some(max);
        self
    }

    /// Creates the instance: copies the initial value of every static into a
    /// new block, runs every per-instance init hook (VNET_SYSINIT) with the
    /// instance current, then publishes it to the instance list.
    ///
    /// A failing hook undoes the hooks that had run and leaves no instance.
    pub fn create(self) -> Result<Vnet, Error> {
        booted();
        if context::inside_foreach() {
            return Err(Error::InsideForeach);
        }
        let vnet = Vnet::new_unpublished(&self.name, self.parent, self.children_max)?;
        // Hold the lifecycle read lock from the first hook until the instance
        // is in the list, so a module loaded concurrently either sees the new
        // instance in the list or has its hooks in the set we run.
        let lifecycle = lifecycle::read();
        if let Err(err) = lifecycle::create(&lifecycle, &vnet) {
            // The hooks undid their own work; give back the name and the
            // parent's child slot. Dropping `vnet` frees the block.
            vnet.instance().set_state(VnetState::Destroyed);
            release_reservations(vnet.instance());
            return Err(err);
        }
        {
            let mut list = list::write();
            // The parent may have been destroyed while our hooks ran (it only
            // saw published children): then this child must not appear.
            let orphaned = vnet.parent().filter(|p| p.state() != VnetState::Live);
            if orphaned.is_none() {
                vnet.instance().set_state(VnetState::Live);
                list.push(&vnet);
            }
            drop(list);
            if let Some(parent) = orphaned {
                vnet.instance().set_state(VnetState::Dying);
                lifecycle::destroy(&lifecycle, &vnet);
                vnet.instance().set_state(VnetState::Destroyed);
                release_reservations(vnet.instance());
                return Err(Error::Destroyed(parent.name().to_owned()));
            }
        }
        drop(lifecycle);
        Ok(vnet)
    }
}

impl Vnet {
    /// Creates an instance named `name` with default options.
    ///
    /// ```
    /// let v = vnet_runtime::Vnet::create("tenant-1").unwrap();
    /// assert_eq!(v.name(), "tenant-1");
    /// v.destroy().unwrap();
    /// ```
    pub fn create(name: &str) -> Result<Vnet, Error> {
        Vnet::builder(name).create()
    }

    /// A builder for an instance with options (parent, `children_max`).
    ///
    /// ```
    /// let v = vnet_runtime::Vnet::builder("built").children_max(0).create().unwrap();
    /// v.destroy().unwrap();
    /// ```
    pub fn builder(name: &str) -> VnetBuilder {
        VnetBuilder {
            name: name.to_owned(),
            parent: None,
            children_max: None,
        }
    }
}
