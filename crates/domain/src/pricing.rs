//! A product's price (CONTRACT section 3): one-time fee, monthly fee, graduated usage tiers (R16) and, for machine
//! images, hourly prices per configuration (R18). Parsing validates everything once; the types below are always
//! valid.

use std::collections::HashSet;

use rust_decimal::Decimal;
use serde_json::{Value, json};

use crate::json::Object;
use crate::money::{Money, MoneyError, UnitPrice};
use crate::validation::FieldError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProductKind {
    Desktop,
    Hosted,
    MachineImage,
}

impl ProductKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ProductKind::Desktop => "desktop",
            ProductKind::Hosted => "hosted",
            ProductKind::MachineImage => "machine_image",
        }
    }

    pub fn parse(text: &str) -> Option<ProductKind> {
        match text {
            "desktop" => Some(ProductKind::Desktop),
            "hosted" => Some(ProductKind::Hosted),
            "machine_image" => Some(ProductKind::MachineImage),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pricing {
    pub signup_fee: Money,
    pub monthly_fee: Money,
    pub usage: Vec<UsagePrice>,
}

/// The graduated tiers of one dimension: each band is priced at its own rate (R16).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsagePrice {
    pub dimension: String,
    pub tiers: Vec<Tier>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tier {
    /// The upper bound of the band; `None` for the last, unbounded one.
    pub up_to: Option<Decimal>,
    pub unit_price: UnitPrice,
}

/// A machine-image configuration and its price per instance-hour (R18).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Configuration {
    pub region: String,
    pub environment: String,
    pub instance_type: String,
    pub hourly_price: UnitPrice,
}

/// Prefix of the dimensions sellers define themselves.
pub const CUSTOM_PREFIX: &str = "custom.";
/// Prefix of instance-hour dimensions, priced only through configurations (R18).
pub const COMPUTE_HOURS_PREFIX: &str = "compute.hours.";

/// A product's price with its configurations, as registered or as scheduled by a price change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PriceSchedule {
    pub pricing: Pricing,
    pub configurations: Vec<Configuration>,
}

impl PriceSchedule {
    /// Reads `pricing` and `configurations` of a request. `is_platform_dimension` answers whether the operator's
    /// catalogue has a dimension of that name.
    pub fn parse(
        kind: ProductKind,
        pricing: &Value,
        configurations: Option<&Vec<Value>>,
        is_platform_dimension: &dyn Fn(&str) -> bool,
    ) -> Result<PriceSchedule, FieldError> {
        let pricing = Pricing::parse("pricing", pricing, is_platform_dimension)?;
        let configurations = parse_configurations(kind, configurations)?;
        Ok(PriceSchedule {
            pricing,
            configurations,
        })
    }

    /// Reads a schedule that was validated when it was stored.
    pub fn from_stored(
        kind: ProductKind,
        pricing: &Value,
        configurations: &Value,
    ) -> Result<PriceSchedule, FieldError> {
        PriceSchedule::parse(kind, pricing, configurations.as_array(), &|_| true)
    }

    pub fn configurations_json(&self) -> Value {
        Value::Array(self.configurations.iter().map(Configuration::to_json).collect())
    }

    /// R9: a card is required unless nothing about the product costs money.
    pub fn requires_payment_method(&self) -> bool {
        !self.pricing.signup_fee.is_zero()
            || !self.pricing.monthly_fee.is_zero()
            || self
                .pricing
                .usage
                .iter()
                .flat_map(|u| &u.tiers)
                .any(|t| !t.unit_price.is_zero())
            || self.configurations.iter().any(|c| !c.hourly_price.is_zero())
    }
}

