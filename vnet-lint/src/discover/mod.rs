//! The discover pass: which files to read. `workspace` asks `cargo metadata` for the selected packages'
//! source roots (and the path dependencies that use the runtime); `walk` lists the `.rs` files under paths.

pub mod walk;
pub mod workspace;
