//! The offline e-form (Passport Seva's "download the form, fill it offline, upload the XML"):
//! an XML template for a service's form, its XML Schema, and the reading of a filled one.
//!
//! The format: a root `<eform service=".." version="..">` in [`NAMESPACE`], one element per
//! question named by the question's id; a checkbox repeats its element once per choice; a group
//! holds `<item>` elements, each with its questions' elements. Every element is optional in
//! the schema: which questions apply depends on earlier answers, and the application engine
//! checks the answers page by page as if they were typed.
//!
//! Reading is defensive: the file must be small, well-formed XML without a DTD (so no entity
//! can expand or reach outside), and nothing deeper than the format's three levels is read.

use std::collections::BTreeMap;

use super::answers::Typed;
use super::{Field, FieldKind, Form};

/// The e-form's XML namespace.
pub const NAMESPACE: &str = "urn:ekdwar:eform:1";

/// The largest e-form read (a filled passport form is a few kilobytes).
pub const MAX_BYTES: usize = 48 * 1024;

/// Why an uploaded e-form was refused; each is a message id with what it names.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EformError {
    #[error("the file is a PDF, not the e-form's XML")]
    /// A PDF was sent (people upload the printed form).
    Pdf,
    #[error("the file is empty")]
    /// Nothing was in the file.
    Empty,
    #[error("the file is larger than an e-form can be")]
    /// Larger than [`MAX_BYTES`].
    TooBig,
    #[error("the file is not XML")]
    /// Not XML (not UTF-8, or not starting with a tag).
    NotXml,
    #[error("the XML declares a DTD or entities")]
    /// A DTD, which could declare entities.
    Dtd,
    #[error("the XML is broken at line {0}")]
    /// Broken XML, at this line.
    Malformed(u32),
    #[error("the file is not an e-form")]
    /// XML, but not an e-form.
    NotEform,
    #[error("the e-form is for another service ({0})")]
    /// Another service's e-form.
    OtherService(String),
    #[error("the e-form has a question this service does not ask: {0}")]
    /// An element that is no question of this form.
    Unknown(String),
}

impl EformError {
    /// The message id of this refusal.
    pub fn code(&self) -> &'static str {
        match self {
            EformError::Pdf => "eform-pdf",
            EformError::Empty => "eform-empty",
            EformError::TooBig => "eform-too-big",
            EformError::NotXml => "eform-not-xml",
            EformError::Dtd => "eform-dtd",
            EformError::Malformed(_) => "eform-malformed",
            EformError::NotEform => "eform-not-eform",
            EformError::OtherService(_) => "eform-other-service",
            EformError::Unknown(_) => "eform-unknown",
        }
    }
}

fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            _ => out.push(c),
        }
    }
    out
}

/// The questions of a form in order, every page (conditions are decided on upload).
fn questions(form: &Form) -> impl Iterator<Item = &Field> {
    form.pages.iter().flat_map(|p| &p.fields)
}

/// An empty e-form for `code` version `version`, each question preceded by its label in
/// `lang` (falling back to English) as a comment.
pub fn template(code: &str, version: i64, form: &Form, lang: &str) -> String {
    let mut out = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<eform xmlns=\"{NAMESPACE}\" service=\"{}\" version=\"{version}\">\n",
        escape(code)
    );
    let comment = |f: &Field| {
        let mut text = f.label.get(lang, "en").to_string();
        if !f.options.is_empty() {
            let values: Vec<&str> = f.options.iter().map(|o| o.value.as_str()).collect();
            text.push_str(&format!(" [{}]", values.join(" | ")));
        }
        if f.kind == FieldKind::Date {
            text.push_str(" [YYYY-MM-DD]");
        }
        // "--" may not appear inside an XML comment.
        text.replace("--", "- -")
    };
    for f in questions(form) {
        out.push_str(&format!("  <!-- {} -->\n", comment(f)));
        if f.kind == FieldKind::Group {
            // As many items as the question needs at least (two references: two items).
            out.push_str(&format!("  <{id}>\n", id = f.id));
            for _ in 0..f.min_items.unwrap_or(1).max(1) {
                out.push_str("    <item>\n");
                for g in &f.fields {
                    out.push_str(&format!("      <!-- {} -->\n", comment(g)));
                    out.push_str(&format!("      <{id}></{id}>\n", id = g.id));
                }
                out.push_str("    </item>\n");
            }
            out.push_str(&format!("  </{id}>\n", id = f.id));
        } else {
            out.push_str(&format!("  <{id}></{id}>\n", id = f.id));
        }
    }
    out.push_str("</eform>\n");
    out
}

fn xsd_type(f: &Field) -> String {
    let mut facets = String::new();
    let base = match f.kind {
        FieldKind::Number => "xs:integer",
        FieldKind::Date => "xs:date",
        _ => "xs:string",
    };
    if !f.options.is_empty() {
        for o in &f.options {
            facets.push_str(&format!("<xs:enumeration value=\"{}\"/>", escape(&o.value)));
        }
    }
    if let Some(n) = f.max_length {
        facets.push_str(&format!("<xs:maxLength value=\"{n}\"/>"));
    }
    if let Some(n) = f.min {
        facets.push_str(&format!("<xs:minInclusive value=\"{n}\"/>"));
    }
    if let Some(n) = f.max {
        facets.push_str(&format!("<xs:maxInclusive value=\"{n}\"/>"));
    }
    if f.kind == FieldKind::Pincode {
        facets.push_str("<xs:pattern value=\"[1-9][0-9]{5}\"/>");
    }
    format!(
        "<xs:simpleType><xs:restriction base=\"{base}\">{facets}</xs:restriction></xs:simpleType>"
    )
}

