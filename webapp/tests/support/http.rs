//! A keep-alive HTTP/1.1 client with one cookie: just what the app's forms
//! need, for the HTTP tests and the load test (no client library).
#![allow(dead_code, reason = "the load test reads fewer fields than the tests")]

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

/// Any failure, sendable between tasks.
pub type Failure = Box<dyn std::error::Error + Send + Sync>;

/// One keep-alive HTTP/1.1 connection with a cookie: just what the app's
/// forms need.
pub struct Client {
    stream: BufReader<TcpStream>,
    /// The session id the app set last.
    pub cookie: String,
}

/// What the app answered.
pub struct Answer {
    /// The status code.
    pub status: u16,
    /// Where a redirect leads.
    pub location: String,
    /// Every header, names in lower case.
    pub headers: Vec<(String, String)>,
    /// The page.
    pub body: String,
}

impl Client {
    /// A new connection, with no cookie yet.
    pub async fn connect(addr: std::net::SocketAddr) -> Result<Client, Failure> {
        Ok(Client {
            stream: BufReader::new(TcpStream::connect(addr).await?),
            cookie: String::new(),
        })
    }

    /// Sends `form` (none for a GET) with the session cookie; keeps the
    /// cookie the app sets.
    pub async fn send(
        &mut self,
        method: &str,
        path: &str,
        form: &[(&str, &str)],
    ) -> Result<Answer, Failure> {
        self.send_with(method, path, form, &[]).await
    }

    /// [`send`](Self::send) with more request headers (`Origin`, say).
    pub async fn send_with(
        &mut self,
        method: &str,
        path: &str,
        form: &[(&str, &str)],
        more: &[(&str, &str)],
    ) -> Result<Answer, Failure> {
        let body: Vec<String> = form
            .iter()
            .map(|(k, v)| format!("{k}={}", encode(v)))
            .collect();
        let body = body.join("&");
        let mut more: String = more.iter().map(|(k, v)| format!("{k}: {v}\r\n")).collect();
        if !self.cookie.is_empty() {
            more.push_str(&format!("Cookie: sid={}\r\n", self.cookie));
        }
        let request = format!(
            "{method} {path} HTTP/1.1\r\nHost: app\r\n{more}Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        self.stream.get_mut().write_all(request.as_bytes()).await?;
        let mut line = String::new();
        self.stream.read_line(&mut line).await?;
        let status = line.split(' ').nth(1).ok_or("no status")?.parse()?;
        let (mut length, mut location, mut headers) = (0, String::new(), Vec::new());
        loop {
            line.clear();
            self.stream.read_line(&mut line).await?;
            let header = line.trim_end();
            if header.is_empty() {
                break;
            }
            let (name, value) = header.split_once(": ").ok_or("bad header")?;
            let name = name.to_ascii_lowercase();
            headers.push((name.clone(), value.to_owned()));
            match name.as_str() {
                "content-length" => length = value.parse()?,
                "location" => location = value.to_owned(),
                "set-cookie" => {
                    let pair = value.split(';').next().unwrap_or_default();
                    self.cookie = pair.trim_start_matches("sid=").to_owned();
                }
                _ => {}
            }
        }
        let mut body = vec![0; length];
        self.stream.read_exact(&mut body).await?;
        Ok(Answer {
            status,
            location,
            headers,
            body: String::from_utf8(body)?,
        })
    }
}

/// `value` as `application/x-www-form-urlencoded`.
pub fn encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'.' | b'_' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
