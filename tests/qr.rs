#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "tests and benches fail loudly"
)]
//! Every QR rendering decodes (with the rqrr decoder) to exactly the URI.
#![cfg(feature = "qr")]

use twostep::otp::Qr;
use twostep::Enrollment;

/// Decodes a module grid (true = dark), drawn at 4 pixels per module.
fn decode(size: usize, dark: impl Fn(usize, usize) -> bool) -> String {
    const SCALE: usize = 4;
    let mut img =
        rqrr::PreparedImage::prepare_from_greyscale(size * SCALE, size * SCALE, |x, y| {
            if dark(x / SCALE, y / SCALE) {
                0
            } else {
                255
            }
        });
    let grids = img.detect_grids();
    assert_eq!(grids.len(), 1, "expected one QR code");
    grids[0].decode().unwrap().1
}

fn uris() -> Vec<String> {
    let mut uris = vec![
        "otpauth://totp/Acme:alice@example.com?secret=JBSWY3DPEHPK3PXP&issuer=Acme".to_owned(),
    ];
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(3);
    use rand_chacha::rand_core::SeedableRng;
    for (issuer, account) in [
        ("ACME Co", "john.doe@email.com"),
        ("Bäckerei & Söhne", "anna+mfa/1?x=%"),
    ] {
        let enrollment = Enrollment::builder(issuer, account)
            .build(&mut rng)
            .unwrap();
        uris.push(enrollment.uri().expose_uri().to_string());
    }
    uris
}

#[test]
fn modules_decode_to_the_uri() {
    for uri in uris() {
        let qr = Qr::new(&uri).unwrap();
        assert_eq!(
            decode(qr.size_with_quiet_zone(), |x, y| qr.is_dark(x, y)),
            uri
        );
    }
}

#[test]
fn terminal_rendering_decodes_to_the_uri() {
    for uri in uris() {
        let qr = Qr::new(&uri).unwrap();
        let text = qr.to_terminal();
        // Strip the colour codes and read the half blocks back as modules.
        let rows: Vec<Vec<char>> = text
            .lines()
            .map(|line| {
                line.replace("\x1b[30;107m", "")
                    .replace("\x1b[0m", "")
                    .chars()
                    .collect()
            })
            .collect();
        let size = qr.size_with_quiet_zone();
        assert!(rows.iter().all(|r| r.len() == size));
        assert_eq!(rows.len(), size.div_ceil(2));
        // The quiet zone is drawn, not left to the terminal's background.
        assert!(rows[0].iter().all(|c| *c == ' '));
        let decoded = decode(size, |x, y| {
            let c = rows[y / 2][x];
            if y % 2 == 0 {
                matches!(c, '█' | '▀')
            } else {
                matches!(c, '█' | '▄')
            }
        });
        assert_eq!(decoded, uri);
        assert!(text
            .lines()
            .all(|l| l.starts_with("\x1b[30;107m") && l.ends_with("\x1b[0m")));
    }
}

#[test]
fn svg_rendering_decodes_to_the_uri() {
    for uri in uris() {
        let qr = Qr::new(&uri).unwrap();
        let svg = qr.to_svg();
        let size = qr.size_with_quiet_zone();
        assert!(svg.contains(&format!(r#"viewBox="0 0 {size} {size}""#)));
        // Read the path back: each run is "M{x} {y}h{w}v1h-{w}z".
        let path = svg
            .split(" d=\"")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap();
        let mut grid = vec![vec![false; size]; size];
        for run in path.split('M').filter(|r| !r.is_empty()) {
            let (xy, rest) = run.split_once('h').unwrap();
            let (x, y) = xy.split_once(' ').unwrap();
            let w: usize = rest.split_once('v').unwrap().0.parse().unwrap();
            let (x, y): (usize, usize) = (x.parse().unwrap(), y.parse().unwrap());
            for cell in &mut grid[y][x..x + w] {
                *cell = true;
            }
        }
        assert_eq!(decode(size, |x, y| grid[y][x]), uri);
    }
}

#[test]
fn data_uri_carries_the_svg() {
    let qr = Qr::new("otpauth://totp/A:b?secret=JBSWY3DPEHPK3PXP").unwrap();
    let data = qr.to_data_uri();
    assert!(
        data.starts_with("data:image/svg+xml;base64,PHN2Zy"),
        "{data}"
    ); // "<svg"
}

#[cfg(feature = "qr-png")]
#[test]
fn png_rendering_decodes_to_the_uri() {
    for uri in uris() {
        let qr = Qr::new(&uri).unwrap();
        let bytes = qr.to_png(6).unwrap();
        let decoder = png::Decoder::new(std::io::Cursor::new(bytes));
        let mut reader = decoder.read_info().unwrap();
        let mut buf = vec![0; reader.output_buffer_size().unwrap()];
        let info = reader.next_frame(&mut buf).unwrap();
        assert_eq!(info.color_type, png::ColorType::Grayscale);
        let (w, h) = (info.width as usize, info.height as usize);
        assert_eq!(w, qr.size_with_quiet_zone() * 6);
        let mut img = rqrr::PreparedImage::prepare_from_greyscale(w, h, |x, y| buf[y * w + x]);
        let grids = img.detect_grids();
        assert_eq!(grids[0].decode().unwrap().1, uri);
    }
}

#[cfg(feature = "qr-png")]
#[test]
fn an_absurd_png_scale_is_an_error_not_a_panic() {
    let qr = Qr::new("otpauth://totp/A:b?secret=JBSWY3DPEHPK3PXP").unwrap();
    assert_eq!(qr.to_png(u32::MAX).unwrap_err(), twostep::otp::QrError::Png);
    assert!(qr.to_png(0).is_ok());
}

#[test]
fn debug_does_not_show_the_modules() {
    let qr = Qr::new("otpauth://totp/A:b?secret=JBSWY3DPEHPK3PXP").unwrap();
    assert!(format!("{qr:?}").contains("REDACTED"));
}
