//! Overview: how many integrations and connections, and a small chart of connections created and
//! failed attempts per day (plain SVG; the same figures as a table for screen readers).

use crate::api;
use latchkey_protocol::dashboard::Overview as Data;
use leptos::prelude::*;

const W: f64 = 560.0;
const H: f64 = 160.0;

#[component]
pub fn Overview() -> impl IntoView {
    let data = LocalResource::new(|| api::get::<Data>("/overview"));
    view! {
        <h1>"Overview"</h1>
        <Suspense fallback=|| view! { <p role="status">"Loading…"</p> }>
            {move || data.get().map(|r| match r {
                Err(e) => view! { <p class="problem" role="alert">{e.message}</p> }.into_any(),
                Ok(d) => view! { <Figures d=d/> }.into_any(),
            })}
        </Suspense>
    }
}

#[component]
fn Figures(d: Data) -> impl IntoView {
    let max = d
        .days
        .iter()
        .map(|x| x.connections_created.max(x.failed_attempts))
        .max()
        .unwrap_or(0)
        .max(1) as f64;
    let step = W / d.days.len().max(1) as f64;
    let bar = (step / 2.0 - 2.0).max(1.0);
    let bars = d
        .days
        .iter()
        .enumerate()
        .map(|(i, day)| {
            let x = i as f64 * step;
            let h_ok = day.connections_created as f64 / max * (H - 20.0);
            let h_bad = day.failed_attempts as f64 / max * (H - 20.0);
            view! {
                <g>
                    <rect class="ok" x=x y=H - h_ok width=bar height=h_ok/>
                    <rect class="bad" x=x + bar + 1.0 y=H - h_bad width=bar height=h_bad/>
                </g>
            }
        })
        .collect_view();
    let total_ok: u64 = d.days.iter().map(|x| x.connections_created).sum();
    let total_bad: u64 = d.days.iter().map(|x| x.failed_attempts).sum();
    let rows = d
        .days
        .iter()
        .map(|day| {
            view! {
                <tr><th scope="row">{day.day.clone()}</th><td>{day.connections_created}</td><td>{day.failed_attempts}</td></tr>
            }
        })
        .collect_view();
    view! {
        <dl class="counts">
            <div><dt>"Integrations"</dt><dd>{d.integrations}</dd></div>
            <div><dt>"Connections"</dt><dd>{d.connections}</dd></div>
            <div><dt>"Connections created (14 days)"</dt><dd>{total_ok}</dd></div>
            <div><dt>"Failed attempts (14 days)"</dt><dd>{total_bad}</dd></div>
        </dl>
        <figure>
            <svg class="chart" viewBox=format!("0 0 {W} {H}") role="img"
                aria-label=format!("Connections created ({total_ok}) and failed attempts ({total_bad}) per day over 14 days")>
                {bars}
            </svg>
            <figcaption>
                <span class="key ok">"Connections created"</span>" "
                <span class="key bad">"Failed attempts"</span>
            </figcaption>
        </figure>
        <details>
            <summary>"Figures per day"</summary>
            <table>
                <thead><tr><th scope="col">"Day"</th><th scope="col">"Created"</th><th scope="col">"Failed"</th></tr></thead>
                <tbody>{rows}</tbody>
            </table>
        </details>
    }
}
