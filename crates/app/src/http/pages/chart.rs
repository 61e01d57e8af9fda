//! The billing page's chart of the month's daily usage charges per product, as inline SVG: no script, prints.

use std::fmt::Write;

use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;

const WIDTH: f64 = 640.0;
const ROW_HEIGHT: f64 = 64.0;

/// One product's row of bars, one bar per day of the month, scaled to the largest day of any product.
pub struct Series<'a> {
    pub label: &'a str,
    pub daily: &'a [Decimal],
}

/// Escapes text for an SVG element or attribute.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

pub fn daily_usage(series: &[Series<'_>]) -> String {
    let days = series.iter().map(|s| s.daily.len()).max().unwrap_or(0);
    let largest = series
        .iter()
        .flat_map(|s| s.daily.iter())
        .filter_map(|d| d.to_f64())
        .fold(0.0_f64, f64::max);
    let height = ROW_HEIGHT * series.len() as f64;
    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" class="chart" id="usage-chart" viewBox="0 0 {WIDTH} {height}" role="img" aria-label="Daily usage charges this month">"#
    );
    let bar = WIDTH / days.max(1) as f64;
    for (row, s) in series.iter().enumerate() {
        let top = row as f64 * ROW_HEIGHT;
        let base = top + ROW_HEIGHT - 6.0;
        let _ = write!(
            svg,
            r#"<g class="series" data-product="{label}"><text x="0" y="{y:.1}" class="label">{label}</text>"#,
            label = escape(s.label),
            y = top + 14.0
        );
        for (day, amount) in s.daily.iter().enumerate() {
            let value = amount.to_f64().unwrap_or(0.0);
            let h = if largest > 0.0 {
                value / largest * (ROW_HEIGHT - 26.0)
            } else {
                0.0
            };
            let _ = write!(
                svg,
                r#"<rect x="{x:.1}" y="{y:.1}" width="{w:.1}" height="{h:.1}"><title>Day {d}: ${amount}</title></rect>"#,
                x = day as f64 * bar + 1.0,
                y = base - h,
                w = (bar - 2.0).max(1.0),
                d = day + 1,
                amount = tollgate_domain::Money::round(*amount),
            );
        }
        let _ = write!(svg, r#"<line x1="0" y1="{base:.1}" x2="{WIDTH}" y2="{base:.1}"/></g>"#);
    }
    svg.push_str("</svg>");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_a_bar_per_day_scaled_to_the_largest_and_escapes_labels() {
        let daily = [Decimal::ZERO, Decimal::new(5, 1), Decimal::ONE];
        let svg = daily_usage(&[Series {
            label: "<Backup & Co>",
            daily: &daily,
        }]);
        assert_eq!(svg.matches("<rect").count(), 3);
        assert!(svg.contains("&lt;Backup &amp; Co&gt;"));
        assert!(svg.contains(r#"height="38.0""#), "the largest day fills the row: {svg}");
        assert!(svg.contains(r#"height="19.0""#));
        assert!(svg.contains("Day 2: $0.50"));
    }
}
