//! The bytes of a stored record: a magic tag, a format number, then fixed
//! fields. Reading never panics and refuses anything not written by a
//! known format.

/// Why stored bytes could not be read as a record.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RecordError {
    /// The bytes do not start with the record tag.
    #[error("not a twostep record")]
    NotARecord,
    /// Written by a newer version of twostep.
    #[error("record format {0} is not supported by this version")]
    UnsupportedFormat(u8),
    /// The bytes end in the middle of a field.
    #[error("record is truncated")]
    Truncated,
    /// A field holds an impossible value.
    #[error("record field {0} is invalid")]
    InvalidField(&'static str),
    /// Bytes are left after the last field.
    #[error("record has trailing bytes")]
    TrailingBytes,
    /// The record's tag does not match its kind, id and bytes: altered,
    /// copied from another record, or tagged under another key with the same
    /// id. Nothing in it was used.
    #[error("record is not authentic")]
    Unauthentic,
    /// The record carries no tag: written before records were authenticated
    /// (read it only during a migration, with
    /// [`Config::read_legacy_records`](crate::Config::read_legacy_records)), or
    /// stripped of its tag.
    #[error("record is not authenticated")]
    NotAuthenticated,
}

pub(crate) const MAGIC: [u8; 2] = *b"2s";

/// Appends fields to a buffer. Not zeroized: a record holds no plaintext
/// secret (secrets are sealed, recovery codes hashed with the pepper), the
/// store keeps the same bytes anyway, and wiping every copy cost ~100 ns per
/// verify in byte-by-byte volatile writes.
pub(crate) struct Writer(Vec<u8>);

impl Writer {
    pub(crate) fn new(format: u8) -> Self {
        Self::reusing(Vec::with_capacity(256), 0, format)
    }

    /// A writer into `buffer`'s allocation, whose bytes start after `room`
    /// zeros (an envelope's header, filled in place later).
    pub(crate) fn reusing(mut buffer: Vec<u8>, room: usize, format: u8) -> Self {
        buffer.clear();
        buffer.resize(room, 0);
        buffer.extend_from_slice(&MAGIC);
        buffer.push(format);
        Writer(buffer)
    }

    pub(crate) fn u8(&mut self, v: u8) {
        self.0.push(v);
    }

    pub(crate) fn u16(&mut self, v: u16) {
        self.0.extend_from_slice(&v.to_be_bytes());
    }

    pub(crate) fn u32(&mut self, v: u32) {
        self.0.extend_from_slice(&v.to_be_bytes());
    }

    pub(crate) fn u64(&mut self, v: u64) {
        self.0.extend_from_slice(&v.to_be_bytes());
    }

    pub(crate) fn array<const N: usize>(&mut self, v: &[u8; N]) {
        self.0.extend_from_slice(v);
    }

    pub(crate) fn option_u64(&mut self, v: Option<u64>) {
        match v {
            Some(v) => {
                self.u8(1);
                self.u64(v);
            }
            None => self.u8(0),
        }
    }

    pub(crate) fn i32(&mut self, v: i32) {
        self.0.extend_from_slice(&v.to_be_bytes());
    }

    pub(crate) fn i8(&mut self, v: i8) {
        self.0.extend_from_slice(&v.to_be_bytes());
    }

    /// A length (two bytes) and the bytes; callers keep them under 64 KiB.
    pub(crate) fn long_bytes(&mut self, v: &[u8]) {
        self.0
            .extend_from_slice(&u16::try_from(v.len()).unwrap_or(u16::MAX).to_be_bytes());
        self.0
            .extend_from_slice(v.get(..usize::from(u16::MAX)).unwrap_or(v));
    }

    /// A length (one byte) and the bytes; callers keep them under 256.
    pub(crate) fn short_bytes(&mut self, v: &[u8]) {
        self.u8(u8::try_from(v.len()).unwrap_or(u8::MAX));
        self.0
            .extend_from_slice(v.get(..usize::from(u8::MAX)).unwrap_or(v));
    }

    pub(crate) fn finish(self) -> Vec<u8> {
        self.0
    }
}

/// Reads fields in order, failing on truncation.
pub(crate) struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    /// Checks the tag and returns the format number and a reader after it.
    pub(crate) fn new(bytes: &'a [u8]) -> Result<(u8, Self), RecordError> {
        match bytes {
            [m0, m1, format, rest @ ..] if [*m0, *m1] == MAGIC => Ok((*format, Reader(rest))),
            _ => Err(RecordError::NotARecord),
        }
    }

    pub(crate) fn array<const N: usize>(&mut self) -> Result<[u8; N], RecordError> {
        self.take()
    }

    fn take<const N: usize>(&mut self) -> Result<[u8; N], RecordError> {
        let (head, rest) = self
            .0
            .split_first_chunk::<N>()
            .ok_or(RecordError::Truncated)?;
        self.0 = rest;
        Ok(*head)
    }

    pub(crate) fn u8(&mut self) -> Result<u8, RecordError> {
        Ok(u8::from_be_bytes(self.take()?))
    }

    pub(crate) fn u16(&mut self) -> Result<u16, RecordError> {
        Ok(u16::from_be_bytes(self.take()?))
    }

    pub(crate) fn u32(&mut self) -> Result<u32, RecordError> {
        Ok(u32::from_be_bytes(self.take()?))
    }

    pub(crate) fn u64(&mut self) -> Result<u64, RecordError> {
        Ok(u64::from_be_bytes(self.take()?))
    }

    pub(crate) fn i32(&mut self) -> Result<i32, RecordError> {
        Ok(i32::from_be_bytes(self.take()?))
    }

    pub(crate) fn i8(&mut self) -> Result<i8, RecordError> {
        Ok(i8::from_be_bytes(self.take()?))
    }

    pub(crate) fn flag(&mut self, field: &'static str) -> Result<bool, RecordError> {
        match self.u8()? {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err(RecordError::InvalidField(field)),
        }
    }

    pub(crate) fn option_u64(&mut self, field: &'static str) -> Result<Option<u64>, RecordError> {
        Ok(if self.flag(field)? {
            Some(self.u64()?)
        } else {
            None
        })
    }

    pub(crate) fn short_bytes(&mut self) -> Result<&'a [u8], RecordError> {
        let len = usize::from(self.u8()?);
        self.bytes(len)
    }

    pub(crate) fn long_bytes(&mut self) -> Result<&'a [u8], RecordError> {
        let len = usize::from(u16::from_be_bytes(self.take()?));
        self.bytes(len)
    }

    /// A UTF-8 string written with [`Writer::long_bytes`].
    pub(crate) fn long_str(&mut self, field: &'static str) -> Result<&'a str, RecordError> {
        std::str::from_utf8(self.long_bytes()?).map_err(|_| RecordError::InvalidField(field))
    }

    fn bytes(&mut self, len: usize) -> Result<&'a [u8], RecordError> {
        if self.0.len() < len {
            return Err(RecordError::Truncated);
        }
        let (head, rest) = self.0.split_at(len);
        self.0 = rest;
        Ok(head)
    }

    pub(crate) fn finish(self) -> Result<(), RecordError> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(RecordError::TrailingBytes)
        }
    }
}
