//! An integration's logo on a white tile (logos are drawn for light backgrounds). Decorative: the
//! name is always written next to it, so `alt` is empty.

use web_sys::Element;

use crate::dom::{add, h};

/// `<span class="logo [large]"><img src alt="" width=32 height=32></span>`.
pub fn logo(src: &str, large: bool) -> Element {
    let tile = h("span", if large { "logo large" } else { "logo" }, &[], "");
    let img = h(
        "img",
        "",
        &[("src", src), ("alt", ""), ("width", "32"), ("height", "32")],
        "",
    );
    add(&tile, &[&img]);
    tile
}
