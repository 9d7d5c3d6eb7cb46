//! HMAC (RFC 2104) with the key absorbed once.
//!
//! An HOTP message is one 8-byte counter, so after the key's inner and outer
//! pads are absorbed, every code costs exactly two compression calls: one block
//! for the counter and one for the inner digest. Storing the two midstates and
//! calling the compression function directly skips the per-call re-keying,
//! buffering and cloning of a general-purpose `Hmac`, which is where the time
//! goes on this path.

use core::ops::RangeInclusive;

use sha1::Digest;
use subtle::{Choice, ConditionallySelectable, ConstantTimeEq, ConstantTimeGreater};
use zeroize::{Zeroize, ZeroizeOnDrop};

use super::params::{Algorithm, Digits};

// Initial hash values, FIPS 180-4 §5.3.1, §5.3.3 and §5.3.5.
const SHA1_IV: [u32; 5] = [
    0x6745_2301,
    0xEFCD_AB89,
    0x98BA_DCFE,
    0x1032_5476,
    0xC3D2_E1F0,
];
const SHA256_IV: [u32; 8] = [
    0x6a09_e667,
    0xbb67_ae85,
    0x3c6e_f372,
    0xa54f_f53a,
    0x510e_527f,
    0x9b05_688c,
    0x1f83_d9ab,
    0x5be0_cd19,
];
const SHA512_IV: [u64; 8] = [
    0x6a09_e667_f3bc_c908,
    0xbb67_ae85_84ca_a73b,
    0x3c6e_f372_fe94_f82b,
    0xa54f_f53a_5f1d_36f1,
    0x510e_527f_ade6_82d1,
    0x9b05_688c_2b3e_6c1f,
    0x1f83_d9ab_fb41_bd6b,
    0x5be0_cd19_137e_2179,
];

/// HMAC over an 8-byte counter in three stages, so that a window of
/// counters can be computed stage by stage: the inner compressions of
/// different counters are independent and overlap in the CPU, and each block
/// is written well before it is read, which avoids store-forwarding stalls
/// when the compression function loads it with wide vector loads.
pub(crate) trait CounterMac {
    /// One block of the hash.
    type Block: Copy;
    /// A block of zeros, to initialise arrays of blocks.
    const ZERO_BLOCK: Self::Block;
    /// The inner message block: the counter, then the SHA padding.
    fn counter_block(counter: u64) -> Self::Block;
    /// Compresses a counter block under the inner midstate and returns the
    /// outer message block: the inner digest, then the padding.
    fn inner(&self, counter_block: &Self::Block) -> Self::Block;
    /// Compresses an outer block under the outer midstate and applies
    /// dynamic truncation (RFC 4226 §5.3), before the decimal modulus.
    fn outer_truncated(&self, outer_block: &Self::Block) -> u32;
    /// `DT(HMAC(K, counter))`, before the decimal modulus.
    #[inline(always)]
    fn truncated(&self, counter: u64) -> u32 {
        self.outer_truncated(&self.inner(&Self::counter_block(counter)))
    }
}

/// Dynamic truncation, RFC 4226 §5.3: the low nibble of the last byte picks
/// four bytes, of which the top bit is dropped.
#[inline(always)]
#[allow(
    clippy::indexing_slicing,
    reason = "N >= 20 is asserted at compile time and offset <= 15, so offset + 3 <= 18 < N"
)]
fn dynamic_truncation<const N: usize>(mac: &[u8; N]) -> u32 {
    const { assert!(N >= 20) };
    let offset = usize::from(mac[N - 1] & 0x0f);
    u32::from_be_bytes([
        mac[offset] & 0x7f,
        mac[offset + 1],
        mac[offset + 2],
        mac[offset + 3],
    ])
}

