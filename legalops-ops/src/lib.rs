//! LegalOps engines over the core traits.
