//! Pure identity rules: the password policy, email normalisation.
