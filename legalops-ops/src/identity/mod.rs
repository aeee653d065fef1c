//! Identity: users, sessions, API keys and logging in.

pub mod guard;

pub use guard::{LoginAttempt, LoginGuard, OpenGuard};
