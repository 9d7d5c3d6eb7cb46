//! `otptool`: a small oathtool-like command line over twostep, for scripts
//! and for checking twostep against other implementations.
//!
//! ```text
//! otptool code    --secret B32 [--algorithm sha1|sha256|sha512] [--digits N] [--period S] [--time UNIX]
//! otptool hotp    --secret B32 --counter N [--algorithm …] [--digits N]
//! otptool verify  --secret B32 --code C [--time UNIX] [--window N] [--algorithm …] [--digits N] [--period S]
//! otptool uri     --issuer I --account A [--secret B32] [--algorithm …] [--digits N] [--period S]
//! otptool inspect URI
//! otptool qr      --uri URI --format svg|png|terminal [--out FILE]
//! ```
//!
//! Exit status: 0 on success, 1 when `verify` rejects the code, 2 for bad
//! arguments or input. Errors are one line on stderr.
//!
//! Run: `cargo run --example otptool -- code --secret JBSWY3DPEHPK3PXP`

use std::collections::HashMap;
use std::io::Write;
use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

use twostep::otp::{
    Algorithm, Code, Digits, Hotp, KeyUri, OtpType, Period, Qr, Secret, Totp, TotpParams,
    VerifyError, Window,
};
use twostep::Enrollment;

/// A failure: the message and the exit status.
struct Failure(String, u8);

/// Bad arguments or input: exit status 2.
fn bad(message: impl Into<String>) -> Failure {
    Failure(message.into(), 2)
}

fn usage<T>(message: impl Into<String>) -> Result<T, Failure> {
    Err(bad(message))
}

struct Args {
    flags: HashMap<String, String>,
    positional: Vec<String>,
}

impl Args {
    /// Parses `--name value` pairs (and `--name=value`), allowing only `allowed`.
    fn parse(raw: &[String], allowed: &[&str]) -> Result<Args, Failure> {
        let mut flags = HashMap::new();
        let mut positional = Vec::new();
        let mut iter = raw.iter();
        while let Some(arg) = iter.next() {
            let Some(name) = arg.strip_prefix("--") else {
                positional.push(arg.clone());
                continue;
            };
            let (name, value) = match name.split_once('=') {
                Some((name, value)) => (name.to_owned(), value.to_owned()),
                None => match iter.next() {
                    Some(value) => (name.to_owned(), value.clone()),
                    None => return usage(format!("--{name} needs a value")),
                },
            };
            if !allowed.contains(&name.as_str()) {
                return usage(format!("unknown option --{name}"));
            }
            if flags.insert(name.clone(), value).is_some() {
                return usage(format!("--{name} given twice"));
            }
        }
        Ok(Args { flags, positional })
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.flags.get(name).map(String::as_str)
    }

    fn required(&self, name: &str) -> Result<&str, Failure> {
        self.get(name)
            .ok_or_else(|| bad(format!("--{name} is required")))
    }

    fn number(&self, name: &str, default: u64) -> Result<u64, Failure> {
        match self.get(name) {
            None => Ok(default),
            Some(v) => v
                .parse()
                .map_err(|_| bad(format!("--{name}: not a number: {v:?}"))),
        }
    }

    fn no_positional(&self) -> Result<(), Failure> {
        match self.positional.first() {
            Some(extra) => usage(format!("unexpected argument {extra:?}")),
            None => Ok(()),
        }
    }

    fn secret(&self) -> Result<Secret, Failure> {
        Secret::from_base32(self.required("secret")?).map_err(|e| bad(format!("--secret: {e}")))
    }

    fn algorithm(&self) -> Result<Algorithm, Failure> {
        match self.get("algorithm") {
            None => Ok(Algorithm::Sha1),
            Some(name) => Algorithm::from_name(name).map_or_else(
                || {
                    usage(format!(
                        "--algorithm: unknown {name:?} (sha1, sha256, sha512)"
                    ))
                },
                Ok,
            ),
        }
    }

    fn digits(&self) -> Result<Digits, Failure> {
        Digits::new(self.number("digits", 6)?).map_err(|e| bad(format!("--digits: {e}")))
    }

    fn params(&self) -> Result<TotpParams, Failure> {
        let period =
            Period::new(self.number("period", 30)?).map_err(|e| bad(format!("--period: {e}")))?;
        Ok(TotpParams::default()
            .with_algorithm(self.algorithm()?)
            .with_digits(self.digits()?)
            .with_period(period))
    }

    fn time(&self) -> Result<u64, Failure> {
        match self.get("time") {
            Some(_) => self.number("time", 0),
            None => SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_secs())
                .map_err(|_| bad("the system clock is before 1970")),
        }
    }
}

const TOTP_FLAGS: &[&str] = &["secret", "algorithm", "digits", "period", "time"];

