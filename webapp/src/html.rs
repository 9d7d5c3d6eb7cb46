//! The pages' frame and the bits every screen uses. Plain server-rendered
//! HTML: no template engine, no external resource.

use std::fmt::Write;

/// `text` safe inside HTML text and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Who is signed in, for the frame's menu.
pub struct Viewer<'a> {
    /// The name shown.
    pub name: &'a str,
    /// The sign-in email (named in a downloaded recovery code).
    pub email: &'a str,
    /// Whether the menu offers the owner's pages.
    pub owner: bool,
    /// Whether the person is past every check (the menu is reachable).
    pub in_app: bool,
}

/// A whole page: `title`, the menu for `viewer`, `notice` (an answer to the
/// last form, read out by screen readers) and `body`.
pub fn page(
    title: &str,
    viewer: Option<&Viewer<'_>>,
    notice: Option<&Notice>,
    body: &str,
) -> String {
    let mut html = String::with_capacity(body.len() + 2048);
    let _ = write!(
        html,
        r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} · Acme</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/static/app.css">
<script src="/static/app.js" defer></script>
</head>
<body data-site="Acme" data-account="{account}">
<header><span class="brand">Acme</span>"#,
        title = escape(title),
        account = escape(viewer.map_or("", |v| v.email)),
    );
    if let Some(viewer) = viewer {
        html.push_str(&menu(viewer));
    }
    html.push_str("</header>\n<main>\n");
    let _ = writeln!(html, "<h1>{}</h1>", escape(title));
    if let Some(notice) = notice {
        let (class, role) = match notice {
            Notice::Done(_) => ("notice done", "status"),
            Notice::Refused(_) => ("notice refused", "alert"),
        };
        let _ = writeln!(
            html,
            "<p class=\"{class}\" role=\"{role}\" id=\"notice\">{}</p>",
            escape(notice.text())
        );
    }
    html.push_str(body);
    html.push_str("\n</main>\n</body>\n</html>\n");
    html
}

fn menu(viewer: &Viewer<'_>) -> String {
    let mut html = String::from("<nav aria-label=\"Account menu\">");
    if viewer.in_app {
        html.push_str("<details class=\"menu\"><summary>Account menu</summary><ul>");
        html.push_str("<li class=\"group\">Administration<ul>");
        html.push_str("<li><a href=\"/account\">Account info</a></li>");
        if viewer.owner {
            html.push_str("<li><a href=\"/company\">Company profile</a></li>");
            html.push_str("<li><a href=\"/users\">Users</a></li>");
        }
        html.push_str("</ul></li></ul></details>");
    }
    let _ = write!(
        html,
        "<span class=\"who\">{}</span><form method=\"post\" action=\"/signout\" class=\"inline\"><button type=\"submit\" class=\"link\">Sign out</button></form></nav>",
        escape(viewer.name),
    );
    html
}

/// The one-time code field as authenticator-app users expect it: the
/// browser and phone offer the code, a numeric keypad, focus on arrival.
/// After a refusal it is marked invalid and described by the refusal, so a
/// screen reader reads both on arriving at it.
pub fn code_field(id: &str, label: &str, refused: bool) -> String {
    let invalid = if refused {
        " aria-invalid=\"true\" aria-describedby=\"notice\""
    } else {
        ""
    };
    format!(
        "<label for=\"{id}\">{label}</label>\n<input id=\"{id}\" name=\"code\" type=\"text\" autocomplete=\"one-time-code\" inputmode=\"numeric\" pattern=\"[0-9 ]*\" maxlength=\"12\" required autofocus{invalid}>\n",
        id = escape(id),
        label = escape(label)
    )
}

/// The answer to the form just sent.
pub enum Notice {
    /// It was done.
    Done(String),
    /// It was refused, and why, in words for people.
    Refused(String),
}

impl Notice {
    /// Whether this answers a form with a refusal.
    pub fn is_refusal(notice: Option<&Notice>) -> bool {
        matches!(notice, Some(Notice::Refused(_)))
    }

    fn text(&self) -> &str {
        match self {
            Notice::Done(text) | Notice::Refused(text) => text,
        }
    }
}
