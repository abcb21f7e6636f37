//! XML for the providers that speak it (Sage Intacct's TWO_STEP login, `body_format: xml`; AWS STS
//! answers), mapped to and from JSON the way Nango's `fast-xml-parser` settings do, so the catalog's
//! `token_params` and `token_response` paths mean the same here:
//!
//! - writing: an object's keys are child elements, a `$name` key is an attribute of its element,
//!   an array repeats the element, a scalar is the element's text;
//! - reading: an element with only text is a string, others are objects of their children
//!   (repeated names become arrays) and their attributes as `@_name`, with their text as `#text`;
//!   the root element is the one
//!   key of the result (`response.operation.result…`).
//!
//! Reading and writing, escaping and entities are `quick-xml`'s.

use quick_xml::events::{BytesEnd, BytesStart, BytesText, Event};
use quick_xml::{Reader, Writer};
use serde_json::{Map, Value};

/// `body` as an XML document, indented by two spaces.
pub fn to_xml(body: &Map<String, Value>) -> anyhow::Result<String> {
    let mut w = Writer::new_with_indent(Vec::new(), b' ', 2);
    for (name, v) in body {
        write_element(&mut w, name, v)?;
    }
    Ok(String::from_utf8(w.into_inner())?)
}

fn write_element(w: &mut Writer<Vec<u8>>, name: &str, v: &Value) -> std::io::Result<()> {
    match v {
        Value::Array(items) => {
            for item in items {
                write_element(w, name, item)?;
            }
            Ok(())
        }
        Value::Object(m) => {
            let mut start = BytesStart::new(name);
            for (k, a) in m {
                if let Some(attr) = k.strip_prefix('$') {
                    start.push_attribute((attr, text(a).as_str()));
                }
            }
            w.write_event(Event::Start(start))?;
            for (k, child) in m.iter().filter(|(k, _)| !k.starts_with('$')) {
                write_element(w, k, child)?;
            }
            w.write_event(Event::End(BytesEnd::new(name)))
        }
        scalar => {
            w.write_event(Event::Start(BytesStart::new(name)))?;
            let t = text(scalar);
            if !t.is_empty() {
                w.write_event(Event::Text(BytesText::new(&t)))?;
            }
            w.write_event(Event::End(BytesEnd::new(name)))
        }
    }
}

fn text(v: &Value) -> String {
    super::template::scalar(v).unwrap_or_default()
}

/// An element being read: its children and attributes so far, and its text.
#[derive(Default)]
struct Open {
    name: String,
    children: Map<String, Value>,
    text: String,
}

impl Open {
    fn add(&mut self, name: String, v: Value) {
        match self.children.get_mut(&name) {
            None => {
                self.children.insert(name, v);
            }
            Some(Value::Array(items)) => items.push(v),
            Some(first) => {
                let first = first.take();
                self.children.insert(name, Value::Array(vec![first, v]));
            }
        }
    }

    /// Text only: a string; else an object, with its text (if any) as `#text`.
    fn value(mut self) -> Value {
        let text = self.text.trim();
        if self.children.is_empty() {
            return Value::String(text.to_owned());
        }
        if !text.is_empty() {
            self.children
                .insert("#text".into(), Value::String(text.to_owned()));
        }
        Value::Object(self.children)
    }
}

/// A start tag as an element being read, its attributes as `@_name` children.
fn opened(e: &BytesStart) -> Option<Open> {
    let mut open = Open {
        name: e.name().as_ref().to_owned(),
        ..Open::default()
    };
    for a in e.attributes() {
        let a = a.ok()?;
        let v = a
            .normalized_value(quick_xml::XmlVersion::Implicit1_0)
            .ok()?;
        open.add(
            format!("@_{}", a.key.as_ref()),
            Value::String(v.into_owned()),
        );
    }
    Some(open)
}

/// An XML document as JSON (see the module comment); `None` when it is not well-formed XML.
pub fn from_xml(doc: &str) -> Option<Value> {
    let mut reader = Reader::from_str(doc);
    let mut stack = vec![Open::default()];
    loop {
        match reader.read_event().ok()? {
            Event::Start(e) => stack.push(opened(&e)?),
            Event::Empty(e) => {
                let mut open = opened(&e)?;
                let name = std::mem::take(&mut open.name);
                stack.last_mut()?.add(name, open.value());
            }
            Event::End(_) => {
                let mut open = stack.pop()?;
                let name = std::mem::take(&mut open.name);
                stack.last_mut()?.add(name, open.value());
            }
            Event::Text(t) => stack.last_mut()?.text.push_str(&t.xml10_content()),
            Event::CData(t) => stack.last_mut()?.text.push_str(&t.xml10_content()),
            Event::GeneralRef(r) => {
                let resolved = match r.resolve_char_ref().ok()? {
                    Some(c) => c.to_string(),
                    None => quick_xml::escape::resolve_predefined_entity(&r)?.to_owned(),
                };
                stack.last_mut()?.text.push_str(&resolved);
            }
            Event::Eof => break,
            _ => {}
        }
    }
    let root = stack.pop()?;
    (stack.is_empty() && !root.children.is_empty()).then_some(Value::Object(root.children))
}

/// The first value named `key` anywhere in `v` (depth first), as text: AWS answers nest their
/// fields under operation-specific elements (`AssumeRoleResult`, `GetCallerIdentityResult`).
pub fn find_text(v: &Value, key: &str) -> Option<String> {
    match v {
        Value::Object(m) => m
            .get(key)
            .and_then(super::template::scalar)
            .filter(|s| !s.is_empty())
            .or_else(|| m.values().find_map(|c| find_text(c, key))),
        Value::Array(items) => items.iter().find_map(|c| find_text(c, key)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_body_with_attributes_and_repeats_is_written_and_read_back() {
        let body = json!({"request": {"control": {"senderid": "s<&>", "n": 3, "flag": false},
            "operation": {"function": {"$controlid": "c1", "getAPISession": ""}},
            "item": ["a", "b"]}});
        let xml = to_xml(body.as_object().unwrap()).unwrap();
        assert!(xml.contains("<senderid>s&lt;&amp;&gt;</senderid>"), "{xml}");
        assert!(xml.contains(r#"<function controlid="c1">"#), "{xml}");
        let back = from_xml(&xml).unwrap();
        assert_eq!(back["request"]["control"]["senderid"], "s<&>");
        assert_eq!(back["request"]["control"]["n"], "3");
        assert_eq!(
            back["request"]["operation"]["function"]["@_controlid"],
            "c1"
        );
        assert_eq!(back["request"]["item"], json!(["a", "b"]));
    }

    #[test]
    fn an_answer_is_read_with_its_declaration_entities_and_cdata() {
        let doc = r#"<?xml version="1.0" encoding="UTF-8"?>
            <response><operation><result><data listtype="x">
              <api><sessionid>ab&amp;c&#x21;</sessionid><note><![CDATA[<raw>]]></note></api>
            </data></result></operation></response>"#;
        let v = from_xml(doc).unwrap();
        let api = &v["response"]["operation"]["result"]["data"]["api"];
        assert_eq!(api["sessionid"], "ab&c!");
        assert_eq!(api["note"], "<raw>");
        assert_eq!(find_text(&v, "sessionid").as_deref(), Some("ab&c!"));
        assert!(from_xml("<a><b></a>").is_none());
        assert!(from_xml("not xml").is_none());
    }
}
