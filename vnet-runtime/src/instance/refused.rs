//! A refused `destroy`: why, with the handle handed back (shared by the
//! `vimage` build and `instance_off.rs`, where only vnet0's refusal exists).

use std::fmt;

use super::Vnet;
use crate::Error;

/// A refused [`Vnet::destroy`]: why, and the handle back (as
/// [`Arc::try_unwrap`](std::sync::Arc::try_unwrap) gives the `Arc` back).
/// Nothing was changed: the instance and all its work go on.
///
/// It is an [`Error`](std::error::Error), so `?` works in functions that
/// return `Box<dyn Error>` or [`vnet_runtime::Error`](Error) (through
/// `From`, dropping the handle).
///
/// ```
/// use vnet_runtime::{curvnet_set, Error, Vnet};
/// # if !vnet_runtime::VIMAGE { return; }
/// let v = Vnet::create("refused-doc").unwrap();
/// let guard = curvnet_set(&v);
/// let refused = std::thread::scope(|s| s.spawn(|| v.clone().destroy()).join().unwrap())
///     .unwrap_err();
/// assert!(matches!(refused.error(), Error::Busy { .. }));
/// drop(guard);
/// refused.into_vnet().destroy().unwrap(); // retried with the handle it gave back
/// ```
pub struct DestroyError {
    vnet: Vnet,
    error: Error,
}

impl DestroyError {
    pub(crate) fn new(vnet: Vnet, error: Error) -> DestroyError {
        DestroyError { vnet, error }
    }

    /// Why the destroy was refused.
    pub fn error(&self) -> &Error {
        &self.error
    }

    /// The handle, for a later try.
    pub fn into_vnet(self) -> Vnet {
        self.vnet
    }

    /// The handle and why.
    pub fn into_parts(self) -> (Vnet, Error) {
        (self.vnet, self.error)
    }

    /// Why, dropping the handle.
    pub fn into_error(self) -> Error {
        self.error
    }
}

impl fmt::Debug for DestroyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DestroyError")
            .field("vnet", &self.vnet.name())
            .field("error", &self.error)
            .finish()
    }
}

impl fmt::Display for DestroyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.error, f)
    }
}

impl std::error::Error for DestroyError {}

impl PartialEq<Error> for DestroyError {
    fn eq(&self, other: &Error) -> bool {
        self.error == *other
    }
}

impl From<DestroyError> for Error {
    fn from(refused: DestroyError) -> Error {
        refused.error
    }
}
