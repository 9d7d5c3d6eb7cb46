//! QR codes, rendered locally: SVG, a `data:` URI, terminal text and PNG.
//!
//! Nothing is ever sent to a web service: the QR encodes the secret.

use core::fmt::Write as _;
use zeroize::{Zeroize, Zeroizing};

/// Why a QR code could not be made.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum QrError {
    /// The text does not fit in the largest QR code.
    #[error("text too long for a QR code")]
    TooLong,
    /// PNG encoding failed.
    #[error("PNG encoding failed")]
    Png,
}

/// A QR code: a square of dark and light modules.
///
/// It encodes an otpauth URI and so the secret: `Debug` is redacted and the
/// modules are zeroized on drop (the `qrcode` encoder's own working buffers
/// are not; treat the process memory of an enrollment as sensitive). Every rendering has a quiet zone of
/// [`Qr::QUIET_ZONE`] modules, as ISO/IEC 18004 requires.
///
/// ```
/// use twostep::otp::Qr;
/// let qr = Qr::new("otpauth://totp/Acme:alice?secret=JBSWY3DPEHPK3PXP&issuer=Acme")?;
/// let svg = qr.to_svg();
/// assert!(svg.starts_with("<svg"));
/// let img = format!(r#"<img src="{}" alt="QR code">"#, qr.to_data_uri());
/// # Ok::<(), twostep::otp::QrError>(())
/// ```
pub struct Qr {
    /// Row-major, `true` is dark.
    modules: Zeroizing<Vec<u8>>,
    width: usize,
}

impl Qr {
    /// The width of the light border around the code, in modules.
    pub const QUIET_ZONE: usize = 4;
    /// The widest PNG made, in pixels.
    pub const MAX_PNG_SIDE: usize = 16_384;

    /// Encodes `text` (error correction level M, enough for a phone screen).
    ///
    /// # Errors
    /// [`QrError::TooLong`] if `text` exceeds a QR code's capacity.
    pub fn new(text: &str) -> Result<Qr, QrError> {
        let code = qrcode::QrCode::with_error_correction_level(text, qrcode::EcLevel::M)
            .map_err(|_| QrError::TooLong)?;
        let width = code.width();
        let modules = code
            .into_colors()
            .into_iter()
            .map(|c| u8::from(c == qrcode::Color::Dark))
            .collect();
        Ok(Qr {
            modules: Zeroizing::new(modules),
            width,
        })
    }

    /// The number of modules per side, without the quiet zone.
    pub fn width(&self) -> usize {
        self.width
    }

    /// Whether the module at column `x`, row `y` is dark; coordinates include
    /// the quiet zone, and anything outside the code is light.
    pub fn is_dark(&self, x: usize, y: usize) -> bool {
        let (Some(x), Some(y)) = (
            x.checked_sub(Self::QUIET_ZONE),
            y.checked_sub(Self::QUIET_ZONE),
        ) else {
            return false;
        };
        x < self.width && y < self.width && self.modules.get(y * self.width + x) == Some(&1)
    }

    /// The side length in modules including the quiet zone on both sides.
    pub fn size_with_quiet_zone(&self) -> usize {
        self.width + 2 * Self::QUIET_ZONE
    }

