//! The discover pass: which files to read. `workspace` asks `cargo metadata` for the selected packages'
//! source roots (and the path dependencies that use the runtime); `walk` lists the `.rs` files under paths;
//! `overlay` holds texts read instead of the files on disk (the fix's rounds of `check --diff`).

pub mod overlay;
pub mod walk;
pub mod workspace;
