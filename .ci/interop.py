#!/usr/bin/env python3
"""otptool against independent implementations.

- codes: oathtool (C, liboath) and pyotp (Python) for SHA-1/256/512, 6-8
  digits, several periods, times before and after 2038 and 2106;
- HOTP codes: oathtool;
- URIs: otptool's URIs read by pyotp with the same fields; pyotp's URIs read
  by `otptool inspect`;
- QR codes: zbarimg decodes the PNG, the SVG (rasterised by rsvg-convert) and
  the terminal rendering (re-drawn as a PGM) to exactly the URI.

Usage: .ci/interop.py PATH/TO/otptool   (exits non-zero on any disagreement)
"""
import base64
import hashlib
import hmac
import os
import subprocess
import sys
import tempfile
import urllib.parse

import pyotp

OTPTOOL = sys.argv[1]
checks = 0
failures = []


def run(*args, ok=(0,)):
    p = subprocess.run(args, capture_output=True, text=True)
    if p.returncode not in ok:
        raise SystemExit(f"{args}: exit {p.returncode}: {p.stderr.strip()}")
    return p.stdout


def expect(what, got, want):
    global checks
    checks += 1
    if got != want:
        failures.append(f"{what}: otptool {got!r} != {want!r}")


def reference_hotp(key, counter, digits, digest):
    """RFC 4226 §5.3 with Python's hmac module."""
    mac = hmac.new(key, counter.to_bytes(8, "big"), digest).digest()
    offset = mac[-1] & 0x0F
    value = int.from_bytes(mac[offset:offset + 4], "big") & 0x7FFFFFFF
    return str(value % 10**digits).zfill(digits)


HASHES = {"sha1": hashlib.sha1, "sha256": hashlib.sha256, "sha512": hashlib.sha512}
SECRETS = [
    b"12345678901234567890",  # RFC seeds
    b"12345678901234567890123456789012",
    b"1234567890" * 6 + b"1234",
    bytes(range(10)),  # 80 bits, like GitHub's
    os.urandom(20),
    os.urandom(37),
    os.urandom(100),  # longer than a SHA-1/256 block: hashed first
]
TIMES = [0, 59, 1111111109, 1234567890, 2000000000, 2**31, 2**32 + 7, 20000000000, 99999999999]

for secret in SECRETS:
    b32 = base64.b32encode(secret).decode().rstrip("=")
    for alg, digest in HASHES.items():
        for digits in (6, 7, 8):
            for period in (30, 60, 1, 3600):
                # pyotp refuses periods over 120 s and secrets under 112 bits;
                # oathtool covers those.
                use_pyotp = period <= 120 and len(secret) >= 14
                ref = pyotp.TOTP(b32, digits=digits, digest=digest, interval=period) if use_pyotp else None
                for t in TIMES:
                    got = run(OTPTOOL, "code", "--secret", b32, "--algorithm", alg,
                              "--digits", str(digits), "--period", str(period), "--time", str(t)).strip()
                    if ref:
                        expect(f"pyotp {alg}/{digits}/{period}s t={t}", got, ref.at(t))
                    if not ref or period in (30, 3600) or t in (59, 20000000000):
                        want = run("oathtool", f"--totp={alg}", "-b", "-d", str(digits), "-s", f"{period}s",
                                   "-N", f"@{t}", b32).strip()
                        expect(f"oathtool {alg}/{digits}/{period}s t={t}", got, want)
                    # otptool verify accepts the reference's code at that time.
                    if t % 7 == 0:
                        out = run(OTPTOOL, "verify", "--secret", b32, "--algorithm", alg, "--digits", str(digits),
                                  "--period", str(period), "--time", str(t), "--code", got)
                        expect(f"verify {alg}/{digits} t={t}", out.split()[0], "accepted")
            for counter in (0, 1, 9, 2**32, 2**63):
                got = run(OTPTOOL, "hotp", "--secret", b32, "--algorithm", alg, "--digits", str(digits),
                          "--counter", str(counter)).strip()
                if alg == "sha1":
                    want = run("oathtool", "--hotp", "-b", "-d", str(digits), "-c", str(counter), b32).strip()
                else:  # oathtool's HOTP is SHA-1 only
                    want = reference_hotp(secret, counter, digits, digest)
                expect(f"hotp {alg}/{digits} c={counter}", got, want)

