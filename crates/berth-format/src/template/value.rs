//! Values while a template runs.
//!
//! Go distinguishes a key that is missing from a map (an invalid
//! `reflect.Value`, printed `<no value>`) from a key holding nil (printed
//! `<nil>`), so a value here is either missing or a JSON value. Values are
//! borrowed from the caller's data where possible; results of functions are
//! owned and shared cheaply.

use std::rc::Rc;

use serde_json::Value;

use crate::gofmt::printf;

#[derive(Debug, Clone)]
pub(crate) enum Val<'d> {
    Missing,
    Borrowed(&'d Value),
    Owned(Rc<Value>),
}

impl<'d> Val<'d> {
    pub(crate) fn owned(v: Value) -> Val<'d> {
        Val::Owned(Rc::new(v))
    }

    pub(crate) fn get(&self) -> Option<&Value> {
        match self {
            Val::Missing => None,
            Val::Borrowed(v) => Some(v),
            Val::Owned(v) => Some(v),
        }
    }

    /// The JSON value, with missing read as null (how Go passes an invalid
    /// value to a parameter of type `any`).
    pub(crate) fn to_value(&self) -> Value {
        self.get().cloned().unwrap_or(Value::Null)
    }

    /// Whether the value is missing or null: Go's "invalid" comparisons.
    pub(crate) fn is_nil(&self) -> bool {
        matches!(self.get(), None | Some(Value::Null))
    }

    /// A child of this value, keeping the borrow when there is one.
    fn child(&self, pick: impl FnOnce(&Value) -> Option<&Value>) -> Option<Val<'d>> {
        match self {
            Val::Missing => None,
            Val::Borrowed(v) => pick(v).map(Val::Borrowed),
            Val::Owned(v) => pick(v).map(|c| Val::owned(c.clone())),
        }
    }

    pub(crate) fn key(&self, k: &str) -> Option<Val<'d>> {
        self.child(|v| v.get(k))
    }

    /// Go's truth: false, 0, nil, empty string/array/map are false.
    pub(crate) fn is_true(&self) -> bool {
        match self.get() {
            None | Some(Value::Null) => false,
            Some(Value::Bool(b)) => *b,
            Some(Value::Number(n)) => n.as_f64().is_some_and(|f| f != 0.0),
            Some(Value::String(s)) => !s.is_empty(),
            Some(Value::Array(a)) => !a.is_empty(),
            Some(Value::Object(o)) => !o.is_empty(),
        }
    }

    /// Elements as `range` visits them: (index, element) for arrays,
    /// (key, value) in sorted key order for objects (Go sorts map keys).
    /// `None` when the value cannot be ranged over.
    pub(crate) fn elements(&self) -> Option<Vec<(Val<'d>, Val<'d>)>> {
        let v = match self.get() {
            None | Some(Value::Null) => return Some(Vec::new()),
            Some(v) => v,
        };
        match v {
            Value::Array(items) => Some(
                (0..items.len())
                    .map(|i| {
                        let elem = self.child(|v| v.get(i)).unwrap_or(Val::Missing);
                        (Val::owned(Value::from(i)), elem)
                    })
                    .collect(),
            ),
            Value::Object(map) => {
                let mut keys: Vec<&String> = map.keys().collect();
                keys.sort();
                Some(
                    keys.into_iter()
                        .map(|k| {
                            let elem = self.key(k).unwrap_or(Val::Missing);
                            (Val::owned(Value::String(k.clone())), elem)
                        })
                        .collect(),
                )
            }
            // Go 1.22 ranges over an integer n as 0..n.
            Value::Number(n) if n.is_i64() || n.is_u64() => {
                let n = n.as_i64().unwrap_or(i64::MAX).max(0);
                Some(
                    (0..n)
                        .map(|i| (Val::owned(Value::from(i)), Val::owned(Value::from(i))))
                        .collect(),
                )
            }
            _ => None,
        }
    }

    /// How an action prints the value: `<no value>` when missing, else Go's
    /// `fmt.Print` form.
    pub(crate) fn print(&self) -> String {
        match self.get() {
            None => "<no value>".to_string(),
            Some(Value::String(s)) => s.clone(),
            Some(v) => printf::sprint_value(v),
        }
    }

    /// The Go type named in "wrong type" errors.
    pub(crate) fn go_type(&self) -> &'static str {
        match self.get() {
            None | Some(Value::Null) => "interface {}",
            Some(v) => printf::type_name(v),
        }
    }
}
