//! Reading request bodies field by field, so that every refusal names the field's JSON path (CONTRACT section 2):
//! unknown fields are refused, and money must be a string, never a JSON number.

use serde_json::{Map, Value};

use crate::validation::FieldError;

/// A JSON object being read; every field taken is marked, and [`Object::finish`] refuses the rest.
pub struct Object<'a> {
    path: String,
    map: &'a Map<String, Value>,
    taken: Vec<&'a str>,
}

impl<'a> Object<'a> {
    pub fn new(path: &str, value: &'a Value) -> Result<Object<'a>, FieldError> {
        match value {
            Value::Object(map) => Ok(Object {
                path: path.to_owned(),
                map,
                taken: Vec::new(),
            }),
            _ => Err(FieldError::new(display_path(path), "must be a JSON object")),
        }
    }

    pub fn path_of(&self, field: &str) -> String {
        if self.path.is_empty() {
            field.to_owned()
        } else {
            format!("{}.{field}", self.path)
        }
    }

    /// Whether the object has the field at all (even as `null`).
    pub fn contains(&self, field: &str) -> bool {
        self.map.contains_key(field)
    }

    /// The field's value, `None` when absent or `null`.
    pub fn get(&mut self, field: &'a str) -> Option<&'a Value> {
        self.taken.push(field);
        self.map.get(field).filter(|v| !v.is_null())
    }

    // The paths below are made only for a refusal: a well-formed body allocates none.
    pub fn required(&mut self, field: &'a str) -> Result<&'a Value, FieldError> {
        match self.get(field) {
            Some(value) => Ok(value),
            None => Err(FieldError::missing(self.path_of(field))),
        }
    }

    pub fn required_str(&mut self, field: &'a str) -> Result<&'a str, FieldError> {
        let value = self.required(field)?;
        value.as_str().ok_or_else(|| not_a_string(self.path_of(field)))
    }

    pub fn optional_str(&mut self, field: &'a str) -> Result<Option<&'a str>, FieldError> {
        match self.get(field) {
            None => Ok(None),
            Some(value) => value
                .as_str()
                .map(Some)
                .ok_or_else(|| not_a_string(self.path_of(field))),
        }
    }

    pub fn optional_array(&mut self, field: &'a str) -> Result<Option<&'a Vec<Value>>, FieldError> {
        match self.get(field) {
            None => Ok(None),
            Some(Value::Array(items)) => Ok(Some(items)),
            Some(_) => Err(FieldError::new(self.path_of(field), "must be an array")),
        }
    }

    /// Refuses any field that was not read.
    pub fn finish(self) -> Result<(), FieldError> {
        match self.map.keys().find(|k| !self.taken.contains(&k.as_str())) {
            Some(unknown) => Err(FieldError::new(self.path_of(unknown), "is not a known field")),
            None => Ok(()),
        }
    }
}

fn not_a_string(path: String) -> FieldError {
    FieldError::new(path, "must be a string")
}

pub fn as_str<'v>(path: &str, value: &'v Value) -> Result<&'v str, FieldError> {
    value.as_str().ok_or_else(|| not_a_string(path.to_owned()))
}

fn display_path(path: &str) -> &str {
    if path.is_empty() { "body" } else { path }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn refuses_unknown_fields_and_numbers_for_strings() {
        let body = json!({"name": "x", "price": 5, "extra": true});
        let mut obj = Object::new("", &body).unwrap();
        assert_eq!(obj.required_str("name").unwrap(), "x");
        assert_eq!(obj.required_str("price").unwrap_err().path, "price");
        assert_eq!(obj.finish().unwrap_err().path, "extra");
    }

    #[test]
    fn null_counts_as_absent() {
        let body = json!({"terms_url": null});
        let mut obj = Object::new("product", &body).unwrap();
        assert_eq!(obj.optional_str("terms_url").unwrap(), None);
        assert_eq!(obj.required_str("name").unwrap_err().path, "product.name");
        assert!(obj.finish().is_ok());
    }
}
