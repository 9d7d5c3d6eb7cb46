//! Every byte string: `KeyUri::parse` never panics, and what parses writes
//! back to a URI that parses to the same fields with no warnings.
#![no_main]

use libfuzzer_sys::fuzz_target;
use twostep::otp::KeyUri;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(uri) = KeyUri::parse(text) else {
        return;
    };
    let written = uri.expose_uri();
    let again = KeyUri::parse(&written).expect("a written URI parses");
    assert_eq!(again.issuer(), uri.issuer());
    assert_eq!(again.account(), uri.account());
    assert_eq!(again.secret().expose_bytes(), uri.secret().expose_bytes());
    assert_eq!(again.otp_type(), uri.otp_type());
    assert_eq!(again.algorithm(), uri.algorithm());
    assert_eq!(again.digits(), uri.digits());
    assert_eq!(*again.expose_uri(), *written, "writing is a fixed point");
});
