//! The dependency picture as one self-contained annual-report page: the figures, their
//! definitions and three SVG bar charts drawn with plotters (concentration per sector,
//! country shares, the vendors vital providers depend on most). Nothing is loaded from
//! elsewhere: no scripts, style sheets, fonts or images.

use plotters::prelude::*;

use super::Dependencies;

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn pct(x: f64) -> String {
    format!("{:.1} %", 100.0 * x)
}

/// Vertical bars, one per label, as SVG; `marks` are horizontal reference lines.
fn bars_svg(title: &str, y_desc: &str, bars: &[(String, f64)], marks: &[f64]) -> String {
    let n = bars.len().max(1) as u32;
    // a segmented range of 0..k has k + 1 segments
    let last = n.saturating_sub(1).max(1);
    let y_max = bars
        .iter()
        .map(|b| b.1)
        .chain(marks.iter().copied())
        .fold(0.0f64, f64::max)
        .max(f64::MIN_POSITIVE)
        * 1.1;
    let label = |v: &SegmentValue<u32>| match v {
        SegmentValue::CenterOf(i) => bars
            .get(*i as usize)
            .map(|b| b.0.clone())
            .unwrap_or_default(),
        _ => String::new(),
    };
    let colour = RGBColor(31, 119, 180);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (960, 360)).into_drawing_area();
        let draw = || -> Result<(), Box<dyn std::error::Error + '_>> {
            root.fill(&WHITE)?;
            let mut chart = ChartBuilder::on(&root)
                .caption(title, ("sans-serif", 18))
                .margin(12)
                .x_label_area_size(56)
                .y_label_area_size(64)
                .build_cartesian_2d((0..last).into_segmented(), 0.0..y_max)?;
            chart
                .configure_mesh()
                .disable_x_mesh()
                .x_labels(n as usize)
                .x_label_style(("sans-serif", 11))
                .x_label_formatter(&label)
                .y_desc(y_desc)
                .draw()?;
            chart.draw_series(bars.iter().enumerate().map(|(i, b)| {
                let i = i as u32;
                let mut bar = Rectangle::new(
                    [
                        (SegmentValue::Exact(i), 0.0),
                        (SegmentValue::Exact(i + 1), b.1),
                    ],
                    colour.filled(),
                );
                bar.set_margin(0, 0, 6, 6);
                bar
            }))?;
            for &m in marks {
                chart.draw_series(std::iter::once(PathElement::new(
                    vec![
                        (SegmentValue::Exact(0), m),
                        (SegmentValue::Exact(last + 1), m),
                    ],
                    RGBColor(214, 39, 40),
                )))?;
            }
            root.present()?;
            Ok(())
        };
        if let Err(e) = draw() {
            tracing::warn!(error = %e, chart = title, "a dependency chart could not be drawn");
        }
    }
    svg
}

