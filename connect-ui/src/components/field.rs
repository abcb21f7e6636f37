//! One form field built from a provider's catalog entry: label (with "optional" or a required mark
//! and a help link to the provider's docs section), description, `prefix`/`suffix` adornments, a text,
//! password or select input, and its error message in a live region. Also [`BrowserSyntax`]: the
//! browser's `RegExp` and `URL` behind [`crate::form::Syntax`].
//!
//! Why DOM calls instead of `view!`: every reactive attribute and child of a Leptos view is its own
//! generic instantiation; a catalog-driven field written with `view!` cost ~30 KB gzip of wasm, a
//! quarter of the Connect UI's budget. Built here with plain `web_sys` calls it is one function.

use std::rc::Rc;

use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{Document, Element, HtmlInputElement, HtmlSelectElement};

use crate::dom::on_each;
use crate::form::{check, Field, Namespace, Problem, Syntax};
use crate::i18n::{I18n, Key};

#[wasm_bindgen]
extern "C" {
    /// `RegExp`, bound with `catch` so an invalid catalog pattern is an `Err`, not an exception.
    #[wasm_bindgen(js_name = RegExp)]
    type SafeRegExp;
    #[wasm_bindgen(constructor, catch, js_class = "RegExp")]
    fn new(pattern: &str) -> Result<SafeRegExp, JsValue>;
    #[wasm_bindgen(method)]
    fn test(this: &SafeRegExp, value: &str) -> bool;
}

/// The browser's regular expressions (the catalog's patterns are JavaScript ones) and URL parser.
pub struct BrowserSyntax;

impl Syntax for BrowserSyntax {
    fn matches(&self, pattern: &str, value: &str) -> bool {
        SafeRegExp::new(pattern).map_or(true, |re| re.test(value))
    }
    fn is_url(&self, value: &str) -> bool {
        web_sys::Url::new(value).is_ok_and(|u| matches!(u.protocol().as_str(), "http:" | "https:"))
    }
}

/// The label of a field: the catalog's `title`, else the built-in name of a base credential.
pub fn label(field: &Field, i18n: I18n) -> String {
    if let Some(title) = &field.schema.title {
        return title.clone();
    }
    let key = match (field.namespace, field.schema.name.as_str()) {
        (Namespace::Credentials, "apiKey") => Some(Key::FieldApiKey),
        (Namespace::Credentials, "username") => Some(Key::FieldUsername),
        (Namespace::Credentials, "password") => Some(Key::FieldPassword),
        (Namespace::Credentials, "client_id") => Some(Key::FieldClientId),
        (Namespace::Credentials, "client_secret") => Some(Key::FieldClientSecret),
        _ => None,
    };
    key.map_or_else(|| field.schema.name.clone(), |k| i18n.t(k).to_owned())
}

/// A rendered field: its input (or select) and what shows its error.
pub struct FieldDom {
    pub root: Element,
    input: Element,
    wrap: Element,
    error: Element,
    label: String,
}

impl FieldDom {
    /// The current value.
    pub fn value(&self) -> String {
        if let Some(input) = self.input.dyn_ref::<HtmlInputElement>() {
            input.value()
        } else if let Some(select) = self.input.dyn_ref::<HtmlSelectElement>() {
            select.value()
        } else if let Some(area) = self.input.dyn_ref::<web_sys::HtmlTextAreaElement>() {
            area.value()
        } else {
            String::new()
        }
    }

    /// Shows (or clears) the error of `problem`.
    pub fn show(&self, problem: Option<Problem>, i18n: I18n) {
        let message = match problem {
            None => String::new(),
            Some(Problem::Required) => i18n.t(Key::FieldRequired).to_owned(),
            Some(Problem::Incorrect) => i18n.t_name(Key::FieldIncorrect, &self.label),
        };
        self.error.set_text_content(Some(&message));
        let invalid = if problem.is_some() { "true" } else { "false" };
        let _ = self.input.set_attribute("aria-invalid", invalid);
        let _ = self.wrap.set_attribute("data-invalid", invalid);
    }
}

fn el(doc: &Document, tag: &str, class: &str) -> Element {
    let e = doc.create_element(tag).expect("createElement");
    if !class.is_empty() {
        e.set_class_name(class);
    }
    e
}

fn text_el(doc: &Document, tag: &str, class: &str, text: &str) -> Element {
    let e = el(doc, tag, class);
    e.set_text_content(Some(text));
    e
}

