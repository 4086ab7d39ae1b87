//! The one value tree: a JSON document as Python holds it after
//! `json.loads`, and equally a JSON schema as upstream writes it in
//! `placement/schemas/*.py`. Dicts keep insertion order, because
//! `jsonschema` walks a schema's keywords in that order and `pprint`
//! prints them in it.
//!
//! Schemas are written with [`py!`](crate::schema::py) and composed as
//! upstream composes them: clone the base (`copy.deepcopy`), then edit it
//! with [`PyValue::set`], [`PyValue::remove`], [`PyValue::append`] and
//! [`PyValue::discard`].

/// A JSON document as Python holds it after `json.loads`: objects keep key
/// order (a repeated key keeps its first position and its last value), and
/// integers keep their digits.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum PyValue {
    /// `null` (`None`).
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// An integer, as the canonical decimal text Python would print.
    Int(String),
    /// A float (including `NaN` and `Infinity`, which Python accepts).
    Float(f64),
    /// A string.
    Str(String),
    /// An array.
    List(Vec<PyValue>),
    /// An object, in first-seen key order.
    Object(Vec<(String, PyValue)>),
}

impl PyValue {
    /// The value of `key` when this is an object holding it.
    pub(crate) fn get(&self, key: &str) -> Option<&PyValue> {
        match self {
            PyValue::Object(items) => items.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// The string inside, if this is one.
    pub(crate) fn as_str(&self) -> Option<&str> {
        match self {
            PyValue::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The object at `path` (each step a key), if every step is an object.
    fn object_at(&mut self, path: &[&str]) -> Option<&mut Vec<(String, PyValue)>> {
        let mut node = self;
        for step in path {
            let PyValue::Object(items) = node else {
                return None;
            };
            node = items.iter_mut().find(|(k, _)| k == step).map(|(_, v)| v)?;
        }
        match node {
            PyValue::Object(items) => Some(items),
            _ => None,
        }
    }

    /// `schema[path…][key] = value`: replaces in place (a Python dict keeps
    /// the key's position) or appends. A path that does not lead to an
    /// object leaves the tree as it is; the schema tests catch that.
    #[must_use]
    pub(crate) fn set(mut self, path: &[&str], key: &str, value: PyValue) -> Self {
        if let Some(items) = self.object_at(path) {
            match items.iter_mut().find(|(k, _)| k == key) {
                Some(slot) => slot.1 = value,
                None => items.push((key.to_owned(), value)),
            }
        }
        self
    }

    /// `del schema[path…][key]` (or `.pop(key)`).
    #[must_use]
    pub(crate) fn remove(mut self, path: &[&str], key: &str) -> Self {
        if let Some(items) = self.object_at(path) {
            items.retain(|(k, _)| k != key);
        }
        self
    }

    /// `schema[path…][key].append(value)` on a list.
    #[must_use]
    pub(crate) fn append(mut self, path: &[&str], key: &str, value: &str) -> Self {
        if let Some(items) = self.object_at(path) {
            if let Some((_, PyValue::List(list))) = items.iter_mut().find(|(k, _)| k == key) {
                list.push(PyValue::Str(value.to_owned()));
            }
        }
        self
    }

    /// `schema[path…][key].remove(value)` on a list.
    #[must_use]
    pub(crate) fn discard(mut self, path: &[&str], key: &str, value: &str) -> Self {
        if let Some(items) = self.object_at(path) {
            if let Some((_, PyValue::List(list))) = items.iter_mut().find(|(k, _)| k == key) {
                if let Some(at) = list.iter().position(|v| v.as_str() == Some(value)) {
                    list.remove(at);
                }
            }
        }
        self
    }
}

impl From<&str> for PyValue {
    fn from(s: &str) -> Self {
        PyValue::Str(s.to_owned())
    }
}

impl From<String> for PyValue {
    fn from(s: String) -> Self {
        PyValue::Str(s)
    }
}

impl From<i64> for PyValue {
    fn from(n: i64) -> Self {
        PyValue::Int(n.to_string())
    }
}

impl From<f64> for PyValue {
    fn from(f: f64) -> Self {
        PyValue::Float(f)
    }
}

impl From<bool> for PyValue {
    fn from(b: bool) -> Self {
        PyValue::Bool(b)
    }
}

/// A [`PyValue`] written like the Python literal it stands for: `{…}` dicts
/// with string keys (or a parenthesised expression for a computed key),
/// `[…]` lists, `true`/`false`/`null`, and any expression with a `From`
/// into [`PyValue`] (a nested tree is embedded with `(tree.clone())`).
macro_rules! py {
    (null) => {
        $crate::schema::PyValue::Null
    };
    (true) => {
        $crate::schema::PyValue::Bool(true)
    };
    (false) => {
        $crate::schema::PyValue::Bool(false)
    };
    ([$($item:tt),* $(,)?]) => {
        $crate::schema::PyValue::List(vec![$($crate::schema::py!($item)),*])
    };
    ({$($key:tt : $value:tt),* $(,)?}) => {
        $crate::schema::PyValue::Object(vec![
            $(($crate::schema::tree::py_key!($key), $crate::schema::py!($value))),*
        ])
    };
    (($inner:expr)) => {
        $crate::schema::PyValue::from($inner)
    };
    ($other:expr) => {
        $crate::schema::PyValue::from($other)
    };
}
pub(crate) use py;

/// A dict key of [`py!`]: a string literal or a parenthesised expression.
macro_rules! py_key {
    (($key:expr)) => {
        ::std::string::String::from($key)
    };
    ($key:literal) => {
        ::std::string::String::from($key)
    };
}
pub(crate) use py_key;

#[cfg(test)]
mod tests {

    #[test]
    fn edits_keep_a_replaced_keys_position_and_append_new_ones() {
        let base =
            py!({"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"]});
        let edited = base
            .clone()
            .set(&["properties"], "b", py!({"type": "integer"}))
            .set(&[], "type", py!("thing"))
            .append(&[], "required", "b")
            .discard(&[], "required", "a")
            .remove(&["properties"], "a");
        assert_eq!(
            edited,
            py!({"type": "thing", "properties": {"b": {"type": "integer"}}, "required": ["b"]})
        );
        assert_ne!(base, edited);
    }
}
