//! Helpers shared by the integration tests: a seeded factor and the
//! authenticator app that shows its codes.
#![allow(
    clippy::unwrap_used,
    dead_code,
    reason = "test helpers; not every test uses each"
)]

use rand_chacha::rand_core::SeedableRng;
use twostep::Enrollment;

/// A factor with a secret drawn from a seeded generator.
pub fn enrollment(seed: u64) -> Enrollment {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    Enrollment::builder("Acme", "user").build(&mut rng).unwrap()
}

/// What the person's authenticator app shows at `now`.
pub fn code_at(enrollment: &Enrollment, now: u64) -> String {
    enrollment
        .totp()
        .generate(now)
        .unwrap()
        .expose()
        .to_string()
}
