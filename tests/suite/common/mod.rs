//! Test helpers shared by several test modules.
pub mod old_stimulus;