# URIs both ways.
for issuer, account in [("Acme Co", "alice@example.com"), ("Bäckerei & Söhne", "anna+mfa/1?x=%"), ("x", "y z")]:
    for alg, digits, period in [("sha1", 6, 30), ("sha256", 8, 60), ("sha512", 7, 15)]:
        uri = run(OTPTOOL, "uri", "--issuer", issuer, "--account", account, "--algorithm", alg,
                  "--digits", str(digits), "--period", str(period)).strip()
        totp = pyotp.parse_uri(uri)
        expect("pyotp reads issuer", totp.issuer, issuer)
        expect("pyotp reads account", totp.name, account)
        expect("pyotp reads digits", totp.digits, digits)
        expect("pyotp reads period", totp.interval, period)
        expect("pyotp reads algorithm", totp.digest().name, alg)
        secret = urllib.parse.parse_qs(urllib.parse.urlsplit(uri).query)["secret"][0]
        expect("pyotp reads secret", totp.secret, secret)
        # And the other way round.
        theirs = pyotp.TOTP(pyotp.random_base32(), digits=digits, digest=HASHES[alg], interval=period)
        their_uri = theirs.provisioning_uri(name=account, issuer_name=issuer)
        fields = dict(line.split("=", 1) for line in run(OTPTOOL, "inspect", their_uri).splitlines()
                      if not line.startswith("warning="))
        expect("inspect pyotp issuer", fields["issuer"], issuer)
        expect("inspect pyotp account", fields["account"], account)
        expect("inspect pyotp secret", fields["secret"], theirs.secret)
        expect("inspect pyotp algorithm", fields["algorithm"], alg.upper())
        expect("inspect pyotp digits", fields["digits"], str(digits))
        expect("inspect pyotp period", fields["period"], str(period))
hotp_uri = pyotp.HOTP(pyotp.random_base32()).provisioning_uri(name="bob", issuer_name="Acme", initial_count=12)
fields = dict(l.split("=", 1) for l in run(OTPTOOL, "inspect", hotp_uri).splitlines() if not l.startswith("warning="))
expect("inspect pyotp hotp", (fields["type"], fields["counter"]), ("hotp", "12"))
run(OTPTOOL, "inspect", "otpauth://totp/A:b?secret=JBSWY3DPEHPK3PXP&digits=9", ok=(2,))

# QR codes decode to exactly the URI.
with tempfile.TemporaryDirectory() as tmp:
    for issuer, account in [("Acme Co", "alice@example.com"), ("Bäckerei & Söhne", "anna+mfa/1?x=%")]:
        uri = run(OTPTOOL, "uri", "--issuer", issuer, "--account", account).strip()

        def zbar(path):
            return subprocess.run(["zbarimg", "--raw", "-q", path], capture_output=True, text=True).stdout.rstrip("\n")

        png = os.path.join(tmp, "qr.png")
        run(OTPTOOL, "qr", "--uri", uri, "--format", "png", "--out", png)
        expect("zbar decodes PNG", zbar(png), uri)
        svg = os.path.join(tmp, "qr.svg")
        run(OTPTOOL, "qr", "--uri", uri, "--format", "svg", "--out", svg)
        run("rsvg-convert", "-w", "600", "-b", "white", "-o", png, svg)
        expect("zbar decodes SVG", zbar(png), uri)
        # The terminal text, drawn back as pixels: each character is one module
        # wide and two tall; the foreground is dark.
        text = run(OTPTOOL, "qr", "--uri", uri, "--format", "terminal")
        rows = [l.replace("\x1b[30;107m", "").replace("\x1b[0m", "") for l in text.splitlines()]
        scale, width = 6, len(rows[0])
        pixels = []
        for row in rows:
            for half in (0, 1):
                line = b"".join(
                    (b"\x00" if (c == "█" or (c == "▀" and half == 0) or (c == "▄" and half == 1)) else b"\xff") * scale
                    for c in row)
                pixels += [line] * scale
        pgm = os.path.join(tmp, "qr.pgm")
        with open(pgm, "wb") as f:
            f.write(b"P5 %d %d 255\n" % (width * scale, len(pixels)) + b"".join(pixels))
        expect("zbar decodes terminal", zbar(pgm), uri)

if failures:
    print("\n".join(failures[:20]))
    print(f"interop: {len(failures)} of {checks} checks failed")
    sys.exit(1)
print(f"interop: {checks} passed, 0 failed")
