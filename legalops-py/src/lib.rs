//! Python bindings for LegalOps.
