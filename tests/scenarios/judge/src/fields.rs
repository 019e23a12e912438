//! Strict access to a scenario's JSON objects: every field read is remembered, and a field
//! nobody read is an error naming it, so that a scenario never passes by being misread.

use serde_json::{Map, Value};
use std::cell::RefCell;
use std::collections::BTreeSet;

pub type Res<T> = Result<T, String>;

pub struct Fields<'a> {
    what: String,
    obj: &'a Map<String, Value>,
    used: RefCell<BTreeSet<&'a str>>,
}

impl<'a> Fields<'a> {
    pub fn new(what: impl Into<String>, v: &'a Value) -> Res<Self> {
        let what = what.into();
        let obj = v
            .as_object()
            .ok_or_else(|| format!("{what} is not an object"))?;
        Ok(Self {
            what,
            obj,
            used: RefCell::new(BTreeSet::new()),
        })
    }

    pub fn get(&self, name: &'a str) -> Option<&'a Value> {
        self.used.borrow_mut().insert(name);
        self.obj.get(name)
    }

    pub fn has(&self, name: &str) -> bool {
        self.obj.contains_key(name)
    }

    pub fn req(&self, name: &'a str) -> Res<&'a Value> {
        self.get(name)
            .ok_or_else(|| format!("{}: missing field '{name}'", self.what))
    }

    pub fn str(&self, name: &'a str) -> Res<Option<&'a str>> {
        match self.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(format!("{}: '{name}' must be a string", self.what)),
        }
    }

    pub fn req_str(&self, name: &'a str) -> Res<&'a str> {
        self.str(name)?
            .ok_or_else(|| format!("{}: missing field '{name}'", self.what))
    }

    pub fn bool(&self, name: &'a str) -> Res<Option<bool>> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(_) => Err(format!("{}: '{name}' must be a boolean", self.what)),
        }
    }

    pub fn int(&self, name: &'a str) -> Res<Option<i64>> {
        match self.get(name) {
            None => Ok(None),
            Some(v) => v
                .as_i64()
                .map(Some)
                .ok_or_else(|| format!("{}: '{name}' must be an integer", self.what)),
        }
    }

    pub fn num(&self, name: &'a str) -> Res<Option<f64>> {
        match self.get(name) {
            None => Ok(None),
            Some(v) => v
                .as_f64()
                .map(Some)
                .ok_or_else(|| format!("{}: '{name}' must be a number", self.what)),
        }
    }

    pub fn strings(&self, name: &'a str) -> Res<Option<Vec<String>>> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::Array(items)) => items
                .iter()
                .map(|v| {
                    v.as_str()
                        .map(str::to_owned)
                        .ok_or_else(|| format!("{}: '{name}' must hold strings", self.what))
                })
                .collect::<Res<Vec<_>>>()
                .map(Some),
            Some(_) => Err(format!("{}: '{name}' must be an array", self.what)),
        }
    }

    /// Fails naming the first field nobody asked for.
    pub fn finish(&self) -> Res<()> {
        let used = self.used.borrow();
        match self.obj.keys().find(|k| !used.contains(k.as_str())) {
            Some(k) => Err(format!("{}: unknown field '{k}'", self.what)),
            None => Ok(()),
        }
    }
}
