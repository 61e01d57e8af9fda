//! Bar charts as inline SVG (no script; they print): the billing page's daily usage charges per product, and the
//! seller console's revenue by month.

use std::fmt::Write;

use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use tollgate_domain::Money;
use tollgate_domain::calendar::Month;

const WIDTH: f64 = 640.0;
const ROW_HEIGHT: f64 = 64.0;

/// One row of bars (one product's days, say), scaled with the other rows to the largest bar of any.
pub struct Series<'a> {
    pub label: &'a str,
    pub values: &'a [Decimal],
}

/// Escapes text for an SVG element or attribute.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The month's usage charges, a bar per day and a row per product.
pub fn daily_usage(series: &[Series<'_>]) -> String {
    let days = series.iter().map(|s| s.values.len()).max().unwrap_or(0);
    let names: Vec<String> = (1..=days).map(|d| format!("Day {d}")).collect();
    bar_rows("usage-chart", "Daily usage charges this month", &names, series)
}

/// Revenue collected per month, a bar per month.
pub fn monthly_revenue(months: &[(Month, Money)]) -> String {
    let names: Vec<String> = months.iter().map(|(m, _)| m.long_name()).collect();
    let values: Vec<Decimal> = months.iter().map(|(_, amount)| amount.to_decimal()).collect();
    let series = [Series {
        label: "Revenue collected",
        values: &values,
    }];
    bar_rows("revenue-chart", "Revenue collected by month", &names, &series)
}

/// Rows of bars, one row per series; `names` titles the bars of each position.
fn bar_rows(id: &str, description: &str, names: &[String], series: &[Series<'_>]) -> String {
    let positions = series.iter().map(|s| s.values.len()).max().unwrap_or(0);
    let largest = series
        .iter()
        .flat_map(|s| s.values.iter())
        .filter_map(|d| d.to_f64())
        .fold(0.0_f64, f64::max);
    let height = ROW_HEIGHT * series.len() as f64;
    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" class="chart" id="{id}" viewBox="0 0 {WIDTH} {height}" role="img" aria-label="{description}">"#
    );
    let bar = WIDTH / positions.max(1) as f64;
    for (row, s) in series.iter().enumerate() {
        let top = row as f64 * ROW_HEIGHT;
        let base = top + ROW_HEIGHT - 6.0;
        let _ = write!(
            svg,
            r#"<g class="series" data-product="{label}"><text x="0" y="{y:.1}" class="label">{label}</text>"#,
            label = escape(s.label),
            y = top + 14.0
        );
        for (position, amount) in s.values.iter().enumerate() {
            let value = amount.to_f64().unwrap_or(0.0);
            let h = if largest > 0.0 {
                value.max(0.0) / largest * (ROW_HEIGHT - 26.0)
            } else {
                0.0
            };
            let _ = write!(
                svg,
                r#"<rect x="{x:.1}" y="{y:.1}" width="{w:.1}" height="{h:.1}"><title>{name}: ${amount}</title></rect>"#,
                x = position as f64 * bar + 1.0,
                y = base - h,
                w = (bar - 2.0).max(1.0),
                name = escape(names.get(position).map_or("", String::as_str)),
                amount = Money::round(*amount),
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
            values: &daily,
        }]);
        assert_eq!(svg.matches("<rect").count(), 3);
        assert!(svg.contains("&lt;Backup &amp; Co&gt;"));
        assert!(svg.contains(r#"height="38.0""#), "the largest day fills the row: {svg}");
        assert!(svg.contains(r#"height="19.0""#));
        assert!(svg.contains("Day 2: $0.50"));
    }

    #[test]
    fn a_bar_per_month_titled_by_its_name() {
        let june: Month = "2027-06".parse().unwrap();
        let svg = monthly_revenue(&[(june, Money::from_cents(1051)), (june.next(), Money::from_cents(761))]);
        assert_eq!(svg.matches("<rect").count(), 2);
        assert!(
            svg.contains("June 2027: $10.51") && svg.contains(r#"id="revenue-chart""#),
            "{svg}"
        );
    }
}