/// The whole picture as one self-contained HTML page.
pub fn html(d: &Dependencies) -> String {
    let c = &d.concentration;
    let scope = match &d.sector {
        Some(s) => format!("the {} sector", esc(s)),
        None => "all sectors".into(),
    };
    let hhi_svg = bars_svg(
        "Concentration per sector (Herfindahl–Hirschman index over vendors)",
        "HHI",
        &c.sectors
            .iter()
            .map(|s| (s.sector.clone(), s.hhi))
            .collect::<Vec<_>>(),
        &[1000.0, 1800.0],
    );
    let country_svg = bars_svg(
        "Share of dependencies by the vendor's country of headquarters",
        "% of dependencies",
        &d.countries
            .iter()
            .map(|c| (c.country.clone(), 100.0 * c.share))
            .collect::<Vec<_>>(),
        &[],
    );
    let top: Vec<(String, f64)> = c
        .vital_share_by_vendor
        .iter()
        .take(10)
        .map(|v| (v.vendor.clone(), 100.0 * v.vital_share))
        .collect();
    let vital_svg = bars_svg(
        "Vendors the vital providers depend on most",
        "% of vital providers",
        &top,
        &[],
    );
    let mut sectors = String::new();
    for s in &c.sectors {
        sectors.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{:.0}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
            esc(&s.sector),
            s.organisations,
            s.vital,
            s.dependencies,
            s.hhi,
            s.hhi_vital.map_or_else(|| "–".into(), |h| format!("{h:.0}")),
            esc(s.level),
            s.top_vendor.as_deref().map_or_else(
                || "–".into(),
                |v| format!("{} ({})", esc(v), pct(s.top_share))
            ),
        ));
    }
    let mut countries = String::new();
    for c in &d.countries {
        countries.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
            esc(&c.country),
            pct(c.share),
            c.organisations,
            c.vital,
            pct(c.vital_share),
            esc(&c.vendors.join(", ")),
        ));
    }
    let mut vendors = String::new();
    for v in d.vendors.iter().take(30) {
        let products = v
            .products
            .iter()
            .map(|p| format!("{} ({})", p.product, p.organisations.len()))
            .collect::<Vec<_>>()
            .join(", ");
        vendors.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
            esc(&v.name),
            esc(v.country.as_deref().unwrap_or("unknown")),
            v.organisations,
            v.vital,
            v.non_vital,
            pct(v.vital_share),
            esc(&products),
        ));
    }
    let mut suppliers = String::new();
    for s in d.suppliers.network.iter().take(20) {
        suppliers.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
            esc(&s.name),
            esc(&s.kinds.iter().cloned().collect::<Vec<_>>().join(", ")),
            s.vital_providers.len(),
            esc(&s.via.join("; ")),
        ));
    }
    let mut hosting = String::new();
    for c in &d.suppliers.hosting_countries {
        hosting.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td></tr>\n",
            esc(&c.country),
            c.vital_providers,
            esc(&c.suppliers.join(", ")),
        ));
    }
    let blast = match &d.blast_radius {
        Some(b) => {
            let mut rows = String::new();
            for (sector, s) in &b.by_sector {
                rows.push_str(&format!(
                    "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
                    esc(sector),
                    s.organisations,
                    s.vital,
                    s.reached
                ));
            }
            let paths = b
                .by_path
                .iter()
                .map(|(p, n)| format!("{n} {}", esc(p)))
                .collect::<Vec<_>>()
                .join(", ");
            format!(
                "<h2>Blast radius of {vendor}</h2>\n<p>{orgs} organisations ({vital} vital) run \
                 {products}; under policy <b>{policy}</b> {reached} can be told ({paths}) and \
                 {unreachable} cannot.</p>\n<table><tr><th>sector</th><th>organisations</th>\
                 <th>vital</th><th>reachable</th></tr>\n{rows}</table>\n",
                vendor = esc(&b.vendor),
                orgs = b.organisations,
                vital = b.vital,
                products = esc(&b.products.iter().cloned().collect::<Vec<_>>().join(", ")),
                policy = esc(&b.policy),
                reached = b.reached,
                paths = if paths.is_empty() {
                    "none".into()
                } else {
                    paths
                },
                unreachable = b.unreachable,
            )
        }
        None => String::new(),
    };
    format!(
        r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>baken — cyber dependency picture</title>
<style>
body {{ font-family: system-ui, sans-serif; max-width: 64rem; margin: 2rem auto; color: #222; }}
table {{ border-collapse: collapse; margin: 1rem 0; }}
td, th {{ border: 1px solid #ccc; padding: .3rem .6rem; text-align: left; }}
th {{ background: #f3f3f3; }}
dt {{ font-weight: bold; margin-top: .4rem; }}
.big {{ font-size: 1.3rem; }}
</style></head><body>
<h1>Cyber dependency picture: {scope}</h1>
<p class="big">{orgs} registered organisations, {with_inventory} with a declared inventory
({entries} entries, {unidentified} naming no vendor); {vital} vital providers, {vital_inv} of
them with an inventory. {vendor_n} vendors in {country_n} countries.</p>
<h2>Definitions</h2>
<dl>
<dt>depends on</dt><dd>an entry of the organisation's declared inventory or SBOM names the vendor (by CPE vendor or purl namespace)</dd>
<dt>vital share</dt><dd>vital providers that depend on it, over the vital providers that declared an inventory</dd>
<dt>HHI</dt><dd>Herfindahl–Hirschman index: the sum of the squared percentage shares of the vendors in a sector's organisation–vendor dependencies (0–10,000; the red lines mark 1,000 and 1,800, moderately and highly concentrated)</dd>
<dt>country</dt><dd>of the vendor's headquarters, from the vendor table</dd>
</dl>
<h2>Concentration per sector</h2>
{hhi_svg}
<table><tr><th>sector</th><th>organisations</th><th>vital</th><th>dependencies</th><th>HHI</th><th>HHI vital</th><th>level</th><th>largest vendor</th></tr>
{sectors}</table>
<h2>Dependence by country</h2>
{country_svg}
<table><tr><th>country</th><th>share of dependencies</th><th>organisations</th><th>vital</th><th>vital share</th><th>vendors</th></tr>
{countries}</table>
<h2>Top dependencies of vital processes</h2>
{vital_svg}
<table><tr><th>vendor</th><th>country</th><th>organisations</th><th>vital</th><th>non-vital</th><th>vital share</th><th>products (organisations)</th></tr>
{vendors}</table>
<h2>Non-vital suppliers of vital providers</h2>
<table><tr><th>supplier</th><th>how</th><th>vital providers</th><th>for example</th></tr>
{suppliers}</table>
<h3>Where vital providers' systems are hosted and routed (countries from RPSL)</h3>
<table><tr><th>country</th><th>vital providers</th><th>suppliers</th></tr>
{hosting}</table>
{blast}</body></html>
"#,
        orgs = d.organisations,
        with_inventory = d.with_inventory,
        entries = d.entries,
        unidentified = d.unidentified_entries,
        vital = c.vital_providers,
        vital_inv = c.vital_with_inventory,
        vendor_n = d.vendors.len(),
        country_n = d.countries.len(),
    )
}
