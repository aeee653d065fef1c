//! LegalOps reference server.