impl Pricing {
    pub fn parse(
        path: &str,
        value: &Value,
        is_platform_dimension: &dyn Fn(&str) -> bool,
    ) -> Result<Pricing, FieldError> {
        let mut obj = Object::new(path, value)?;
        let signup_fee = optional_fee(&mut obj, "signup_fee")?;
        let monthly_fee = optional_fee(&mut obj, "monthly_fee")?;
        let usage_path = obj.path_of("usage");
        let usage = obj
            .optional_array("usage")?
            .map(|items| {
                items
                    .iter()
                    .enumerate()
                    .map(|(i, item)| UsagePrice::parse(&format!("{usage_path}[{i}]"), item, is_platform_dimension))
                    .collect::<Result<Vec<_>, _>>()
            })
            .transpose()?
            .unwrap_or_default();
        obj.finish()?;
        let mut seen = HashSet::new();
        for (i, price) in usage.iter().enumerate() {
            if !seen.insert(price.dimension.as_str()) {
                return Err(FieldError::new(
                    format!("{usage_path}[{i}].dimension"),
                    "is priced twice",
                ));
            }
        }
        Ok(Pricing {
            signup_fee,
            monthly_fee,
            usage,
        })
    }

    pub fn to_json(&self) -> Value {
        json!({
            "signup_fee": self.signup_fee.to_string(),
            "monthly_fee": self.monthly_fee.to_string(),
            "usage": self.usage.iter().map(UsagePrice::to_json).collect::<Vec<_>>(),
        })
    }
}

fn optional_fee(obj: &mut Object<'_>, field: &'static str) -> Result<Money, FieldError> {
    let path = obj.path_of(field);
    match obj.optional_str(field)? {
        None => Ok(Money::ZERO),
        Some(text) => Money::parse_price(text).map_err(|e| money_error(&path, e)),
    }
}

fn money_error(path: &str, error: MoneyError) -> FieldError {
    FieldError::new(path, error.to_string())
}

impl UsagePrice {
    fn parse(
        path: &str,
        value: &Value,
        is_platform_dimension: &dyn Fn(&str) -> bool,
    ) -> Result<UsagePrice, FieldError> {
        let mut obj = Object::new(path, value)?;
        let dimension_path = obj.path_of("dimension");
        let dimension = obj.required_str("dimension")?;
        if dimension.starts_with(COMPUTE_HOURS_PREFIX) {
            return Err(FieldError::new(
                dimension_path,
                "instance-hours are priced by the configurations' hourly_price, not as usage",
            ));
        }
        if let Some(name) = dimension.strip_prefix(CUSTOM_PREFIX) {
            if !is_custom_name(name) {
                return Err(FieldError::new(
                    dimension_path,
                    "custom dimensions are named custom.[a-z0-9_]{1,40}",
                ));
            }
        } else if !is_platform_dimension(dimension) {
            return Err(FieldError::unknown_dimension(dimension_path, dimension));
        }
        let tiers_path = obj.path_of("tiers");
        let tiers = obj
            .optional_array("tiers")?
            .ok_or_else(|| FieldError::missing(&tiers_path))?;
        let tiers = parse_tiers(&tiers_path, tiers)?;
        obj.finish()?;
        Ok(UsagePrice {
            dimension: dimension.to_owned(),
            tiers,
        })
    }

    fn to_json(&self) -> Value {
        json!({
            "dimension": self.dimension,
            "tiers": self.tiers.iter().map(|t| json!({
                "up_to": t.up_to.map(|u| u.normalize().to_string()),
                "unit_price": t.unit_price.to_string(),
            })).collect::<Vec<_>>(),
        })
    }
}

fn is_custom_name(name: &str) -> bool {
    (1..=40).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// Tiers ascend strictly by `up_to`, and only the last is unbounded.
fn parse_tiers(path: &str, items: &[Value]) -> Result<Vec<Tier>, FieldError> {
    if items.is_empty() {
        return Err(FieldError::new(path, "must have at least one tier"));
    }
    let mut tiers = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let tier_path = format!("{path}[{i}]");
        let mut obj = Object::new(&tier_path, item)?;
        let up_to_path = obj.path_of("up_to");
        let up_to = obj
            .optional_str("up_to")?
            .map(|text| crate::money::parse_quantity(text).map_err(|e| money_error(&up_to_path, e)))
            .transpose()?;
        let price_path = obj.path_of("unit_price");
        let unit_price = UnitPrice::parse(obj.required_str("unit_price")?).map_err(|e| money_error(&price_path, e))?;
        obj.finish()?;
        let last = i + 1 == items.len();
        match (up_to, last) {
            (None, false) => {
                return Err(FieldError::new(up_to_path, "only the last tier may be unbounded"));
            }
            (Some(_), true) => {
                return Err(FieldError::new(up_to_path, "the last tier must be unbounded (null)"));
            }
            (Some(bound), false) => {
                let floor = tiers.last().and_then(|t: &Tier| t.up_to).unwrap_or(Decimal::ZERO);
                if bound <= floor {
                    return Err(FieldError::new(
                        up_to_path,
                        "tiers must ascend: each up_to above the one before",
                    ));
                }
            }
            (None, true) => {}
        }
        tiers.push(Tier { up_to, unit_price });
    }
    Ok(tiers)
}