fn xsd_element(f: &Field, indent: &str) -> String {
    let max = if f.kind == FieldKind::Checkbox {
        "unbounded"
    } else {
        "1"
    };
    if f.kind == FieldKind::Group {
        let inner: String = f
            .fields
            .iter()
            .map(|g| xsd_element(g, &format!("{indent}        ")))
            .collect();
        return format!(
            "{indent}<xs:element name=\"{id}\" minOccurs=\"0\">\n{indent}  <xs:complexType><xs:sequence>\n{indent}    <xs:element name=\"item\" minOccurs=\"0\" maxOccurs=\"unbounded\">\n{indent}      <xs:complexType><xs:sequence>\n{inner}{indent}      </xs:sequence></xs:complexType>\n{indent}    </xs:element>\n{indent}  </xs:sequence></xs:complexType>\n{indent}</xs:element>\n",
            id = f.id
        );
    }
    format!(
        "{indent}<xs:element name=\"{id}\" minOccurs=\"0\" maxOccurs=\"{max}\">{ty}</xs:element>\n",
        id = f.id,
        ty = xsd_type(f)
    )
}

/// The XML Schema of the e-form for `code` version `version`: element names, order, choices,
/// dates, numbers and lengths. The engine's checks (required questions, conditions, patterns,
/// age rules) still apply on upload.
pub fn schema(code: &str, version: i64, form: &Form) -> String {
    let elements: String = questions(form)
        .map(|f| xsd_element(f, "        "))
        .collect();
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<xs:schema xmlns:xs=\"http://www.w3.org/2001/XMLSchema\" targetNamespace=\"{NAMESPACE}\" xmlns=\"{NAMESPACE}\" elementFormDefault=\"qualified\">\n  <xs:element name=\"eform\">\n    <xs:complexType>\n      <xs:sequence>\n{elements}      </xs:sequence>\n      <xs:attribute name=\"service\" type=\"xs:string\" fixed=\"{code}\" use=\"required\"/>\n      <xs:attribute name=\"version\" type=\"xs:integer\" fixed=\"{version}\"/>\n    </xs:complexType>\n  </xs:element>\n</xs:schema>\n",
        code = escape(code)
    )
}

/// A filled e-form's answers, as if typed into the pages: question id → what was written.
pub fn read(code: &str, form: &Form, bytes: &[u8]) -> Result<BTreeMap<String, Typed>, EformError> {
    if bytes.starts_with(b"%PDF") {
        return Err(EformError::Pdf);
    }
    if bytes.len() > MAX_BYTES {
        return Err(EformError::TooBig);
    }
    let text = std::str::from_utf8(bytes).map_err(|_| EformError::NotXml)?;
    let text = text.trim_start_matches('\u{feff}');
    if text.trim().is_empty() {
        return Err(EformError::Empty);
    }
    if !text.trim_start().starts_with('<') {
        return Err(EformError::NotXml);
    }
    let options = roxmltree::ParsingOptions {
        allow_dtd: false,
        nodes_limit: 10_000,
        ..roxmltree::ParsingOptions::default()
    };
    let doc = roxmltree::Document::parse_with_options(text, options).map_err(|e| match e {
        roxmltree::Error::DtdDetected => EformError::Dtd,
        e => EformError::Malformed(e.pos().row),
    })?;
    let root = doc.root_element();
    if root.tag_name().name() != "eform" || root.tag_name().namespace() != Some(NAMESPACE) {
        return Err(EformError::NotEform);
    }
    let service = root.attribute("service").unwrap_or_default();
    if service != code {
        return Err(EformError::OtherService(service.chars().take(64).collect()));
    }
    let field = |id: &str| questions(form).find(|f| f.id == id);
    let mut out: BTreeMap<String, Typed> = BTreeMap::new();
    for el in root.children().filter(roxmltree::Node::is_element) {
        let name = el.tag_name().name();
        let f = field(name)
            .filter(|_| el.tag_name().namespace() == Some(NAMESPACE))
            .ok_or_else(|| EformError::Unknown(name.chars().take(64).collect()))?;
        match f.kind {
            FieldKind::Group => {
                let mut items = Vec::new();
                for item in el.children().filter(roxmltree::Node::is_element) {
                    if item.tag_name().name() != "item" {
                        return Err(EformError::Unknown(format!(
                            "{}/{}",
                            f.id,
                            item.tag_name().name()
                        )));
                    }
                    let mut values = BTreeMap::new();
                    for q in item.children().filter(roxmltree::Node::is_element) {
                        let qn = q.tag_name().name();
                        if !f.fields.iter().any(|g| g.id == qn) {
                            return Err(EformError::Unknown(format!("{}/{qn}", f.id)));
                        }
                        values.insert(qn.to_string(), value(q)?);
                    }
                    // An item left empty, as the template has it, is no item.
                    if values.values().any(|v| !v.is_empty()) {
                        items.push(values);
                    }
                }
                out.insert(f.id.clone(), Typed::Items(items));
            }
            FieldKind::Checkbox => {
                let v = value(el)?;
                if let Typed::Many(list) =
                    out.entry(f.id.clone()).or_insert(Typed::Many(Vec::new()))
                    && !v.is_empty()
                {
                    list.push(v);
                }
            }
            _ => {
                out.insert(f.id.clone(), Typed::One(value(el)?));
            }
        }
    }
    Ok(out)
}

/// The text of a question's element, which holds text only.
fn value(el: roxmltree::Node<'_, '_>) -> Result<String, EformError> {
    if let Some(child) = el.children().find(roxmltree::Node::is_element) {
        return Err(EformError::Unknown(format!(
            "{}/{}",
            el.tag_name().name(),
            child.tag_name().name()
        )));
    }
    Ok(el
        .children()
        .filter_map(|n| n.text())
        .collect::<String>()
        .trim()
        .to_string())
}
