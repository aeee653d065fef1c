//! Alert channels (in progress).