fn run(argv: &[String]) -> Result<String, Failure> {
    let Some((command, rest)) = argv.split_first() else {
        return usage("usage: otptool code|hotp|verify|uri|inspect|qr [options]");
    };
    match command.as_str() {
        "code" => {
            let args = Args::parse(rest, TOTP_FLAGS)?;
            args.no_positional()?;
            let totp = Totp::new(&args.secret()?, args.params()?);
            let code = totp
                .generate(args.time()?)
                .map_err(|e| bad(e.to_string()))?;
            Ok(format!("{}\n", code.expose()))
        }
        "hotp" => {
            let args = Args::parse(rest, &["secret", "counter", "algorithm", "digits"])?;
            args.no_positional()?;
            let counter = args.required("counter")?;
            let counter = counter
                .parse()
                .map_err(|_| bad(format!("--counter: not a number: {counter:?}")))?;
            let hotp = Hotp::new(&args.secret()?, args.algorithm()?, args.digits()?);
            Ok(format!("{}\n", hotp.generate(counter).expose()))
        }
        "verify" => {
            let mut allowed = TOTP_FLAGS.to_vec();
            allowed.extend(["code", "window"]);
            let args = Args::parse(rest, &allowed)?;
            args.no_positional()?;
            let params = args.params()?;
            let window = args.number("window", 1)?;
            let window = Window::new(window, window).map_err(|e| bad(format!("--window: {e}")))?;
            let totp = Totp::new(&args.secret()?, params);
            let now = args.time()?;
            let outcome = Code::parse(args.required("code")?, params.digits())
                .and_then(|code| totp.verify(now, &code, window, None));
            match outcome {
                Ok(v) => Ok(format!("accepted step={} drift={}\n", v.step, v.drift)),
                // Input that is not a code, or a time before T0, is bad input.
                Err(e @ (VerifyError::Malformed | VerifyError::BeforeT0 { .. })) => {
                    usage(e.to_string())
                }
                Err(e) => Err(Failure(format!("rejected: {e}"), 1)),
            }
        }
        "uri" => {
            let args = Args::parse(
                rest,
                &[
                    "issuer",
                    "account",
                    "secret",
                    "algorithm",
                    "digits",
                    "period",
                ],
            )?;
            args.no_positional()?;
            let params = args.params()?;
            let builder = Enrollment::builder(args.required("issuer")?, args.required("account")?)
                .algorithm(params.algorithm())
                .digits(params.digits())
                .period(params.period());
            let enrollment = match args.get("secret") {
                Some(_) => builder.with_secret(args.secret()?),
                None => builder.build_os(),
            }
            .map_err(|e| bad(e.to_string()))?;
            Ok(format!("{}\n", enrollment.uri().expose_uri().as_str()))
        }
        "inspect" => {
            let args = Args::parse(rest, &[])?;
            let [uri] = args.positional.as_slice() else {
                return usage("usage: otptool inspect URI");
            };
            let uri = KeyUri::parse(uri).map_err(|e| bad(format!("invalid URI: {e}")))?;
            let mut out = String::new();
            let (kind, last) = match uri.otp_type() {
                OtpType::Totp { period } => ("totp", format!("period={}", period.seconds())),
                OtpType::Hotp { counter } => ("hotp", format!("counter={counter}")),
                _ => return usage("unsupported OTP type"),
            };
            out.push_str(&format!(
                "type={kind}\nissuer={}\naccount={}\n",
                uri.issuer().unwrap_or(""),
                uri.account()
            ));
            out.push_str(&format!(
                "secret={}\n",
                uri.secret().expose_base32().as_str()
            ));
            out.push_str(&format!(
                "algorithm={}\ndigits={}\n{last}\n",
                uri.algorithm(),
                uri.digits().get()
            ));
            for warning in uri.warnings() {
                out.push_str(&format!("warning={warning}\n"));
            }
            Ok(out)
        }
        "qr" => {
            let args = Args::parse(rest, &["uri", "format", "out"])?;
            args.no_positional()?;
            let qr = Qr::new(args.required("uri")?).map_err(|e| bad(e.to_string()))?;
            let bytes = match args.required("format")? {
                "svg" => qr.to_svg().into_bytes(),
                "terminal" => qr.to_terminal().into_bytes(),
                "png" => png(&qr)?,
                other => return usage(format!("--format: unknown {other:?} (svg, png, terminal)")),
            };
            match args.get("out") {
                Some(path) => {
                    std::fs::write(path, &bytes).map_err(|e| bad(format!("{path}: {e}")))?
                }
                None => std::io::stdout()
                    .write_all(&bytes)
                    .map_err(|e| bad(e.to_string()))?,
            }
            Ok(String::new())
        }
        other => usage(format!(
            "unknown command {other:?}: code, hotp, verify, uri, inspect or qr"
        )),
    }
}

#[cfg(feature = "qr-png")]
fn png(qr: &Qr) -> Result<Vec<u8>, Failure> {
    qr.to_png(8).map_err(|e| bad(e.to_string()))
}

#[cfg(not(feature = "qr-png"))]
fn png(_: &Qr) -> Result<Vec<u8>, Failure> {
    usage("PNG needs the qr-png feature: cargo run --features qr-png --example otptool")
}

fn main() -> ExitCode {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    match run(&argv) {
        Ok(out) => {
            print!("{out}");
            ExitCode::SUCCESS
        }
        Err(Failure(message, status)) => {
            eprintln!("otptool: {message}");
            ExitCode::from(status)
        }
    }
}
