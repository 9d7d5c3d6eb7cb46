//! Where fresh randomness comes from: the operating system, a host's
//! generator, or (without `getrandom`, until the host gives one) nowhere.

use super::SealError;

/// Where fresh randomness comes from when a transition needs it (a nonce to
/// seal, recovery codes to draw). Drawn only when needed: a check that seals
/// nothing draws nothing.
pub(crate) trait Entropy: Send + Sync {
    /// Fills `buf` with random bytes from a CSPRNG.
    fn fill(&self, buf: &mut [u8]) -> Result<(), SealError>;
}

/// The operating system's generator.
#[cfg(feature = "getrandom")]
pub(crate) struct OsEntropy;

#[cfg(feature = "getrandom")]
impl Entropy for OsEntropy {
    fn fill(&self, buf: &mut [u8]) -> Result<(), SealError> {
        getrandom::fill(buf).map_err(|_| SealError::Entropy)
    }
}

/// No generator: every draw fails (the default without `getrandom` until
/// the host gives one).
#[cfg(not(feature = "getrandom"))]
pub(crate) struct NoEntropy;

#[cfg(not(feature = "getrandom"))]
impl Entropy for NoEntropy {
    fn fill(&self, _: &mut [u8]) -> Result<(), SealError> {
        Err(SealError::Entropy)
    }
}

/// A host's generator, shared behind a lock.
pub(crate) struct RngEntropy<R>(pub(crate) std::sync::Mutex<R>);

impl<R: rand_core::CryptoRng + Send> Entropy for RngEntropy<R> {
    fn fill(&self, buf: &mut [u8]) -> Result<(), SealError> {
        let mut rng = self.0.lock().map_err(|_| SealError::Entropy)?;
        rng.fill_bytes(buf);
        Ok(())
    }
}
