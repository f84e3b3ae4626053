pub use rt::thread::spawn as spawn_here;
pub use std::thread::spawn as spawn_plain;
