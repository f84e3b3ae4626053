//! `VN0xx`: problems with the input itself. These are always reported and make the run exit with status 2.

pub mod io_error;
pub mod parse_error;
