//! Examples of embedding LegalOps.