fn parse_configurations(kind: ProductKind, items: Option<&Vec<Value>>) -> Result<Vec<Configuration>, FieldError> {
    let items = items.map(Vec::as_slice).unwrap_or_default();
    if kind != ProductKind::MachineImage {
        if !items.is_empty() {
            return Err(FieldError::new(
                "configurations",
                "only machine_image products have configurations",
            ));
        }
        return Ok(Vec::new());
    }
    if items.is_empty() {
        return Err(FieldError::new(
            "configurations",
            "a machine_image product needs at least one configuration",
        ));
    }
    let mut seen = HashSet::new();
    items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let path = format!("configurations[{i}]");
            let mut obj = Object::new(&path, item)?;
            let mut name = |field: &'static str| -> Result<String, FieldError> {
                let field_path = obj.path_of(field);
                let value = obj.required_str(field)?;
                if (1..=32).contains(&value.len())
                    && value
                        .bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b))
                {
                    Ok(value.to_owned())
                } else {
                    Err(FieldError::new(field_path, "must match [a-z0-9._-]{1,32}"))
                }
            };
            let region = name("region")?;
            let environment = name("environment")?;
            let instance_type = name("instance_type")?;
            let price_path = obj.path_of("hourly_price");
            let hourly_price =
                UnitPrice::parse(obj.required_str("hourly_price")?).map_err(|e| money_error(&price_path, e))?;
            obj.finish()?;
            if !seen.insert((region.clone(), environment.clone(), instance_type.clone())) {
                return Err(FieldError::new(path, "configuration listed twice"));
            }
            Ok(Configuration {
                region,
                environment,
                instance_type,
                hourly_price,
            })
        })
        .collect()
}

