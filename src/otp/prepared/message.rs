//! HMAC-SHA-256 of a whole message (the record tags of the envelope), from
//! the same absorbed pads, and able to resume: a record saved after a
//! sign-in differs from its previous version only in its last bytes, so the
//! inner hash states after each whole block of the previous message are
//! kept and the next one is hashed from the last block the two share.

use sha2::block_api::compress256;
use zeroize::Zeroize;

use super::HmacSha256;

const BLOCK: usize = 64;

/// The inner hash states of an HMAC-SHA-256 after each whole block of the
/// last message it was computed for. With them the inner hash of any
/// message sharing those blocks can be finished: zeroized on drop.
#[derive(Default)]
pub(crate) struct Midstates(Vec<[u32; 8]>);

impl Drop for Midstates {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl HmacSha256 {
    /// HMAC-SHA-256 of the concatenation of `parts`.
    pub(crate) fn mac(&self, parts: &[&[u8]]) -> [u8; 32] {
        self.mac_from(parts, 0, None)
    }

    /// [`mac`](Self::mac), starting from `midstates` of an earlier message
    /// under this key whose first `shared` bytes are those of `parts`: after
    /// the last whole block of them. `midstates` are left holding this
    /// message's.
    pub(crate) fn mac_resuming(
        &self,
        parts: &[&[u8]],
        shared: usize,
        midstates: &mut Midstates,
    ) -> [u8; 32] {
        self.mac_from(parts, shared, Some(midstates))
    }

    fn mac_from(
        &self,
        parts: &[&[u8]],
        shared: usize,
        mut midstates: Option<&mut Midstates>,
    ) -> [u8; 32] {
        let mut state = self.inner;
        let mut skip = 0;
        if let Some(Midstates(kept)) = midstates.as_deref_mut() {
            let resume = (shared / BLOCK).min(kept.len());
            kept.truncate(resume);
            if let Some(last) = kept.last() {
                state = *last;
            }
            skip = resume * BLOCK;
        }
        let mut absorb = |state: &mut [u32; 8], block: &[u8; BLOCK]| {
            compress256(state, core::slice::from_ref(block));
            if let Some(Midstates(kept)) = midstates.as_deref_mut() {
                kept.push(*state);
            }
        };
        // The ipad block is already absorbed.
        let length = BLOCK + parts.iter().map(|part| part.len()).sum::<usize>();
        let mut block = [0u8; BLOCK];
        let mut filled = 0;
        for part in parts {
            let skipped = skip.min(part.len());
            skip -= skipped;
            let mut rest = part.get(skipped..).unwrap_or_default();
            while !rest.is_empty() {
                if filled == 0 {
                    let (blocks, tail) = rest.as_chunks::<BLOCK>();
                    for whole in blocks {
                        absorb(&mut state, whole);
                    }
                    rest = tail;
                }
                let (head, tail) = rest.split_at(rest.len().min(BLOCK - filled));
                if let Some(dst) = block.get_mut(filled..filled + head.len()) {
                    dst.copy_from_slice(head);
                }
                filled += head.len();
                rest = tail;
                if filled == BLOCK {
                    absorb(&mut state, &block);
                    filled = 0;
                }
            }
        }
        // FIPS 180-4 §5.1.1 padding: 0x80, zeros, the bit length; not kept,
        // as it depends on where the message ends.
        if let Some((first, rest)) = block.get_mut(filled..).and_then(|p| p.split_first_mut()) {
            *first = 0x80;
            rest.fill(0);
        }
        if filled >= BLOCK - 8 {
            compress256(&mut state, core::slice::from_ref(&block));
            block = [0u8; BLOCK];
        }
        block[BLOCK - 8..].copy_from_slice(&(length as u64).wrapping_mul(8).to_be_bytes());
        compress256(&mut state, core::slice::from_ref(&block));
        // The outer block: the inner digest, 0x80, zeros, the bit length of
        // the opad block plus the digest.
        let mut outer_block = [0u8; BLOCK];
        for (chunk, word) in outer_block.chunks_exact_mut(4).zip(state.iter()) {
            chunk.copy_from_slice(&word.to_be_bytes());
        }
        outer_block[32] = 0x80;
        outer_block[BLOCK - 8..].copy_from_slice(&(((BLOCK + 32) * 8) as u64).to_be_bytes());
        let mut outer = self.outer;
        compress256(&mut outer, core::slice::from_ref(&outer_block));
        let mut mac = [0u8; 32];
        for (chunk, word) in mac.chunks_exact_mut(4).zip(outer.iter()) {
            chunk.copy_from_slice(&word.to_be_bytes());
        }
        state.zeroize();
        mac
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hmac::{KeyInit, Mac};
    use proptest::prelude::*;

    fn reference(key: &[u8], message: &[u8]) -> Vec<u8> {
        let mut mac = <hmac::Hmac<sha2::Sha256> as KeyInit>::new_from_slice(key).unwrap();
        mac.update(message);
        mac.finalize().into_bytes().to_vec()
    }

    /// `message` cut at `cuts` (clamped, sorted).
    fn split(message: &[u8], cuts: Vec<usize>) -> Vec<&[u8]> {
        let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c.min(message.len())).collect();
        cuts.sort_unstable();
        let mut parts = Vec::new();
        let mut from = 0;
        for cut in cuts {
            parts.push(&message[from..cut]);
            from = cut;
        }
        parts.push(&message[from..]);
        parts
    }

    proptest! {
        // Against the `hmac` crate, for messages of any length split
        // anywhere: every padding case (a tail of 0 to 63 bytes, the length
        // in the same block or the next).
        #[test]
        fn matches_hmac_crate(
            key in proptest::collection::vec(any::<u8>(), 0..100),
            message in proptest::collection::vec(any::<u8>(), 0..400),
            cuts in proptest::collection::vec(0usize..400, 0..4),
        ) {
            prop_assert_eq!(
                HmacSha256::new(&key).mac(&split(&message, cuts)).to_vec(),
                reference(&key, &message)
            );
        }

        // A chain of messages, each sharing a prefix with the one before (of
        // any length, stated exactly or short), tagged by resuming: the
        // same tags as from scratch.
        #[test]
        fn resuming_matches_hmac_crate(
            key in proptest::collection::vec(any::<u8>(), 0..100),
            first in proptest::collection::vec(any::<u8>(), 0..400),
            changes in proptest::collection::vec(
                (0usize..400, proptest::collection::vec(any::<u8>(), 0..200), 0usize..400, 0usize..400),
                1..4,
            ),
        ) {
            let mac = HmacSha256::new(&key);
            let mut midstates = Midstates::default();
            prop_assert_eq!(mac.mac_resuming(&[&first], 0, &mut midstates).to_vec(), reference(&key, &first));
            let mut previous = first;
            for (keep, tail, understate, cut) in changes {
                let mut next = previous[..keep.min(previous.len())].to_vec();
                next.extend_from_slice(&tail);
                let shared = previous.iter().zip(&next).take_while(|(a, b)| a == b).count();
                let stated = shared - understate.min(shared);
                prop_assert_eq!(
                    mac.mac_resuming(&split(&next, vec![cut]), stated, &mut midstates).to_vec(),
                    reference(&key, &next)
                );
                previous = next;
            }
        }
    }
}