/// Builds the field's DOM with `value` in it. `on_edit` runs after each change, once the field has
/// shown its own error state.
pub fn render(
    doc: &Document,
    field: &Field,
    value: &str,
    i18n: I18n,
    guide: Option<&str>,
    on_edit: Rc<dyn Fn()>,
) -> Rc<FieldDom> {
    let schema = &field.schema;
    let id = field.input_id();
    let label_text = label(field, i18n);
    let root = el(doc, "div", "field");
    let _ = root.set_attribute("data-field", &schema.name);

    let row = el(doc, "div", "label-row");
    let label_el = text_el(doc, "label", "", &label_text);
    let _ = label_el.set_attribute("for", &id);
    let _ = row.append_child(&label_el);
    if schema.optional {
        let _ = row.append_child(&text_el(doc, "span", "pill", i18n.t(Key::Optional)));
    } else {
        let mark = text_el(doc, "span", "required", "*");
        let _ = mark.set_attribute("aria-hidden", "true");
        let _ = row.append_child(&mark);
    }
    if let (Some(guide), Some(section)) = (guide, &schema.doc_section) {
        let help = text_el(doc, "a", "help", "?");
        let sep = if section.starts_with('#') { "" } else { "#" };
        let _ = help.set_attribute("href", &format!("{guide}{sep}{section}"));
        let _ = help.set_attribute("target", "_blank");
        let _ = help.set_attribute("rel", "noopener noreferrer");
        let _ = help.set_attribute("aria-label", &i18n.t_name(Key::FieldHelp, &label_text));
        let _ = row.append_child(&help);
    }
    let _ = root.append_child(&row);

    let err_id = format!("{id}-error");
    let mut described_by = err_id.clone();
    if let Some(description) = &schema.description {
        let desc_id = format!("{id}-desc");
        let p = text_el(doc, "p", "muted small", description);
        p.set_id(&desc_id);
        let _ = root.append_child(&p);
        described_by = format!("{desc_id} {err_id}");
    }

    let wrap = el(doc, "div", "input-wrap");
    let adornment = |text: &Option<String>| {
        if let Some(text) = text {
            let a = text_el(doc, "span", "adornment", text);
            let _ = a.set_attribute("aria-hidden", "true");
            let _ = wrap.append_child(&a);
        }
    };
    adornment(&schema.prefix);
    let input = if schema.options.is_empty() && field.is_multiline() {
        let area = el(doc, "textarea", "");
        let _ = area.set_attribute("rows", "6");
        if let Some(placeholder) = schema.example.as_ref().or(schema.title.as_ref()) {
            let _ = area.set_attribute("placeholder", placeholder);
        }
        let _ = area.set_attribute("autocomplete", "off");
        let _ = area.set_attribute("spellcheck", "false");
        area.unchecked_ref::<web_sys::HtmlTextAreaElement>()
            .set_value(value);
        area
    } else if schema.options.is_empty() {
        let input = el(doc, "input", "");
        let kind = if field.is_secret() {
            "password"
        } else {
            schema.format.map_or("text", |f| f.input_type())
        };
        let _ = input.set_attribute("type", kind);
        if let Some(placeholder) = schema.example.as_ref().or(schema.title.as_ref()) {
            let _ = input.set_attribute("placeholder", placeholder);
        }
        let _ = input.set_attribute("autocomplete", "off");
        let _ = input.set_attribute("spellcheck", "false");
        input.unchecked_ref::<HtmlInputElement>().set_value(value);
        input
    } else {
        let select = el(doc, "select", "");
        let mut options = Vec::with_capacity(schema.options.len() + 1);
        if schema.optional {
            options.push(("", "—"));
        }
        options.extend(schema.options.iter().map(|o| (o.as_str(), o.as_str())));
        for (v, text) in options {
            let option = text_el(doc, "option", "", text);
            let _ = option.set_attribute("value", v);
            let _ = select.append_child(&option);
        }
        select.unchecked_ref::<HtmlSelectElement>().set_value(value);
        select
    };
    input.set_id(&id);
    let _ = input.set_attribute("name", &schema.name);
    let _ = input.set_attribute(
        "aria-required",
        if schema.optional { "false" } else { "true" },
    );
    let _ = input.set_attribute("aria-describedby", &described_by);
    let _ = wrap.append_child(&input);
    adornment(&schema.suffix);
    let _ = root.append_child(&wrap);

    let error = el(doc, "p", "field-error");
    error.set_id(&err_id);
    let _ = error.set_attribute("aria-live", "polite");
    let _ = root.append_child(&error);

    let dom = Rc::new(FieldDom {
        root,
        input,
        wrap,
        error,
        label: label_text,
    });
    // A value restored from a draft shows its state at once; a fresh one after the first edit.
    if value != field.initial {
        dom.show(check(field, value, &BrowserSyntax), i18n);
    }
    let (weak, field) = (Rc::downgrade(&dom), field.clone());
    on_each(
        &dom.input,
        &["input", "change", "blur"],
        Box::new(move |_| {
            if let Some(dom) = weak.upgrade() {
                dom.show(check(&field, &dom.value(), &BrowserSyntax), i18n);
                on_edit();
            }
        }),
    );
    dom
}