macro_rules! prepared_hmac {
    (
        $(#[$doc:meta])* $name:ident, $hasher:ty, $word:ty, words: $words:literal,
        block: $block:literal, digest: $digest:literal, iv: $iv:expr, compress: $compress:path
    ) => {
        $(#[$doc])*
        #[derive(Clone, Zeroize, ZeroizeOnDrop)]
        pub(crate) struct $name {
            /// State after absorbing `K ⊕ ipad`.
            inner: [$word; $words],
            /// State after absorbing `K ⊕ opad`.
            outer: [$word; $words],
        }

        impl $name {
            pub(crate) fn new(key: &[u8]) -> Self {
                // RFC 2104 §2: a key longer than the block is replaced by its hash;
                // the key is then padded with zeros to the block length.
                let mut padded = [0u8; $block];
                if key.len() > $block {
                    let mut digest = <$hasher>::digest(key);
                    for (dst, src) in padded.iter_mut().zip(digest.iter()) {
                        *dst = *src;
                    }
                    digest.as_mut_slice().zeroize();
                } else {
                    for (dst, src) in padded.iter_mut().zip(key) {
                        *dst = *src;
                    }
                }
                let mut inner = $iv;
                let mut outer = $iv;
                let mut pad = [0u8; $block];
                for (p, k) in pad.iter_mut().zip(padded.iter()) {
                    *p = k ^ 0x36;
                }
                $compress(&mut inner, core::slice::from_ref(&pad));
                for (p, k) in pad.iter_mut().zip(padded.iter()) {
                    *p = k ^ 0x5c;
                }
                $compress(&mut outer, core::slice::from_ref(&pad));
                pad.zeroize();
                padded.zeroize();
                Self { inner, outer }
            }

        }

        impl CounterMac for $name {
            type Block = [u8; $block];
            const ZERO_BLOCK: Self::Block = [0u8; $block];

            /// The counter, 0x80, zeros and the bit length of the ipad block
            /// plus 8 bytes.
            #[inline(always)]
            fn counter_block(counter: u64) -> Self::Block {
                let mut block = [0u8; $block];
                block[..8].copy_from_slice(&counter.to_be_bytes());
                block[8] = 0x80;
                block[$block - 8..].copy_from_slice(&((($block + 8) * 8) as u64).to_be_bytes());
                block
            }

            /// The inner digest, 0x80, zeros and the bit length of the opad
            /// block plus the digest.
            #[inline(always)]
            fn inner(&self, counter_block: &Self::Block) -> Self::Block {
                const WORD: usize = core::mem::size_of::<$word>();
                let mut state = self.inner;
                $compress(&mut state, core::slice::from_ref(counter_block));
                let mut block = [0u8; $block];
                for (chunk, word) in block[..$digest].chunks_exact_mut(WORD).zip(state.iter()) {
                    chunk.copy_from_slice(&word.to_be_bytes());
                }
                block[$digest] = 0x80;
                block[$block - 8..]
                    .copy_from_slice(&((($block + $digest) * 8) as u64).to_be_bytes());
                block
            }

            #[inline(always)]
            fn outer_truncated(&self, outer_block: &Self::Block) -> u32 {
                const WORD: usize = core::mem::size_of::<$word>();
                let mut state = self.outer;
                $compress(&mut state, core::slice::from_ref(outer_block));
                let mut mac = [0u8; $digest];
                for (chunk, word) in mac.chunks_exact_mut(WORD).zip(state.iter()) {
                    chunk.copy_from_slice(&word.to_be_bytes());
                }
                dynamic_truncation(&mac)
            }
        }
    };
}

prepared_hmac!(
    /// HMAC-SHA-1 with absorbed pads.
    HmacSha1, sha1::Sha1, u32, words: 5, block: 64, digest: 20,
    iv: SHA1_IV, compress: sha1::block_api::compress
);
prepared_hmac!(
    /// HMAC-SHA-256 with absorbed pads.
    HmacSha256, sha2::Sha256, u32, words: 8, block: 64, digest: 32,
    iv: SHA256_IV, compress: sha2::block_api::compress256
);
prepared_hmac!(
    /// HMAC-SHA-512 with absorbed pads (128-byte blocks; the top half of the
    /// 16-byte length field is always zero here).
    HmacSha512, sha2::Sha512, u64, words: 8, block: 128, digest: 64,
    iv: SHA512_IV, compress: sha2::block_api::compress512
);

/// A secret turned into HMAC midstates for one algorithm, ready to produce codes.
///
/// The midstates are as good as the key, so they are zeroized on drop and
/// never printed.
#[derive(Clone)]
pub(crate) enum PreparedKey {
    Sha1(HmacSha1),
    Sha256(HmacSha256),
    Sha512(HmacSha512),
}

#[cfg(test)]
thread_local! {
    /// Keys prepared on this thread: every HMAC computation needs one, so a
    /// path that leaves this unchanged computed no HMAC.
    pub(crate) static KEYS_PREPARED: core::cell::Cell<u64> = const { core::cell::Cell::new(0) };
}

impl PreparedKey {
    pub(crate) fn new(algorithm: Algorithm, key: &[u8]) -> Self {
        #[cfg(test)]
        KEYS_PREPARED.with(|n| n.set(n.get() + 1));
        match algorithm {
            Algorithm::Sha1 => PreparedKey::Sha1(HmacSha1::new(key)),
            Algorithm::Sha256 => PreparedKey::Sha256(HmacSha256::new(key)),
            Algorithm::Sha512 => PreparedKey::Sha512(HmacSha512::new(key)),
        }
    }
}

/// What a window scan found.
pub(crate) struct Scan {
    /// The lowest counter newer than the last accepted one whose code matched.
    pub(crate) accepted: Option<u64>,
    /// Whether a counter not newer than the last accepted one matched.
    pub(crate) replayed: bool,
}

impl PreparedKey {
    /// `DT(HMAC(K, counter))` before the decimal modulus.
    pub(crate) fn truncated(&self, counter: u64) -> u32 {
        match self {
            PreparedKey::Sha1(k) => k.truncated(counter),
            PreparedKey::Sha256(k) => k.truncated(counter),
            PreparedKey::Sha512(k) => k.truncated(counter),
        }
    }

    /// Tries every counter of `counters` in constant time with respect to the
    /// code: each candidate is computed and compared, and no comparison ends
    /// the loop early. The algorithm and digit count are dispatched once,
    /// outside the loop. Not inlined, so that `tools/ct-check` can count its
    /// instructions alone.
    #[inline(never)]
    pub(crate) fn scan(
        &self,
        digits: Digits,
        expected: u32,
        counters: RangeInclusive<u64>,
        last_accepted: Option<u64>,
    ) -> Scan {
        // A constant modulus lets the compiler replace the division.
        fn with_key<M: CounterMac>(
            mac: &M,
            digits: Digits,
            expected: u32,
            counters: RangeInclusive<u64>,
            last_accepted: Option<u64>,
        ) -> Scan {
            match digits.get() {
                6 => scan::<M, 1_000_000>(mac, expected, counters, last_accepted),
                7 => scan::<M, 10_000_000>(mac, expected, counters, last_accepted),
                _ => scan::<M, 100_000_000>(mac, expected, counters, last_accepted),
            }
        }
        match self {
            PreparedKey::Sha1(k) => with_key(k, digits, expected, counters, last_accepted),
            PreparedKey::Sha256(k) => with_key(k, digits, expected, counters, last_accepted),
            PreparedKey::Sha512(k) => with_key(k, digits, expected, counters, last_accepted),
        }
    }
}

/// Counters computed together; a ±1 window is one batch.
const BATCH: usize = 4;

#[inline(always)]
fn scan<M: CounterMac, const MODULUS: u32>(
    mac: &M,
    expected: u32,
    counters: RangeInclusive<u64>,
    last_accepted: Option<u64>,
) -> Scan {
    let mut found = Choice::from(0);
    let mut found_counter = 0u64;
    let mut replayed = Choice::from(0);
    // With no accepted counter yet, every counter is new.
    let (threshold, all_new) = match last_accepted {
        Some(counter) => (counter, Choice::from(0)),
        None => (0, Choice::from(1)),
    };
    let (mut next, last) = counters.into_inner();
    let mut more = next <= last;
    while more {
        // Which counters to compute depends only on the window, never on the code.
        let mut batch = [0u64; BATCH];
        let mut len = 0;
        for slot in batch.iter_mut() {
            *slot = next;
            len += 1;
            if next == last {
                more = false;
                break;
            }
            next += 1;
        }
        // Stage by stage over the batch (see `CounterMac`).
        let mut blocks = [M::ZERO_BLOCK; BATCH];
        for (block, &counter) in blocks.iter_mut().zip(&batch).take(len) {
            *block = M::counter_block(counter);
        }
        for block in blocks.iter_mut().take(len) {
            *block = mac.inner(block);
        }
        for (block, &counter) in blocks.iter().zip(&batch).take(len) {
            let matches = (mac.outer_truncated(block) % MODULUS).ct_eq(&expected);
            let is_new = all_new | counter.ct_gt(&threshold);
            let take = matches & is_new & !found;
            found_counter.conditional_assign(&counter, take);
            found |= take;
            replayed |= matches & !is_new;
        }
    }
    Scan {
        accepted: bool::from(found).then_some(found_counter),
        replayed: bool::from(replayed),
    }
}

impl core::fmt::Debug for PreparedKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("PreparedKey([REDACTED])")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hmac::{KeyInit, Mac};
    use proptest::prelude::*;

    fn reference<M: Mac + KeyInit>(key: &[u8], counter: u64) -> Vec<u8> {
        let mut mac = <M as KeyInit>::new_from_slice(key).unwrap();
        mac.update(&counter.to_be_bytes());
        mac.finalize().into_bytes().to_vec()
    }

    /// RFC 4226 §5.3, written out independently.
    fn truncate(mac: &[u8]) -> u32 {
        let offset = (mac[mac.len() - 1] & 0xf) as usize;
        ((mac[offset] as u32 & 0x7f) << 24)
            | ((mac[offset + 1] as u32) << 16)
            | ((mac[offset + 2] as u32) << 8)
            | mac[offset + 3] as u32
    }

    proptest! {
        // Differential check against the `hmac` crate, including keys longer
        // than the block (hashed first) and empty keys.
        #[test]
        fn matches_hmac_crate(key in proptest::collection::vec(any::<u8>(), 0..300), counter: u64) {
            prop_assert_eq!(
                HmacSha1::new(&key).truncated(counter),
                truncate(&reference::<hmac::Hmac<sha1::Sha1>>(&key, counter))
            );
            prop_assert_eq!(
                HmacSha256::new(&key).truncated(counter),
                truncate(&reference::<hmac::Hmac<sha2::Sha256>>(&key, counter))
            );
            prop_assert_eq!(
                HmacSha512::new(&key).truncated(counter),
                truncate(&reference::<hmac::Hmac<sha2::Sha512>>(&key, counter))
            );
        }
    }
}