    /// An SVG document, one unit per module, scaling to any size.
    pub fn to_svg(&self) -> String {
        let size = self.size_with_quiet_zone();
        let mut svg = String::with_capacity(size * size * 4);
        let _ = write!(
            svg,
            r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {size} {size}" shape-rendering="crispEdges"><rect width="{size}" height="{size}" fill="#fff"/><path fill="#000" d=""##
        );
        for y in 0..size {
            let mut x = 0;
            while x < size {
                if self.is_dark(x, y) {
                    let start = x;
                    while x < size && self.is_dark(x, y) {
                        x += 1;
                    }
                    let _ = write!(svg, "M{start} {y}h{}v1h-{}z", x - start, x - start);
                } else {
                    x += 1;
                }
            }
        }
        svg.push_str(r#""/></svg>"#);
        svg
    }

    /// The SVG as a `data:image/svg+xml;base64,…` URI for an `<img src>`.
    pub fn to_data_uri(&self) -> String {
        let mut svg = self.to_svg();
        let uri = format!("data:image/svg+xml;base64,{}", base64(svg.as_bytes()));
        svg.zeroize();
        uri
    }

    /// Text for a terminal: two rows of modules per line in Unicode half
    /// blocks, with explicit colours (black on white, ANSI) so that it reads
    /// the same from a dark or a light terminal theme.
    pub fn to_terminal(&self) -> String {
        const DARK_ON_LIGHT: &str = "\x1b[30;107m";
        const RESET: &str = "\x1b[0m";
        let size = self.size_with_quiet_zone();
        let mut text = String::with_capacity((size + 12) * size.div_ceil(2) * 3);
        for y in (0..size).step_by(2) {
            text.push_str(DARK_ON_LIGHT);
            for x in 0..size {
                // Foreground (black) draws the dark halves.
                text.push(match (self.is_dark(x, y), self.is_dark(x, y + 1)) {
                    (true, true) => '█',
                    (true, false) => '▀',
                    (false, true) => '▄',
                    (false, false) => ' ',
                });
            }
            text.push_str(RESET);
            text.push('\n');
        }
        text
    }

    /// A grayscale PNG, `scale` pixels per module (at least 1).
    ///
    /// # Errors
    /// [`QrError::Png`] if the image would be wider than
    /// [`Qr::MAX_PNG_SIDE`] pixels or the encoder fails.
    #[cfg(feature = "qr-png")]
    #[cfg_attr(docsrs, doc(cfg(feature = "qr-png")))]
    pub fn to_png(&self, scale: u32) -> Result<Vec<u8>, QrError> {
        let scale = usize::try_from(scale.max(1)).map_err(|_| QrError::Png)?;
        let side = self
            .size_with_quiet_zone()
            .checked_mul(scale)
            .filter(|side| *side <= Self::MAX_PNG_SIDE)
            .ok_or(QrError::Png)?;
        let side_u32 = u32::try_from(side).map_err(|_| QrError::Png)?;
        let mut pixels = Zeroizing::new(Vec::with_capacity(side * side));
        for py in 0..side {
            for px in 0..side {
                pixels.push(if self.is_dark(px / scale, py / scale) {
                    0
                } else {
                    255
                });
            }
        }
        let mut out = Vec::new();
        let mut encoder = png::Encoder::new(&mut out, side_u32, side_u32);
        encoder.set_color(png::ColorType::Grayscale);
        encoder.set_depth(png::BitDepth::Eight);
        let mut writer = encoder.write_header().map_err(|_| QrError::Png)?;
        writer.write_image_data(&pixels).map_err(|_| QrError::Png)?;
        writer.finish().map_err(|_| QrError::Png)?;
        Ok(out)
    }
}

impl core::fmt::Debug for Qr {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "Qr({}x{}, [REDACTED])", self.width, self.width)
    }
}

/// Standard base64 with padding (RFC 4648 §4).
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let sextet = |n: u32| {
        ALPHABET
            .get((n & 63) as usize)
            .map_or('=', |&c| char::from(c))
    };
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = |i: usize| u32::from(chunk.get(i).copied().unwrap_or(0));
        let n = b(0) << 16 | b(1) << 8 | b(2);
        out.push(sextet(n >> 18));
        out.push(sextet(n >> 12));
        out.push(if chunk.len() > 1 { sextet(n >> 6) } else { '=' });
        out.push(if chunk.len() > 2 { sextet(n) } else { '=' });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_rfc4648_vectors() {
        // RFC 4648 §10.
        for (input, expected) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(input.as_bytes()), expected);
        }
    }

    #[test]
    fn too_long_is_an_error() {
        assert_eq!(Qr::new(&"x".repeat(5000)).unwrap_err(), QrError::TooLong);
    }
}
