//! The current instance with the `vimage` feature off: vnet0 is the only
//! instance and always current, so a guard restores nothing. Takes the place
//! of `context.rs` (same surface, for the code above it).

use std::marker::PhantomData;

/// Restores the previously current instance when dropped (a no-op with
/// `vimage` off, where vnet0 is the only instance).
#[must_use = "the instance is current only until the guard is dropped: bind it with `let _guard = ...`"]
#[derive(Debug)]
pub struct CurVnetGuard<'a> {
    pub(crate) _handle: PhantomData<&'a ()>,
    pub(crate) _not_send: PhantomData<*const CurVnetGuardIsNotSend>,
}

/// Never constructed: the name the compiler prints when a guard is held
/// across `.await` in a future that must be `Send`. (With `vimage` off
/// the guard does nothing and has no `Drop`, so the compiler does not
/// count it as held across `.await`.)
///
/// ```
/// let _guard = vnet_runtime::curvnet_set(&vnet_runtime::vnet0()); // a no-op here
/// ```
#[derive(Debug)]
pub enum CurVnetGuardIsNotSend {}