impl Configuration {
    pub fn to_json(&self) -> Value {
        json!({
            "region": self.region,
            "environment": self.environment,
            "instance_type": self.instance_type,
            "hourly_price": self.hourly_price.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn platform(name: &str) -> bool {
        matches!(name, "storage.gb_month" | "transfer.out_gb" | "compute.hours.small")
    }

    fn parse(value: Value) -> Result<Pricing, FieldError> {
        Pricing::parse("pricing", &value, &platform)
    }

    #[test]
    fn parses_the_contract_example() {
        let pricing = parse(json!({
            "signup_fee": "5.00", "monthly_fee": "10.00",
            "usage": [
                {"dimension": "storage.gb_month", "tiers": [{"up_to": "10", "unit_price": "0.25"}, {"up_to": null, "unit_price": "0.20"}]},
                {"dimension": "custom.exports", "tiers": [{"up_to": null, "unit_price": "0.05"}]}
            ]
        }))
        .unwrap();
        assert_eq!(pricing.signup_fee, Money::from_cents(500));
        assert_eq!(pricing.usage[0].tiers[0].up_to, Some(Decimal::from(10)));
        assert_eq!(pricing.to_json()["usage"][0]["tiers"][1]["unit_price"], "0.20");
        assert_eq!(parse(pricing.to_json()).unwrap(), pricing);
    }

    #[test]
    fn refuses_bad_prices_with_their_paths() {
        let cases = [
            (json!({"monthly_fee": "-1"}), "pricing.monthly_fee"),
            (json!({"monthly_fee": "1.001"}), "pricing.monthly_fee"),
            (json!({"signup_fee": 5}), "pricing.signup_fee"),
            (
                json!({"usage": [{"dimension": "storage.gb_month", "tiers": [{"up_to": "10", "unit_price": "0.1"}]}]}),
                "pricing.usage[0].tiers[0].up_to",
            ),
            (
                json!({"usage": [{"dimension": "storage.gb_month", "tiers": [{"up_to": null, "unit_price": "0.1"}, {"up_to": null, "unit_price": "0.1"}]}]}),
                "pricing.usage[0].tiers[0].up_to",
            ),
            (
                json!({"usage": [{"dimension": "storage.gb_month", "tiers": [{"up_to": "10", "unit_price": "0.1"}, {"up_to": "5", "unit_price": "0.1"}, {"up_to": null, "unit_price": "0"}]}]}),
                "pricing.usage[0].tiers[1].up_to",
            ),
            (
                json!({"usage": [{"dimension": "storage.gb_month", "tiers": [{"up_to": null, "unit_price": "0.123456789"}]}]}),
                "pricing.usage[0].tiers[0].unit_price",
            ),
            (
                json!({"usage": [{"dimension": "storage.gb_month", "tiers": []}]}),
                "pricing.usage[0].tiers",
            ),
            (
                json!({"usage": [{"dimension": "compute.hours.small", "tiers": [{"up_to": null, "unit_price": "1"}]}]}),
                "pricing.usage[0].dimension",
            ),
            (
                json!({"usage": [{"dimension": "custom.Bad-Name", "tiers": [{"up_to": null, "unit_price": "1"}]}]}),
                "pricing.usage[0].dimension",
            ),
            (
                json!({"usage": [{"dimension": "custom.a", "tiers": [{"up_to": null, "unit_price": "1"}]}, {"dimension": "custom.a", "tiers": [{"up_to": null, "unit_price": "1"}]}]}),
                "pricing.usage[1].dimension",
            ),
            (json!({"monthly_fee": "1", "colour": "red"}), "pricing.colour"),
        ];
        for (value, path) in cases {
            let err = parse(value.clone()).unwrap_err();
            assert_eq!(err.path, path, "{value}: {err}");
            assert_eq!(err.kind, crate::validation::FieldErrorKind::Invalid, "{value}");
        }
    }

    #[test]
    fn unknown_platform_dimensions_have_their_own_code() {
        let err = parse(json!({"usage": [{"dimension": "storage.tb", "tiers": [{"up_to": null, "unit_price": "1"}]}]}))
            .unwrap_err();
        assert_eq!(err.kind, crate::validation::FieldErrorKind::UnknownDimension);
    }

    #[test]
    fn configurations_belong_to_machine_images_only() {
        let conf = vec![
            json!({"region": "us-east", "environment": "linux", "instance_type": "small", "hourly_price": "0.20"}),
        ];
        let pricing = json!({"monthly_fee": "20"});
        let ok = PriceSchedule::parse(ProductKind::MachineImage, &pricing, Some(&conf), &platform).unwrap();
        assert_eq!(ok.configurations[0].hourly_price.to_string(), "0.20");
        let stored = PriceSchedule::from_stored(
            ProductKind::MachineImage,
            &ok.pricing.to_json(),
            &ok.configurations_json(),
        );
        assert_eq!(stored.unwrap(), ok);
        assert!(PriceSchedule::parse(ProductKind::Desktop, &pricing, Some(&conf), &platform).is_err());
        assert!(PriceSchedule::parse(ProductKind::MachineImage, &pricing, None, &platform).is_err());
        let twice = vec![conf[0].clone(), conf[0].clone()];
        assert!(PriceSchedule::parse(ProductKind::MachineImage, &pricing, Some(&twice), &platform).is_err());
        let bad = vec![
            json!({"region": "US East", "environment": "linux", "instance_type": "small", "hourly_price": "0.20"}),
        ];
        assert_eq!(
            PriceSchedule::parse(ProductKind::MachineImage, &pricing, Some(&bad), &platform)
                .unwrap_err()
                .path,
            "configurations[0].region"
        );
    }

    #[test]
    fn r9_free_products_need_no_card() {
        let free = PriceSchedule::parse(ProductKind::Hosted, &json!({}), None, &platform).unwrap();
        assert!(!free.requires_payment_method());
        let usage = json!({"usage": [{"dimension": "custom.x", "tiers": [{"up_to": null, "unit_price": "0.01"}]}]});
        assert!(
            PriceSchedule::parse(ProductKind::Hosted, &usage, None, &platform)
                .unwrap()
                .requires_payment_method()
        );
    }
}
