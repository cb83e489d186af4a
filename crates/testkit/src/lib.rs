//! Reading Ekdwar's pages (and its peers' login forms) the way a browser does: a real HTML
//! parser (html5ever, through `scraper`) finds form fields, attributes and text, so a test
//! never depends on attribute order, quoting or entity encoding. Shared by the integration
//! tests and the benchmark.

use scraper::{Html, Selector};

/// A client that keeps cookies and does not follow redirects, as a test follows them itself.
pub fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("an HTTP client")
}

/// The `Location` a response redirects to.
pub fn location(r: &reqwest::Response) -> Option<String> {
    r.headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

fn select(css: &str) -> Selector {
    Selector::parse(css).unwrap_or_else(|e| panic!("selector {css:?}: {e}"))
}

/// The value of the first form control named `name` (an `input`, `button`, `textarea` or
/// `select`'s selected option), entities decoded.
pub fn field(html: &str, name: &str) -> Option<String> {
    let doc = Html::parse_document(html);
    let el = doc
        .select(&select("input, button, textarea, select"))
        .find(|e| e.value().attr("name") == Some(name))?;
    Some(match el.value().name() {
        "textarea" => el.text().collect(),
        "select" => el
            .select(&select("option[selected]"))
            .next()
            .and_then(|o| o.value().attr("value"))
            .unwrap_or_default()
            .to_string(),
        _ => el.value().attr("value").unwrap_or_default().to_string(),
    })
}

/// The value of the attribute `attr` on the first element that carries it.
pub fn attr(html: &str, attr: &str) -> Option<String> {
    let doc = Html::parse_document(html);
    let css = format!("[{attr}]");
    let found = doc
        .select(&Selector::parse(&css).ok()?)
        .next()?
        .value()
        .attr(attr)?
        .to_string();
    Some(found)
}

/// The text a person reads: the body's text nodes, whitespace collapsed.
pub fn text(html: &str) -> String {
    let doc = Html::parse_document(html);
    let words: Vec<&str> = doc
        .select(&select("body"))
        .flat_map(|b| b.text())
        .flat_map(str::split_whitespace)
        .collect();
    words.join(" ")
}

/// A page's first form: where it posts and its hidden fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Form {
    pub action: String,
    pub hidden: Vec<(String, String)>,
    /// The names of its visible controls.
    pub visible: Vec<String>,
}

impl Form {
    /// The first form of `html`.
    pub fn first(html: &str) -> Option<Self> {
        let doc = Html::parse_document(html);
        let form = doc.select(&select("form")).next()?;
        let mut hidden = Vec::new();
        let mut visible = Vec::new();
        for input in form.select(&select("input, textarea, select")) {
            let v = input.value();
            let Some(name) = v.attr("name") else { continue };
            if v.attr("type") == Some("hidden") {
                hidden.push((name.to_string(), v.attr("value").unwrap_or_default().into()));
            } else {
                visible.push(name.to_string());
            }
        }
        Some(Self {
            action: form.value().attr("action").unwrap_or_default().to_string(),
            hidden,
            visible,
        })
    }

    /// Whether the form asks for `name`.
    pub fn asks_for(&self, name: &str) -> bool {
        self.visible.iter().any(|v| v == name)
    }
}

/// A page as a browser received it.
#[derive(Debug, Clone)]
pub struct Page {
    pub status: u16,
    /// Where it came from (after redirects, if the client followed any).
    pub url: String,
    pub headers: reqwest::header::HeaderMap,
    pub body: String,
}

impl Page {
    /// Reads a whole response.
    pub async fn read(r: reqwest::Response) -> reqwest::Result<Self> {
        Ok(Self {
            status: r.status().as_u16(),
            url: r.url().to_string(),
            headers: r.headers().clone(),
            body: r.text().await?,
        })
    }

    /// The value of the form control `name`.
    pub fn field(&self, name: &str) -> Option<String> {
        field(&self.body, name)
    }

    /// The value of the attribute `name` on the first element that has it.
    pub fn attr(&self, name: &str) -> Option<String> {
        attr(&self.body, name)
    }

    /// Whether any form on the page asks for `name` (a control a person fills, not a hidden
    /// one).
    /// Whether the page asks question `name`: a visible field of that name, or the day box of
    /// a date asked in three boxes.
    pub fn asks_for(&self, name: &str) -> bool {
        let doc = scraper::Html::parse_document(&self.body);
        let day = format!("{name}[day]");
        doc.select(&select("input, textarea, select")).any(|e| {
            let n = e.value().attr("name");
            (n == Some(name) || n == Some(day.as_str())) && e.value().attr("type") != Some("hidden")
        })
    }

    /// The text a person reads.
    pub fn text(&self) -> String {
        text(&self.body)
    }

    /// The page's first form.
    pub fn form(&self) -> Option<Form> {
        Form::first(&self.body)
    }

    /// Where the page redirects to.
    pub fn location(&self) -> Option<&str> {
        self.headers.get("location").and_then(|v| v.to_str().ok())
    }

    /// The path of the page's URL, without the query.
    pub fn path(&self) -> String {
        let after = self.url.split_once("://").map_or("", |(_, r)| r);
        let path = after.find('/').map_or("/", |i| &after[i..]);
        path.split('?').next().unwrap_or("/").to_string()
    }

    /// Whether the HTML contains `text` as written (markup included).
    pub fn has(&self, text: &str) -> bool {
        self.body.contains(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAGE: &str = r#"<!doctype html><html><body>
        <form method="post" action="/login">
          <input value="a&amp;b&#x2b;c" type="hidden" name="csrf">
          <input type='hidden' name=next value="/account?x=1&amp;y=2">
          <label>Phone <input name="identifier" data-hint="yes"></label>
          <textarea name="note">two
 lines</textarea>
          <select name="lang"><option value="en">English</option><option value="hi" selected>हिन्दी</option></select>
        </form><p>Hello,   world</p></body></html>"#;

    #[test]
    fn fields_are_read_whatever_the_markup_order_and_entities() {
        assert_eq!(field(PAGE, "csrf").as_deref(), Some("a&b+c"));
        assert_eq!(field(PAGE, "next").as_deref(), Some("/account?x=1&y=2"));
        assert_eq!(field(PAGE, "identifier").as_deref(), Some(""));
        assert_eq!(field(PAGE, "note").as_deref(), Some("two\n lines"));
        assert_eq!(field(PAGE, "lang").as_deref(), Some("hi"));
        assert_eq!(field(PAGE, "missing"), None);
        assert_eq!(attr(PAGE, "data-hint").as_deref(), Some("yes"));
        assert!(text(PAGE).ends_with("Hello, world"));
    }

    #[test]
    fn the_first_form_has_its_action_and_hidden_fields() {
        let f = Form::first(PAGE).unwrap();
        assert_eq!(f.action, "/login");
        assert_eq!(
            f.hidden,
            [
                ("csrf".to_string(), "a&b+c".to_string()),
                ("next".to_string(), "/account?x=1&y=2".to_string())
            ]
        );
        assert!(f.asks_for("identifier") && !f.asks_for("csrf"));
    }
}
